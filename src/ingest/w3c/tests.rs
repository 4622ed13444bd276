use super::*;
use crate::ingest::w3c_fields::parse_date;

fn p(s: &[u8]) -> Parsed {
    parse(
        &FileCtx {
            server: Some("WEB1".into()),
            site: Some("W3SVC1".into()),
            ..Default::default()
        },
        s,
    )
}

fn codes(r: &Parsed) -> Vec<&'static str> {
    r.issues.iter().map(|i| i.code).collect()
}

const F15: &str = "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
const L15: &str =
    "2018-01-01 08:09:10 127.0.0.1 GET /a q=1 80 - 81.2.69.143 Mozilla/5.0+(X) - 200 0 0 123\n";

#[test]
fn fixed_fields_are_listed_by_slot() {
    for (slot, f) in FIXED.iter().enumerate() {
        assert_eq!(f.slot(), Some(slot), "{f:?}");
    }
    // A layout's fields with a token plus those it lacks are every fixed field but date and
    // time, each once, the tokens in order.
    let l = Layout::from_names(b"time date cs-uri-stem c-ip cs-uri-stem X-Custom sc-status");
    assert_eq!(l.prog, vec![(3, F::CIp), (4, F::Stem), (6, F::Status)]);
    assert_eq!(l.prog.len() + l.absent.len(), SLOTS - 2);
}

#[test]
fn default_layout_values() {
    let r = p(format!("{F15}{L15}").as_bytes());
    let q = &r.requests;
    assert_eq!(q.len(), 1);
    assert_eq!(
        q.ts[0],
        (parse_date(b"2018-01-01").unwrap() * 86_400 + 8 * 3600 + 9 * 60 + 10) * 1000
    );
    assert_eq!(q.server.get(0), Some("WEB1"));
    assert_eq!(q.site.get(0), Some("W3SVC1"));
    assert_eq!(q.user_agent.get(0).as_deref(), Some("Mozilla/5.0 (X)"));
    assert_eq!(q.referer.get(0).as_deref(), None);
    assert_eq!(q.username.get(0), None);
    assert_eq!(q.uri_query.get(0), Some("q=1"));
    assert_eq!(
        (
            q.status.get(0),
            q.substatus.get(0),
            q.win32_status.get(0),
            q.time_taken_ms.get(0)
        ),
        (Some(200), Some(0), Some(0), Some(123))
    );
    assert_eq!(q.offset.get(0), F15.len() as u64);
    assert_eq!(q.extra.get(0), None);
    assert!(r.issues.is_empty());
    assert_eq!(
        r.counts,
        LineCounts {
            lines: 2,
            records: 1,
            directives: 1,
            blank: 0,
            rejected: 0
        }
    );
}

#[test]
fn fields_change_mid_file_and_computername_sets_server() {
    let s = format!(
        "{F15}{L15}#Fields: date time s-sitename s-computername cs-method cs-uri-stem sc-status time-taken\n2018-01-01 09:00:00 W3SVC7 HOST9 POST /b 500 9\n"
    );
    let r = p(s.as_bytes());
    let q = &r.requests;
    assert_eq!(q.len(), 2);
    assert_eq!(
        q.server.iter().collect::<Vec<_>>(),
        vec![Some("WEB1"), Some("HOST9")]
    );
    assert_eq!(
        q.site.iter().collect::<Vec<_>>(),
        vec![Some("W3SVC1"), Some("W3SVC7")]
    );
    assert_eq!(q.s_ip.get(1), None);
    assert_eq!(
        (r.server.as_deref(), r.site.as_deref()),
        (Some("HOST9"), Some("W3SVC7"))
    );
}

#[test]
fn no_header_one_warning_per_file() {
    let s = L15.repeat(3);
    let r = p(s.as_bytes());
    assert_eq!(r.requests.len(), 3);
    assert_eq!(codes(&r), vec!["no_header"]);
    assert!(
        r.issues[0].message.contains("IIS 7+ default"),
        "{}",
        r.issues[0].message
    );
    // Also with tiny chunks: still one warning.
    let r2 = parse_chunked(&FileCtx::default(), s.as_bytes(), 5);
    assert_eq!(codes(&r2), vec!["no_header"]);
}

#[test]
fn date_from_directive_and_rollover() {
    let s = "#Date: 2000-10-09 16:44:49\n#Fields: time c-ip cs-method cs-uri-stem sc-status\n23:59:58 1.1.1.1 [2]USER anonymous 331\n00:00:03 1.1.1.1 [2]PASS - 230\n23:59:59 1.1.1.1 [2]QUIT - 226\n";
    let r = p(s.as_bytes());
    let d = parse_date(b"2000-10-09").unwrap() * 86_400_000;
    let day = 86_400_000;
    assert_eq!(
        r.requests.ts,
        vec![
            d + (23 * 3600 + 59 * 60 + 58) * 1000,
            d + day + 3000,
            d + day + (23 * 3600 + 59 * 60 + 59) * 1000
        ]
    );
    assert!(r.issues.is_empty());
}

#[test]
fn crlf_no_final_newline_and_runs_of_spaces() {
    let s = format!(
        "{}{}",
        F15.replace('\n', "\r\n"),
        L15.trim_end().replace(" 80 ", "  80\t ")
    );
    let r = p(s.as_bytes());
    assert_eq!(r.requests.len(), 1);
    assert_eq!(r.requests.s_port.get(0), Some(80));
    assert_eq!(r.requests.time_taken_ms.get(0), Some(123));
    assert_eq!(r.requests.offset.get(0), F15.len() as u64 + 1);
    assert!(r.issues.is_empty());
}

#[test]
fn windows_1252_bytes_kept() {
    let mut s = F15.as_bytes().to_vec();
    s.extend_from_slice(
        b"2018-01-01 08:09:10 127.0.0.1 GET /caf\xe9 - 80 - ::1%0 UA - 200 0 0 1\n",
    );
    let r = p(&s);
    assert_eq!(r.requests.uri_stem.get(0), Some("/café"));
    assert_eq!(r.requests.c_ip.get(0), Some("::1%0"));
}

#[test]
fn custom_fields_and_trailing_xff_go_to_extra() {
    let s = "#Fields: date time cs-method cs-uri-stem sc-status X-Forwarded-For cs-version\n2018-01-01 08:09:10 GET / 200 10.0.0.1,+10.0.0.2 HTTP/1.1\n";
    let r = p(s.as_bytes());
    assert_eq!(
        r.requests.extra.get(0),
        Some(r#"{"X-Forwarded-For":"10.0.0.1,+10.0.0.2","cs-version":"HTTP/1.1"}"#)
    );
    let r = p(L15
        .trim_end()
        .to_owned()
        .add_str(" 192.168.1.9\n")
        .as_bytes());
    assert_eq!(
        r.requests.extra.get(0),
        Some(r#"{"X-Forwarded-For":"192.168.1.9"}"#)
    );
    assert_eq!(codes(&r), vec!["no_header"]);
    assert!(r.issues[0].message.contains("X-Forwarded-For"));
}

trait AddStr {
    fn add_str(self, s: &str) -> String;
}
impl AddStr for String {
    fn add_str(mut self, s: &str) -> String {
        self.push_str(s);
        self
    }
}

#[test]
fn quoted_values_local_time_and_spellings() {
    let s = "#Fields: date-local time-local cs-uri-stem cs(Host) cs(Referrer) sc-status sc-substatus TimeTakenMS\n2012-08-15 17:00:00.363 /p \"h.example\" \"http://x/?a b\" 404 \" \"\"garbage\"\" w/ spaces \" 359\n";
    let r = p(s.as_bytes());
    let q = &r.requests;
    assert_eq!(q.len(), 1);
    assert_eq!(q.ts[0] % 86_400_000, 61_200_363);
    assert_eq!(q.host.get(0), Some("h.example"));
    assert_eq!(q.referer.get(0).as_deref(), Some("http://x/?a b"));
    assert_eq!(q.substatus.get(0), None);
    assert_eq!(q.time_taken_ms.get(0), Some(359));
    // The garbage substatus is null, and said to be.
    assert_eq!(codes(&r), vec!["local_time", "bad_number"]);
}

#[test]
fn field_count_rejects_with_line_and_offset() {
    let s = format!("{F15}{L15}2018-01-01 08:09:10 too few\n{L15}");
    let r = p(s.as_bytes());
    assert_eq!(r.requests.len(), 2);
    assert_eq!(codes(&r), vec!["field_count"]);
    assert_eq!(r.issues[0].line, Some(3));
    assert_eq!(r.issues[0].offset, Some((F15.len() + L15.len()) as u64));
    assert_eq!(
        r.counts,
        LineCounts {
            lines: 4,
            records: 2,
            directives: 1,
            blank: 0,
            rejected: 1
        }
    );
}

#[test]
fn truncated_last_line() {
    let s = format!("{F15}{L15}2018-01-01 08:09:11 127.0.0.1 GET /cut");
    let r = p(s.as_bytes());
    assert_eq!(r.requests.len(), 1);
    assert_eq!(codes(&r), vec!["truncated_line"]);
    assert_eq!(r.issues[0].severity, Severity::Error);
    assert!(r.counts.balanced());
}

#[test]
fn nul_padded_tail_is_one_issue() {
    let mut s = format!("{F15}{L15}").into_bytes();
    let start = s.len();
    s.extend(std::iter::repeat_n(0u8, 4096));
    s.push(b'\n');
    s.extend(std::iter::repeat_n(0u8, 100));
    let r = p(&s);
    assert_eq!(r.requests.len(), 1);
    assert_eq!(codes(&r), vec!["nul_padding"]);
    assert_eq!(r.issues[0].offset, Some(start as u64));
    assert!(
        r.issues[0]
            .message
            .contains(&format!("{start}..{}", s.len())),
        "{}",
        r.issues[0].message
    );
    assert_eq!(
        r.counts,
        LineCounts {
            lines: 4,
            records: 1,
            directives: 1,
            blank: 0,
            rejected: 2
        }
    );
    // NULs before a restarted header: the header is still read.
    let mut s2 = vec![0u8; 10];
    s2.extend_from_slice(format!("{F15}{L15}").as_bytes());
    let r2 = p(&s2);
    assert_eq!(r2.requests.len(), 1);
    assert_eq!(codes(&r2), vec!["nul_padding"]);
    assert_eq!(
        r2.requests.offset.get(0),
        s2.len() as u64 - L15.len() as u64
    );
}

#[test]
fn bad_timestamp_rejected() {
    let s = format!("{F15}{}", L15.replace("2018-01-01", "2018-02-30"));
    let r = p(s.as_bytes());
    assert_eq!(r.requests.len(), 0);
    assert_eq!(codes(&r), vec!["bad_timestamp"]);
    assert_eq!(r.counts.rejected, 1);
    // The values as logged, not Rust's debug text of an option.
    assert!(
        r.issues[0]
            .message
            .starts_with("unreadable date/time \"2018-02-30\" \"")
            && !r.issues[0].message.contains("Some("),
        "{}",
        r.issues[0].message
    );
}

#[test]
fn blank_lines_and_directives_counted() {
    let s = format!("\n#Software: IIS\n\n{F15}  \n{L15}");
    let r = p(s.as_bytes());
    assert_eq!(
        r.counts,
        LineCounts {
            lines: 6,
            records: 1,
            directives: 2,
            blank: 3,
            rejected: 0
        }
    );
}

#[test]
fn markdown_damaged_ip_repaired() {
    let s = format!(
        "{F15}{}",
        L15.replace("127.0.0.1", "[10.1.2.3](http://10.1.2.3)")
    );
    let r = p(s.as_bytes());
    assert_eq!(r.requests.s_ip.get(0), Some("10.1.2.3"));
}

fn three_blocks() -> String {
    let mut s = String::new();
    for i in 0..40 {
        s.push_str(F15);
        s.push_str(&L15.replace("/a", &format!("/a{i}")));
        s.push_str("#Fields: date time s-sitename s-computername cs-method cs-uri-stem sc-status X-Custom\n");
        s.push_str(&format!(
            "2018-01-02 00:00:{:02} W3SVC2 H{i} GET /b 200 v{i}\n",
            i % 60
        ));
        s.push_str("#Date: 2018-01-03 00:00:00\n#Fields: date time cs-uri-stem sc-status\n");
        s.push_str(&format!("2018-01-03 00:01:00 /c{i} 404\n\n"));
        s.push_str("bad line\n");
    }
    s
}

#[test]
fn chunks_and_threads_give_identical_output() {
    let whole = same_at_any_split(&three_blocks(), &[1, 17, 300]);
    assert_eq!(whole.requests.len(), 120);
}

/// Parses `s` whole and in chunks of each size on 1, 2 and 8 threads: all must agree, issues
/// included. Returns the whole parse.
fn same_at_any_split(s: &str, chunks: &[usize]) -> Parsed {
    let whole = p(s.as_bytes());
    assert!(whole.counts.balanced());
    for threads in [1, 2, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for &chunk in chunks {
            let ctx = FileCtx {
                server: Some("WEB1".into()),
                site: Some("W3SVC1".into()),
                ..Default::default()
            };
            let r = pool.install(|| parse_chunked(&ctx, s.as_bytes(), chunk));
            let at = format!("threads {threads} chunk {chunk}");
            assert_eq!(r.requests, whole.requests, "{at}");
            assert_eq!(r.issues, whole.issues, "{at}");
            assert_eq!(r.counts, whole.counts, "{at}");
            assert_eq!((&r.server, &r.site), (&whole.server, &whole.site), "{at}");
        }
    }
    whole
}

/// The same header re-emitted (a writer restart) between lines that draw once-per-segment
/// warnings: every segment keeps its own warning however the file is cut, though a chunk
/// starting after a re-emitted header in its own wave first assumes the earlier one.
#[test]
fn reemitted_header_keeps_one_warning_per_segment_at_any_split() {
    let mut s = String::new();
    for i in 0..12 {
        s.push_str("#Software: Microsoft Internet Information Services 10.0\n");
        s.push_str(F15);
        for k in 0..5 {
            // One value more than #Fields names: read as X-Forwarded-For, warned once per segment.
            s.push_str(&L15.replace(" 123\n", &format!(" {k} 10.9.{i}.{k}\n")));
        }
    }
    let whole = same_at_any_split(&s, &[1, 40, 97, 300, 1000]);
    assert_eq!(whole.requests.len(), 60);
    let warnings: Vec<u64> = whole
        .issues
        .iter()
        .filter(|i| i.code == "layout_mismatch")
        .filter_map(|i| i.line)
        .collect();
    let lines_per_block = 2 + 5;
    let expected: Vec<u64> = (0..12).map(|i| (i * lines_per_block + 3) as u64).collect();
    assert_eq!(warnings, expected);
}

/// A date-less layout (IIS FTP) after dated ones: the day comes from `#Date` and rolls over at
/// midnight, which needs the lines before it; the file is read in one piece, with the same
/// result at any split.
#[test]
fn dateless_layout_late_in_the_file_is_read_in_one_piece() {
    let mut s = String::new();
    for i in 0..30 {
        s.push_str(F15);
        s.push_str(&L15.replace("/a", &format!("/a{i}")));
    }
    s.push_str("#Date: 2000-10-09 16:44:49\n#Fields: time c-ip cs-method cs-uri-stem sc-status\n");
    s.push_str("23:59:58 1.1.1.1 [2]USER anonymous 331\n00:00:03 1.1.1.1 [2]PASS - 230\n");
    let whole = same_at_any_split(&s, &[1, 50, 333]);
    let r = &whole.requests;
    assert_eq!(r.len(), 32);
    let day = parse_date(b"2000-10-10").unwrap();
    assert_eq!(r.ts[31], (day * 86_400 + 3) * 1000);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..64) {
            let r = parse_chunked(&FileCtx::default(), &b, chunk);
            prop_assert!(r.counts.balanced());
            let whole = parse(&FileCtx::default(), &b);
            prop_assert_eq!(&r.requests, &whole.requests);
            prop_assert_eq!(r.counts, whole.counts);
            let h = crate::ingest::httperr::parse_chunked(&FileCtx::default(), &b, chunk);
            prop_assert!(h.counts.balanced());
        }

        #[test]
        fn mutated_lines_stay_balanced(
            edits in proptest::collection::vec((0usize..4000, any::<u8>(), 0u8..3), 0..20),
            chunk in 1usize..200,
        ) {
            let mut b = three_blocks().into_bytes();
            for (pos, byte, op) in edits {
                let pos = pos % (b.len() + 1);
                match op {
                    0 => b.insert(pos, byte),
                    1 if pos < b.len() => { b.remove(pos); }
                    _ if pos < b.len() => b[pos] = byte,
                    _ => {}
                }
            }
            let r = parse_chunked(&FileCtx::default(), &b, chunk);
            prop_assert!(r.counts.balanced());
            let whole = parse(&FileCtx::default(), &b);
            prop_assert_eq!(&r.requests, &whole.requests);
            prop_assert_eq!(&r.issues, &whole.issues);
        }
    }
}

#[test]
fn header_plus_one_value_is_forwarded_for_with_one_warning() {
    let s = format!(
        "{F15}{}{}",
        L15.replace(" 123\n", " 123 10.9.9.9\n"),
        L15.replace(" 123\n", " 5 10.9.9.8\n")
    );
    let r = p(s.as_bytes());
    assert_eq!(
        r.requests.extra.get(1),
        Some(r#"{"X-Forwarded-For":"10.9.9.8"}"#)
    );
    assert_eq!(codes(&r), vec!["layout_mismatch"]);
    assert_eq!(r.issues[0].line, Some(2));
}

/// Found by fuzzing: the batch found bad numbers a column at a time and reported them in that
/// order, the row path a line at a time; both now report them line by line.
#[test]
fn bad_numbers_are_reported_alike_by_both_paths() {
    let s = format!(
        "{F15}{}{}",
        L15.replace(" 200 0 0 123", " -200 0 0 -1"),
        L15.replace(" 200 0 0 123", " 2e3 0 0 -1")
    );
    let fast = p(s.as_bytes());
    let general = super::parse_with(
        &FileCtx::default(),
        &crate::tables::Source::copy_of(s.as_bytes()),
        usize::MAX,
        false,
    );
    assert_eq!(codes(&fast), vec!["bad_number"; 4]);
    assert_eq!(fast.issues, general.issues);
    let lines: Vec<Option<u64>> = fast.issues.iter().map(|i| i.line).collect();
    assert_eq!(lines, [Some(2), Some(2), Some(3), Some(3)]);
}
