//! IIS native (`logFormat=IIS`, `in*.log` / `u_in*.log`) and NCSA common (`nc*.log` /
//! `u_nc*.log`) logs into the requests table.
//!
//! - **Native**: fixed fields, each ended by `,` and separated by `, ` (values may hold spaces:
//!   `NT AUTHORITY\LOCAL SERVICE`): client IP, user, date (`MM/DD/YY` or `M/D/YYYY`), time,
//!   service and instance (`W3SVC2`), server name, server IP, time taken (ms), bytes received,
//!   bytes sent, status, Windows status, method, target, parameters. Times are the server's
//!   **local time** with no zone: they are stored as if UTC, and the file gets a `local_time`
//!   warning saying so (the offset is not guessed).
//! - **NCSA**: `host ident user [dd/Mon/yyyy:HH:MM:SS ±zzzz] "METHOD uri HTTP/x" status bytes`,
//!   local time with its offset written: converted to UTC.
//!
//! Every line is a record or an issue; the server name of a native log is the machine's
//! identity evidence, as `s-computername` is for W3C.

use super::w3c_fields::{self as wf, ChunkIssues, Issue, LineKind, Lines, classify};
use crate::tables::{FileCtx, IssueRow, LineCounts, Parsed, Requests, Severity};

/// One parsed line: the values for the requests table.
#[derive(Debug, Default)]
struct Req<'a> {
    ts: i64,
    client: Option<&'a str>,
    user: Option<&'a str>,
    site: Option<&'a str>,
    server: Option<&'a str>,
    s_ip: Option<&'a str>,
    taken: Option<u64>,
    bytes_in: Option<u64>,
    bytes_out: Option<u64>,
    status: Option<u16>,
    win32: Option<u64>,
    method: Option<&'a str>,
    stem: Option<&'a str>,
    query: Option<&'a str>,
    version: Option<&'a str>,
}

/// Parses an IIS native log.
pub fn parse_native(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    let mut p = parse_lines(ctx, bytes, native_line);
    if p.counts.records > 0 {
        let msg = "IIS native log: times are the server's local time with no zone; stored as written (as if UTC). Compare with the events' UTC times, or give --tz when reading the report".to_string();
        p.issues.insert(
            0,
            IssueRow::new(ctx.id, Severity::Warning, "local_time", msg),
        );
    }
    p
}

/// Parses an NCSA common log.
pub fn parse_ncsa(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    parse_lines(ctx, bytes, ncsa_line)
}

/// The line loop shared by both formats: `read` turns a line into a row or says why not.
fn parse_lines(ctx: &FileCtx, bytes: &[u8], read: fn(&str) -> Result<Req<'_>, String>) -> Parsed {
    let mut r = Requests::default();
    let mut issues: Vec<Issue> = Vec::new();
    let mut counts = LineCounts::default();
    let mut server: Option<String> = None;
    for (k, line) in Lines::new(bytes, 0, bytes.len()).enumerate() {
        let line_no = k as u64 + 1;
        counts.lines += 1;
        let (d, off) = match classify(ctx.id, &line, line_no, &mut issues) {
            LineKind::Blank => {
                counts.blank += 1;
                continue;
            }
            LineKind::Nul => {
                counts.rejected += 1;
                continue;
            }
            LineKind::Directive(_) => {
                counts.directives += 1;
                continue;
            }
            LineKind::Data(d, off) => (d, off),
        };
        let text = String::from_utf8_lossy(d);
        match read(&text) {
            Ok(q) => {
                if server.is_none() {
                    server = q.server.map(str::to_string);
                }
                push(&mut r, ctx, &q, off);
                counts.records += 1;
            }
            Err(why) => {
                counts.rejected += 1;
                let row = IssueRow::new(ctx.id, Severity::Error, "bad_line", why);
                issues.push(Issue {
                    row: row.at(Some(line_no), Some(off)),
                    once_per: None,
                    nul_end: None,
                });
            }
        }
    }
    let (issues, counts) = wf::merge_issues(vec![ChunkIssues { issues, counts }]);
    Parsed {
        requests: r,
        issues,
        counts,
        server,
        ..Default::default()
    }
}

/// At most 40 characters of a value, for a message.
fn clip(v: &str) -> String {
    v.chars().take(40).collect()
}

/// A value, `-` and empty as null.
fn val(v: &str) -> Option<&str> {
    let v = v.trim();
    (!v.is_empty() && v != "-").then_some(v)
}

fn num(v: &str) -> Option<u64> {
    val(v).and_then(|v| wf::parse_u64(v.as_bytes()))
}

fn push(r: &mut Requests, ctx: &FileCtx, q: &Req, off: u64) {
    r.ts.push(q.ts);
    r.server.push(q.server.or(ctx.server.as_deref()));
    r.site.push(q.site.or(ctx.site.as_deref()));
    r.s_ip.push(q.s_ip);
    r.s_port.push(None);
    r.method.push(q.method);
    r.uri_stem.push(q.stem);
    r.uri_query.push(q.query);
    r.username.push(q.user);
    r.c_ip.push(q.client);
    r.user_agent.push(None);
    r.referer.push(None);
    r.cookie.push(None);
    r.host.push(None);
    r.status.push(q.status);
    r.substatus.push(None);
    r.win32_status.push(q.win32);
    r.sc_bytes.push(q.bytes_out);
    r.cs_bytes.push(q.bytes_in);
    r.time_taken_ms.push(q.taken);
    r.file.push(ctx.id);
    r.offset.push(off);
    match q.version {
        Some(v) => {
            let e = serde_json::json!({ "cs-version": v }).to_string();
            r.extra.push(Some(&e));
        }
        None => r.extra.push_null(),
    }
}

/// `03/20/01` or `3/20/2001` → days since the epoch (two-digit years: 70–99 are 19xx).
fn us_date(v: &str) -> Option<i64> {
    let mut it = v.trim().split('/');
    let (m, d, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let n = |s: &str| {
        (1..=4)
            .contains(&s.len())
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (m, d, y) = (n(m)?, n(d)?, n(y)?);
    let y = match y {
        0..=69 => 2000 + y,
        70..=99 => 1900 + y,
        _ => y,
    };
    let iso = format!("{y:04}-{m:02}-{d:02}");
    wf::parse_date(iso.as_bytes())
}

/// `7:55:20` or `07:55:20` → ms of the day.
fn clock(v: &str) -> Option<i64> {
    let v = v.trim();
    let padded = if v.find(':') == Some(1) {
        format!("0{v}")
    } else {
        v.to_string()
    };
    wf::parse_time(padded.as_bytes())
}

/// One IIS native line (fifteen fields, each ended by `,`).
fn native_line(line: &str) -> Result<Req<'_>, String> {
    let body = line.trim_end().strip_suffix(',').unwrap_or(line.trim_end());
    let f: Vec<&str> = body.split(", ").collect();
    if f.len() != 15 {
        return Err(format!(
            "{} fields, but an IIS native log line has 15 (client IP, user, date, time, service, server, server IP, time taken, bytes received, bytes sent, status, Windows status, method, target, parameters)",
            f.len()
        ));
    }
    let (Some(day), Some(ms)) = (us_date(f[2]), clock(f[3])) else {
        return Err(format!(
            "unreadable date/time {:?} {:?}",
            clip(f[2]),
            clip(f[3])
        ));
    };
    Ok(Req {
        ts: wf::to_millis(day, ms),
        client: val(f[0]),
        user: val(f[1]),
        site: val(f[4]),
        server: val(f[5]),
        s_ip: val(f[6]),
        taken: num(f[7]).filter(|&t| t <= u32::MAX as u64),
        bytes_in: num(f[8]),
        bytes_out: num(f[9]),
        status: num(f[10]).and_then(|s| u16::try_from(s).ok()),
        win32: num(f[11]),
        method: val(f[12]),
        stem: val(f[13]),
        query: val(f[14]),
        version: None,
    })
}

/// One NCSA common line.
fn ncsa_line(line: &str) -> Result<Req<'_>, String> {
    let bad = |what: &str| format!("not an NCSA common log line: {what}");
    let (head, rest) = line.split_once(" [").ok_or_else(|| bad("no [time]"))?;
    let (when, rest) = rest.split_once("] ").ok_or_else(|| bad("no closing ]"))?;
    let mut h = head.split(' ').filter(|s| !s.is_empty());
    let (client, _ident, user) = (h.next(), h.next(), h.next());
    let ts = ncsa_time(when).ok_or_else(|| bad("unreadable time"))?;
    let rest = rest.trim_start();
    let (request, tail) = match rest.strip_prefix('"') {
        Some(r) => r.split_once("\" ").ok_or_else(|| bad("unclosed request"))?,
        None => return Err(bad("no quoted request")),
    };
    let mut req = request.splitn(3, ' ');
    let (method, uri, version) = (req.next(), req.next(), req.next());
    let (stem, query) = match uri.map(|u| u.split_once('?')) {
        Some(Some((s, q))) => (Some(s), Some(q)),
        Some(None) => (uri, None),
        None => (None, None),
    };
    let mut t = tail.split_whitespace();
    let status = t.next().and_then(num).and_then(|s| u16::try_from(s).ok());
    Ok(Req {
        ts,
        client: client.and_then(val),
        user: user.and_then(val),
        method: method.and_then(val),
        stem: stem.and_then(val),
        query: query.and_then(val),
        version: version.and_then(val),
        status,
        bytes_out: t.next().and_then(num),
        ..Default::default()
    })
}

/// `10/Oct/2000:13:55:36 -0700` → UTC ms.
fn ncsa_time(v: &str) -> Option<i64> {
    let (stamp, zone) = v.trim().split_once(' ')?;
    let (date, time) = stamp.split_once(':')?;
    let day = wf::parse_date_dmy(date.as_bytes())?;
    let ms = wf::parse_time(time.as_bytes())?;
    // Read as bytes: the zone is log text, and slicing text at byte offsets could split a
    // character.
    let z = zone.as_bytes();
    if z.len() != 5 || !matches!(z[0], b'+' | b'-') || !z[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let two = |a: u8, b: u8| i64::from(a - b'0') * 10 + i64::from(b - b'0');
    let (hh, mm) = (two(z[1], z[2]), two(z[3], z[4]));
    let offset = (hh * 60 + mm) * 60_000 * if z[0] == b'-' { -1 } else { 1 };
    Some(wf::to_millis(day, ms) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_and_ncsa_lines() {
        let q = native_line("192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,").unwrap();
        assert_eq!(
            q.ts,
            wf::to_millis(us_date("3/20/2001").unwrap(), 28_520_000)
        );
        assert_eq!(
            (q.client, q.site, q.server),
            (Some("192.168.114.201"), Some("W3SVC2"), Some("SALES1"))
        );
        assert_eq!(
            (q.taken, q.bytes_in, q.bytes_out, q.status),
            (Some(4502), Some(163), Some(3223), Some(200))
        );
        assert_eq!(
            (q.method, q.stem, q.query, q.user),
            (Some("GET"), Some("/DeptLogo.gif"), None, None)
        );
        // A user name with a space is one value (fields are split on ", ").
        let q = native_line("10.0.0.1, NT AUTHORITY\\LOCAL SERVICE, 1/2/2024, 10:00:00, W3SVC1, WEB01, 10.0.0.5, 15, 0, 100, 500, 2148074254, POST, /a.asmx, x=1,").unwrap();
        assert_eq!(q.user, Some("NT AUTHORITY\\LOCAL SERVICE"));
        assert_eq!(q.win32, Some(2_148_074_254));
        assert!(
            native_line(
                "10.0.0.1, -, 13/45/2024, 10:00:00, W3SVC1, a, b, 1, 2, 3, 200, 0, GET, /, -,"
            )
            .is_err()
        );
        assert!(
            native_line("just, four, values, here,")
                .unwrap_err()
                .contains("4 fields")
        );

        let q = ncsa_line("127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?x=1 HTTP/1.0\" 200 2326").unwrap();
        // 13:55:36 at -07:00 is 20:55:36 UTC.
        assert_eq!(
            q.ts,
            wf::to_millis(wf::parse_date(b"2000-10-10").unwrap(), 75_336_000)
        );
        assert_eq!(
            (q.client, q.user, q.method),
            (Some("127.0.0.1"), Some("frank"), Some("GET"))
        );
        assert_eq!(
            (q.stem, q.query, q.version),
            (Some("/apache_pb.gif"), Some("x=1"), Some("HTTP/1.0"))
        );
        assert_eq!((q.status, q.bytes_out), (Some(200), Some(2326)));
        assert!(
            ncsa_line("127.0.0.1 - - [10/Oct/2000:13:55:36] \"GET / HTTP/1.0\" 200 1").is_err()
        );
        // A zone with a multi-byte character in it is refused, not sliced through.
        assert!(ncsa_line("h - - [10/Oct/2000:13:55:36 +1é2] \"GET / HTTP/1.0\" 200 1").is_err());
    }

    /// Any text, any line: a row or a reason, never a panic.
    #[test]
    fn arbitrary_lines_never_panic() {
        let pieces = [
            ", ",
            ",",
            " ",
            "[",
            "]",
            "\"",
            ":",
            "/",
            "é",
            "+",
            "-",
            "0",
            "12",
            "2001",
            "03/20/01",
            "7:55:20",
            "10/Oct/2000:13:55:36 ",
            "-0700",
            "+1é2",
            "GET",
            "/a?b",
            "ü€",
            "\u{0}",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                line.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = native_line(&line);
            let _ = ncsa_line(&line);
        }
    }
}
