//! IIS native logs write the server's local time with no zone. After the machines are known
//! (see [`super::identity`]), each native log's times are converted to UTC with the best
//! evidence of its server's offset, and the file's `local_time` warning says which:
//!
//! 1. the time zone of the dumps of the same server (MiscInfo: bias and whether daylight time
//!    was in effect), the offset most of them agree on;
//! 2. `--tz`, given by the admin;
//! 3. none: the times stay as written, and the warning says so.
//!
//! A day that crosses a daylight-saving change is converted with one offset: the dumps say
//! the offset at their own time only.

use crate::tables::{ArtifactKind, EvidenceSource, FileId, Requests, Tables};
use std::collections::BTreeMap;

/// Converts the native logs' times (see the module docs); `tz_min` is `--tz`, minutes east.
pub fn resolve(t: &mut Tables, tz_min: Option<i32>) -> BTreeMap<FileId, i64> {
    let mut shift: BTreeMap<FileId, i64> = BTreeMap::new();
    for f in t
        .files
        .iter()
        .filter(|f| f.kind == ArtifactKind::IisNative && f.rows > 0)
    {
        let from_dumps = dumps_offset(t, f.server.as_deref());
        let (offset, how) = match (from_dumps, tz_min) {
            (Some(o), _) => (
                o,
                format!(
                    "the time zone of the dumps of the same server ({})",
                    f.server.as_deref().unwrap_or("?")
                ),
            ),
            (None, Some(o)) => (o, "--tz".to_string()),
            (None, None) => continue,
        };
        shift.insert(f.id, offset as i64 * 60_000);
        let msg = format!(
            "IIS native log: times are the server's local time with no zone; converted to UTC at {} from {how}",
            fmt_offset(offset)
        );
        for i in t.issues.iter_mut() {
            if i.file == f.id && i.code == "local_time" {
                i.message = msg.clone();
            }
        }
    }
    shift_rows(&mut t.requests, &shift);
    shift
}

/// Converts the times of `r`'s rows from the files `shift` names to UTC (the request logs
/// read again are converted as they are read: `super::reread`).
pub fn shift_rows(r: &mut Requests, shift: &BTreeMap<FileId, i64>) {
    if shift.is_empty() {
        return;
    }
    for i in 0..r.len() {
        if let Some(ms) = shift.get(&r.file[i]) {
            r.ts[i] -= ms;
        }
    }
}

/// The offset most dumps of `server` were written at, if any dump says.
fn dumps_offset(t: &Tables, server: Option<&str>) -> Option<i32> {
    let mut votes: BTreeMap<i32, usize> = BTreeMap::new();
    for c in &t.crashes {
        let same = match (server, c.server.as_deref()) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if same
            && c.source == Some(EvidenceSource::Dump)
            && let Some(o) = c.utc_offset_min
        {
            *votes.entry(o).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by_key(|&(o, n)| (n, -o.abs()))
        .map(|(o, _)| o)
}

/// `UTC+01:00`, `UTC-05:30`.
fn fmt_offset(min: i32) -> String {
    let sign = if min < 0 { '-' } else { '+' };
    let m = min.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_written_as_admins_read_them() {
        assert_eq!(fmt_offset(60), "UTC+01:00");
        assert_eq!(fmt_offset(-330), "UTC-05:30");
        assert_eq!(fmt_offset(0), "UTC+00:00");
    }
}
