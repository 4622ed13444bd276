//! W3C field layouts: the fields IIS writes, a `#Fields` line or a known header-less layout
//! turned into slots, and the custom fields that go to `extra`.

use super::*;

/// Where a field's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum F {
    Date,
    Time,
    Site,
    Server,
    SIp,
    Method,
    Stem,
    Query,
    SPort,
    User,
    CIp,
    Ua,
    Cookie,
    Referer,
    Host,
    Status,
    Sub,
    Win32,
    ScBytes,
    CsBytes,
    Taken,
    /// A custom or unknown field: index into `Layout::extra_names`.
    Extra(u16),
}

pub(super) const SLOTS: usize = 21;

/// The fixed fields by slot ([`F::slot`]).
pub(super) const FIXED: [F; SLOTS] = [
    F::Date,
    F::Time,
    F::Site,
    F::Server,
    F::SIp,
    F::Method,
    F::Stem,
    F::Query,
    F::SPort,
    F::User,
    F::CIp,
    F::Ua,
    F::Cookie,
    F::Referer,
    F::Host,
    F::Status,
    F::Sub,
    F::Win32,
    F::ScBytes,
    F::CsBytes,
    F::Taken,
];

/// No token for a slot ([`Layout::pos`]); past any token index, so `toks.get` gives `None`.
pub(super) const NO_TOK: u16 = u16::MAX;

impl F {
    pub(super) fn slot(self) -> Option<usize> {
        Some(match self {
            F::Date => 0,
            F::Time => 1,
            F::Site => 2,
            F::Server => 3,
            F::SIp => 4,
            F::Method => 5,
            F::Stem => 6,
            F::Query => 7,
            F::SPort => 8,
            F::User => 9,
            F::CIp => 10,
            F::Ua => 11,
            F::Cookie => 12,
            F::Referer => 13,
            F::Host => 14,
            F::Status => 15,
            F::Sub => 16,
            F::Win32 => 17,
            F::ScBytes => 18,
            F::CsBytes => 19,
            F::Taken => 20,
            F::Extra(_) => return None,
        })
    }
    /// Slot of a fixed field (always below [`SLOTS`]).
    pub(super) fn ix(self) -> usize {
        self.slot().unwrap_or(0)
    }
}

pub(super) fn field_of(name: &[u8]) -> Option<F> {
    const MAP: &[(&str, F)] = &[
        ("date", F::Date),
        ("date-local", F::Date),
        ("time", F::Time),
        ("time-local", F::Time),
        ("s-sitename", F::Site),
        ("s-computername", F::Server),
        ("s-ip", F::SIp),
        ("cs-method", F::Method),
        ("cs-uri-stem", F::Stem),
        ("cs-uri-query", F::Query),
        ("s-port", F::SPort),
        ("cs-username", F::User),
        ("c-ip", F::CIp),
        ("cs(user-agent)", F::Ua),
        ("cs(useragent)", F::Ua),
        ("cs(cookie)", F::Cookie),
        ("cs(referer)", F::Referer),
        ("cs(referrer)", F::Referer),
        ("cs-host", F::Host),
        ("cs(host)", F::Host),
        ("sc-status", F::Status),
        ("sc-substatus", F::Sub),
        ("sc-win32-status", F::Win32),
        ("sc-bytes", F::ScBytes),
        ("cs-bytes", F::CsBytes),
        ("time-taken", F::Taken),
        ("timetakenms", F::Taken),
    ];
    MAP.iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// A `#Fields` layout, resolved once per directive.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    pub(super) fields: Vec<F>,
    /// For each fixed field slot, the index of its token (the last field naming it), or
    /// [`NO_TOK`]: `record` reads its values by index instead of sorting tokens per line.
    pub(super) pos: [u16; SLOTS],
    /// The fixed fields with a token, in token order (a name given twice takes its last token,
    /// as in `pos`), but for date and time, which are read first: what a batch stores.
    pub(super) prog: Vec<(u16, F)>,
    /// The fixed fields the layout lacks (their columns get a null or the file's value).
    pub(super) absent: Vec<F>,
    /// Some field is custom or unknown (goes to `extra`).
    pub(super) any_extra: bool,
    /// Names of the extra fields, already JSON-escaped (they are written once per row).
    pub(super) extra_names: Vec<String>,
    pub(super) has_date: bool,
    /// `date-local`/`time-local` (Advanced Logging): not UTC.
    pub(super) local_time: bool,
    /// The names, for issue messages.
    pub(super) desc: String,
    /// Inferred from the values (no `#Fields` line named it): see `infer`.
    pub(super) inferred: bool,
}

impl Layout {
    pub(super) fn from_names(names: &[u8]) -> Layout {
        let mut l = Layout {
            fields: Vec::new(),
            pos: [NO_TOK; SLOTS],
            prog: Vec::new(),
            absent: Vec::new(),
            any_extra: false,
            extra_names: Vec::new(),
            has_date: false,
            local_time: false,
            desc: String::new(),
            inferred: false,
        };
        for n in names
            .split(|c| matches!(c, b' ' | b'\t' | b'\r' | 0))
            .filter(|n| !n.is_empty())
        {
            if l.fields.len() >= wf::MAX_TOKENS {
                break;
            }
            let f = field_of(n).unwrap_or_else(|| {
                let mut s = String::new();
                json_escape_bytes(&mut s, n);
                l.extra_names.push(s);
                F::Extra((l.extra_names.len() - 1) as u16)
            });
            match f.slot() {
                // Fewer than MAX_TOKENS (1024) fields, so the index fits.
                Some(s) => l.pos[s] = l.fields.len() as u16,
                None => l.any_extra = true,
            }
            l.has_date |= f == F::Date;
            l.local_time |=
                n.eq_ignore_ascii_case(b"date-local") || n.eq_ignore_ascii_case(b"time-local");
            l.fields.push(f);
            if !l.desc.is_empty() {
                l.desc.push(' ');
            }
            l.desc.push_str(&String::from_utf8_lossy(n));
        }
        for (slot, &f) in FIXED.iter().enumerate() {
            match (f, l.pos[slot]) {
                (F::Date | F::Time, _) => {}
                (f, NO_TOK) => l.absent.push(f),
                (f, k) => l.prog.push((k, f)),
            }
        }
        l.prog.sort_by_key(|&(k, _)| k);
        l
    }
}

/// The known IIS layouts a header-less or mismatched line is tried against (notes §1.4).
pub(super) const FALLBACKS: &[(&str, &str)] = &[
    (
        "IIS 7+ default",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
    ),
    (
        "IIS 7+ default without cs(Referer)",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken",
    ),
    (
        "IIS 6 default",
        "date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status",
    ),
    (
        "IIS 7+ default with sc-bytes cs-bytes",
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
    (
        "IIS site/cookie/host/bytes layout",
        "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
    (
        "IIS all standard fields",
        "date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
    ),
];

/// Name of the positional value that follows a full layout (filebeat's `network.forwarded_ip`).
pub(super) const TAIL_NAME: &str = "X-Forwarded-For";

/// The longest time-taken believed, in ms (49.7 days: IIS 6 logged it as a 32-bit count, and no
/// request lives that long). Above it a value is a corrupt line, not a slow request.
pub const MAX_TIME_TAKEN_MS: u64 = u32::MAX as u64;

impl F {
    /// The W3C name of a numeric field, and the largest value it holds.
    pub(super) fn number_name(self) -> (&'static str, u64) {
        match self {
            F::SPort => ("s-port", u16::MAX as u64),
            F::Status => ("sc-status", u16::MAX as u64),
            F::Sub => ("sc-substatus", u32::MAX as u64),
            F::Win32 => ("sc-win32-status", u64::MAX),
            F::ScBytes => ("sc-bytes", u64::MAX),
            F::CsBytes => ("cs-bytes", u64::MAX),
            F::Taken => ("time-taken", MAX_TIME_TAKEN_MS),
            _ => ("field", u64::MAX),
        }
    }
    /// The order in which the row path checks numeric fields (its issues' order on a line).
    pub(super) fn number_rank(self) -> u8 {
        match self {
            F::SPort => 0,
            F::Status => 1,
            F::Sub => 2,
            F::Win32 => 3,
            F::ScBytes => 4,
            F::CsBytes => 5,
            _ => 6,
        }
    }
}

/// A numeric field's null: `-`, or empty (quoted `""` or `"-"` in Advanced Logging and
/// Incapsula layouts).
pub(super) fn number_null(v: &[u8]) -> bool {
    matches!(v, b"-" | b"" | b"\"\"" | b"\"-\"")
}

/// Time-taken as believed (see [`MAX_TIME_TAKEN_MS`]).
pub(super) fn taken(v: u64) -> Option<u64> {
    (v <= MAX_TIME_TAKEN_MS).then_some(v)
}

/// The issue of a numeric value that is no number in the field's range: stored as null, and
/// said.
pub(super) fn bad_number(id: crate::tables::FileId, f: F, v: &[u8], line: u64, off: u64) -> Issue {
    let (name, max) = f.number_name();
    let shown: String = String::from_utf8_lossy(&v[..v.len().min(64)]).into_owned();
    let msg = if f == F::Taken && v.iter().all(u8::is_ascii_digit) && !v.is_empty() {
        format!(
            "{name} {shown:?} ms is impossible (more than {MAX_TIME_TAKEN_MS} ms, 49.7 days): stored as null"
        )
    } else {
        format!("{name} {shown:?} is not a whole number from 0 to {max}: stored as null")
    };
    Issue {
        row: IssueRow::new(id, Severity::Error, "bad_number", msg).at(Some(line), Some(off)),
        once_per: None,
        nul_end: None,
    }
}
