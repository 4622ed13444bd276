use super::*;

#[test]
fn str_col_roundtrip_and_append() {
    let mut a = StrCol::default();
    a.push(Some("/a"));
    a.push(None);
    a.push_bytes(b"caf\xe9");
    let mut b = StrCol::default();
    b.push_bytes(b"Mozilla/5.0 (Windows)");
    b.push(Some("caf\u{e9} au lait"));
    a.append(&b);
    assert_eq!(
        a.iter().collect::<Vec<_>>(),
        vec![
            Some("/a"),
            None,
            Some("café"),
            Some("Mozilla/5.0 (Windows)"),
            Some("caf\u{e9} au lait")
        ]
    );
}

#[test]
fn u64_col_stays_narrow_until_a_value_needs_more() {
    let big = u64::from(u32::MAX) + 1;
    let narrow = |c: &U64Col| matches!(c.values(), U64Values::Narrow(_));
    // A batch with nulls and a value past 32 bits in the middle: pushed again, widened.
    let batch = [Some(1), None, Some(big), Some(7), None];
    let mut c = U64Col::new();
    c.push_all([None, Some(5)].into_iter());
    c.push_all([Some(u64::from(u32::MAX)), None].into_iter());
    assert!(narrow(&c));
    c.push_all(batch.into_iter());
    assert!(!narrow(&c));
    let want: Vec<Option<u64>> = [None, Some(5), Some(u64::from(u32::MAX)), None]
        .into_iter()
        .chain(batch)
        .collect();
    assert_eq!(c, want);
    assert_eq!(c.null_count(), 4);
    assert!(c.is_null(5) && !c.is_null(6));
    // Row by row, and appended in every combination of widths, alike.
    let mut one = U64Col::new();
    for v in &want {
        one.push(*v);
    }
    assert_eq!(one, c);
    let (head, tail) = want.split_at(3);
    for (a, b) in [(head, tail), (tail, head)] {
        let mut x = U64Col::from(a.to_vec());
        x.append(&U64Col::from(b.to_vec()));
        assert_eq!(x.iter().collect::<Vec<_>>(), [a, b].concat());
    }
    let mut n = U64Col::from(vec![Some(1), None]);
    n.push_nulls(2);
    assert!(narrow(&n));
    assert!(n.heap_bytes() < c.heap_bytes());
}

#[test]
fn offset_col_stays_narrow_until_an_offset_needs_more() {
    let big = 5 << 30;
    let narrow = |c: &OffsetCol| matches!(c, OffsetCol::Narrow(_));
    let mut c = OffsetCol::default();
    c.push(7);
    c.push_all(&[10, 20, u32::MAX as usize]);
    assert!(narrow(&c));
    c.push_all(&[big, big + 9]);
    assert!(!narrow(&c));
    c.push(3);
    let want = [
        7,
        10,
        20,
        u64::from(u32::MAX),
        big as u64,
        big as u64 + 9,
        3,
    ];
    assert_eq!(c.iter().collect::<Vec<_>>(), want);
    assert_eq!(c.get(4), big as u64);
    let mut one = OffsetCol::default();
    one.push(big as u64);
    assert!(!narrow(&one));
    // Appended in every combination of widths, alike.
    for split in 0..=want.len() {
        let (a, b) = want.split_at(split);
        let col = |v: &[u64]| {
            let mut c = OffsetCol::default();
            v.iter().for_each(|&o| c.push(o));
            c
        };
        let mut x = col(a);
        x.append(&col(b));
        assert_eq!(x, c, "{split}");
    }
    assert!(OffsetCol::Narrow(vec![1]).heap_bytes() <= 4);
}

#[test]
fn num_col_truncate_keeps_the_first_rows() {
    let all = vec![None, Some(1u32), None, Some(3), Some(4), None];
    for len in 0..=all.len() {
        let mut c = NumCol::from(all.clone());
        c.truncate(len);
        assert_eq!(c, all[..len].to_vec(), "{len}");
        assert_eq!(c.has_nulls(), all[..len].contains(&None), "{len}");
        c.push(Some(9));
        assert_eq!(c.get(len), Some(9));
    }
}

#[test]
fn short_eq_compares_every_byte() {
    let base: Vec<u8> = (b'a'..=b'z').collect();
    for n in 0..=base.len() {
        let a = std::str::from_utf8(&base[..n]).unwrap();
        assert!(short_eq(a, a), "{n}");
        if n > 0 {
            assert!(!short_eq(a, &base_str(&base[..n - 1])), "{n}");
        }
        for k in 0..n {
            let mut other = base[..n].to_vec();
            other[k] = b'#';
            assert!(!short_eq(a, &base_str(&other)), "{n} {k}");
        }
    }
}

fn base_str(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn file_col_holds_runs_and_reads_like_a_vector() {
    let rows: Vec<FileId> = [vec![3; 5], vec![1; 2], vec![3; 4], vec![7]].concat();
    let mut a = FileCol::default();
    a.push_n(3, 5);
    a.push_n(9, 0);
    a.push(1);
    a.push(1);
    let mut b = FileCol::default();
    b.push_n(3, 4);
    b.push(7);
    a.append(&b);
    assert_eq!(a.len(), rows.len());
    assert_eq!(a.iter().collect::<Vec<_>>(), rows);
    for (i, &f) in rows.iter().enumerate() {
        assert_eq!(a[i], f, "row {i}");
        assert_eq!(a.get(i), Some(f), "row {i}");
    }
    assert_eq!(a.get(rows.len()), None);
    // One entry per run, and the same runs however the rows were pushed.
    assert_eq!(a.runs.len(), 4);
    assert_eq!(a, rows.iter().copied().collect::<FileCol>());
    let mut c = FileCol::default();
    c.push_n(3, 2);
    c.append(&rows[2..].iter().copied().collect());
    assert_eq!(c, a);
}

#[test]
#[should_panic(expected = "row 2 of 2")]
fn file_col_index_past_the_end_panics() {
    let mut a = FileCol::default();
    a.push_n(1, 2);
    let _ = a[2];
}

#[test]
fn str_col_takes_packed_spans_in_bulk() {
    let src = Source::copy_of(b"GET /a.aspx - x");
    let mut c = StrCol::default();
    c.extend_packed(3, |out| {
        out[0] = packed::NULL;
        out[1] = packed::source(4, 7, false);
        out[2] = packed::source(12, 1, true);
    });
    c.extend_packed(2, |out| {
        out[0] = packed::source(14, 1, false);
        out[1] = packed::EMPTY;
    });
    c.bind(&src);
    let want = [None, Some("/a.aspx"), None, Some("x"), Some("")];
    assert_eq!(c.iter().collect::<Vec<_>>(), want);
    // The leading null is only counted, as `push_null` would.
    assert_eq!(c.lead, 1);
    let mut d = StrCol::default();
    d.extend_packed(2, |_| {});
    assert_eq!((d.len(), d.lead, d.spans.len()), (2, 2, 0));
}

#[test]
fn str_col_leading_nulls_and_appends() {
    let col = |vals: &[Option<&str>]| {
        let mut c = StrCol::default();
        for v in vals {
            c.push(*v);
        }
        c
    };
    let parts: [&[Option<&str>]; 5] = [
        &[None, None],
        &[None, Some("a"), None],
        &[],
        &[Some(""), None, Some("bc")],
        &[None],
    ];
    let all: Vec<Option<&str>> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let mut a = StrCol::default();
    for p in parts {
        a.append(&col(p));
    }
    assert_eq!(a.iter().collect::<Vec<_>>(), all);
    assert_eq!(a, col(&all));
    assert_eq!(a.len(), all.len());
    assert_eq!(col(&[None, None]).heap_bytes(), 0);
    a.clear();
    assert!(a.is_empty());
    assert_eq!(a, StrCol::default());
}

#[test]
fn str_col_source_spans_stay_in_their_file_across_appends() {
    let one = Source::copy_of(b"GET /a.aspx x");
    let two = Source::copy_of(b"POST /b.asp");
    // File one: a source span, a null, an own copy; file two: an own copy then a span.
    let mut a = StrCol::default();
    a.push_source(4, "/a.aspx");
    a.push_null();
    a.push(Some("a b"));
    a.bind(&one);
    let mut b = StrCol::default();
    b.push(Some("own"));
    b.push_source(5, "/b.asp");
    b.bind(&two);
    let mut all = StrCol::default();
    all.push_null();
    all.append(&a);
    all.append(&b);
    all.append(&a);
    let want = [
        None,
        Some("/a.aspx"),
        None,
        Some("a b"),
        Some("own"),
        Some("/b.asp"),
        Some("/a.aspx"),
        None,
        Some("a b"),
    ];
    assert_eq!(all.iter().collect::<Vec<_>>(), want);
    // Text stays in the sources: only the copies are held.
    assert_eq!(all.data_len(), "a b".len() * 2 + "own".len());
    assert_eq!(all.sources().count(), 3);
    // Equality is by value, whatever the representation.
    let mut copied = StrCol::default();
    for v in want {
        copied.push(v);
    }
    assert_eq!(copied, all);
    assert_ne!(copied, a);
}

#[test]
fn span_limits_are_enforced_not_wrapped() {
    assert!(Span::pack(false, MAX_START as usize, MAX_VALUE_LEN).is_some());
    assert!(Span::pack(false, MAX_START as usize + 1, 1).is_none());
    assert!(Span::pack(true, 0, MAX_VALUE_LEN + 1).is_none());
    let s = Span::pack(true, 12345, 678).unwrap();
    assert!(s.is_own() && !s.is_null());
    assert_eq!(s.range(), 12345..13023);
    // A source span past what a span addresses is copied instead.
    let mut c = StrCol::default();
    c.push_source(MAX_START as usize + 1, "far");
    assert_eq!(c.get(0), Some("far"));
    assert_eq!(c.data_len(), 3);
}

#[test]
fn cat_col_runs_are_counted_and_canonical_across_appends() {
    let vals = [Some("WEB01"), Some("WEB02"), None];
    let col = |seq: &[Option<&str>]| {
        let mut c = CatCol::default();
        for v in seq {
            c.push(*v);
        }
        c
    };
    // Every sequence of up to 6 values, split at every pair of points: pushing and
    // appending give the same values and the same (canonical) representation.
    for n in 0..=6u32 {
        for k in 0..3usize.pow(n) {
            let seq: Vec<Option<&str>> = (0..n).map(|i| vals[k / 3usize.pow(i) % 3]).collect();
            let whole = col(&seq);
            assert_eq!(whole.iter().collect::<Vec<_>>(), seq);
            for a in 0..=seq.len() {
                for b in a..=seq.len() {
                    let mut c = col(&seq[..a]);
                    c.append(&col(&seq[a..b]));
                    c.append(&col(&seq[b..]));
                    assert_eq!(c.iter().collect::<Vec<_>>(), seq, "{seq:?} at {a},{b}");
                    assert_eq!(c.len(), seq.len());
                    // The dictionary order may differ with the split; codes must not.
                    let canon = |c: &CatCol| (c.lead, c.codes.is_empty(), c.codes.len());
                    assert_eq!(canon(&c), canon(&whole), "{seq:?} at {a},{b}");
                }
            }
        }
    }
    // A constant column holds no codes at all.
    let mut c = CatCol::default();
    c.reserve(1000);
    for _ in 0..1000 {
        c.push(Some("WEB01"));
    }
    assert_eq!(c.codes.len(), 0);
    assert_eq!(c.get(999), Some("WEB01"));
    c.push(Some("WEB02"));
    assert_eq!(c.codes.len(), 1);
    assert_eq!(c.get(1000), Some("WEB02"));
}

#[test]
fn cat_col_append_remaps_codes() {
    let mut a = CatCol::default();
    a.push(Some("GET"));
    a.push(Some("POST"));
    let mut b = CatCol::default();
    b.push(Some("POST"));
    b.push(None);
    b.push(Some("PUT"));
    a.append(&b);
    assert_eq!(
        a.iter().collect::<Vec<_>>(),
        vec![Some("GET"), Some("POST"), Some("POST"), None, Some("PUT")]
    );
    assert_eq!(a.categories(), &["GET", "POST", "PUT"]);
}

fn num(vals: &[Option<u64>]) -> NumCol<u64> {
    let mut c = NumCol::new();
    for &v in vals {
        c.push(v);
    }
    c
}

/// Checks every accessor against the expected values.
fn check<T: Copy + Default + PartialEq + std::fmt::Debug>(c: &NumCol<T>, exp: &[Option<T>]) {
    assert_eq!(c.len(), exp.len());
    assert_eq!(c.is_empty(), exp.is_empty());
    assert_eq!(c.iter().collect::<Vec<_>>(), exp);
    assert_eq!(c.iter().rev().collect::<Vec<_>>(), {
        let mut r = exp.to_vec();
        r.reverse();
        r
    });
    for (i, &e) in exp.iter().enumerate() {
        assert_eq!(c.get(i), e, "row {i}");
        assert_eq!(c.is_null(i), e.is_none(), "row {i}");
        match i.checked_sub(c.lead_nulls()) {
            Some(j) => assert_eq!(c.values()[j], e.unwrap_or_default(), "row {i}"),
            None => assert_eq!(e, None, "row {i} is a leading null"),
        }
    }
    let nulls = exp.iter().filter(|v| v.is_none()).count();
    // Also catches a stray bit past the end.
    assert_eq!(c.null_count(), nulls);
    assert!(
        c.nulls.len() <= c.values().len().div_ceil(64),
        "bitmap past the rows"
    );
    assert_eq!(c.has_nulls(), nulls > 0);
    match c.validity() {
        None => assert_eq!(nulls, 0),
        Some(v) => assert_eq!(
            v.collect::<Vec<_>>(),
            exp.iter().map(Option::is_some).collect::<Vec<_>>()
        ),
    }
    assert_eq!(*c, exp.to_vec());
    assert_eq!(*c, exp.iter().copied().collect::<NumCol<T>>());
}

#[test]
fn num_col_nulls_first() {
    let exp = [None, None, Some(7u16), None, Some(0), Some(u16::MAX)];
    let c: NumCol<u16> = exp.iter().copied().collect();
    check(&c, &exp);
    // The two leading nulls are only counted.
    assert_eq!(c.lead_nulls(), 2);
    assert_eq!(c.values(), &[7, 0, 0, u16::MAX]);
    assert_eq!(c.null_count(), 3);
    assert!(c.is_null(0) && c.is_null(1) && !c.is_null(2) && c.is_null(3));
}

#[test]
fn num_col_of_nulls_only_holds_no_memory() {
    // A field the layout lacks: every row null, in chunks appended together.
    let mut c = NumCol::<u64>::with_capacity(0);
    let mut chunk = NumCol::<u64>::with_capacity(0);
    for _ in 0..1000 {
        chunk.push(None);
    }
    chunk.prefault_next(1000);
    for _ in 0..5 {
        c.append(&chunk);
    }
    assert_eq!(c.len(), 5000);
    assert_eq!(c.heap_bytes(), 0);
    assert_eq!(c.null_count(), 5000);
    assert_eq!(c, num(&vec![None; 5000]));
    // A value after them, and leading nulls appended after values, are stored.
    c.push(Some(9));
    c.append(&chunk);
    assert_eq!(c.get(4999), None);
    assert_eq!(c.get(5000), Some(9));
    assert_eq!(c.get(5001), None);
    assert_eq!(c.len(), 6001);
    assert_eq!(c.null_count(), 6000);
    assert_eq!(c.values().len(), 1001);
}

#[test]
fn num_col_first_null_after_many_values() {
    // The bitmap starts at row 1000: it must cover every row before it, and rows after it
    // (past its last word, then inside it) stay values.
    let mut exp: Vec<Option<u64>> = (0..1000).map(Some).collect();
    exp.push(None);
    exp.extend((1001..1100).map(Some));
    exp.push(None);
    exp.extend((1101..1200).map(Some));
    let c = num(&exp);
    check(&c, &exp);
    assert_eq!(c.get(999), Some(999));
    assert_eq!(c.get(1000), None);
    assert_eq!(c.get(1001), Some(1001));
    assert_eq!(c.get(1100), None);
    assert_eq!(c.get(1199), Some(1199));
    assert_eq!(c.null_count(), 2);
    // Rows 1101..1200 were pushed after the last null: the bitmap reaches its word only.
    assert_eq!(c.nulls.len(), 1100 / 64 + 1);
}

#[test]
fn num_col_without_nulls_has_no_bitmap() {
    let mut c = NumCol::<u64>::with_capacity(100);
    for v in 0..100 {
        c.push(Some(v * 3));
    }
    check(&c, &(0..100).map(|v| Some(v * 3)).collect::<Vec<_>>());
    assert!(c.validity().is_none());
    assert_eq!(c.capacity(), 100);
    assert_eq!(c.heap_bytes(), 100 * 8);
    let c16: NumCol<u16> = vec![Some(1u16), Some(2)].into();
    assert_eq!(c16.heap_bytes(), c16.capacity() * 2);
    // One null: the bitmap covers the reserved rows, a bit each.
    let mut c = NumCol::<u32>::with_capacity(640);
    c.push(Some(0));
    c.push(None);
    assert_eq!(c.heap_bytes(), 640 * 4 + 10 * 8);
    for v in 2..640 {
        c.push(Some(v));
    }
    assert_eq!(c.heap_bytes(), 640 * 4 + 10 * 8, "no regrowth");
}

#[test]
fn num_col_append_combinations() {
    // Lengths around word edges; patterns with no bitmap, and bitmaps of every extent.
    let patterns: Vec<Vec<Option<u64>>> = [0usize, 1, 5, 63, 64, 65, 127, 130, 200]
        .iter()
        .flat_map(|&n| {
            let base = move |i: usize| 1000 * n as u64 + i as u64 + 1;
            [
                (0..n).map(|i| Some(base(i))).collect::<Vec<_>>(),
                (0..n).map(|_| None).collect(),
                (0..n).map(|i| (i != 0).then(|| base(i))).collect(),
                (0..n).map(|i| (i + 1 != n).then(|| base(i))).collect(),
                (0..n).map(|i| (i % 3 != 1).then(|| base(i))).collect(),
                (0..n).map(|i| (i % 70 == 69).then(|| base(i))).collect(),
            ]
        })
        .collect();
    for a in &patterns {
        for b in &patterns {
            let mut c = num(a);
            c.append(&num(b));
            let exp: Vec<Option<u64>> = a.iter().chain(b).copied().collect();
            check(&c, &exp);
            // And a third, onto the merged bitmap.
            let tail = [None, Some(5), None];
            c.append(&num(&tail));
            let exp: Vec<Option<u64>> = exp.iter().chain(&tail).copied().collect();
            check(&c, &exp);
        }
    }
    // Appending to an empty column, and appending an empty one.
    let x = num(&[Some(1), None]);
    let mut e = NumCol::new();
    e.append(&x);
    assert_eq!(e, x);
    e.append(&NumCol::new());
    check(&e, &[Some(1), None]);
}

#[test]
fn num_col_equality_is_by_value() {
    // Same values, different representations: a bitmap word with no null in it, other
    // contents in a null slot.
    let plain = num(&[Some(1), Some(2), None]);
    let odd = NumCol {
        lead: 0,
        vals: vec![1u64, 2, 99],
        nulls: vec![0b100, 0],
    };
    assert_eq!(plain, odd);
    assert_eq!(
        num(&[Some(1), Some(2)]),
        NumCol {
            lead: 0,
            vals: vec![1u64, 2],
            nulls: vec![0],
        }
    );
    // A null is not its default value.
    assert_ne!(num(&[None]), num(&[Some(0)]));
    assert_ne!(num(&[Some(0)]), num(&[None]));
    assert_ne!(num(&[Some(1)]), num(&[Some(1), Some(1)]));
    assert_ne!(num(&[None]), num(&[None, None]));
    assert_ne!(num(&[Some(1), None]), num(&[Some(2), None]));
    assert_eq!(NumCol::<u32>::new(), NumCol::default());
    assert_eq!(num(&[None, Some(3)]).clone(), num(&[None, Some(3)]));
    assert_eq!(format!("{:?}", num(&[Some(3), None])), "[Some(3), None]");
}

#[test]
fn num_col_clear_and_reuse() {
    let mut c = num(&(0..300)
        .map(|i| (i % 5 != 0).then_some(i))
        .collect::<Vec<_>>());
    let bytes = c.heap_bytes();
    c.clear();
    assert!(c.is_empty());
    assert!(!c.has_nulls());
    assert_eq!(c, NumCol::new());
    assert_eq!(c.heap_bytes(), bytes, "buffers are kept");
    // Reused without nulls: no stale bit shows.
    for i in 0..200 {
        c.push(Some(i + 7));
    }
    check(&c, &(0..200).map(|i| Some(i + 7)).collect::<Vec<_>>());
    c.push(None);
    assert_eq!(c.get(200), None);
    assert_eq!(c.null_count(), 1);
    c.clear();
    c.push(Some(4));
    c.push(None);
    check(&c, &[Some(4), None]);
    c.reserve(1000);
    assert!(c.capacity() >= 1002);
    c.shrink_to_fit();
    check(&c, &[Some(4), None]);
}

#[test]
#[should_panic(expected = "out of bounds")]
fn num_col_get_out_of_range_panics() {
    num(&[Some(1), None]).get(2);
}

#[test]
#[should_panic(expected = "out of bounds")]
fn num_col_is_null_out_of_range_panics() {
    num(&[Some(1), None]).is_null(2);
}

#[test]
fn cat_col_rename_merges_categories_and_stays_canonical() {
    let vals = [
        Some("web01.contoso.local"),
        Some("outage-2024"),
        None,
        Some("WEB02"),
    ];
    let to = |v: &str| match v {
        "web01.contoso.local" | "outage-2024" => Some("WEB01".to_string()),
        _ => None,
    };
    // Every sequence of up to 5 values: renaming equals pushing the renamed values.
    for n in 0..=5u32 {
        for k in 0..4usize.pow(n) {
            let seq: Vec<Option<&str>> = (0..n).map(|i| vals[k / 4usize.pow(i) % 4]).collect();
            let mut c = CatCol::default();
            seq.iter().for_each(|v| c.push(*v));
            c.rename(to);
            let renamed: Vec<Option<String>> = seq
                .iter()
                .map(|v| v.map(|s| to(s).unwrap_or(s.to_string())))
                .collect();
            let mut want = CatCol::default();
            renamed.iter().for_each(|v| want.push(v.as_deref()));
            let got: Vec<Option<String>> = c.iter().map(|v| v.map(str::to_string)).collect();
            assert_eq!(got, renamed, "{seq:?}");
            assert_eq!(
                (c.lead, c.codes.len()),
                (want.lead, want.codes.len()),
                "{seq:?}"
            );
            let mut cats = c.categories().to_vec();
            cats.dedup();
            assert_eq!(
                cats.len(),
                c.categories().len(),
                "one code per name: {seq:?}"
            );
        }
    }
}
