//! The traffic and worker-process model of one server-day.
//!
//! Requests are generated first (shop sessions, crawlers, back-office users, scanners), each with
//! an arrival time and the service time it would need. A second pass plays the day against the
//! application pool's worker processes: recycles, idle shutdowns, crashes and the rapid-fail
//! shutdown decide which worker served a request, when it completed, and what became of it
//! (logged in W3C, abandoned in HTTPERR, refused with 503 `AppOffline`, …). Every output file is
//! rendered from the result, so all sources agree by construction.

use super::rng::Rng;
use super::time::{DAY, HOUR, MINUTE, SECOND};

pub const HOST: &str = "shop.contoso.com";

/// What the browser (or bot) asked for; decides the fate of a request while the pool is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page the user navigated to (`.aspx`, form posts).
    Page,
    /// XHR from a page (`/api/…`).
    Api,
    /// Static files and `.axd` resources, fetched only after their page loaded.
    Asset,
    /// Crawler and scanner requests: sent whatever the previous answer was.
    Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Normal,
    /// The request that makes `ctsgate.dll` crash w3wp (crash index).
    Killer(usize),
    /// An ordinary request deliberately placed in flight at crash k (`InFlight(k)`).
    InFlight(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Completed; has a W3C line.
    Logged,
    /// In flight when the worker died: `Connection_Abandoned_By_AppPool` (crash index).
    Abandoned(usize),
    /// Refused by HTTP.sys while rapid-fail protection had the pool stopped: 503 `AppOffline`.
    Offline,
    /// Never sent (the page it belongs to failed, or the session ended in an idle gap / after
    /// midnight).
    Dropped,
    /// The client closed the connection before the request reached a worker: `Client_Reset`.
    ClientReset,
}

#[derive(Debug, Clone)]
pub struct Req {
    /// Arrival at HTTP.sys (ms, UTC).
    pub start: i64,
    /// Service time it would take (ms), before any wait for a worker to start.
    pub dur: i64,
    /// Completion (ms); set by the worker pass.
    pub end: i64,
    pub c_ip: String,
    pub c_port: u16,
    pub ua: &'static str,
    pub method: &'static str,
    pub stem: String,
    pub query: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub referer: Option<String>,
    pub status: u16,
    pub sub: u32,
    pub win32: u64,
    pub kind: Kind,
    pub tag: Tag,
    pub fate: Fate,
    /// Index into `Day::workers`; set by the worker pass.
    pub worker: usize,
    /// A slow client dropped by HTTP.sys (`Timer_MinBytesPerSecond`); logged with win32 64.
    pub slow_client: bool,
}

impl Req {
    fn new(
        start: i64,
        dur: i64,
        c: &Client,
        method: &'static str,
        stem: &str,
        query: Option<String>,
        kind: Kind,
    ) -> Req {
        Req {
            start,
            dur: dur.max(0),
            end: 0,
            c_ip: c.ip.clone(),
            c_port: 0,
            ua: c.ua,
            method,
            stem: stem.to_owned(),
            query,
            port: 443,
            user: None,
            referer: None,
            status: 200,
            sub: 0,
            win32: 0,
            kind,
            tag: Tag::Normal,
            fate: Fate::Logged,
            worker: usize::MAX,
            slow_client: false,
        }
    }
    fn status(mut self, status: u16, sub: u32, win32: u64) -> Self {
        self.status = status;
        self.sub = sub;
        self.win32 = win32;
        self
    }
    fn referer(mut self, r: Option<&str>) -> Self {
        self.referer = r.map(str::to_owned);
        self
    }
    /// `cs-uri` as HTTP.sys writes it in HTTPERR: stem and query.
    pub fn uri(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.stem, q),
            None => self.stem.clone(),
        }
    }
    /// The absolute URL a browser sends as `Referer` for requests made from this page.
    fn url(&self) -> String {
        format!("https://{HOST}{}", self.uri())
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub ip: String,
    pub ua: &'static str,
}

/// One planned crash: `ctsgate.dll` dies on a request from `scanner`.
#[derive(Debug, Clone)]
pub struct CrashSpec {
    /// The exception instant (ms, UTC). Kept in the first half of its second, so the process
    /// exit and the HTTPERR abandonments fall in the same second.
    pub at: i64,
    pub scanner: usize,
    /// A retry of an earlier crash's request (same URL): the scanner resends after the reset.
    pub retry_of: Option<usize>,
    /// DebugDiag wrote a full dump of this crash.
    pub dump: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub server: &'static str,
    pub s_ip: &'static str,
    pub site_id: u32,
    pub pool: &'static str,
    pub day_start: i64,
    /// Server local time = UTC + this (minutes). Central Daylight Time on 2025-03-14: −300.
    pub tz_offset_min: i64,
    pub sessions: usize,
    pub googlebot: usize,
    pub bingbot: usize,
    pub admin_sessions: usize,
    pub noise_scans: usize,
    /// Windows with no traffic at all (night lulls), `[from, to)`.
    pub gaps: Vec<(i64, i64)>,
    /// The worker alive at midnight was created at this time (ms, UTC).
    pub first_worker_created: i64,
    /// Scheduled (periodic) recycles: WAS 5074.
    pub recycles: Vec<i64>,
    pub crashes: Vec<CrashSpec>,
    /// When the admin started the pool again after rapid-fail protection stopped it.
    pub admin_start: Option<i64>,
    /// Source IPs and user agent of the scanners that carry the killer request.
    pub scanners: Vec<&'static str>,
    /// Seed salt, so WEB01 and WEB02 traffic differ for the same seed.
    pub salt: u64,
}

impl Plan {
    pub fn day_end(&self) -> i64 {
        self.day_start + DAY
    }
    pub fn in_gap(&self, t: i64) -> bool {
        self.gaps.iter().any(|&(a, b)| t >= a && t < b)
    }
}

pub const SCANNER_UA: &str =
    "Mozilla/4.0+(compatible;+MSIE+8.0;+Windows+NT+6.1;+Trident/4.0)+WebVulnScan/1.9";

/// Real-world user agents of early 2025, `+` for space as IIS logs them, with weights.
const BROWSERS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/133.0.0.0+Safari/537.36",
        30,
    ),
    (
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/134.0.0.0+Safari/537.36+Edg/134.0.0.0",
        12,
    ),
    (
        "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+18_3_1+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/18.3+Mobile/15E148+Safari/604.1",
        20,
    ),
    (
        "Mozilla/5.0+(Linux;+Android+10;+K)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/133.0.0.0+Mobile+Safari/537.36",
        16,
    ),
    (
        "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/18.3+Safari/605.1.15",
        9,
    ),
    (
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:136.0)+Gecko/20100101+Firefox/136.0",
        7,
    ),
    (
        "Mozilla/5.0+(iPad;+CPU+OS+17_7+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/17.6+Mobile/15E148+Safari/604.1",
        3,
    ),
    (
        "Mozilla/5.0+(X11;+Linux+x86_64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/133.0.0.0+Safari/537.36",
        3,
    ),
];
const GOOGLEBOT: &str = "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)";
const BINGBOT: &str = "Mozilla/5.0+(compatible;+bingbot/2.0;++http://www.bing.com/bingbot.htm)";
const ADMIN_UA: &str = "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/134.0.0.0+Safari/537.36+Edg/134.0.0.0";
const NOISE_UAS: &[&str] = &[
    "Mozilla/5.0+zgrab/0.x",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
];

const SEARCH_TERMS: &[&str] = &[
    "running+shoes",
    "rain+jacket",
    "wool+socks",
    "trail+running+shoes",
    "backpack",
    "water+bottle",
    "headlamp",
    "tent+2+person",
    "hiking+boots+women",
    "kids+jacket",
    "fleece",
    "sleeping+bag",
    "gloves",
    "merino",
    "down+vest",
];
const LANGS: &[(&str, u32)] = &[("en-US", 82), ("es-US", 12), ("fr-CA", 6)];

/// Hourly traffic weight by *local* hour (a consumer shop: lunch and evening peaks).
const DIURNAL: [f64; 24] = [
    0.30, 0.20, 0.14, 0.10, 0.09, 0.11, 0.20, 0.38, 0.60, 0.80, 0.92, 1.00, 1.00, 0.95, 0.92, 0.90,
    0.88, 0.85, 0.90, 1.05, 1.10, 0.95, 0.70, 0.45,
];

/// Samples arrival times from the diurnal curve (piecewise linear between hourly points).
pub struct Clock {
    start: i64,
    cum: Vec<f64>,
}

impl Clock {
    pub fn new(p: &Plan) -> Clock {
        let mut cum = Vec::with_capacity(1440);
        let mut acc = 0.0;
        for m in 0..1440i64 {
            let local = (m + p.tz_offset_min).rem_euclid(1440);
            let h = (local / 60) as usize;
            let frac = (local % 60) as f64 / 60.0;
            let w = DIURNAL[h] + (DIURNAL[(h + 1) % 24] - DIURNAL[h]) * frac;
            let t = p.day_start + m * MINUTE;
            acc += if p.in_gap(t) { 0.0 } else { w };
            cum.push(acc);
        }
        Clock {
            start: p.day_start,
            cum,
        }
    }
    pub fn sample(&self, rng: &mut Rng) -> i64 {
        let total = *self.cum.last().unwrap();
        let x = rng.f64() * total;
        let m = self.cum.partition_point(|&c| c <= x).min(1439);
        self.start + m as i64 * MINUTE + rng.below(MINUTE as u64) as i64
    }
}

fn ipv4(rng: &mut Rng) -> String {
    // Documentation ranges only (RFC 5737): no real person's address in the samples.
    let net = ["192.0.2", "198.51.100", "203.0.113"][rng.below(3) as usize];
    format!("{net}.{}", rng.int(1, 254))
}

fn ipv6(rng: &mut Rng) -> String {
    // RFC 3849 documentation prefix, written the way IIS writes addresses (no zero padding).
    let g: Vec<String> = (0..6)
        .map(|_| format!("{:x}", rng.below(0x10000)))
        .collect();
    format!("2001:db8:{}", g.join(":"))
}

pub fn clients(rng: &mut Rng, n: usize, exclude: &[&str]) -> Vec<Client> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let ip = if rng.chance(0.15) {
            ipv6(rng)
        } else {
            ipv4(rng)
        };
        if exclude.contains(&ip.as_str()) {
            continue;
        }
        let ua = rng.weighted(BROWSERS);
        v.push(Client { ip, ua });
    }
    v
}

fn product_id(rng: &mut Rng) -> u32 {
    // A few best sellers, a long tail.
    let u = rng.f64();
    10_000 + (u * u * 4_800.0) as u32
}

fn lang(rng: &mut Rng) -> &'static str {
    rng.weighted(LANGS)
}

/// Service times (ms), log-normal by resource type.
fn t_static(rng: &mut Rng) -> i64 {
    rng.lognormal(2.0, 1.0) as i64
}
fn t_image(rng: &mut Rng) -> i64 {
    rng.lognormal(14.0, 0.9) as i64
}
fn t_page(rng: &mut Rng) -> i64 {
    rng.lognormal(85.0, 0.65) as i64
}
fn t_search(rng: &mut Rng) -> i64 {
    rng.lognormal(160.0, 0.6) as i64
}
fn t_api(rng: &mut Rng) -> i64 {
    rng.lognormal(32.0, 0.6) as i64
}
fn t_304(rng: &mut Rng) -> i64 {
    rng.lognormal(1.0, 0.8) as i64
}

/// Stable WebForms resource handles (the `d=` of `.axd` URLs never change between requests).
const WEBRESOURCE_D: &str = "pynGkmcFUV13He1Qd6_TZN0u9xFpbRbtr6Ni7MoqsDpzK0m8Hn1VbT7Go0eVoSO2eK4c1";
const SCRIPTRESOURCE_D: &str =
    "NJmAwtEo3Ipnlaxl6CMhvlxYyf4Ykw2nS8i1eVbSKjyhzMMWpVCQptq9Bbwbdt-Q8Xc1";
const AXD_T: &str = "638738012345678901";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Page {
    Home,
    Category(u32),
    Product(u32),
    Search(usize, u32),
    Cart,
    Login,
    Account,
    Shipping,
    Payment,
    Confirm,
}

/// Random product, category and search pages, drawn before a weighted choice among them.
fn candidates(rng: &mut Rng) -> (Page, Page, Page) {
    let pr = Page::Product(product_id(rng));
    let ca = Page::Category(1 + rng.below(14) as u32);
    let se = Page::Search(rng.below(SEARCH_TERMS.len() as u64) as usize, 1);
    (pr, ca, se)
}

/// One shopper's visit: pages with their assets and XHR calls, think times in between.
#[allow(clippy::too_many_arguments)]
fn session(
    rng: &mut Rng,
    p: &Plan,
    clock: &Clock,
    cl: &[Client],
    out: &mut Vec<Req>,
    idle: &mut Vec<(i64, String)>,
) {
    let c = rng.pick(cl).clone();
    let mut t = clock.sample(rng);
    let returning = rng.chance(0.35);
    // Four visitors in ten leave after one page.
    let pages = if rng.chance(0.4) {
        1
    } else {
        1 + (rng.lognormal(2.5, 0.8) as usize).min(24)
    };
    // Returning visitors: half still have fresh copies (no request at all), half revalidate (304).
    let fresh_cache = returning && rng.chance(0.5);
    let cart = 100_000 + rng.below(900_000) as u32;
    let lang = lang(rng);
    let mut seen: Vec<u32> = Vec::new();
    let mut referer: Option<String> = match rng.below(10) {
        0..=4 => Some("https://www.google.com/".into()),
        5 => Some("https://www.bing.com/".into()),
        _ => None,
    };
    let (pr, ca, se) = candidates(rng);
    let mut page = rng.weighted(&[(Page::Home, 45), (pr, 25), (ca, 15), (se, 15)]);
    let mut last_end = t;
    let order = rng.guid();
    for i in 0..pages {
        if p.in_gap(t) || t >= p.day_end() - 5 * MINUTE {
            break;
        }
        let (method, stem, query, dur): (&'static str, &str, Option<String>, i64) = match page {
            Page::Home => ("GET", "/default.aspx", None, t_page(rng)),
            Page::Category(id) => (
                "GET",
                "/catalog/category.aspx",
                Some(format!("id={id}")),
                t_page(rng),
            ),
            Page::Product(id) => (
                "GET",
                "/catalog/product.aspx",
                Some(format!("id={id}")),
                t_page(rng),
            ),
            Page::Search(term, pg) => {
                let q = if pg > 1 {
                    format!("q={}&lang={lang}&page={pg}", SEARCH_TERMS[term])
                } else {
                    format!("q={}&lang={lang}", SEARCH_TERMS[term])
                };
                ("GET", "/catalog/search.aspx", Some(q), t_search(rng))
            }
            Page::Cart => ("GET", "/cart.aspx", None, t_page(rng)),
            Page::Login => (
                "GET",
                "/account/login.aspx",
                Some("ReturnUrl=%2faccount%2fdefault.aspx".into()),
                t_page(rng),
            ),
            Page::Account => ("GET", "/account/default.aspx", None, t_page(rng)),
            Page::Shipping => ("GET", "/checkout/shipping.aspx", None, t_page(rng)),
            Page::Payment => ("GET", "/checkout/payment.aspx", None, t_page(rng)),
            Page::Confirm => (
                "GET",
                "/checkout/confirmation.aspx",
                Some(format!("order={order}")),
                t_page(rng),
            ),
        };
        let mut r =
            Req::new(t, dur, &c, method, stem, query, Kind::Page).referer(referer.as_deref());
        if let Page::Product(id) = page {
            // Discontinued products still linked from old pages.
            if id % 97 == 13 {
                r = r.status(404, 0, 0);
            }
        }
        if page == Page::Payment && rng.chance(0.004) {
            r = r.status(500, 0, 0);
        }
        let here = r.url();
        let page_end = t + r.dur;
        out.push(r);
        let mut at = page_end + rng.int(8, 40);
        if i == 0 && !fresh_cache {
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/css/site.min.css",
                Some("v=3.4.2"),
                returning,
                false,
            );
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/js/jquery-3.7.1.min.js",
                None,
                returning,
                false,
            );
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/js/site.min.js",
                Some("v=3.4.2"),
                returning,
                false,
            );
            let wr = format!("d={WEBRESOURCE_D}&t={AXD_T}");
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/WebResource.axd",
                Some(&wr),
                returning,
                false,
            );
            let sr = format!("d={SCRIPTRESOURCE_D}&t={AXD_T}");
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/ScriptResource.axd",
                Some(&sr),
                returning,
                false,
            );
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/images/logo.svg",
                None,
                returning,
                false,
            );
            asset_req(
                rng,
                out,
                &mut at,
                &c,
                &here,
                "/fonts/opensans-regular.woff2",
                None,
                returning,
                false,
            );
            if !returning {
                asset_req(
                    rng,
                    out,
                    &mut at,
                    &c,
                    &here,
                    "/favicon.ico",
                    None,
                    false,
                    false,
                );
            }
        }
        let thumbs = match page {
            Page::Home => 4,
            Page::Category(_) | Page::Search(..) => 6,
            Page::Product(_) => 2,
            _ => 0,
        };
        if page == Page::Home && !seen.contains(&0) && !fresh_cache {
            seen.push(0);
            let stem = "/images/banners/spring-sale.jpg";
            let slow = rng.chance(0.004);
            let dur = if slow {
                rng.lognormal(48_000.0, 0.3) as i64
            } else {
                t_image(rng) * 3
            };
            let mut a = Req::new(at, dur, &c, "GET", stem, None, Kind::Asset).referer(Some(&here));
            if returning && !slow {
                a = a.status(304, 0, 0);
                a.dur = t_304(rng);
            }
            if slow {
                // HTTP.sys dropped a client reading slower than 240 B/s.
                a.win32 = 64;
                a.slow_client = true;
            }
            out.push(a);
        }
        if let Page::Product(id) = page {
            let big = format!("/images/products/{id}_l.jpg");
            asset_req(rng, out, &mut at, &c, &here, &big, None, false, true);
        }
        for _ in 0..thumbs {
            let id = product_id(rng);
            if seen.contains(&id) || (fresh_cache && rng.chance(0.5)) {
                continue;
            }
            seen.push(id);
            let stem = format!("/images/products/{id}_s.jpg");
            let cached = returning && rng.chance(0.5);
            asset_req(rng, out, &mut at, &c, &here, &stem, None, cached, true);
        }
        // The mini-cart widget on every page: the busiest URL of the site.
        let api = Req::new(
            at + rng.int(30, 300),
            t_api(rng),
            &c,
            "GET",
            &format!("/api/cart/{cart}"),
            None,
            Kind::Api,
        )
        .referer(Some(&here));
        out.push(api);
        if let Page::Product(id) = page {
            let a = Req::new(
                at + rng.int(20, 200),
                t_api(rng),
                &c,
                "GET",
                &format!("/api/products/{id}"),
                None,
                Kind::Api,
            )
            .referer(Some(&here));
            out.push(a);
        }
        last_end = last_end.max(at + 400);
        // Think time before the next navigation.
        let think = rng.lognormal(16_000.0, 0.9).clamp(1_500.0, 600_000.0) as i64;
        t = page_end + think;
        let (pr, ca, se) = candidates(rng);
        let next = match page {
            Page::Home => rng.weighted(&[
                (ca, 35),
                (se, 25),
                (pr, 30),
                (Page::Cart, 5),
                (Page::Login, 5),
            ]),
            Page::Category(_) => rng.weighted(&[
                (pr, 60),
                (ca, 15),
                (se, 10),
                (Page::Home, 10),
                (Page::Cart, 5),
            ]),
            Page::Product(_) => {
                let n = rng.weighted(&[
                    (pr, 30),
                    (ca, 20),
                    (Page::Cart, 20),
                    (se, 15),
                    (Page::Home, 10),
                    (Page::Login, 5),
                ]);
                if n == Page::Cart {
                    // "Add to cart" posts to the API before the cart page opens.
                    let a = Req::new(
                        t - rng.int(400, 1200),
                        t_api(rng) + 20,
                        &c,
                        "POST",
                        &format!("/api/cart/{cart}"),
                        None,
                        Kind::Api,
                    )
                    .referer(Some(&here));
                    out.push(a);
                }
                n
            }
            Page::Search(term, pg) => rng.weighted(&[
                (pr, 60),
                (Page::Search(term, pg + 1), 12),
                (se, 8),
                (ca, 10),
                (Page::Home, 10),
            ]),
            Page::Cart => rng.weighted(&[(Page::Shipping, 45), (pr, 25), (Page::Home, 30)]),
            Page::Login => Page::Account,
            Page::Account => rng.weighted(&[(Page::Home, 50), (pr, 50)]),
            Page::Shipping => rng.weighted(&[(Page::Payment, 80), (Page::Cart, 20)]),
            Page::Payment => rng.weighted(&[(Page::Confirm, 85), (Page::Cart, 15)]),
            Page::Confirm => Page::Home,
        };
        // Form posts answer 302 and the browser follows at once.
        let post = match (page, next) {
            (Page::Login, Page::Account) => Some("/account/login.aspx"),
            (Page::Shipping, Page::Payment) => Some("/checkout/shipping.aspx"),
            (Page::Payment, Page::Confirm) => Some("/checkout/payment.aspx"),
            _ => None,
        };
        if let Some(stem) = post {
            let q = if stem == "/account/login.aspx" {
                Some("ReturnUrl=%2faccount%2fdefault.aspx".to_owned())
            } else {
                None
            };
            let r = Req::new(t, t_page(rng) + 40, &c, "POST", stem, q, Kind::Page)
                .referer(Some(&here))
                .status(302, 0, 0);
            t += r.dur + rng.int(15, 60);
            out.push(r);
        }
        if next == Page::Confirm {
            let a = Req::new(
                t + 700,
                t_api(rng),
                &c,
                "GET",
                &format!("/api/orders/{order}"),
                None,
                Kind::Api,
            )
            .referer(Some(&format!(
                "https://{HOST}/checkout/confirmation.aspx?order={order}"
            )));
            out.push(a);
        }
        referer = Some(here);
        page = next;
    }
    idle.push((last_end, c.ip));
}

/// A static file fetched by the page at `here`, `at` advancing as the browser queues them.
#[allow(clippy::too_many_arguments)]
fn asset_req(
    rng: &mut Rng,
    out: &mut Vec<Req>,
    at: &mut i64,
    c: &Client,
    here: &str,
    stem: &str,
    q: Option<&str>,
    cached: bool,
    big: bool,
) {
    let dur = if cached {
        t_304(rng)
    } else if big {
        t_image(rng)
    } else {
        t_static(rng)
    };
    let mut a = Req::new(
        *at + rng.int(0, 25),
        dur,
        c,
        "GET",
        stem,
        q.map(str::to_owned),
        Kind::Asset,
    )
    .referer(Some(here));
    if cached {
        a = a.status(304, 0, 0);
    }
    if !cached && rng.chance(0.0015) {
        a.fate = Fate::ClientReset;
    }
    *at += rng.int(1, 12);
    out.push(a);
}

/// Googlebot / bingbot: steady crawl of product and category pages.
fn crawler(rng: &mut Rng, p: &Plan, n: usize, ua: &'static str, net: &str, out: &mut Vec<Req>) {
    let ips: Vec<String> = (0..4)
        .map(|_| format!("{net}.{}", rng.int(1, 254)))
        .collect();
    for _ in 0..n {
        let t = p.day_start + rng.below(DAY as u64) as i64;
        if p.in_gap(t) {
            continue;
        }
        let c = Client {
            ip: rng.pick(&ips).clone(),
            ua,
        };
        let r = match rng.below(40) {
            0 => Req::new(
                t,
                t_static(rng),
                &c,
                "GET",
                "/robots.txt",
                None,
                Kind::Probe,
            ),
            1 => Req::new(
                t,
                t_static(rng) + 5,
                &c,
                "GET",
                "/sitemap.xml",
                None,
                Kind::Probe,
            ),
            2..=9 => Req::new(
                t,
                t_page(rng),
                &c,
                "GET",
                "/catalog/category.aspx",
                Some(format!("id={}", 1 + rng.below(14))),
                Kind::Probe,
            ),
            _ => {
                let id = 10_000 + rng.below(5_200) as u32;
                let r = Req::new(
                    t,
                    t_page(rng),
                    &c,
                    "GET",
                    "/catalog/product.aspx",
                    Some(format!("id={id}")),
                    Kind::Probe,
                );
                if id % 97 == 13 || id >= 14_800 {
                    r.status(404, 0, 0)
                } else {
                    r
                }
            }
        };
        out.push(r);
    }
}

/// Back-office users on the corporate LAN: Windows authentication, so the first request of a
/// connection shows the NTLM legs (401.2, 401.1 with SEC_E_NO_CREDENTIALS' relative, then 200).
fn admin(rng: &mut Rng, p: &Plan, n: usize, out: &mut Vec<Req>) {
    const USERS: &[&str] = &["CONTOSO\\mgarcia", "CONTOSO\\jlee", "CONTOSO\\akowalski"];
    for _ in 0..n {
        // Office hours, local 08:00–17:00.
        let local_h = rng.int(8, 16);
        let mut t =
            p.day_start + (local_h * 60 - p.tz_offset_min) * MINUTE + rng.below(HOUR as u64) as i64;
        let c = Client {
            ip: format!("10.20.5.{}", rng.int(20, 80)),
            ua: ADMIN_UA,
        };
        let user = rng.pick(USERS).to_string();
        let pages = rng.int(3, 12);
        let mut referer: Option<String> = None;
        for i in 0..pages {
            let (stem, q) = match rng.below(5) {
                0 => ("/admin/default.aspx", None),
                1 => ("/admin/orders.aspx", Some("status=open".to_owned())),
                2 => ("/admin/order.aspx", Some(format!("id={}", rng.guid()))),
                3 => (
                    "/admin/inventory.aspx",
                    Some(format!("sku=CT-{}", rng.int(10_000, 14_999))),
                ),
                _ => ("/admin/reports.aspx", Some("range=today".to_owned())),
            };
            if i == 0 {
                let leg1 = Req::new(t, rng.int(0, 2), &c, "GET", stem, q.clone(), Kind::Page)
                    .status(401, 2, 5);
                let leg2 = Req::new(t + 4, rng.int(0, 2), &c, "GET", stem, q.clone(), Kind::Page)
                    .status(401, 1, 2_148_074_254);
                out.push(leg1);
                out.push(leg2);
                t += 9;
            }
            let mut r = Req::new(t, t_page(rng) * 2, &c, "GET", stem, q, Kind::Page)
                .referer(referer.as_deref());
            r.user = Some(user.clone());
            referer = Some(r.url());
            let end = t + r.dur;
            out.push(r);
            if i == 0 {
                let mut css = Req::new(
                    end + 20,
                    t_static(rng),
                    &c,
                    "GET",
                    "/admin/css/admin.css",
                    Some("v=1.9".into()),
                    Kind::Asset,
                )
                .referer(referer.as_deref());
                css.user = Some(user.clone());
                out.push(css);
            }
            t = end + rng.lognormal(40_000.0, 0.8) as i64;
        }
    }
}

/// Probes the scanners send; status as IIS answers them on this site.
fn probe(rng: &mut Rng) -> (&'static str, String, Option<String>, u16, u32, u64) {
    match rng.below(16) {
        0 => ("GET", "/wp-login.php".into(), None, 404, 0, 2),
        1 => ("GET", "/.env".into(), None, 404, 0, 2),
        2 => ("GET", "/phpmyadmin/index.php".into(), None, 404, 0, 2),
        3 => ("GET", "/.git/config".into(), None, 404, 0, 2),
        4 => ("GET", "/web.config".into(), None, 404, 7, 0),
        5 => ("GET", "/bin/Contoso.Shop.dll".into(), None, 404, 8, 0),
        6 => ("GET", "/App_Data/shop.mdf".into(), None, 404, 8, 0),
        7 => ("GET", "/admin.php".into(), None, 404, 0, 2),
        8 => ("GET", "/backup.zip".into(), None, 404, 0, 2),
        9 => ("POST", "/xmlrpc.php".into(), None, 404, 0, 2),
        10 => ("GET", "/cgi-bin/test.cgi".into(), None, 404, 0, 2),
        11 => (
            "GET",
            "/catalog/search.aspx".into(),
            Some("q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&lang=en-US".into()),
            200,
            0,
            0,
        ),
        12 => (
            "GET",
            "/catalog/search.aspx".into(),
            Some("q=%27+OR+1%3D1--&lang=en-US".into()),
            200,
            0,
            0,
        ),
        13 => (
            "GET",
            "/catalog/product.aspx".into(),
            Some("id=10001%27".into()),
            500,
            0,
            0,
        ),
        14 => ("GET", "/default.aspx".into(), None, 200, 0, 0),
        _ => ("GET", "/server-status".into(), None, 404, 0, 2),
    }
}

fn probe_burst(rng: &mut Rng, c: &Client, from: i64, to: i64, n: usize, out: &mut Vec<Req>) {
    let mut t = from;
    let step = ((to - from) / n.max(1) as i64).max(50);
    for _ in 0..n {
        if t >= to {
            break;
        }
        let (m, stem, q, st, sub, w) = probe(rng);
        let dur = if st == 200 {
            t_search(rng)
        } else {
            t_static(rng) + 1
        };
        out.push(Req::new(t, dur, c, m, &stem, q, Kind::Probe).status(st, sub, w));
        t += rng.int(step / 2, step * 3 / 2);
    }
}

/// The request `ctsgate.dll` cannot survive: a search with a 400–900 character `q` full of
/// IIS-style `%uXXXX` escapes, which its URL normaliser decodes into a fixed stack buffer.
pub fn killer_query(rng: &mut Rng) -> String {
    let target = rng.int(400, 900) as usize;
    let mut q = String::with_capacity(target + 24);
    let filler = ['N', 'A', 'X'][rng.below(3) as usize];
    let run = rng.int(24, 96) as usize;
    q.extend(std::iter::repeat_n(filler, run));
    while q.len() < target {
        match rng.below(6) {
            0 => q.push_str("%u9090"),
            1 => q.push_str("%uff0e%uff0e%u2215"),
            2 => {
                let n = rng.int(2, 10) as usize;
                q.extend(std::iter::repeat_n(filler, n));
            }
            _ => {
                q.push_str("%u");
                q.push_str(&rng.hex(4));
            }
        }
    }
    q.truncate(target);
    // Never cut an escape in half: the scanner sends well-formed %u sequences.
    while let Some(p) = q.rfind('%') {
        if q.len() - p >= 6 {
            break;
        }
        q.truncate(p);
    }
    format!("q={q}&lang=en-US")
}

/// Popular requests placed in flight at a crash: they must not be blamed.
fn ordinary_inflight(rng: &mut Rng, cl: &[Client], t: i64) -> Req {
    let c = rng.pick(cl).clone();
    let cart = 100_000 + rng.below(900_000) as u32;
    let (m, stem, q, kind) = match rng.below(12) {
        0..=2 => ("GET", "/default.aspx".to_owned(), None, Kind::Page),
        3..=5 => ("GET", format!("/api/cart/{cart}"), None, Kind::Api),
        6 => ("POST", format!("/api/cart/{cart}"), None, Kind::Api),
        7 | 8 => (
            "GET",
            "/catalog/product.aspx".to_owned(),
            Some(format!("id={}", product_id(rng))),
            Kind::Page,
        ),
        9 => (
            "GET",
            "/catalog/search.aspx".to_owned(),
            Some(format!("q={}&lang=en-US", rng.pick(SEARCH_TERMS))),
            Kind::Page,
        ),
        10 => (
            "GET",
            format!("/api/products/{}", product_id(rng)),
            None,
            Kind::Api,
        ),
        _ => ("GET", "/cart.aspx".to_owned(), None, Kind::Page),
    };
    let mut r = Req::new(t, 0, &c, m, &stem, q, kind);
    r.referer = Some(format!("https://{HOST}/default.aspx"));
    r
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerEnd {
    Recycled,
    Crashed(usize),
    IdleShutdown,
}

#[derive(Debug, Clone)]
pub struct Worker {
    pub pid: u32,
    /// Process creation (100-ns ticks since the Unix epoch, for FILETIME precision).
    pub created_ticks: i64,
    pub ready: i64,
    pub ended: Option<(i64, WorkerEnd)>,
    pub last_activity: i64,
    pub served: u32,
}

impl Worker {
    pub fn created_ms(&self) -> i64 {
        self.created_ticks.div_euclid(10_000)
    }
}

#[derive(Debug, Clone)]
pub struct Crash {
    pub spec: CrashSpec,
    pub worker: usize,
    pub killer: usize,
    /// Requests abandoned at the crash (killer included), by arrival.
    pub abandoned: Vec<usize>,
    /// Process exit: the abandonments' time.
    pub exit: i64,
    pub killer_query: String,
}

#[derive(Debug, Clone)]
pub struct Day {
    pub plan: Plan,
    pub reqs: Vec<Req>,
    pub workers: Vec<Worker>,
    pub crashes: Vec<Crash>,
    /// Rapid-fail protection: (pool stopped at, admin started it at).
    pub rapid_fail: Option<(i64, i64)>,
    /// Sessions: last activity and client, for the HTTP.sys idle-connection timer.
    pub idle_conns: Vec<(i64, String)>,
}

/// Builds the traffic of the day and plays it against the pool's worker processes.
pub fn simulate(plan: &Plan, seed: u64) -> Day {
    let root = Rng::new(seed ^ plan.salt);
    let mut rng = root.fork(1);
    let clock = Clock::new(plan);
    let cl = clients(&mut rng, plan.sessions / 2 + 50, &plan.scanners);
    let mut reqs: Vec<Req> = Vec::new();
    let mut idle = Vec::new();
    let mut srng = root.fork(2);
    for _ in 0..plan.sessions {
        session(&mut srng, plan, &clock, &cl, &mut reqs, &mut idle);
    }
    let mut brng = root.fork(3);
    crawler(
        &mut brng,
        plan,
        plan.googlebot,
        GOOGLEBOT,
        "66.249.66",
        &mut reqs,
    );
    crawler(
        &mut brng,
        plan,
        plan.bingbot,
        BINGBOT,
        "40.77.167",
        &mut reqs,
    );
    admin(&mut root.fork(4), plan, plan.admin_sessions, &mut reqs);
    let mut nrng = root.fork(5);
    for _ in 0..plan.noise_scans {
        let c = Client {
            ip: ipv4(&mut nrng),
            ua: NOISE_UAS[nrng.below(NOISE_UAS.len() as u64) as usize],
        };
        if plan.scanners.contains(&c.ip.as_str()) {
            continue;
        }
        let from = clock.sample(&mut nrng);
        let n = nrng.int(6, 30) as usize;
        probe_burst(&mut nrng, &c, from, from + n as i64 * 700, n, &mut reqs);
    }

    // The crashes: a probe burst from the scanner, then the killer; ordinary requests in flight.
    let mut krng = root.fork(6);
    let mut killers: Vec<(usize, String)> = Vec::new();
    for (k, spec) in plan.crashes.iter().enumerate() {
        let c = Client {
            ip: plan.scanners[spec.scanner].to_owned(),
            ua: SCANNER_UA,
        };
        let query = match spec.retry_of {
            Some(j) => {
                // After the reset the scanner carries on with a few probes, then retries.
                let n = krng.int(3, 8) as usize;
                probe_burst(
                    &mut krng,
                    &c,
                    spec.at - 40 * SECOND,
                    spec.at - 5 * SECOND,
                    n,
                    &mut reqs,
                );
                killers[j].1.clone()
            }
            None => {
                let n = krng.int(14, 36) as usize;
                probe_burst(
                    &mut krng,
                    &c,
                    spec.at - 95 * SECOND,
                    spec.at - 3 * SECOND,
                    n,
                    &mut reqs,
                );
                killer_query(&mut krng)
            }
        };
        // The filter reads the request, spins on the decode for a moment, then faults.
        let start = spec.at - krng.int(150, 650);
        let mut r = Req::new(
            start,
            10 * MINUTE,
            &c,
            "GET",
            "/catalog/search.aspx",
            Some(query.clone()),
            Kind::Probe,
        );
        r.tag = Tag::Killer(k);
        reqs.push(r);
        killers.push((k, query));
        let n = krng.int(3, 8);
        for _ in 0..n {
            let s = spec.at - krng.int(60, 4_000);
            let mut o = ordinary_inflight(&mut krng, &cl, s);
            // Would have needed longer than the time left before the crash.
            o.dur = (spec.at - s) + krng.lognormal(120.0, 0.6) as i64 + 5;
            o.tag = Tag::InFlight(k);
            reqs.push(o);
        }
    }

    // Browsers spread over many connections; HTTP.sys logs the client port in HTTPERR only.
    let mut prng = root.fork(7);
    for r in &mut reqs {
        r.c_port = prng.int(49_152, 65_535) as u16;
    }
    // Arrival order; ties keep generation order.
    reqs.sort_by_key(|r| r.start);
    let mut day = Day {
        plan: plan.clone(),
        reqs,
        workers: Vec::new(),
        crashes: Vec::new(),
        rapid_fail: None,
        idle_conns: idle,
    };
    play(&mut day, &mut root.fork(8));
    day
}

enum Ev {
    Recycle,
    Crash(usize),
    AdminStart,
}

fn new_pid(rng: &mut Rng, used: &[Worker]) -> u32 {
    loop {
        let pid = 4 * rng.int(280, 6_200) as u32;
        if !used.iter().any(|w| w.pid == pid) {
            return pid;
        }
    }
}

fn spawn(rng: &mut Rng, workers: &mut Vec<Worker>, at: i64) -> usize {
    let pid = new_pid(rng, workers);
    // WAS creates the process a moment after the demand-start; CLR and app start take seconds.
    let created_ms = at + rng.int(8, 40);
    let created_ticks = created_ms * 10_000 + rng.int(0, 9_999);
    let ready = created_ms + rng.int(1_600, 2_900);
    workers.push(Worker {
        pid,
        created_ticks,
        ready,
        ended: None,
        last_activity: ready,
        served: 0,
    });
    workers.len() - 1
}

const IDLE_TIMEOUT: i64 = 20 * MINUTE;
const RAPID_FAIL_WINDOW: i64 = 5 * MINUTE;
const RAPID_FAIL_MAX: usize = 5;

/// Plays arrivals against the worker processes, in time order.
fn play(day: &mut Day, rng: &mut Rng) {
    let p = day.plan.clone();
    let mut events: Vec<(i64, Ev)> = Vec::new();
    for &t in &p.recycles {
        events.push((t, Ev::Recycle));
    }
    for (k, c) in p.crashes.iter().enumerate() {
        events.push((c.at, Ev::Crash(k)));
    }
    if let Some(a) = p.admin_start {
        events.push((a, Ev::AdminStart));
    }
    events.sort_by_key(|e| e.0);
    let mut ev = events.into_iter().peekable();

    let first_pid = new_pid(rng, &day.workers);
    let created_ticks = p.first_worker_created * 10_000 + rng.int(0, 9_999);
    day.workers.push(Worker {
        pid: first_pid,
        created_ticks,
        ready: p.first_worker_created + 2_000,
        ended: None,
        last_activity: p.day_start,
        served: 10_000,
    });
    let mut current: Option<usize> = Some(0);
    let mut disabled_until: Option<i64> = None;
    // Requests being served by the current worker (indices), to find the in-flight ones.
    let mut active: Vec<usize> = Vec::new();
    let mut crash_times: Vec<i64> = Vec::new();
    // Pages whose HTML never arrived (abandoned or refused): the browser asks for nothing more
    // from them. (client, page URL).
    let mut failed_pages: Vec<(String, String)> = Vec::new();

    for i in 0..day.reqs.len() {
        let s = day.reqs[i].start;
        while let Some((t, _)) = ev.peek() {
            if *t > s {
                break;
            }
            let (t, e) = ev.next().unwrap();
            match e {
                Ev::Recycle => {
                    if let Some(w) = current {
                        // Overlapped recycle: the new worker takes new requests at once, the old
                        // one drains; no wait for the client.
                        day.workers[w].ended = Some((t, WorkerEnd::Recycled));
                        let n = spawn(rng, &mut day.workers, t);
                        day.workers[n].created_ticks = t * 10_000 + rng.int(0, 9_999);
                        day.workers[n].ready = t;
                        current = Some(n);
                        active.clear();
                    }
                }
                Ev::AdminStart => {
                    disabled_until = None;
                }
                Ev::Crash(k) => {
                    let w = current.expect("a worker is running when the killer arrives");
                    let spec = p.crashes[k].clone();
                    let exit = t + rng.int(330, 420);
                    let mut abandoned = Vec::new();
                    let mut ordinary = 0;
                    // Deliberately placed ones first, then any natural overlap, capped at 10.
                    active.sort_by_key(|&j| match day.reqs[j].tag {
                        Tag::Killer(_) => 0,
                        Tag::InFlight(_) => 1,
                        Tag::Normal => 2,
                    });
                    for &j in &active {
                        let r = &mut day.reqs[j];
                        if r.fate != Fate::Logged || r.end <= t {
                            continue;
                        }
                        let is_killer = matches!(r.tag, Tag::Killer(_));
                        if !is_killer && ordinary >= 10 {
                            // Finished just before the crash instead.
                            r.end = t - rng.int(1, 120).min(t - r.start);
                            continue;
                        }
                        if !is_killer {
                            ordinary += 1;
                        }
                        r.fate = Fate::Abandoned(k);
                        abandoned.push(j);
                    }
                    abandoned.sort_by_key(|&j| (day.reqs[j].start, j));
                    for &j in &abandoned {
                        if day.reqs[j].kind == Kind::Page {
                            failed_pages.push((day.reqs[j].c_ip.clone(), day.reqs[j].url()));
                        }
                    }
                    let killer = *abandoned
                        .iter()
                        .find(|&&j| day.reqs[j].tag == Tag::Killer(k))
                        .expect("killer in flight");
                    assert!(
                        day.workers[w].ready <= day.reqs[killer].start,
                        "crash {k}: the worker must be up before the filter can see the request"
                    );
                    let q = day.reqs[killer].query.clone().unwrap_or_default();
                    day.workers[w].ended = Some((t, WorkerEnd::Crashed(k)));
                    day.crashes.push(Crash {
                        spec,
                        worker: w,
                        killer,
                        abandoned,
                        exit,
                        killer_query: q,
                    });
                    active.clear();
                    current = None;
                    crash_times.push(t);
                    let recent = crash_times
                        .iter()
                        .filter(|&&c| c > t - RAPID_FAIL_WINDOW)
                        .count();
                    if recent >= RAPID_FAIL_MAX {
                        let until = p
                            .admin_start
                            .expect("rapid-fail needs an admin restart in the plan");
                        disabled_until = Some(until);
                        day.rapid_fail = Some((exit, until));
                    }
                }
            }
        }
        let r = &day.reqs[i];
        if r.fate != Fate::Logged {
            if r.fate == Fate::ClientReset {
                day.reqs[i].end = s + 40;
            }
            continue;
        }
        if let Some(referer) = &r.referer
            && failed_pages
                .iter()
                .any(|(ip, url)| *ip == r.c_ip && url == referer)
        {
            let rr = &mut day.reqs[i];
            rr.fate = Fate::Dropped;
            rr.end = s;
            continue;
        }
        if let Some(until) = disabled_until
            && s < until
        {
            // HTTP.sys answers 503 itself; the browser never asks for the page's assets.
            let rr = &mut day.reqs[i];
            rr.fate = if rr.kind == Kind::Asset {
                Fate::Dropped
            } else {
                Fate::Offline
            };
            rr.end = s;
            if rr.kind == Kind::Page {
                failed_pages.push((rr.c_ip.clone(), rr.url()));
            }
            continue;
        }
        let w = match current {
            Some(w) if day.workers[w].last_activity + IDLE_TIMEOUT > s => w,
            Some(w) => {
                // No request for idleTimeout minutes: WAS shut the worker down (5186).
                let at = day.workers[w].last_activity + IDLE_TIMEOUT;
                day.workers[w].ended = Some((at, WorkerEnd::IdleShutdown));
                let n = spawn(rng, &mut day.workers, s);
                current = Some(n);
                active.clear();
                n
            }
            None => {
                let n = spawn(rng, &mut day.workers, s);
                current = Some(n);
                n
            }
        };
        let wk = &mut day.workers[w];
        let mut begin = s.max(wk.ready);
        if wk.served < 3 && day.reqs[i].kind == Kind::Page {
            // First pages of a fresh worker compile and warm caches.
            begin += rng.lognormal(2_200.0, 0.35) as i64;
        }
        wk.served += 1;
        let end = begin + day.reqs[i].dur;
        wk.last_activity = wk.last_activity.max(end);
        let rr = &mut day.reqs[i];
        rr.end = end;
        rr.worker = w;
        active.retain(|&j| day.reqs[j].end > s);
        active.push(i);
    }
    // A request still running at midnight is in tomorrow's log.
    for r in &mut day.reqs {
        if r.fate == Fate::Logged && r.end >= p.day_end() {
            r.fate = Fate::Dropped;
        }
    }
}
