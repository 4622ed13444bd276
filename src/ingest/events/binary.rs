//! `.evtx` files, through the `evtx` crate (library only, no threads: the ingest driver already
//! runs files in parallel). Each record is rendered to XML and read by the same extraction as an
//! XML export, so both inputs give identical rows.
//!
//! The crate reads 64 KiB chunks one at a time, so memory stays bounded whatever the file size.
//! A record or chunk that fails becomes one rejected unit with its record (or chunk) number and
//! the walk goes on.

use super::{Acc, Reject, xml};
use ::evtx::{EvtxParser, ParserSettings, err::EvtxError};
use std::io::Cursor;

/// evtx chunk size.
const CHUNK: usize = 64 * 1024;

pub(crate) fn read(bytes: &[u8], acc: &mut Acc<'_>) {
    let parser = match EvtxParser::from_read_seek(Cursor::new(bytes)) {
        Ok(p) => p,
        Err(e) => {
            acc.reject(
                Reject::new(
                    "unreadable",
                    format!("not a readable .evtx file: {}", describe(&e)),
                ),
                None,
                Some(0),
            );
            return;
        }
    };
    // Checksums are not enforced: exports copied off a crashed server, or logs still open when
    // copied, often carry stale CRCs while the records are fine (the crate warns, we read).
    let settings = ParserSettings::new()
        .num_threads(1)
        .validate_checksums(false)
        .recover_records(false);
    // The crate reads whole 64 KiB chunks only: a file cut short (copied while being written,
    // a partial download) silently loses its last partial chunk. Say so.
    let block = usize::from(parser.header().header_block_size);
    let tail = bytes.len().saturating_sub(block) % CHUNK;
    if tail != 0 && bytes[bytes.len() - tail..].iter().any(|&b| b != 0) {
        acc.reject(
            Reject::new(
                "truncated_chunk",
                format!("the file ends {tail} bytes into a 64 KiB chunk (truncated copy?); records in that partial chunk were not read"),
            ),
            None,
            Some((bytes.len() - tail) as u64),
        );
    }
    let mut parser = parser.with_configuration(settings);
    // The evtx crate is third-party code on hostile bytes: a panic inside it must not lose the
    // rows read so far, so the walk is guarded here as well as by the driver.
    let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for rec in parser.records() {
            match rec {
                Ok(r) => match xml::parse_event(&r.data) {
                    Ok(ev) => acc.event(ev, None, r.event_record_id),
                    Err(mut why) => {
                        why.message = format!("record {}: {}", r.event_record_id, why.message);
                        acc.reject(why, None, None);
                    }
                },
                Err(e) => acc.reject(Reject::new(error_code(&e), describe(&e)), None, None),
            }
        }
    }));
    if walked.is_err() {
        acc.reject(
            Reject::new(
                "internal_error",
                "the evtx reader failed inside this file; records after that point were not read",
            ),
            None,
            None,
        );
    }
}

fn error_code(e: &EvtxError) -> &'static str {
    match e {
        EvtxError::FailedToParseRecord { .. } | EvtxError::FailedToReadRecordAt { .. } => {
            "corrupt_record"
        }
        EvtxError::FailedToParseChunk { .. } => "corrupt_chunk",
        _ => "corrupt_record",
    }
}

/// The error with its causes, so the record number and the reason both reach the issue.
fn describe(e: &EvtxError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    let mut depth = 0;
    while let Some(inner) = src {
        if depth == 4 {
            break;
        }
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
        depth += 1;
    }
    super::clip(&s, 1000)
}
