//! Text logs as the line parsers read them: UTF-8 (or Windows-1252) with `\n` line ends.
//!
//! Two real-world variants are turned into that shape before parsing, each reported:
//! - UTF-16 (what PowerShell's `Out-File` and `>` write when an admin re-saves or merges logs),
//!   with or without a byte-order mark: decoded to UTF-8. Byte offsets in the rows and issues of
//!   such a file are then offsets in the decoded text.
//! - Lines that end in a lone CR (classic Mac line ends, or a header written that way over CRLF
//!   data): each lone CR becomes a `\n`. Byte for byte, so offsets are unchanged.

use crate::error::ReadError;
use crate::tables::{FileId, IssueRow, Severity, Source};

/// How far into a file lone CRs are looked for: the header block and the first lines.
const CR_PROBE: usize = 64 << 10;
/// The largest file converted (in memory): 1 GiB. Memory stays bounded whatever the input; a
/// larger UTF-16 or lone-CR log is refused with the command that converts it.
pub const CONVERT_MAX: usize = 1 << 30;

/// `src` in the shape the line parsers read, with a warning for each change made; `Err` with
/// the reason when it would need converting but is too large to convert.
pub fn normalize(id: FileId, src: Source) -> Result<(Source, Vec<IssueRow>), ReadError> {
    normalize_within(id, src, CONVERT_MAX)
}

/// [`normalize`] with the largest file converted given.
fn normalize_within(
    id: FileId,
    src: Source,
    max: usize,
) -> Result<(Source, Vec<IssueRow>), ReadError> {
    let mut notes = Vec::new();
    let b = src.bytes();
    let probe = &b[..b.len().min(CR_PROBE)];
    if b.len() > max
        && (decode_utf16(&probe[..probe.len().min(512)]).is_some()
            || first_lone_cr(probe).is_some())
    {
        return Err(ReadError::TooLargeToConvert { len: b.len(), max });
    }
    let src = if let Some((text, which)) = decode_utf16(b) {
        notes.push(IssueRow::new(
            id,
            Severity::Warning,
            "utf16_text",
            format!("{which} text decoded to UTF-8 (byte offsets are in the decoded text)"),
        ));
        Source::new(text.into_bytes())
    } else {
        src
    };
    let b = src.bytes();
    let probe = &b[..b.len().min(CR_PROBE)];
    if let Some(at) = first_lone_cr(probe) {
        let mut v = b.to_vec();
        let n = lone_crs_to_lf(&mut v);
        notes.push(
            IssueRow::new(
                id,
                Severity::Warning,
                "cr_line_ends",
                format!(
                    "{n} lines end in a carriage return alone (no line feed): read as line ends"
                ),
            )
            .at(None, Some(at as u64)),
        );
        return Ok((Source::new(v), notes));
    }
    Ok((src, notes))
}

/// UTF-16 text (a byte-order mark, or ASCII with a NUL after each byte) decoded, and which.
fn decode_utf16(b: &[u8]) -> Option<(String, &'static str)> {
    let (enc, body, which) = if let Some(rest) = b.strip_prefix(b"\xff\xfe") {
        (encoding_rs::UTF_16LE, rest, "UTF-16LE")
    } else if let Some(rest) = b.strip_prefix(b"\xfe\xff") {
        (encoding_rs::UTF_16BE, rest, "UTF-16BE")
    } else if crate::discover::looks_utf16le(&b[..b.len().min(512)]) {
        (encoding_rs::UTF_16LE, b, "UTF-16LE (no byte-order mark)")
    } else {
        return None;
    };
    let text = enc.decode_without_bom_handling(body).0.into_owned();
    Some((text, which))
}

/// Where the first CR not followed by a LF is (a CR as the probe's last byte does not count:
/// its LF may be just past it).
fn first_lone_cr(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\r', b).find(|&i| b.get(i + 1).is_some_and(|&c| c != b'\n'))
}

/// Turns every lone CR into a LF, in place; how many.
fn lone_crs_to_lf(v: &mut [u8]) -> usize {
    let mut n = 0;
    let mut from = 0;
    while let Some(j) = memchr::memchr(b'\r', &v[from..]) {
        let i = from + j;
        if v.get(i + 1) != Some(&b'\n') {
            v[i] = b'\n';
            n += 1;
        }
        from = i + 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_crs_become_line_ends_and_crlf_stays() {
        let (s, notes) = normalize(3, Source::copy_of(b"#Fields: a\rx\r\ny\rz")).unwrap();
        assert_eq!(s.bytes(), b"#Fields: a\nx\r\ny\nz");
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].code, "cr_line_ends");
        assert!(
            notes[0].message.starts_with("2 lines"),
            "{}",
            notes[0].message
        );
        assert_eq!(notes[0].offset, Some(10));
        let (s, notes) = normalize(3, Source::copy_of(b"a\r\nb\r\n")).unwrap();
        assert_eq!(s.bytes(), b"a\r\nb\r\n");
        assert!(notes.is_empty());
    }

    #[test]
    fn a_file_too_large_to_convert_is_refused_not_read_wrong() {
        let cr = Source::copy_of(b"#Fields: a\rx\ry\r");
        let why = normalize_within(1, cr, 8).unwrap_err().to_string();
        assert!(why.contains("larger than the 8 bytes converted"), "{why}");
        // Plain text of any size is not converted, so not refused.
        let plain = Source::copy_of(b"#Fields: a\r\nx\r\n");
        assert!(normalize_within(1, plain, 8).is_ok());
    }

    #[test]
    fn utf16_with_and_without_bom_is_decoded() {
        let text = "#Fields: date time\r\n2024-01-01 00:00:01\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let with_bom: Vec<u8> = b"\xff\xfe".iter().copied().chain(le.clone()).collect();
        for (bytes, which) in [
            (with_bom, "UTF-16LE text"),
            (le, "UTF-16LE (no byte-order mark)"),
        ] {
            let (s, notes) = normalize(1, Source::copy_of(&bytes)).unwrap();
            assert_eq!(s.bytes(), text.as_bytes());
            assert!(notes[0].message.starts_with(which), "{}", notes[0].message);
        }
    }
}
