//! Time formatting and parsing for the analysis and the CLI: RFC 3339 UTC out, fixed offsets for
//! `--tz`, durations for `--window`, instants for `--since` / `--until`.
//!
//! `chrono-tz` is deliberately not a dependency: a fixed offset (`+02:00`) is what an admin
//! knows about a server, and it keeps the binary small.

use crate::error::OptionError;
use crate::tables::Millis;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// RFC 3339 in UTC with a `Z` suffix; milliseconds only when they are not zero.
pub fn fmt_utc(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("@{ms}ms"),
    }
}

/// RFC 3339 at a fixed offset (seconds east of UTC), e.g. `2024-03-01T12:00:00+02:00`.
pub fn fmt_local(ms: Millis, offset_s: i32) -> String {
    let Some(off) = FixedOffset::east_opt(offset_s) else {
        return fmt_utc(ms);
    };
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => {
            let t = t.with_timezone(&off);
            if ms.rem_euclid(1000) == 0 {
                t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
            }
        }
        None => format!("@{ms}ms"),
    }
}

/// A short UTC form for tables and charts: `2024-03-01 10:00:00`.
pub fn fmt_short(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => format!("@{ms}ms"),
    }
}

/// `HH:MM` (UTC) for chart axis labels.
pub fn fmt_hm(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.format("%H:%M").to_string(),
        None => String::new(),
    }
}

/// A human duration: `45 s`, `12 min 5 s`, `2 h 3 min`.
pub fn fmt_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        if s % 60 == 0 {
            format!("{} min", s / 60)
        } else {
            format!("{} min {} s", s / 60, s % 60)
        }
    } else {
        let m = (s % 3600) / 60;
        if m == 0 {
            format!("{} h", s / 3600)
        } else {
            format!("{} h {} min", s / 3600, m)
        }
    }
}

/// Parses `--tz`: `UTC`, `Z`, `+02:00`, `-0530`, `+2`. Returns seconds east of UTC.
pub fn parse_tz(s: &str) -> Result<i32, OptionError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("gmt")
    {
        return Ok(0);
    }
    let t = t
        .strip_prefix("UTC")
        .or_else(|| t.strip_prefix("utc"))
        .unwrap_or(t);
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => {
            return Err(OptionError::TimeZone(s.to_string()));
        }
    };
    let (h, m) = if let Some((h, m)) = rest.split_once(':') {
        (h, m)
    } else if rest.len() == 4 {
        rest.split_at(2)
    } else {
        (rest, "0")
    };
    let bad = || OptionError::TimeZone(s.to_string());
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// Formats an offset the way `--tz` accepts it: `+02:00`.
pub fn fmt_offset(offset_s: i32) -> String {
    let sign = if offset_s < 0 { '-' } else { '+' };
    let a = offset_s.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
}

/// Parses a duration: `90` (seconds), `90s`, `5m`, `2h`, `1d`, `500ms`.
pub fn parse_duration(s: &str) -> Result<i64, OptionError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| OptionError::Duration(s.to_string()))?;
    let mult = match unit.trim() {
        "" | "s" | "sec" => 1000,
        "ms" => 1,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(OptionError::DurationUnit {
                input: s.to_string(),
                unit: unit.to_string(),
            });
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| OptionError::DurationTooLarge(s.to_string()))
}

/// Parses `--since` / `--until`: RFC 3339 (`2024-03-01T10:00:00Z`, `…+02:00`), or a naive
/// `YYYY-MM-DD[ T]HH:MM[:SS]` / `YYYY-MM-DD` read at `offset_s` (the `--tz` offset, else UTC).
pub fn parse_time(s: &str, offset_s: Option<i32>) -> Result<Millis, OptionError> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    match naive {
        Some(n) => Ok(n.and_utc().timestamp_millis() - i64::from(offset_s.unwrap_or(0)) * 1000),
        None => Err(OptionError::Time(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(1500), "1970-01-01T00:00:01.500Z");
        assert_eq!(fmt_local(0, 7200), "1970-01-01T02:00:00+02:00");
        assert_eq!(fmt_duration(725_000), "12 min 5 s");
        assert_eq!(fmt_offset(-19800), "-05:30");
    }

    #[test]
    fn parses() {
        assert_eq!(parse_tz("+02:00"), Ok(7200));
        assert_eq!(parse_tz("-0530"), Ok(-19800));
        assert_eq!(parse_tz("UTC"), Ok(0));
        assert!(parse_tz("Europe/Paris").is_err());
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("90"), Ok(90_000));
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_time("1970-01-01T01:00:00Z", None), Ok(3_600_000));
        assert_eq!(parse_time("1970-01-01 03:00", Some(7200)), Ok(3_600_000));
        assert_eq!(parse_time("1970-01-02", None), Ok(86_400_000));
    }
}
