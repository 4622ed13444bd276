//! Deterministic IIS 10 W3C log generator for benchmarks and scale tests.
//!
//! `cargo run --release --example gen_w3c -- --size 1G --seed 1 --out u_ex240301.log`
//!
//! Same seed and size ⇒ byte-identical file. IIS 10 default fields, CRLF, UTC times that never
//! go backwards over several days, `+`-escaped user agents, 85 % IPv4 / 15 % IPv6 clients,
//! a status mix close to real sites, log-normal time-taken, a few crash windows (503/500 bursts
//! with win32 64/1236), and the header block written again from time to time, as IIS does.
//! `--switch-at 0.6` changes to the 22-field layout + X-Forwarded-For after 60 % of the bytes
//! (the mid-file `#Fields` correctness probe).

use std::io::{BufWriter, Write};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: tiny, fast and good enough for synthetic traffic.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const AGENTS: &[&str] = &[
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/122.0.0.0+Safari/537.36",
    "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/17.2+Safari/605.1.15",
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:123.0)+Gecko/20100101+Firefox/123.0",
    "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+17_3+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Mobile/15E148",
    "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)",
    "curl/8.4.0",
    "-",
];
const STATIC: &[&str] = &[
    "/css/site.css",
    "/js/app.min.js",
    "/images/logo.png",
    "/favicon.ico",
    "/fonts/segoe.woff2",
    "/images/banner-spring.jpg",
];
const PAGES: &[&str] = &[
    "/",
    "/default.aspx",
    "/catalog/list.aspx",
    "/account/login.aspx",
    "/cart.aspx",
    "/legacy/report.asp",
];
const REFERERS: &[&str] = &[
    "-",
    "-",
    "https://www.example.com/",
    "https://www.example.com/catalog/list.aspx",
    "https://www.bing.com/",
];

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<f64>().ok().map(|n| (n * mult as f64) as u64)
}

fn main() -> std::io::Result<()> {
    let mut size = 1u64 << 30;
    let mut seed = 1u64;
    let mut out: Option<String> = None;
    let mut switch_at: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.as_str() {
            "--size" => size = parse_size(&val()).expect("--size like 64M or 1G"),
            "--seed" => seed = val().parse().expect("--seed N"),
            "--out" => out = Some(val()),
            "--switch-at" => switch_at = Some(val().parse().expect("--switch-at 0.6")),
            _ => {
                eprintln!("usage: gen_w3c [--size 1G] [--seed 1] [--out FILE] [--switch-at 0.6]");
                std::process::exit(2);
            }
        }
    }
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    generate(&mut w, size, seed, switch_at)?;
    w.flush()
}

const FIELDS_15: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";
const FIELDS_22_XFF: &str = "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken X-Forwarded-For";

fn header(w: &mut dyn Write, epoch: i64, fields: &str) -> std::io::Result<u64> {
    let s = format!(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: {}\r\n#Fields: {}\r\n",
        datetime(epoch),
        fields
    );
    w.write_all(s.as_bytes())?;
    Ok(s.len() as u64)
}

fn datetime(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn generate(
    w: &mut dyn Write,
    size: u64,
    seed: u64,
    switch_at: Option<f64>,
) -> std::io::Result<()> {
    let mut rng = Rng(seed);
    let mut t: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z
    let mut written = header(w, t, FIELDS_15)?;
    let mut wide = false;
    let mut line = String::with_capacity(512);
    let mut crash_until = 0i64;
    while written < size {
        // ~20 requests per second on average; times never go backwards.
        t += (rng.below(100) < 5) as i64;
        if !wide && switch_at.is_some_and(|f| written as f64 >= f * size as f64) {
            wide = true;
            written += header(w, t, FIELDS_22_XFF)?;
        } else if rng.below(1_000_000) < 3 {
            // Header re-emitted after an idle period or restart.
            written += header(w, t, if wide { FIELDS_22_XFF } else { FIELDS_15 })?;
        }
        if crash_until < t && rng.below(2_000_000) < 2 {
            crash_until = t + 20 + rng.below(60) as i64;
        }
        line.clear();
        let client = if rng.below(100) < 85 {
            format!(
                "{}.{}.{}.{}",
                10 + rng.below(200),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            )
        } else {
            format!("2001:db8:{:x}::{:x}", rng.below(65536), rng.below(65536))
        };
        let roll = rng.below(1000);
        let (method, stem, query): (&str, String, String) = match rng.below(100) {
            0..=44 => ("GET", rng.pick(STATIC).to_string(), "-".into()),
            45..=69 => (
                "GET",
                rng.pick(PAGES).to_string(),
                if rng.below(3) == 0 {
                    format!("page={}", rng.below(40))
                } else {
                    "-".into()
                },
            ),
            70..=84 => (
                if rng.below(4) == 0 { "POST" } else { "GET" },
                format!("/api/orders/{}", rng.below(5_000_000)),
                format!("include=items&v={}", rng.below(4)),
            ),
            85..=92 => (
                "GET",
                "/WebResource.axd".into(),
                format!("d={:016x}&t={}", rng.next(), rng.below(1 << 40)),
            ),
            93..=96 => (
                "GET",
                "/scripts/isapi/gateway.dll".into(),
                format!("cmd=lookup&id={}", rng.below(100_000)),
            ),
            _ => (
                "GET",
                rng.pick(&[
                    "/wp-login.php",
                    "/.env",
                    "/admin/config.php",
                    "/cgi-bin/test.cgi",
                ])
                .into(),
                "-".into(),
            ),
        };
        let (status, sub, win32): (u16, u32, u64) = if crash_until >= t && rng.below(3) > 0 {
            if rng.below(2) == 0 {
                (503, 0, 0)
            } else {
                (500, 0, if rng.below(2) == 0 { 64 } else { 1236 })
            }
        } else if stem.starts_with("/wp-")
            || stem.starts_with("/.env")
            || stem.starts_with("/admin")
            || stem.starts_with("/cgi")
        {
            (404, 0, 2)
        } else {
            match roll {
                0..=799 => (200, 0, if rng.below(200) == 0 { 64 } else { 0 }),
                800..=879 => (304, 0, 0),
                880..=909 => (302, 0, 0),
                910..=944 => (404, 0, 2),
                945..=959 => (
                    401,
                    if rng.below(2) == 0 { 2 } else { 1 },
                    if rng.below(2) == 0 { 5 } else { 2_148_074_254 },
                ),
                960..=974 => (403, 14, 0),
                975..=989 => (500, [0, 19, 21, 50][rng.below(4) as usize], 0),
                990..=996 => (503, 0, 0),
                _ => (200, 0, 995),
            }
        };
        // Log-normal time-taken, median ≈ 20 ms.
        let u1 = rng.unit().max(1e-12);
        let u2 = rng.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let taken = (20.0 * (1.1 * z).exp()).min(600_000.0) as u64;
        let user = if status == 401 || rng.below(20) > 0 {
            "-".to_string()
        } else {
            format!("CONTOSO\\user{}", rng.below(500))
        };
        let ua = rng.pick(AGENTS);
        let referer = rng.pick(REFERERS);
        use std::fmt::Write as _;
        if wide {
            let _ = write!(
                line,
                "{} W3SVC1 WEB01 10.0.0.5 {method} {stem} {query} 443 {user} {client} HTTP/1.1 {ua} ASP.NET_SessionId={:x} {referer} www.example.com {status} {sub} {win32} {} {} {taken} 203.0.113.{}\r\n",
                datetime(t),
                rng.next() & 0xffff_ffff,
                200 + rng.below(50_000),
                300 + rng.below(2_000),
                rng.below(255)
            );
        } else {
            let _ = write!(
                line,
                "{} 10.0.0.5 {method} {stem} {query} 443 {user} {client} {ua} {referer} {status} {sub} {win32} {taken}\r\n",
                datetime(t)
            );
        }
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    Ok(())
}
