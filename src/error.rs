//! The library's errors. A bad input is an `issues` row and the run goes on; these are the
//! reasons a whole file could not be read, or an option not understood. Their messages are the
//! issue texts and command-line errors users see.

use std::io;

/// Why a file's bytes could not be had. The file is named by the issue row (or error message)
/// that carries this.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A FIFO, socket, device or directory: never opened (it could block or never end).
    #[error("{0}")]
    NotRegular(String),
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    /// Reading failed.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// Mapping failed.
    #[error("cannot map: {0}")]
    Map(#[source] io::Error),
    /// A compressed file that could not be inflated at all.
    #[error("cannot inflate (corrupt gzip): {0}")]
    Inflate(#[source] io::Error),
    /// A compressed log read a wave at a time could not be inflated into a temporary file.
    #[error("cannot write the inflated log to a temporary file (TMPDIR): {0}")]
    Spill(#[source] io::Error),
    /// A compressed file that inflates past what is held in memory.
    #[error(
        "inflates to more than {max} bytes, more than is read in memory (or a decompression bomb): extract it first"
    )]
    TooLargeToInflate {
        /// The most inflated.
        max: u64,
    },
    /// A parser panicked on this file (caught; the run goes on).
    #[error("internal error while parsing (a bug in w3triage; please report it with this file)")]
    ParserPanicked,
    /// Text that must be converted in memory (UTF-16, lone CRs) and is too large for that.
    #[error(
        "a UTF-16 or lone-CR log of {len} bytes, larger than the {max} bytes converted in memory: convert it first (iconv -f UTF-16 -t UTF-8, or tr '\\r' '\\n')"
    )]
    TooLargeToConvert {
        /// The file's size in bytes.
        len: usize,
        /// The largest size converted in memory.
        max: usize,
    },
}

/// A command-line value that could not be understood (`--tz`, `--window`, `--since`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// `--tz` is neither UTC nor a fixed offset.
    #[error("time zone {0:?}: expected UTC or a fixed offset like +02:00")]
    TimeZone(String),
    /// A duration that is not a number with a unit.
    #[error("duration {0:?}: expected e.g. 90s, 5m, 1h")]
    Duration(String),
    /// A duration with a unit not known.
    #[error("duration {input:?}: unknown unit {unit:?} (ms, s, m, h, d)")]
    DurationUnit {
        /// What was given.
        input: String,
        /// The unit not understood.
        unit: String,
    },
    /// A duration past what milliseconds hold.
    #[error("duration {0:?} is too large")]
    DurationTooLarge(String),
    /// A time that is neither RFC 3339 nor `YYYY-MM-DD HH:MM:SS`.
    #[error("time {0:?}: expected RFC 3339 (2024-03-01T10:00:00Z) or YYYY-MM-DD HH:MM:SS")]
    Time(String),
}
