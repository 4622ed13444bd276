//! Layout inference for W3C lines that no `#Fields` line and no known layout explain: a log cut
//! from the middle of a day, files concatenated without their headers, a `#Fields` line lost.
//!
//! IIS writes the fields it logs in one fixed order whatever the selection, and custom fields
//! (IIS 8.5+) and forwarded values after them. So a header-less line is a subsequence of that
//! order plus a few trailing values: each value is scored by how well its shape fits each field
//! (a date, a time, an address, a method token, a `/` stem, `HTTP/1.1`, a 3-digit status…), and
//! the assignment with the best total wins (dynamic programming over values × fields). The
//! result is an ordinary layout: later lines of the same count are checked against it like any
//! fallback, and the report says once what was inferred.

use super::*;

/// How a field's values look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Date,
    Time,
    Site,
    Computer,
    Ip,
    Method,
    Stem,
    Query,
    Port,
    User,
    Version,
    Agent,
    Cookie,
    Referer,
    Host,
    Status,
    Number,
    /// Time-taken: a number, preferred for a lone number after the status triplet (the IIS
    /// default logs it, and not the byte counts).
    Taken,
}

/// IIS's standard fields, in the order IIS writes them.
const ORDER: [(&str, Shape); 22] = [
    ("date", Shape::Date),
    ("time", Shape::Time),
    ("s-sitename", Shape::Site),
    ("s-computername", Shape::Computer),
    ("s-ip", Shape::Ip),
    ("cs-method", Shape::Method),
    ("cs-uri-stem", Shape::Stem),
    ("cs-uri-query", Shape::Query),
    ("s-port", Shape::Port),
    ("cs-username", Shape::User),
    ("c-ip", Shape::Ip),
    ("cs-version", Shape::Version),
    ("cs(User-Agent)", Shape::Agent),
    ("cs(Cookie)", Shape::Cookie),
    ("cs(Referer)", Shape::Referer),
    ("cs-host", Shape::Host),
    ("sc-status", Shape::Status),
    ("sc-substatus", Shape::Number),
    ("sc-win32-status", Shape::Number),
    ("sc-bytes", Shape::Number),
    ("cs-bytes", Shape::Number),
    ("time-taken", Shape::Taken),
];

/// Values after the last standard field (custom fields, X-Forwarded-For, a client port).
const MAX_TRAILING: usize = 3;

/// Name of the inferred layouts among the fallbacks.
pub(super) const INFERRED: &str = "inferred";

const METHODS: &[&str] = &[
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "RPC_IN_DATA",
    "RPC_OUT_DATA",
];

fn digits_only(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(u8::is_ascii_digit)
}

fn ip_like(v: &[u8]) -> bool {
    let v = wf::unmarkdown(v);
    let (addr, zone) = match v.iter().position(|&c| c == b'%') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[..0]),
    };
    let addr = std::str::from_utf8(addr).unwrap_or("");
    zone.iter().all(u8::is_ascii_alphanumeric) && addr.parse::<std::net::IpAddr>().is_ok()
}

fn host_like(v: &[u8]) -> bool {
    v.iter().any(u8::is_ascii_alphabetic)
        && v.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// How well value `v` fits a field of shape `s`: `None` when it cannot be one. A `-` fits any
/// field that may be empty, as no evidence.
fn fit(s: Shape, v: &[u8]) -> Option<i32> {
    let dash = v == b"-";
    let score = match s {
        Shape::Date => wf::parse_date(v).map(|_| 20)?,
        Shape::Time => wf::parse_time(v).map(|_| 20)?,
        Shape::Site if v.len() > 5 && v[..5].eq_ignore_ascii_case(b"w3svc") => 10,
        Shape::Site | Shape::Computer if dash => 0,
        // A host-like name is rather the computer's (site names are `W3SVC<id>` by default).
        Shape::Site if host_like(v) && !ip_like(v) => 0,
        Shape::Computer if host_like(v) && !ip_like(v) => 1,
        Shape::Ip if dash => 0,
        Shape::Ip if ip_like(v) => 8,
        Shape::Method
            if (1..=24).contains(&v.len())
                && v.iter()
                    .all(|c| c.is_ascii_uppercase() || b"_-".contains(c)) =>
        {
            if METHODS.iter().any(|m| m.as_bytes() == v) {
                8
            } else {
                4
            }
        }
        Shape::Stem if v.first() == Some(&b'/') => 8,
        Shape::Stem if v == b"*" => 2,
        Shape::Query | Shape::User | Shape::Agent | Shape::Cookie if dash => 0,
        Shape::Query if v.contains(&b'=') || v.contains(&b'&') => 3,
        Shape::Query if v.first() != Some(&b'/') && !ip_like(v) => 1,
        Shape::Port | Shape::Number | Shape::Taken if dash => 0,
        Shape::Taken if digits_only(v) => 2,
        Shape::Port if digits_only(v) && wf::parse_u64(v).is_some_and(|p| p <= 65_535) => 2,
        Shape::Number if digits_only(v) => 1,
        Shape::User if v.contains(&b'\\') || v.contains(&b'@') => 3,
        Shape::User if !digits_only(v) && !ip_like(v) && v.first() != Some(&b'/') => 0,
        Shape::Version if v.len() > 5 && v[..5].eq_ignore_ascii_case(b"HTTP/") => 10,
        Shape::Version | Shape::Referer | Shape::Host if dash => 0,
        Shape::Agent if v.iter().any(|c| b"/+(".contains(c)) && !digits_only(v) => 3,
        Shape::Agent if !digits_only(v) && !ip_like(v) => 1,
        Shape::Cookie if v.contains(&b'=') => 2,
        Shape::Referer if v.starts_with(b"http://") || v.starts_with(b"https://") => 6,
        Shape::Host if host_like(v) && v.iter().any(|c| b".:".contains(c)) => 2,
        Shape::Status if v.len() == 3 && digits_only(v) && (b'1'..=b'5').contains(&v[0]) => 6,
        _ => return None,
    };
    Some(score)
}

/// A trailing value's name, by position only (a name by shape would make two lines of one
/// block name the same column differently): the first is X-Forwarded-For, as in filebeat's
/// 22 + 1 layout and the IIS custom field admins add most; the others are numbered.
fn trailing_name(k: usize) -> String {
    if k == 0 {
        TAIL_NAME.to_string()
    } else {
        format!("x-value-{}", k + 1)
    }
}

/// The layout that explains `line` best (see [`infer_rows`]).
pub(super) fn infer<T: Tokens + ?Sized>(line: &[u8], toks: &T) -> Option<Layout> {
    let n = toks.count();
    let vals: Vec<&[u8]> = (0..n)
        .filter_map(|k| toks.tok(k))
        .map(|t| raw(line, t))
        .collect();
    (vals.len() == n).then(|| infer_rows(&[vals])).flatten()
}

/// Lines sampled from a header-less block to infer its layout from: enough that a field empty
/// (`-`) on most lines shows its shape on some (a user name, a referer).
const SAMPLE_LINES: usize = 1024;
/// Lines looked at for the sample (lines of other counts are passed over).
const SAMPLE_SCAN: usize = 4096;

/// The layout that explains the block of header-less lines starting at `start` in `file`: its
/// first [`SAMPLE_LINES`] lines of `n` values (up to the next directive) are scored together, so
/// that a `-` in one line is placed by the values of the others.
pub(super) fn infer_block(file: &[u8], start: usize, n: usize) -> Option<Layout> {
    let mut toks = Vec::new();
    let mut rows: Vec<Vec<&[u8]>> = Vec::new();
    for line in wf::Lines::new(file, start, file.len()).take(SAMPLE_SCAN) {
        let b = line.bytes;
        if b.first() == Some(&b'#') {
            break;
        }
        if line.unterminated || !wf::tokenize(b, &mut toks) || toks.len() != n {
            continue;
        }
        rows.push(toks.iter().map(|&t| raw(b, t)).collect());
        if rows.len() == SAMPLE_LINES {
            break;
        }
    }
    infer_rows(&rows)
}

/// The fields of the IIS 7+ default: where the shapes cannot tell (a `-` fits many fields),
/// the default's field is the likelier one.
const DEFAULT_FIELDS: &[&str] = &[
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
];

/// How well column `i` of every row fits field `j` (shape scores ×4, plus 1 a row for a field
/// of the IIS default: a tie-break only), or `None` if one row cannot be that field.
fn fit_column(rows: &[Vec<&[u8]>], i: usize, j: usize) -> Option<i32> {
    let (name, shape) = ORDER[j];
    let prior = i32::from(DEFAULT_FIELDS.contains(&name));
    rows.iter()
        .try_fold(0i32, |acc, r| Some(acc + 4 * fit(shape, r[i])? + prior))
}

/// The best-scoring subsequence of [`ORDER`] for the rows' columns (all rows have one count),
/// plus at most [`MAX_TRAILING`] trailing values; `None` unless it has a date, a time, a status
/// and a stem or method.
fn infer_rows(rows: &[Vec<&[u8]>]) -> Option<Layout> {
    let n = rows.first()?.len();
    if n < 6 || rows.iter().any(|r| r.len() != n) {
        return None;
    }
    let m = ORDER.len();
    const NO: i32 = i32::MIN / 4;
    let lines = rows.len() as i32;
    // best[i][j]: the best score of columns i.. over fields j..; take[i][j]: column i is field j.
    let mut best = vec![vec![NO; m + 1]; n + 1];
    let mut take = vec![vec![false; m + 1]; n + 1];
    for i in (0..=n).rev() {
        let left = n - i;
        best[i][m] = if left <= MAX_TRAILING {
            -12 * lines * left as i32
        } else {
            NO
        };
        for j in (0..m).rev() {
            let skip = best[i][j + 1];
            let assign = match (i < n).then(|| fit_column(rows, i, j)).flatten() {
                Some(s) if best[i + 1][j + 1] > NO => s + best[i + 1][j + 1],
                _ => NO,
            };
            best[i][j] = skip.max(assign);
            take[i][j] = assign > NO && assign >= skip;
        }
    }
    if best[0][0] <= NO {
        return None;
    }
    let (mut i, mut j) = (0, 0);
    let mut names: Vec<String> = Vec::with_capacity(n);
    while i < n && j < m {
        if take[i][j] {
            names.push(ORDER[j].0.to_string());
            i += 1;
        }
        j += 1;
    }
    for k in 0..n - i {
        names.push(trailing_name(k));
    }
    let has = |f: &str| names.iter().any(|x| x == f);
    if !(has("date") && has("time") && has("sc-status") && (has("cs-uri-stem") || has("cs-method")))
    {
        return None;
    }
    let mut l = Layout::from_names(names.join(" ").as_bytes());
    l.inferred = true;
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_places_the_dashes_one_line_cannot() {
        // Without s-port: `-` user and `-` referer on the first line fit several layouts; the
        // second line's user agent and referer place them.
        let log = b"2024-03-01 00:00:00 10.0.0.5 GET /a.aspx - - 192.0.2.1 - - 200 0 0 6\n\
2024-03-01 00:00:01 10.0.0.5 GET /b.aspx q=1 CONTOSO\\ann 192.0.2.2 Mozilla/5.0+(X11) https://example.com/ 200 0 0 7\n";
        let one = infer_block(&log[..70], 0, 14).map(|l| l.desc);
        let both = infer_block(log, 0, 14).map(|l| l.desc);
        assert_ne!(one, both);
        assert_eq!(
            both.as_deref(),
            Some(
                "date time s-ip cs-method cs-uri-stem cs-uri-query cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
            )
        );
    }

    fn inferred(line: &str) -> Option<String> {
        let mut toks = Vec::new();
        wf::tokenize(line.as_bytes(), &mut toks);
        infer(line.as_bytes(), &toks[..]).map(|l| l.desc)
    }

    #[test]
    fn exchange_front_end_with_forwarded_for_and_a_trailing_value() {
        let line = "2024-01-11 08:35:12 10.0.1.5 POST /owa/service.svc action=GetItem&CorrelationID=<empty>;&cafeReqId=4f2a;&encoding=; 443 CONTOSO\\jdoe 10.0.61.69 Mozilla/5.0+(Windows+NT+10.0) https://mail.contoso.com/owa/ 200 0 0 312 10.0.61.69,10.93.4.75 51522";
        assert_eq!(
            inferred(line).as_deref(),
            Some(
                "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken X-Forwarded-For x-value-2"
            )
        );
    }

    #[test]
    fn cookie_referer_bytes_and_host() {
        let line = "2024-03-01 10:00:00 W3SVC2 WEB01 10.0.0.5 GET /cart.aspx id=7 443 - 192.0.2.1 HTTP/1.1 Mozilla/5.0 ASP.NET_SessionId=abc https://shop.example.com/ shop.example.com 200 0 0 5120 830 46";
        assert_eq!(
            inferred(line).as_deref(),
            Some(
                "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"
            )
        );
    }

    #[test]
    fn minutes_only_times_and_no_query() {
        // date time c-ip cs-method cs-uri-stem sc-status (a minimal selection)
        assert_eq!(
            inferred("2024-03-01 08:35 192.0.2.9 GET /a.htm 404").as_deref(),
            Some("date time s-ip cs-method cs-uri-stem sc-status")
        );
    }

    #[test]
    fn garbage_is_not_a_layout() {
        assert_eq!(inferred("a b c d e f g h i j k l m"), None);
        assert_eq!(inferred("2024-03-01 10:00:00 x y z w v u t"), None);
    }
}
