use super::*;

#[test]
fn dates_and_times() {
    assert_eq!(parse_date(b"1970-01-01"), Some(0));
    assert_eq!(parse_date(b"2018-01-01"), Some(17532));
    assert_eq!(parse_date(b"2025-13-14"), None);
    assert_eq!(parse_date(b"2023-02-29"), None);
    assert_eq!(
        parse_date(b"2024-02-29"),
        Some(days_from_civil(2024, 2, 29))
    );
    assert_eq!(parse_date_dmy(b"28/Jun/2017"), parse_date(b"2017-06-28"));
    assert_eq!(parse_time(b"08:09:10"), Some(29_350_000));
    assert_eq!(parse_time(b"17:00:00.363"), Some(61_200_363));
    assert_eq!(parse_time(b"17:00:00.3"), Some(61_200_300));
    assert_eq!(parse_time(b"24:00:00"), None);
    // Minutes only (`HH:MM`), as some writers log: the minute's start.
    assert_eq!(parse_time(b"08:35"), Some(30_900_000));
    assert_eq!(parse_time(b"24:00"), None);
    assert_eq!(parse_time(b"08:3"), None);
    assert_eq!(parse_time(b"08:35:"), None);
    // Two-digit years (IIS 4/5-era writers): 70–99 are 19xx, the rest 20xx.
    assert_eq!(parse_date(b"98-05-03"), parse_date(b"1998-05-03"));
    assert_eq!(parse_date(b"03-02-28"), parse_date(b"2003-02-28"));
    assert_eq!(parse_date(b"03-02-29"), None);
    assert_eq!(parse_date(b"1998/05/03"), None);
    assert_eq!(
        parse_directive_date(b" 2014-11-18 00:00:00.128"),
        parse_date(b"2014-11-18")
    );
}

#[test]
fn tokenizer_runs_and_quotes() {
    let line = b"a  b\t\"c d\" \"x \"\"y\"\" z\" -";
    let mut t = Vec::new();
    assert!(tokenize(line, &mut t));
    let mut s = Vec::new();
    let vals: Vec<Option<String>> = t
        .iter()
        .map(|&k| value(line, k, &mut s).map(|v| String::from_utf8_lossy(v).into_owned()))
        .collect();
    assert_eq!(
        vals,
        vec![
            Some("a".into()),
            Some("b".into()),
            Some("c d".into()),
            Some("x \"y\" z".into()),
            None
        ]
    );
}

/// The byte-at-a-time tokenizer [`tokenize`] replaced, kept as its reference.
fn tokenize_ref(line: &[u8], toks: &mut Vec<Tok>) -> bool {
    toks.clear();
    let n = line.len();
    let mut i = 0;
    loop {
        while i < n && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        if i >= n {
            return true;
        }
        if toks.len() >= MAX_TOKENS {
            return false;
        }
        if line[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            let mut end = n;
            while let Some(k) = memchr::memchr(b'"', &line[j..]) {
                let q = j + k;
                if line.get(q + 1) == Some(&b'"') {
                    escaped = true;
                    j = q + 2;
                } else {
                    end = q;
                    break;
                }
            }
            toks.push(Tok {
                start: start as u32,
                end: end as u32,
                escaped,
            });
            i = end + 1;
            while i < n && line[i] != b' ' && line[i] != b'\t' {
                i += 1;
            }
        } else {
            let start = i;
            let end = match memchr::memchr2(b' ', b'\t', &line[i..]) {
                Some(k) => i + k,
                None => n,
            };
            toks.push(Tok {
                start: start as u32,
                end: end as u32,
                escaped: false,
            });
            i = end;
        }
    }
}

fn same_tokens(line: &[u8]) -> Result<(), String> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (ra, rb) = (tokenize(line, &mut a), tokenize_ref(line, &mut b));
    if let Some(ascii) = tokenize_ascii(line, &mut Vec::new())
        && ascii != line.is_ascii()
    {
        return Err(format!("{line:?}: ascii {ascii}"));
    }
    // The W3C parser slices checked text at token bounds without re-checking them.
    if let (true, Ok(text)) = (ra, std::str::from_utf8(line)) {
        for t in &a {
            let (s, e) = (t.start as usize, t.end as usize);
            if s > e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                return Err(format!("{text:?}: token {s}..{e} not on char boundaries"));
            }
        }
    }
    let key = |t: &Vec<Tok>| {
        t.iter()
            .map(|t| (t.start, t.end, t.escaped))
            .collect::<Vec<_>>()
    };
    if ra != rb || (ra && key(&a) != key(&b)) {
        return Err(format!(
            "{:?}: {ra} {:?} vs {rb} {:?}",
            String::from_utf8_lossy(line),
            key(&a),
            key(&b)
        ));
    }
    Ok(())
}

#[test]
fn tokenizer_matches_reference() {
    use proptest::prelude::*;
    let cases = [
        &b""[..],
        b" ",
        b"\"",
        b"\"\"",
        b"a\"b c\"d",
        b"\"a\"b c",
        b"\"a\"\" b\" c",
        b" \t\"x",
        b"a \"",
        b"\"a b",
        b"a\"",
        b"\"\"\"",
        b"x \"\"\"\" y",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u{e9}\" b".as_bytes(),
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b\u{e9}".as_bytes(),
        &[b'a'; 40],
    ];
    for c in cases {
        same_tokens(c).unwrap();
    }
    let many = [b'a', b' '].repeat(MAX_TOKENS + 3);
    same_tokens(&many).unwrap();
    same_tokens(&many[..2 * MAX_TOKENS]).unwrap();
    let quoted_many = b"\"q\" ".repeat(MAX_TOKENS + 1);
    same_tokens(&quoted_many).unwrap();
    proptest!(ProptestConfig::with_cases(4000), |(v in proptest::collection::vec(
        prop_oneof![Just(b'a'), Just(b'"'), Just(b' '), Just(b'\t'), Just(b'-'), Just(0xC3), Just(0xA9)], 0..60))| {
        prop_assert!(same_tokens(&v).is_ok(), "{}", same_tokens(&v).unwrap_err());
    });
    // Quote-free lines across several 64-byte blocks (the mask path), including lengths
    // at and around multiples of 64 and runs of separators across block edges.
    for len in [63, 64, 65, 127, 128, 129, 192] {
        same_tokens(&vec![b'a'; len]).unwrap();
        let mut v = vec![b'a'; len];
        v[len - 1] = b' ';
        same_tokens(&v).unwrap();
        v[0] = b'\t';
        same_tokens(&v).unwrap();
    }
    proptest!(ProptestConfig::with_cases(1000), |(v in proptest::collection::vec(
        prop_oneof![4 => Just(b'a'), 2 => Just(b' '), 1 => Just(b'\t'), 1 => Just(b'-'), 1 => Just(0xC3), 1 => Just(0xA9)], 0..300))| {
        prop_assert!(same_tokens(&v).is_ok(), "{}", same_tokens(&v).unwrap_err());
    });
}

/// What [`fast_line`] makes of every line of `bytes` with masker `m`.
fn all_fast_lines<M: Masker>(m: M, bytes: &[u8]) -> Vec<Option<(FastLine, Vec<u32>)>> {
    let mut e = vec![0u32; EDGES_ROOM];
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let r = fast_line(m, bytes, pos, bytes.len(), &mut e);
        out.push(r.map(|f| (f, e[..f.edges].to_vec())));
        pos = match r {
            Some(f) => f.next,
            None => memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1),
        };
    }
    out
}

/// Every instruction set the CPU has finds the same lines and tokens as plain SSE2 (tests
/// otherwise run only the widest one).
#[test]
fn every_masker_tokenizes_alike() {
    use proptest::prelude::*;
    let check = |bytes: &[u8]| -> Result<(), String> {
        let want = all_fast_lines(Sse2, bytes);
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx2() && all_fast_lines(Avx2(()), bytes) != want {
                return Err(format!(
                    "avx2 differs on {:?}",
                    String::from_utf8_lossy(bytes)
                ));
            }
            if has_avx512() && all_fast_lines(Avx512(()), bytes) != want {
                return Err(format!(
                    "avx512 differs on {:?}",
                    String::from_utf8_lossy(bytes)
                ));
            }
        }
        Ok(())
    };
    // Long lines of short tokens: more than 16 and 48 edges in a block.
    check(&b"a ".repeat(200)).unwrap();
    check(&b"a b\tc  d\r\n".repeat(30)).unwrap();
    proptest!(ProptestConfig::with_cases(500), |(v in proptest::collection::vec(
        prop_oneof![12 => Just(b'a'), 6 => Just(b' '), 2 => Just(b'\t'), 2 => Just(b'\n'),
            1 => Just(b'\r'), 1 => Just(b'"'), 1 => Just(0u8), 1 => Just(b'#'),
            1 => Just(0xC3), 1 => Just(0xA9)], 0..700))| {
        prop_assert!(check(&v).is_ok(), "{}", check(&v).unwrap_err());
    });
}

/// A batch of `rows` lines (`(offset, start, length)` of the field, offsets wrapped into a
/// file of `file_len` bytes) whose field `k % half` of `half` is set: its edges, stride,
/// edge index and offsets.
fn batch_of(
    file_len: usize,
    half: usize,
    k: usize,
    rows: &[(usize, u32, u32)],
) -> (Vec<u32>, usize, usize, Vec<usize>) {
    let (stride, k2) = (2 * half, 2 * (k % half));
    let mut edges = vec![0u32; rows.len() * stride];
    let mut offs = Vec::new();
    for (r, &(off, s, len)) in rows.iter().enumerate() {
        edges[r * stride + k2] = s;
        edges[r * stride + k2 + 1] = s + len;
        offs.push(off % file_len);
    }
    (edges, stride, k2, offs)
}

/// The AVX-512 field spans are the scalar ones, including one-byte values at the very start
/// and end of the file (where the byte gather may not read) and partial groups of 8.
#[test]
fn every_masker_packs_field_spans_alike() {
    use proptest::prelude::*;
    let check = |file: &[u8], edges: &[u32], stride: usize, k2: usize, offs: &[usize]| {
        let mut want = vec![7u64; offs.len()];
        field_spans_scalar(file, (edges, stride, k2), offs, &mut want);
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            let mut got = vec![7u64; offs.len()];
            Avx512(()).field_spans(file, (edges, stride, k2), offs, &mut got);
            if got != want {
                return Err(format!("{got:x?} != {want:x?}"));
            }
        }
        Ok(want)
    };
    // A one-byte `-` is null; one at the file's first and last byte too.
    let file = b"- x - ab -";
    let edges = [0u32, 1, 2, 3, 4, 5, 6, 8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
    let got = check(file, &edges, 2, 0, &[0, 0, 0, 0, 0, 0, 0, 0, 9]).unwrap();
    assert_eq!(got[0], packed::NULL);
    assert_eq!(got[1], packed::source(2, 1, false));
    assert_eq!(got[8], packed::NULL);
    // Past what a span addresses (a 64 GiB file): the empty string, never a wrong slice.
    let last = packed::MAX_START as usize;
    let got = check(file, &[0, 2].repeat(9), 2, 0, &[last + 1; 9]).unwrap();
    assert_eq!(got, [packed::EMPTY; 9]);
    let got = check(file, &[0, 2].repeat(9), 2, 0, &[last; 9]).unwrap();
    assert_eq!(got, [packed::source(last, 2, false); 9]);
    assert_ne!(got[0], packed::EMPTY);
    proptest!(ProptestConfig::with_cases(300), |(
        file in proptest::collection::vec(prop_oneof![Just(b'-'), Just(b'a')], 1..300),
        half in 1usize..20,
        k in 0usize..20,
        rows in proptest::collection::vec((0usize..300, 0u32..8, 0u32..3), 0..40),
    )| {
        let (edges, stride, k2, offs) = batch_of(file.len(), half, k, &rows);
        let res = check(&file, &edges, stride, k2, &offs);
        prop_assert!(res.is_ok(), "{}", res.unwrap_err());
    });
}

/// The AVX-512 numbers are the scalar ones: 1 to 8 digits in lanes, longer values, values
/// in the file's last 8 bytes, nulls and junk a line at a time.
#[test]
fn every_masker_reads_field_numbers_alike() {
    use proptest::prelude::*;
    let check = |file: &[u8], edges: &[u32], stride: usize, k2: usize, offs: &[usize]| {
        let n = offs.len();
        let (mut want, mut want_ok) = (vec![7u64; n], vec![true; n]);
        field_numbers_scalar(file, (edges, stride, k2), offs, (&mut want, &mut want_ok));
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            let (mut got, mut got_ok) = (vec![7u64; n], vec![true; n]);
            Avx512(()).field_numbers(file, (edges, stride, k2), offs, (&mut got, &mut got_ok));
            // (The value of a non-number is unspecified.)
            let pick = |v: &[u64], ok: &[bool]| {
                v.iter()
                    .zip(ok)
                    .map(|(&v, &k)| k.then_some(v))
                    .collect::<Vec<_>>()
            };
            if pick(&got, &got_ok) != pick(&want, &want_ok) {
                return Err(format!("{got_ok:?} {got:?} != {want_ok:?} {want:?}"));
            }
        }
        Ok(want
            .iter()
            .zip(&want_ok)
            .map(|(&v, &k)| k.then_some(v))
            .collect::<Vec<_>>())
    };
    // Ten lines of one field each, laid out in one file: every length from 1 to 20 digits,
    // a null, junk, and a number in the file's last bytes.
    let fields = [
        "0",
        "7",
        "443",
        "200",
        "12345678",
        "123456789",
        "18446744073709551615",
        "18446744073709551616",
        "-",
        "4x",
        "00042",
        "99",
    ];
    let file = fields.join(" ");
    let (mut edges, mut offs, mut at) = (Vec::new(), Vec::new(), 0);
    for f in fields {
        offs.push(at);
        edges.extend([0, f.len() as u32]);
        at += f.len() + 1;
    }
    let got = check(file.as_bytes(), &edges, 2, 0, &offs).unwrap();
    assert_eq!(
        got,
        [
            Some(0),
            Some(7),
            Some(443),
            Some(200),
            Some(12345678),
            Some(123456789),
            Some(u64::MAX),
            None,
            None,
            None,
            Some(42),
            Some(99)
        ]
    );
    proptest!(ProptestConfig::with_cases(300), |(
        file in proptest::collection::vec(prop_oneof![
            8 => b'0'..=b'9', 1 => Just(b'-'), 1 => Just(b' '), 1 => Just(b'/'),
            1 => Just(b':')], 1..300),
        half in 1usize..20,
        k in 0usize..20,
        rows in proptest::collection::vec((0usize..300, 0u32..8, 1u32..12), 0..40),
    )| {
        let (edges, stride, k2, offs) = batch_of(file.len(), half, k, &rows);
        let res = check(&file, &edges, stride, k2, &offs);
        prop_assert!(res.is_ok(), "{}", res.unwrap_err());
    });
}

#[test]
fn chunks_end_at_newlines() {
    let b = b"aa\nbbbb\ncc\nd";
    let c = split_chunks(b, 3);
    assert_eq!(c, vec![(0, 3), (3, 8), (8, 11), (11, 12)]);
    assert_eq!(split_chunks(b"", 3), vec![]);
}

#[test]
fn backward_directive_search() {
    let b = b"#Fields: a\nx #Fields: no\n\0\0#Fields: b c\r\nrow\n";
    let d = Directives::scan(b);
    assert_eq!(d.fields_before(b, b.len()), Some((27, &b" b c"[..])));
    assert_eq!(d.fields_before(b, 27), Some((0, &b" a"[..])));
    assert_eq!(d.fields_before(b, 0), None);
}
