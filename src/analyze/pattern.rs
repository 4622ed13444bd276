//! Request features that define a "request pattern", folded so that requests which differ only
//! in ids compare equal: path templates (`/api/items/{n}`), query shapes (parameter names, value
//! lengths bucketed, unusual characters flagged), request size buckets, client, user agent.
//!
//! One folding routine writes into a [`Sink`]: a 64-bit FNV-1a hasher for the full-table
//! baseline pass (no allocation per request), or a byte buffer for the few in-flight requests
//! whose patterns are displayed. Both see the same bytes, so a displayed pattern and the hash
//! counted in the baseline always agree. Everything here is deterministic and never panics on
//! hostile input (every index is bounds-checked by construction: we iterate, never slice blindly).

use serde::Serialize;

/// The kinds of pattern, most specific first (this order breaks ties between equivalent patterns).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Path template + query shape: `/search.aspx?q={257-1024,%u}`.
    Query,
    /// Method + path template: `POST /api/items/{n}`.
    Route,
    /// Path template alone.
    Path,
    /// User agent (exact, first 256 bytes).
    UserAgent,
    /// Client address (`c-ip`).
    Client,
    /// Request size bucket (`cs-bytes`).
    Size,
    /// Method alone.
    Method,
}

/// Every kind, most specific first.
pub const KINDS: [FeatureKind; 7] = [
    FeatureKind::Query,
    FeatureKind::Route,
    FeatureKind::Path,
    FeatureKind::UserAgent,
    FeatureKind::Client,
    FeatureKind::Size,
    FeatureKind::Method,
];

impl FeatureKind {
    /// Its index in [`KINDS`].
    pub fn index(self) -> usize {
        self as usize
    }
    /// Whether every request has this feature in principle. A request without a query simply
    /// does not match a query pattern, so the denominators are all requests; user agent and size
    /// are absent from HTTPERR (and from W3C files that do not log them), so their denominators
    /// are the requests where they are known.
    pub fn always_defined(self) -> bool {
        !matches!(self, FeatureKind::UserAgent | FeatureKind::Size)
    }
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FeatureKind::Query => "query shape",
            FeatureKind::Route => "method + path",
            FeatureKind::Path => "path",
            FeatureKind::UserAgent => "user agent",
            FeatureKind::Client => "client",
            FeatureKind::Size => "request size",
            FeatureKind::Method => "method",
        }
    }
}

/// The parts of one request the features look at (W3C row or HTTPERR row).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestView<'a> {
    /// The HTTP method.
    pub method: Option<&'a str>,
    /// The URL path.
    pub stem: &'a str,
    /// The query string (null: none).
    pub query: Option<&'a str>,
    /// The client address.
    pub client: Option<&'a str>,
    /// As logged: a `+` in it stands for a space.
    pub user_agent: Option<&'a str>,
    /// Bytes received.
    pub bytes_in: Option<u64>,
}

impl<'a> RequestView<'a> {
    /// Splits an HTTPERR `cs-uri` (`/path?query`, sometimes an absolute URL) into stem and query.
    pub fn split_uri(uri: &'a str) -> (&'a str, Option<&'a str>) {
        match uri.split_once('?') {
            Some((s, q)) => (s, Some(q)),
            None => (uri, None),
        }
    }
}

/// Where folded bytes go.
pub trait Sink {
    /// Feeds bytes to the hash.
    fn put(&mut self, b: &[u8]);
}

/// 64-bit FNV-1a.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Sink for Fnv {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        let mut h = self.0;
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
}

/// Unusual characters, as bit flags.
pub mod flags {
    /// `%u` escapes (IIS-only encoding, used by old exploits).
    pub const U_ENCODING: u8 = 1;
    /// `%00`.
    pub const NUL: u8 = 2;
    /// `<` or `%3c`.
    pub const ANGLE: u8 = 4;
    /// `'` or `%27`.
    pub const QUOTE: u8 = 8;
    /// `..` (path traversal).
    pub const DOTDOT: u8 = 16;
    /// `%25` (double encoding).
    pub const DOUBLE_ENCODING: u8 = 32;
    /// `%0d`/`%0a`.
    pub const CRLF: u8 = 64;
    /// Bytes at or above 0x80.
    pub const EIGHT_BIT: u8 = 128;
    /// (flag, short label, meaning)
    pub const ALL: [(u8, &str, &str); 8] = [
        (U_ENCODING, "%u", "IIS %uXXXX unicode escapes"),
        (NUL, "nul", "NUL bytes (%00)"),
        (ANGLE, "<>", "angle brackets (markup / script)"),
        (QUOTE, "quote", "quotes (SQL / attribute injection)"),
        (DOTDOT, "..", "dot-dot path traversal"),
        (DOUBLE_ENCODING, "%25", "double percent-encoding"),
        (CRLF, "crlf", "CR/LF (header injection)"),
        (EIGHT_BIT, "8bit", "non-ASCII or overlong UTF-8 bytes"),
    ];
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Unusual-character flags of a raw (not decoded) string.
pub fn unusual(s: &[u8]) -> u8 {
    let mut f = 0u8;
    let n = s.len();
    let mut i = 0;
    while i < n {
        let b = s[i];
        match b {
            0 => f |= flags::NUL,
            b'<' | b'>' => f |= flags::ANGLE,
            b'\'' | b'"' => f |= flags::QUOTE,
            b'\r' | b'\n' => f |= flags::CRLF,
            b'.' if i + 1 < n && s[i + 1] == b'.' => f |= flags::DOTDOT,
            0x80..=0xff => f |= flags::EIGHT_BIT,
            b'%' if i + 2 < n || (i + 1 < n && (s[i + 1] | 0x20) == b'u') => {
                let a = s[i + 1] | 0x20;
                if a == b'u' {
                    if i + 5 < n && s[i + 2..i + 6].iter().all(|&c| hexval(c).is_some()) {
                        f |= flags::U_ENCODING;
                    }
                } else if let (Some(h), Some(l)) =
                    (hexval(s[i + 1]), s.get(i + 2).and_then(|&c| hexval(c)))
                {
                    match (h << 4) | l {
                        0x00 => f |= flags::NUL,
                        0x3c | 0x3e => f |= flags::ANGLE,
                        0x27 | 0x22 => f |= flags::QUOTE,
                        0x0d | 0x0a => f |= flags::CRLF,
                        0x25 => f |= flags::DOUBLE_ENCODING,
                        0x2e if s.get(i + 3) == Some(&b'%')
                            && s.get(i + 4).map(|c| c | 0x20) == Some(b'2')
                            && s.get(i + 5).map(|c| c | 0x20) == Some(b'e') =>
                        {
                            f |= flags::DOTDOT
                        }
                        0x80..=0xff => f |= flags::EIGHT_BIT,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    f
}

/// Labels of a flag set, comma-joined (`%u,<>`).
pub fn flag_labels(f: u8) -> String {
    flags::ALL
        .iter()
        .filter(|(b, _, _)| f & b != 0)
        .map(|(_, l, _)| *l)
        .collect::<Vec<_>>()
        .join(",")
}

fn put_flags<S: Sink>(f: u8, s: &mut S) {
    let mut first = true;
    for (b, l, _) in flags::ALL {
        if f & b != 0 {
            if !first {
                s.put(b",");
            }
            s.put(l.as_bytes());
            first = false;
        }
    }
}

/// Value-length buckets of query values.
pub const LEN_BUCKETS: [(usize, &str); 7] = [
    (0, "0"),
    (16, "1-16"),
    (64, "17-64"),
    (256, "65-256"),
    (1024, "257-1024"),
    (4096, "1025-4096"),
    (usize::MAX, ">4096"),
];

/// The size class of a length (`<1 KB`, `1-8 KB` …).
pub fn len_bucket(n: usize) -> &'static str {
    LEN_BUCKETS
        .iter()
        .find(|(max, _)| n <= *max)
        .map_or(">4096", |(_, l)| l)
}

/// Request size (`cs-bytes`) buckets.
pub fn size_bucket(n: u64) -> &'static str {
    match n {
        0..=1023 => "<1 KB",
        1024..=8191 => "1-8 KB",
        8192..=65535 => "8-64 KB",
        65536..=1_048_575 => "64 KB-1 MB",
        _ => ">1 MB",
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn is_guid(seg: &[u8]) -> bool {
    let s = match seg {
        [b'{', inner @ .., b'}'] => inner,
        _ => seg,
    };
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                is_hex(c)
            }
        })
}

/// Strips `http://host` from an absolute URL.
fn strip_origin(stem: &[u8]) -> &[u8] {
    for scheme in [&b"http://"[..], b"https://"] {
        if stem.len() >= scheme.len() && stem[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &stem[scheme.len()..];
            return match rest.iter().position(|&c| c == b'/') {
                Some(p) => &rest[p..],
                None => b"/",
            };
        }
    }
    stem
}

const MAX_SEGMENTS: usize = 24;
const MAX_SEGMENT: usize = 96;

fn put_segment<S: Sink>(seg: &[u8], s: &mut S) {
    if seg.is_empty() {
        return;
    }
    if seg.len() > MAX_SEGMENT {
        s.put(b"{long}");
        return;
    }
    if seg.iter().all(u8::is_ascii_digit) {
        s.put(b"{n}");
        return;
    }
    if is_guid(seg) {
        s.put(b"{guid}");
        return;
    }
    if seg.len() >= 16 && seg.iter().all(|&c| is_hex(c)) && seg.iter().any(u8::is_ascii_digit) {
        s.put(b"{hex}");
        return;
    }
    // Inside a segment, tokens between `.`, `-`, `_`, `,`, `;`, `~` are folded one by one:
    // numbers → `{n}`, hex hashes (8+ hex digits mixing digits and letters) → `{hex}`, runs of 4+
    // digits in a word → `{n}` (`p12345` → `p{n}`); ASCII is lowercased (IIS paths are
    // case-insensitive). `app.9f86d081884c7d65.js` → `app.{hex}.js`.
    let mut start = 0;
    for (i, &c) in seg
        .iter()
        .enumerate()
        .chain(std::iter::once((seg.len(), &b'.')))
    {
        if i < seg.len() && !matches!(c, b'.' | b'-' | b'_' | b',' | b';' | b'~') {
            continue;
        }
        put_token(&seg[start..i], s);
        if i < seg.len() {
            s.put(&[c]);
        }
        start = i + 1;
    }
}

fn put_token<S: Sink>(tok: &[u8], s: &mut S) {
    if tok.is_empty() {
        return;
    }
    if tok.iter().all(u8::is_ascii_digit) {
        s.put(b"{n}");
        return;
    }
    if tok.len() >= 8
        && tok.iter().all(|&c| is_hex(c))
        && tok.iter().any(u8::is_ascii_digit)
        && tok.iter().any(u8::is_ascii_alphabetic)
    {
        s.put(b"{hex}");
        return;
    }
    let mut i = 0;
    while i < tok.len() {
        let c = tok[i];
        if c.is_ascii_digit() {
            let from = i;
            while i < tok.len() && tok[i].is_ascii_digit() {
                i += 1;
            }
            if i - from >= 4 {
                s.put(b"{n}");
            } else {
                s.put(&tok[from..i]);
            }
            continue;
        }
        s.put(&[c.to_ascii_lowercase()]);
        i += 1;
    }
}

/// Writes the path template of a URI stem: ids, GUIDs and hashes folded to `{n}`, `{guid}`,
/// `{hex}`, ASCII lowercased, unusual characters flagged as a ` [..]` suffix.
pub fn put_template<S: Sink>(stem: &str, s: &mut S) {
    let raw = strip_origin(stem.as_bytes());
    if raw.is_empty() {
        s.put(b"/");
        return;
    }
    for (i, seg) in raw.split(|&c| c == b'/').enumerate() {
        if i >= MAX_SEGMENTS {
            s.put(b"/{more}");
            break;
        }
        if i > 0 {
            s.put(b"/");
        }
        put_segment(seg, s);
    }
    let f = unusual(raw);
    if f != 0 {
        s.put(b" [");
        put_flags(f, s);
        s.put(b"]");
    }
}

const MAX_PARAMS: usize = 16;
const MAX_NAME: usize = 40;

/// Writes a query shape: `name={bucket[,flags]}&…`, parameter order kept (deterministic and what
/// the client sent), names lowercased and cut at 40 bytes.
pub fn put_query_shape<S: Sink>(q: &str, s: &mut S) {
    for (i, part) in q.as_bytes().split(|&c| c == b'&').enumerate() {
        if i >= MAX_PARAMS {
            s.put(b"&{more}");
            break;
        }
        if i > 0 {
            s.put(b"&");
        }
        let (name, value) = match part.iter().position(|&c| c == b'=') {
            Some(p) => (&part[..p], Some(&part[p + 1..])),
            None => (part, None),
        };
        if name.is_empty() {
            s.put(b"(empty)");
        } else {
            for &c in name.iter().take(MAX_NAME) {
                let c = c.to_ascii_lowercase();
                // Names with digits folded like path ids (`item123` stays, `p[0]` stays): only
                // bytes that could break the display are replaced.
                s.put(&[if c < 0x20 || c == 0x7f { b'?' } else { c }]);
            }
            if name.len() > MAX_NAME {
                s.put(b"~");
            }
        }
        if let Some(v) = value {
            s.put(b"={");
            s.put(len_bucket(v.len()).as_bytes());
            let f = unusual(v);
            if f != 0 {
                s.put(b",");
                put_flags(f, s);
            }
            s.put(b"}");
        }
    }
}

fn put_method<S: Sink>(m: &str, s: &mut S) {
    for &c in m.as_bytes().iter().take(24) {
        s.put(&[c.to_ascii_uppercase()]);
    }
}

const MAX_UA: usize = 256;

/// Writes feature `kind` of `r`; false when the request has no such feature (no query, no UA …).
pub fn put_feature<S: Sink>(kind: FeatureKind, r: &RequestView<'_>, s: &mut S) -> bool {
    match kind {
        FeatureKind::Path => put_template(r.stem, s),
        FeatureKind::Route => {
            let Some(m) = r.method else { return false };
            put_method(m, s);
            s.put(b" ");
            put_template(r.stem, s);
        }
        FeatureKind::Query => {
            let Some(q) = r.query.filter(|q| !q.is_empty() && *q != "-") else {
                return false;
            };
            put_template(r.stem, s);
            s.put(b"?");
            put_query_shape(q, s);
        }
        FeatureKind::UserAgent => {
            let Some(ua) = r.user_agent.filter(|u| !u.is_empty() && *u != "-") else {
                return false;
            };
            let b = ua.as_bytes();
            let b = &b[..b.len().min(MAX_UA)];
            // `+` decoded, as the table reads it (one piece: pieces count in the hash).
            let mut decoded = [0u8; MAX_UA];
            for (d, &c) in decoded.iter_mut().zip(b) {
                *d = if c == b'+' { b' ' } else { c };
            }
            s.put(&decoded[..b.len()]);
        }
        FeatureKind::Client => {
            let Some(c) = r.client.filter(|c| !c.is_empty() && *c != "-") else {
                return false;
            };
            s.put(c.as_bytes());
        }
        FeatureKind::Size => {
            let Some(n) = r.bytes_in else { return false };
            s.put(size_bucket(n).as_bytes());
        }
        FeatureKind::Method => {
            let Some(m) = r.method else { return false };
            put_method(m, s);
        }
    }
    true
}

/// A streaming 64-bit hash for the baseline pass: 8 bytes per step (FxHash-style rotate,
/// xor, multiply), finished with a full avalanche and the feature kind. Equal byte sequences
/// written in equal pieces give equal hashes; in-flight and baseline requests both go through
/// [`feature_hashes`], so they always agree.
#[derive(Debug, Clone, Copy)]
pub struct StreamHash(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl StreamHash {
    fn new() -> Self {
        StreamHash(0x243f_6a88_85a3_08d3)
    }
    #[inline]
    fn word(&mut self, w: u64) {
        // A product carries a difference only upwards; folding the high half back down lets
        // the next word's bits meet it. Without the fold, words that differ only in their top
        // byte followed by a byte that differs (client `10.0.1.2`+`3` against `10.0.1.3`+`x`)
        // could end in the same state: 8 of 1,200 addresses collided.
        let h = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        self.0 = h ^ (h >> 32);
    }
    fn finish(self, kind: FeatureKind) -> u64 {
        // murmur3 fmix64 of the state mixed with the kind.
        let mut h = self.0 ^ ((kind as u64 + 1) << 56);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl Sink for StreamHash {
    #[inline]
    fn put(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        for &x in chunks.remainder() {
            self.word(u64::from(x) | 0x100);
        }
        // Piece boundaries count: `ab`+`c` ≠ `a`+`bc` is fine (both sides write the same pieces),
        // but a separator keeps `put(b"")` from being a no-op that could merge fields.
        self.word(0x1_0000 | b.len() as u64);
    }
}

/// The hashes of the features of `r` that `needed` asks for (`None` where undefined or not
/// needed). The path template is folded once and its hash state shared by path, route and query.
/// No allocation: this runs on every baseline request.
pub fn feature_hashes(r: &RequestView<'_>, needed: &[bool; 7]) -> [Option<u64>; 7] {
    let mut out = [None; 7];
    let need = |k: FeatureKind| needed[k.index()];
    if need(FeatureKind::Path) || need(FeatureKind::Route) || need(FeatureKind::Query) {
        let mut t = StreamHash::new();
        put_template(r.stem, &mut t);
        if need(FeatureKind::Path) {
            out[FeatureKind::Path.index()] = Some(t.finish(FeatureKind::Path));
        }
        if need(FeatureKind::Route)
            && let Some(m) = r.method
        {
            let mut h = t;
            h.put(b" ");
            put_method(m, &mut h);
            out[FeatureKind::Route.index()] = Some(h.finish(FeatureKind::Route));
        }
        if need(FeatureKind::Query)
            && let Some(q) = r.query.filter(|q| !q.is_empty() && *q != "-")
        {
            let mut h = t;
            h.put(b"?");
            put_query_shape(q, &mut h);
            out[FeatureKind::Query.index()] = Some(h.finish(FeatureKind::Query));
        }
    }
    for k in [
        FeatureKind::UserAgent,
        FeatureKind::Client,
        FeatureKind::Size,
        FeatureKind::Method,
    ] {
        if need(k) {
            let mut h = StreamHash::new();
            if put_feature(k, r, &mut h) {
                out[k.index()] = Some(h.finish(k));
            }
        }
    }
    out
}

/// The hash of feature `kind` of `r`, or `None` when undefined.
pub fn feature_hash(kind: FeatureKind, r: &RequestView<'_>) -> Option<u64> {
    let mut needed = [false; 7];
    needed[kind.index()] = true;
    feature_hashes(r, &needed)[kind.index()]
}

/// The hash and the display text of feature `kind` of `r` (for the few in-flight requests).
pub fn feature_text(kind: FeatureKind, r: &RequestView<'_>) -> Option<(u64, String)> {
    let hash = feature_hash(kind, r)?;
    let mut buf = Vec::new();
    put_feature(kind, r, &mut buf);
    Some((hash, String::from_utf8_lossy(&buf).into_owned()))
}

/// A `HashMap` hasher for keys that are already good 64-bit hashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Map from feature hash to candidate index.
pub type HashIndex = std::collections::HashMap<u64, usize, std::hash::BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    /// 65,536 client addresses, among them the pairs that differ in the 8th byte and the next
    /// (`10.0.1.2`+`3` / `10.0.1.3`+`x`): every one its own hash.
    #[test]
    fn client_hashes_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..65_536u32 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            let r = RequestView {
                client: Some(&ip),
                ..Default::default()
            };
            assert!(seen.insert(feature_hash(FeatureKind::Client, &r)), "{ip}");
        }
    }

    fn template(s: &str) -> String {
        let mut b = Vec::new();
        put_template(s, &mut b);
        String::from_utf8(b).unwrap()
    }

    fn shape(q: &str) -> String {
        let mut b = Vec::new();
        put_query_shape(q, &mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn templates_fold_ids() {
        assert_eq!(template("/api/Items/12345/Edit"), "/api/items/{n}/edit");
        assert_eq!(
            template("/o/3F2504E0-4F89-11D3-9A0C-0305E82C3301"),
            "/o/{guid}"
        );
        assert_eq!(
            template("/o/{3F2504E0-4F89-11D3-9A0C-0305E82C3301}/x"),
            "/o/{guid}/x"
        );
        assert_eq!(
            template("/static/app.9f86d081884c7d65.js"),
            "/static/app.{hex}.js"
        );
        assert_eq!(
            template("/news/2024-03-01/story-17"),
            "/news/{n}-{n}-{n}/story-{n}"
        );
        assert_eq!(template("/Default.ASPX"), "/default.aspx");
        assert_eq!(
            template("/blob/9f86d081884c7d659a2feaa0c55ad015"),
            "/blob/{hex}"
        );
        assert_eq!(template("/img/p_123456.jpg"), "/img/p_{n}.jpg");
        assert_eq!(template("/v2/x"), "/v2/x");
        assert_eq!(template("http://evil.example/a/1"), "/a/{n}");
        assert_eq!(template(""), "/");
        assert_eq!(template("/a/../../etc"), "/a/../../etc [..]");
    }

    #[test]
    fn query_shapes() {
        let long = format!("q={}", "%u0041".repeat(60));
        assert_eq!(shape(&long), "q={257-1024,%u}");
        assert_eq!(shape("id=5&Name=bob"), "id={1-16}&name={1-16}");
        assert_eq!(shape("a=%3Cscript%3E&b='1'"), "a={1-16,<>}&b={1-16,quote}");
        assert_eq!(shape("flag"), "flag");
        assert_eq!(shape("=x&"), "(empty)={1-16}&(empty)");
    }

    #[test]
    fn hash_and_text_agree() {
        let r = RequestView {
            method: Some("get"),
            stem: "/A/1",
            query: Some("x=1"),
            ..Default::default()
        };
        for k in KINDS {
            let h = feature_hash(k, &r);
            let t = feature_text(k, &r);
            assert_eq!(h, t.as_ref().map(|t| t.0), "{k:?}");
        }
        assert_eq!(
            feature_text(FeatureKind::Route, &r).unwrap().1,
            "GET /a/{n}"
        );
        assert_eq!(feature_hash(FeatureKind::UserAgent, &r), None);
        // Different kinds of equal text never collide.
        assert_ne!(
            feature_hash(FeatureKind::Path, &r),
            feature_hash(
                FeatureKind::Method,
                &RequestView {
                    method: Some("/a/{n}"),
                    ..r
                }
            )
        );
    }

    #[test]
    fn user_agents_are_read_decoded() {
        // The view holds the agent as logged; the feature is the decoded text, cut at MAX_UA.
        let logged = format!("Mozilla/5.0+(X11;+Linux){}", "+x".repeat(200));
        let decoded = logged.replace('+', " ");
        let view = |ua| RequestView {
            user_agent: Some(ua),
            ..Default::default()
        };
        let (hash, text) = feature_text(FeatureKind::UserAgent, &view(&logged)).unwrap();
        assert_eq!(text, decoded[..MAX_UA]);
        assert_eq!(
            feature_hash(FeatureKind::UserAgent, &view(&decoded)),
            Some(hash)
        );
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for s in [
            "%",
            "%u",
            "%u12",
            "%2",
            "..",
            "%2e%2",
            "\u{0}",
            "é%ff%c0%af",
            "?&&==",
            "%%%%",
        ] {
            let _ = unusual(s.as_bytes());
            let _ = template(s);
            let _ = shape(s);
        }
        assert_eq!(unusual(b"%u0041"), flags::U_ENCODING);
        assert_eq!(unusual(b"%2e%2e/"), flags::DOTDOT);
        assert_eq!(unusual(b"%00"), flags::NUL);
    }
}
