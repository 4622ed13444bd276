//! Performance Monitor counter logs as CSV or TSV (PDH-CSV 4.0, as relog, typeperf and Data
//! Collector Sets write them): `notes/outages.md` §5.1.
//!
//! - Line 1: `"(PDH-CSV 4.0) (<zone name>)(<bias>)","\\MACHINE\Object(Instance)\Counter",…`.
//!   The bias is minutes with UTC = local + bias; the zone name is localized, so only the number
//!   is trusted. Without it the times are read as UTC, with a warning.
//! - Data lines: `"MM/DD/YYYY HH:MM:SS.mmm","1.5"," ",…`: local time, then one value per
//!   counter; a missing sample is blank (`" "` or `""`). Cells are split on the quotes, not on
//!   every comma (instances and counters may hold commas).
//! - Counter names stay as written (localized logs keep their names); the analysis knows the
//!   English ones.
//!
//! Lines are parsed in parallel chunks; the table keeps one 16-byte entry per value.

use super::w3c_fields::days_from_civil;
use crate::tables::{
    CounterSample, CounterSeries, CounterValue, FileCtx, IssueRow, LineCounts, Millis, Parsed,
    Severity,
};
use rayon::prelude::*;

/// Issues listed per file for one kind of bad cell; the rest are counted in the last one.
const ISSUES_PER_CODE: usize = 20;

/// Splits one line into cells: quoted cells (`""` inside is a quote) or bare ones.
fn cells(line: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        if i < n && line[i] == b'"' {
            // Quoted: up to the closing quote not followed by another quote.
            let start = i + 1;
            let mut j = start;
            while j < n {
                if line[j] == b'"' {
                    if j + 1 < n && line[j + 1] == b'"' {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            out.push(&line[start..j.min(n)]);
            i = j + 1;
            while i < n && line[i] != sep {
                i += 1;
            }
        } else {
            let start = i;
            while i < n && line[i] != sep {
                i += 1;
            }
            out.push(&line[start..i]);
        }
        if i >= n {
            return out;
        }
        i += 1; // the separator
    }
}

/// The bias of `(PDH-CSV 4.0) (Eastern Daylight Time)(240)`: the last parenthesized integer.
fn bias_minutes(first: &str) -> Option<i64> {
    let close = first.rfind(')')?;
    let open = first[..close].rfind('(')?;
    let v: i64 = first[open + 1..close].trim().parse().ok()?;
    (-24 * 60..=24 * 60).contains(&v).then_some(v)
}

/// `\\MACHINE\Object(Parent/Instance#1)\Counter` → (machine, object, instance, counter). The
/// counter follows the last backslash; the instance is between the first `(` of the object
/// part and its last `)`. A path without a machine (`\Object\Counter`) is accepted.
pub fn parse_path(p: &str) -> Option<(Option<&str>, &str, Option<&str>, &str)> {
    let (machine, rest) = match p.strip_prefix("\\\\") {
        Some(r) => {
            let i = r.find('\\')?;
            (Some(&r[..i]).filter(|m| !m.is_empty()), &r[i + 1..])
        }
        None => (None, p.strip_prefix('\\')?),
    };
    let last = rest.rfind('\\')?;
    let (obj, counter) = (&rest[..last], &rest[last + 1..]);
    if counter.is_empty() || obj.is_empty() {
        return None;
    }
    let (object, instance) = match (obj.find('('), obj.ends_with(')')) {
        (Some(i), true) if i > 0 => (&obj[..i], Some(&obj[i + 1..obj.len() - 1])),
        _ => (obj, None),
    };
    Some((machine, object, instance, counter))
}

/// `MM/DD/YYYY HH:MM:SS[.fff]` → milliseconds of local wall-clock time.
fn local_ms(s: &[u8]) -> Option<Millis> {
    let s = std::str::from_utf8(s).ok()?.trim();
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('/');
    let (mo, da, yr): (u32, u32, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if d.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || !(1970..=2200).contains(&yr)
    {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':');
    let (h, mi, se): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if t.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let ms: i64 = match frac.len() {
        0 => 0,
        n if frac.bytes().all(|b| b.is_ascii_digit()) => {
            let head: i64 = frac[..n.min(3)].parse().ok()?;
            head * 10i64.pow(3 - n.min(3) as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(yr, mo, da);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

/// What one chunk of data lines gave.
#[derive(Default)]
struct Chunk {
    samples: Vec<CounterSample>,
    values: Vec<CounterValue>,
    counts: LineCounts,
    issues: Vec<IssueRow>,
    bad_values: u64,
    first_bad: Option<(u64, String)>,
}

struct Ctx<'a> {
    file: crate::tables::FileId,
    sep: u8,
    bias_ms: Millis,
    /// Series index per column (column 0 is the time); `None`: a column not kept.
    columns: &'a [Option<u32>],
}

fn parse_line(c: &Ctx, line: &[u8], number: u64, offset: u64, out: &mut Chunk) {
    let cells = cells(line, c.sep);
    let Some(ts) = cells.first().and_then(|t| local_ms(t)) else {
        out.counts.rejected += 1;
        let shown = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
        out.issues.push(
            IssueRow::new(
                c.file,
                Severity::Error,
                "bad_timestamp",
                format!("not a sample time (MM/DD/YYYY HH:MM:SS): '{shown}'"),
            )
            .at(Some(number), Some(offset)),
        );
        return;
    };
    out.counts.records += 1;
    let sample = out.samples.len() as u32;
    out.samples.push(CounterSample {
        ts: ts + c.bias_ms,
        file: c.file,
        offset,
    });
    for (cell, col) in cells.iter().skip(1).zip(c.columns.iter().skip(1)) {
        let Some(series) = *col else { continue };
        let text = std::str::from_utf8(cell).unwrap_or("?").trim();
        if text.is_empty() {
            continue;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => out.values.push(CounterValue {
                sample,
                series,
                value: v,
            }),
            _ => {
                out.bad_values += 1;
                if out.first_bad.is_none() {
                    out.first_bad = Some((number, text.chars().take(40).collect()));
                }
            }
        }
    }
}

/// Line starts of `body` (after the header), with their 1-based numbers.
fn split_chunks(body: &[u8], parts: usize) -> Vec<(usize, usize)> {
    let step = (body.len() / parts.max(1)).max(1 << 16);
    let mut out = Vec::new();
    let mut a = 0;
    while a < body.len() {
        let mut b = (a + step).min(body.len());
        while b < body.len() && body[b - 1] != b'\n' {
            b += 1;
        }
        out.push((a, b));
        a = b;
    }
    out
}

fn parse_chunk(
    c: &Ctx,
    body: &[u8],
    base: usize,
    (a, b): (usize, usize),
    first_line: u64,
) -> Chunk {
    let mut out = Chunk::default();
    for (number, line) in (first_line..).zip(body[a..b].split_inclusive(|&x| x == b'\n')) {
        let offset = (base + a + (line.as_ptr() as usize - body[a..].as_ptr() as usize)) as u64;
        out.counts.lines += 1;
        let l = line.strip_suffix(b"\n").unwrap_or(line);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(|x| x.is_ascii_whitespace()) {
            out.counts.blank += 1;
        } else if l.iter().all(|&x| x == 0) {
            out.counts.rejected += 1;
            out.issues.push(
                IssueRow::new(
                    c.file,
                    Severity::Error,
                    "nul_padding",
                    "a line of NUL bytes (the log was cut off while written)",
                )
                .at(Some(number), Some(offset)),
            );
        } else {
            parse_line(c, l, number, offset, &mut out);
        }
    }
    out
}

/// The header: the bias and one series per counter column.
fn header(ctx: &FileCtx, line: &[u8], sep: u8, p: &mut Parsed) -> (Millis, Vec<Option<u32>>) {
    let text = match std::str::from_utf8(line) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => {
            p.issues.push(
                IssueRow::new(
                    ctx.id,
                    Severity::Warning,
                    "legacy_encoding",
                    "the counter names are not UTF-8: read as Windows-1252",
                )
                .at(Some(1), Some(0)),
            );
            encoding_rs::WINDOWS_1252.decode(line).0
        }
    };
    let heads = cells(text.as_bytes(), sep);
    let first = String::from_utf8_lossy(heads.first().copied().unwrap_or_default());
    let bias = bias_minutes(&first).unwrap_or_else(|| {
        p.issues.push(
            IssueRow::new(
                ctx.id,
                Severity::Warning,
                "no_time_zone",
                format!(
                    "no time-zone bias in '{}': sample times read as UTC",
                    first.chars().take(80).collect::<String>()
                ),
            )
            .at(Some(1), Some(0)),
        );
        0
    });
    let mut columns = vec![None];
    for (i, h) in heads.iter().enumerate().skip(1) {
        let h = std::str::from_utf8(h).unwrap_or("");
        match parse_path(h) {
            Some((machine, object, instance, counter)) => {
                if p.server.is_none() {
                    p.server = machine.map(str::to_owned);
                }
                columns.push(Some(p.counters.series.len() as u32));
                p.counters.series.push(CounterSeries {
                    server: machine.map(str::to_owned).or_else(|| ctx.server.clone()),
                    object: object.to_owned(),
                    instance: instance.map(str::to_owned),
                    counter: counter.to_owned(),
                    file: ctx.id,
                });
            }
            None => {
                columns.push(None);
                p.issues.push(IssueRow::new(ctx.id, Severity::Warning, "bad_header", format!("column {} is not a counter path (\\\\machine\\object(instance)\\counter): '{}'; its values are skipped", i + 1, h.chars().take(120).collect::<String>())).at(Some(1), Some(0)));
            }
        }
    }
    (bias * 60_000, columns)
}

/// Parses a PDH-CSV/TSV counter log (already UTF-8: UTF-16 is decoded when loaded).
pub fn parse(ctx: &FileCtx, bytes: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
    let first = bytes[..end].strip_suffix(b"\n").unwrap_or(&bytes[..end]);
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let sep = if first.starts_with(b"\"(PDH-TSV") {
        b'\t'
    } else {
        b','
    };
    let (bias_ms, columns) = header(ctx, first, sep, &mut p);
    p.counts.lines = 1;
    p.counts.directives = 1;
    let body = &bytes[end..];
    let chunks = split_chunks(body, rayon::current_num_threads() * 4);
    // Line numbers of each chunk's first line: counted before the parallel pass.
    let mut starts = Vec::with_capacity(chunks.len());
    let mut n = 2u64;
    for &(a, b) in &chunks {
        starts.push(n);
        n += memchr::memchr_iter(b'\n', &body[a..b]).count() as u64
            + u64::from(body[b - 1] != b'\n');
    }
    let c = Ctx {
        file: ctx.id,
        sep,
        bias_ms,
        columns: &columns,
    };
    let parts: Vec<Chunk> = chunks
        .par_iter()
        .zip(starts.par_iter())
        .map(|(&r, &first)| parse_chunk(&c, body, end, r, first))
        .collect();
    let (mut bad, mut first_bad) = (0u64, None);
    for part in parts {
        p.counts.add(&part.counts);
        let shift = p.counters.samples.len() as u32;
        p.counters.samples.extend(part.samples);
        p.counters
            .values
            .extend(part.values.into_iter().map(|v| CounterValue {
                sample: v.sample + shift,
                ..v
            }));
        let room = ISSUES_PER_CODE.saturating_sub(p.issues.len());
        let extra = part.issues.len().saturating_sub(room);
        p.issues.extend(part.issues.into_iter().take(room));
        if extra > 0 {
            p.issues.push(IssueRow::new(
                ctx.id,
                Severity::Error,
                "more_issues",
                format!("{extra} more rejected lines not listed"),
            ));
        }
        bad += part.bad_values;
        first_bad = first_bad.or(part.first_bad);
    }
    if let Some((line, text)) = first_bad {
        p.issues.push(
            IssueRow::new(
                ctx.id,
                Severity::Warning,
                "bad_value",
                format!("{bad} value(s) are not numbers and were skipped (the first: '{text}')"),
            )
            .at(Some(line), None),
        );
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(r"\\WEB01\Process(w3wp#1)\% Processor Time"),
            Some((Some("WEB01"), "Process", Some("w3wp#1"), "% Processor Time"))
        );
        assert_eq!(
            parse_path(r"\\WEB01\Memory\Available MBytes"),
            Some((Some("WEB01"), "Memory", None, "Available MBytes"))
        );
        assert_eq!(
            parse_path(r"\Network Interface(Intel(R) PRO_1000 MT)\Bytes Total/sec"),
            Some((
                None,
                "Network Interface",
                Some("Intel(R) PRO_1000 MT"),
                "Bytes Total/sec"
            ))
        );
        assert_eq!(
            parse_path(r"\\WEB01\W3SVC_W3WP(4242_ShopPool)\Active Requests"),
            Some((
                Some("WEB01"),
                "W3SVC_W3WP",
                Some("4242_ShopPool"),
                "Active Requests"
            ))
        );
        assert_eq!(parse_path("not a path"), None);
        assert_eq!(parse_path(r"\\WEB01"), None);
        assert_eq!(parse_path(r"\\WEB01\Memory\"), None);
    }

    #[test]
    fn cells_split_on_quotes() {
        assert_eq!(
            cells(br#""a,b","c""d"," ","",e"#, b','),
            vec![&b"a,b"[..], b"c\"\"d", b" ", b"", b"e"]
        );
        assert_eq!(cells(b"\"x\"\t\"1\"", b'\t'), vec![&b"x"[..], b"1"]);
    }

    #[test]
    fn bias_and_time() {
        assert_eq!(
            bias_minutes("(PDH-CSV 4.0) (Eastern Daylight Time)(240)"),
            Some(240)
        );
        assert_eq!(
            bias_minutes("(PDH-CSV 4.0) (Romance Standard Time)(-60)"),
            Some(-60)
        );
        assert_eq!(
            bias_minutes("(PDH-CSV 4.0) (Paris, Madrid (heure d'été))(-120)"),
            Some(-120)
        );
        assert_eq!(bias_minutes("(PDH-CSV 4.0)"), None);
        // 2024-03-01 08:00:15.250 local.
        let t = local_ms(b"03/01/2024 08:00:15.250").unwrap();
        assert_eq!(t, 1_709_280_015_250);
        assert_eq!(local_ms(b"13/01/2024 08:00:15"), None);
        assert_eq!(local_ms(b"03/01/2024"), None);
    }
}
