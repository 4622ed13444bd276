//! Values of W3C fields: dates, times and numbers parsed from bytes without allocating, with
//! caches for the dates and times that repeat line after line.

use super::*;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// `YYYY-MM-DD` → days since the epoch; month and day are range-checked.
#[inline]
pub fn parse_date(b: &[u8]) -> Option<i64> {
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => (digits(&b[0..4])? as i64, &b[5..7], &b[8..10]),
        // `YY-MM-DD`, as some IIS 4/5-era W3C writers logged it: 70–99 are 19xx, the rest 20xx.
        8 if b[2] == b'-' && b[5] == b'-' => {
            let yy = digits(&b[0..2])? as i64;
            (
                if yy >= 70 { 1900 + yy } else { 2000 + yy },
                &b[3..5],
                &b[6..8],
            )
        }
        _ => return None,
    };
    let (m, d) = (digits(m)?, digits(d)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `dd/Mon/yyyy` (Incapsula's `#Date`) → days since the epoch.
pub fn parse_date_dmy(b: &[u8]) -> Option<i64> {
    if b.len() != 11 || b[2] != b'/' || b[6] != b'/' {
        return None;
    }
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let d = digits(&b[0..2])?;
    let mon = &b[3..6];
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(mon))? as u32 + 1;
    let y = digits(&b[7..11])? as i64;
    if d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// The date of a `#Date:` / `#Start-Date:` directive value (`2000-10-09 16:44:49`,
/// `2014-11-18 00:00:00.128`, `28/Jun/2017 07:28:59`, junk after it tolerated).
pub fn parse_directive_date(v: &[u8]) -> Option<i64> {
    let v = trim_ws(v);
    let first = v.split(|&c| c == b' ' || c == b'\t').next().unwrap_or(&[]);
    parse_date(first).or_else(|| parse_date_dmy(first))
}

/// `HH:MM:SS` with an optional fraction (`.363`), or `HH:MM` (some writers log minutes only)
/// → milliseconds of the day.
#[inline]
pub fn parse_time(b: &[u8]) -> Option<i64> {
    if b.len() == 5 && b[2] == b':' {
        let (h, m) = (digits(&b[0..2])?, digits(&b[3..5])?);
        return (h <= 23 && m <= 59).then_some((h as i64 * 60 + m as i64) * 60_000);
    }
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = digits(&b[0..2])?;
    let m = digits(&b[3..5])?;
    let s = digits(&b[6..8])?;
    // 60 is a leap second: IIS takes time from the Windows clock, which can report it.
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut ms = 0i64;
    if b.len() > 8 {
        let frac = &b[9..];
        if b[8] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let f = digits(frac)? as i64;
        ms = match frac.len() {
            1 => f * 100,
            2 => f * 10,
            3 => f,
            n => f / 10i64.pow(n as u32 - 3),
        };
    }
    Some(((h as i64 * 60 + m as i64) * 60 + s as i64) * 1000 + ms)
}

/// [`parse_u64`] of `file[at..at + len]`. Up to 8 digits with 8 bytes readable at `at` (all
/// but the file's last few bytes) are read in one load: checked and converted in a handful of
/// word operations instead of a loop over the digits.
#[inline(always)]
pub fn parse_u64_at(file: &[u8], at: usize, len: usize) -> Option<u64> {
    match file.get(at..at.wrapping_add(8)) {
        Some(w) if (1..=8).contains(&len) => {
            let x = u64::from_le_bytes(w.try_into().ok()?);
            // The token's bytes moved to the top of the word, '0's below them (leading zeros).
            let shift = 8 * (8 - len as u32);
            let x =
                (x << shift) | (0x3030_3030_3030_3030u64.checked_shr(8 * len as u32)).unwrap_or(0);
            // Every byte '0'..='9': its high nibble is 3, and still is with 6 added.
            const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
            const THREES: u64 = 0x3030_3030_3030_3030;
            if x & HI != THREES || (x + 0x0606_0606_0606_0606) & HI != THREES {
                return None;
            }
            // The digits (first in the lowest byte) combined pairwise: 8 → 4 → 2 → 1.
            let d = x - THREES;
            let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
            let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
            Some((d.wrapping_mul(10000) + (d >> 32)) & 0xFFFF_FFFF)
        }
        _ => file.get(at..at.saturating_add(len)).and_then(parse_u64),
    }
}

/// Decimal `u64`; `None` for anything else (sign, junk, overflow).
#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b.len() <= 19 {
        // Below 10^19: cannot overflow a u64.
        let mut v: u64 = 0;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + d as u64;
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// `b` without leading and trailing spaces and tabs.
pub fn trim_ws(mut b: &[u8]) -> &[u8] {
    while let [c, rest @ ..] = b {
        if c.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., c] = b {
        if c.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Repairs an address that a copy through a chat or wiki tool turned into markdown
/// (`[10.0.0.1](http://10.0.0.1)`, seen in filebeat's IIS 7.5 test): the text in brackets.
#[inline]
pub fn unmarkdown(v: &[u8]) -> &[u8] {
    if v.first() == Some(&b'[')
        && v.last() == Some(&b')')
        && let Some(i) = memmem::find(v, b"](")
    {
        return &v[1..i];
    }
    v
}

/// Caches the day number of the last date string (logs repeat the same date for a whole file).
#[derive(Default)]
pub struct DateCache {
    key: [u8; 10],
    day: Option<i64>,
}

impl DateCache {
    #[inline]
    /// The day number of date `b` (the last one parsed is kept).
    pub fn get(&mut self, b: &[u8]) -> Option<i64> {
        if b.len() == 10 && self.day.is_some() && b == self.key {
            return self.day;
        }
        let d = parse_date(b)?;
        // Only the usual `YYYY-MM-DD` is kept (a two-digit year is parsed every time).
        if let Ok(k) = <[u8; 10]>::try_from(b) {
            self.key = k;
            self.day = Some(d);
        }
        Some(d)
    }
}

/// Caches the milliseconds of the last `HH:MM:SS` time (a busy log repeats each second).
#[derive(Default)]
pub struct TimeCache {
    key: u64,
    ms: Option<i64>,
}

impl TimeCache {
    #[inline]
    /// The time of day of `b` in ms (the last one parsed is kept).
    pub fn get(&mut self, b: &[u8]) -> Option<i64> {
        let Ok(k) = <[u8; 8]>::try_from(b) else {
            return parse_time(b);
        };
        let k = u64::from_le_bytes(k);
        if self.ms.is_some() && k == self.key {
            return self.ms;
        }
        let ms = parse_time(b)?;
        self.key = k;
        self.ms = Some(ms);
        Some(ms)
    }
}

/// UTC milliseconds of a day number and a time of day.
pub fn to_millis(day: i64, ms_of_day: i64) -> Millis {
    day * 86_400_000 + ms_of_day
}
