//! Performance Monitor counter logs (PDH-CSV 4.0): the `counters` table, read as relog and
//! typeperf write it, in UTF-8 and UTF-16, and hostile variants.

use std::path::PathBuf;
use w3triage::export::view;
use w3triage::ingest::{IngestOptions, ingest_paths};
use w3triage::tables::{ArtifactKind, Cell, FileStatus, Tables};

/// A PDH-CSV log: `cols` counter paths, one sample every `step_s` seconds from 08:00:00 local
/// on 2024-03-01, values from `value(sample, column)` (`None` writes a blank `" "`).
pub fn pdh_csv(
    bias: i32,
    cols: &[String],
    samples: usize,
    step_s: usize,
    value: &dyn Fn(usize, usize) -> Option<f64>,
) -> String {
    let mut s = format!("\"(PDH-CSV 4.0) (Eastern Daylight Time)({bias})\"");
    for c in cols {
        s.push_str(&format!(",\"{c}\""));
    }
    s.push_str("\r\n");
    for i in 0..samples {
        let t = i * step_s;
        s.push_str(&format!(
            "\"03/01/2024 {:02}:{:02}:{:02}.{:03}\"",
            8 + t / 3600,
            (t / 60) % 60,
            t % 60,
            (i * 7) % 1000
        ));
        for c in 0..cols.len() {
            match value(i, c) {
                Some(v) => s.push_str(&format!(",\"{v}\"")),
                None => s.push_str(",\" \""),
            }
        }
        s.push_str("\r\n");
    }
    s
}

fn ingest_one(name: &str, bytes: &[u8]) -> Tables {
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("WEB01/perflogs").join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    ingest_paths(&[dir.path().to_path_buf()], &IngestOptions::default())
}

fn three() -> Vec<String> {
    [
        r"\\WEB01\Processor(_Total)\% Processor Time",
        r"\\WEB01\Process(w3wp#1)\Private Bytes",
        r"\\WEB01\Network Interface(Intel(R) PRO_1000, port 2)\Bytes Total/sec",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_relog_csv_becomes_long_form_rows_in_utc() {
    let csv = pdh_csv(240, &three(), 4, 15, &|i, c| {
        (!(i == 2 && c == 1)).then_some((i * 10 + c) as f64 + 0.5)
    });
    let t = ingest_one("DataCollector01.csv", csv.as_bytes());
    assert_eq!(t.files[0].kind, ArtifactKind::PerfCsv);
    assert_eq!(t.files[0].status, FileStatus::Parsed);
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert!(t.files[0].counts.balanced());
    // The machine the counter paths name is the server.
    assert_eq!(t.servers[0].name, "WEB01");
    assert_eq!(
        t.servers[0].evidence,
        ["counter paths WEB01", "folder WEB01"]
    );
    assert_eq!((t.files[0].counts.lines, t.files[0].counts.records), (5, 4));
    let c = &t.counters;
    // 4 samples × 3 counters, one blank.
    assert_eq!(c.len(), 11);
    assert_eq!(c.series.len(), 3);
    let s = &c.series[2];
    assert_eq!(
        (
            s.server.as_deref(),
            s.object.as_str(),
            s.instance.as_deref(),
            s.counter.as_str()
        ),
        (
            Some("WEB01"),
            "Network Interface",
            Some("Intel(R) PRO_1000, port 2"),
            "Bytes Total/sec"
        ),
        "a comma inside a quoted path stays in it"
    );
    // 08:00:15.007 Eastern Daylight (bias 240) is 12:00:15.007 UTC.
    let v = view(&t, "counters").unwrap();
    assert_eq!(v.columns()[0].0, "ts");
    let row = (0..v.len())
        .find(|&r| v.cell(r, 5) == Cell::Float(11.5))
        .expect("sample 1, column 1");
    assert_eq!(v.cell(row, 0), Cell::Ts(1_709_294_415_007));
    assert_eq!(v.cell(row, 2), Cell::Str("Process"));
    assert_eq!(v.cell(row, 3), Cell::Str("w3wp#1"));
    assert_eq!(v.cell(row, 4), Cell::Str("Private Bytes"));
    assert!(
        !(0..v.len()).any(|r| v.cell(r, 5) == Cell::Float(21.5)),
        "the blank is absent"
    );
}

#[test]
fn utf16_tsv_and_damaged_lines_are_read_with_their_issues() {
    let csv = pdh_csv(-60, &three(), 3, 15, &|i, c| Some((i + c) as f64));
    let mut tsv = csv
        .replace("\",\"", "\"\t\"")
        .replace("(PDH-CSV", "(PDH-TSV");
    tsv.push_str("\"not a time\"\t\"1\"\r\n");
    tsv.push_str("\"03/01/2024 08:01:00.000\"\t\"abc\"\t\"2\"\t\"3\"\r\n");
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(tsv.encode_utf16().flat_map(u16::to_le_bytes));
    let t = ingest_one("typeperf.tsv", &utf16);
    assert_eq!(t.files[0].kind, ArtifactKind::PerfCsv);
    let f = &t.files[0];
    assert_eq!(
        (f.counts.lines, f.counts.records, f.counts.rejected),
        (6, 4, 1)
    );
    assert!(f.counts.balanced());
    let codes: Vec<&str> = t.issues.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        ["utf16_text", "bad_timestamp", "bad_value"],
        "{:?}",
        t.issues
    );
    assert!(
        t.issues[2]
            .message
            .starts_with("1 value(s) are not numbers")
    );
    assert_eq!(t.counters.len(), 9 + 2);
    // Romance Standard Time (bias −60): 08:00:00 local is 07:00:00 UTC.
    assert_eq!(t.counters.samples[0].ts, 1_709_276_400_000);
}

#[test]
fn a_binary_blg_is_listed_with_the_command_that_converts_it() {
    let t = ingest_one("DataCollector01.blg", b"\x00\x01binary perf data\x00\x00");
    assert_eq!(t.files[0].kind, ArtifactKind::PerfBlg);
    assert_eq!(t.files[0].status, FileStatus::Skipped);
    assert!(
        t.files[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("relog <file>.blg -f csv -o <file>.csv")
    );
}

#[test]
fn an_hour_of_2000_counters_every_15_s_is_read_whole() {
    let cols: Vec<String> = (0..2000)
        .map(|i| format!(r"\\WEB01\Process(p{i})\% Processor Time"))
        .collect();
    let csv = pdh_csv(0, &cols, 240, 15, &|i, c| {
        Some(((i * 31 + c * 7) % 1000) as f64 / 10.0)
    });
    let t = ingest_one("day.csv", csv.as_bytes());
    assert!(
        t.issues.is_empty(),
        "{:?}",
        &t.issues[..t.issues.len().min(3)]
    );
    assert_eq!(t.counters.len(), 2000 * 240);
    assert_eq!(t.counters.samples.len(), 240);
    // 16 bytes a value: the long form is not a row of strings each.
    assert!(
        t.counters.heap_bytes() < 2000 * 240 * 20,
        "{}",
        t.counters.heap_bytes()
    );
}

mod hostile {
    use proptest::prelude::*;
    use w3triage::ingest::perf::parse;
    use w3triage::tables::FileCtx;

    fn relog() -> String {
        super::pdh_csv(240, &super::three(), 6, 15, &|i, c| {
            Some((i * 3 + c) as f64)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any bytes: every line accounted for, every value pointing at a sample and a series.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let p = parse(&FileCtx::default(), &bytes);
            prop_assert!(p.counts.balanced());
            let c = &p.counters;
            prop_assert!(c.values.iter().all(|v| (v.sample as usize) < c.samples.len()
                && (v.series as usize) < c.series.len()));
        }

        /// A real layout cut anywhere and with a byte changed: still read, still balanced.
        #[test]
        fn mutated_logs_never_panic(cut in 0usize..1000, flip in 0usize..1000, byte in any::<u8>()) {
            let mut b = relog().into_bytes();
            let f = flip % b.len();
            b[f] = byte;
            b.truncate(cut.min(b.len()));
            let p = parse(&FileCtx::default(), &b);
            prop_assert!(p.counts.balanced());
            prop_assert!(p.counters.values.iter().all(|v| v.value.is_finite()));
        }
    }
}
