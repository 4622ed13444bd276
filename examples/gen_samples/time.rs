//! Civil time from Unix milliseconds, without a time-zone database: every instant in the model is
//! UTC; the server's local time is only needed for DebugDiag file names and the README.

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// 100-ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01.
pub const FILETIME_UNIX_OFFSET: i64 = 116_444_736_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Unix milliseconds of a UTC civil time.
pub fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, ms: i64) -> i64 {
    days_from_civil(y, mo, d) * DAY + h * HOUR + mi * MINUTE + s * SECOND + ms
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub y: i64,
    pub mo: i64,
    pub d: i64,
    pub h: i64,
    pub mi: i64,
    pub s: i64,
    pub ms: i64,
}

pub fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY);
    let rem = ms.rem_euclid(DAY);
    let (y, mo, d) = civil_from_days(days);
    Civil {
        y,
        mo,
        d,
        h: rem / HOUR,
        mi: rem % HOUR / MINUTE,
        s: rem % MINUTE / SECOND,
        ms: rem % SECOND,
    }
}

/// `YYYY-MM-DD HH:MM:SS`, the W3C / HTTPERR form (milliseconds dropped, as IIS does).
pub fn w3c(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.y, c.mo, c.d, c.h, c.mi, c.s
    )
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` from 100-ns ticks since the Unix epoch (event `SystemTime`).
pub fn iso7(ticks: i64) -> String {
    let ms = ticks.div_euclid(10_000);
    let c = civil(ms);
    let frac = ticks.rem_euclid(10_000_000);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        c.y, c.mo, c.d, c.h, c.mi, c.s, frac
    )
}

/// `2025-03-14T14:12:33.123Z` for the JSON ground truth.
pub fn rfc3339_ms(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        let t = utc(2025, 3, 14, 14, 12, 33, 123);
        assert_eq!(w3c(t), "2025-03-14 14:12:33");
        assert_eq!(t, 1_741_961_553_123);
        assert_eq!(iso7(t * 10_000 + 4567), "2025-03-14T14:12:33.1234567Z");
    }
}
