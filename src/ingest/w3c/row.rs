//! The row path: any line the batch path does not take (quotes, odd layouts, bad values),
//! checked against the layout, parsed field by field into the columns, or rejected with an issue.

use super::*;

impl ChunkParser<'_> {
    /// Whether `toks` look like a line of `l` (date/time shape, IPs, a 3-digit status).
    pub(super) fn plausible<T: Tokens + ?Sized>(line: &[u8], toks: &T, l: &Layout) -> bool {
        for (k, f) in l.fields.iter().enumerate() {
            let Some(t) = toks.tok(k) else {
                break;
            };
            let v = raw(line, t);
            let ok = match f {
                F::Date => wf::parse_date(v).is_some(),
                F::Time => wf::parse_time(v).is_some(),
                F::SIp | F::CIp => {
                    let v = wf::unmarkdown(v);
                    v == b"-"
                        || (v.iter().any(|c| *c == b'.' || *c == b':')
                            && v.iter()
                                .all(|c| c.is_ascii_hexdigit() || b".:%[]".contains(c))
                            || v.iter()
                                .all(|c| c.is_ascii_alphanumeric() || b".:%-_".contains(c))
                                && v.contains(&b'.'))
                }
                F::Status => v.len() == 3 && v.iter().all(u8::is_ascii_digit),
                F::SPort | F::Sub | F::Win32 | F::Taken | F::ScBytes | F::CsBytes => {
                    v == b"-" || v.iter().all(u8::is_ascii_digit)
                }
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Picks the layout for a line of `n` values: the `#Fields` in force, that layout plus one
    /// trailing positional value, or a validated fallback. Returns (fallback index or None for
    /// the header layout, has a trailing value).
    pub(super) fn choose<T: Tokens + ?Sized>(
        &self,
        line: &[u8],
        toks: &T,
    ) -> Option<(Option<usize>, bool)> {
        let n = toks.count();
        if let Some(l) = &self.layout {
            // An inferred layout is a guess from a sample: each line is checked against it.
            if l.fields.len() == n && (!l.inferred || Self::plausible(line, toks, l)) {
                return Some((None, false));
            }
            if l.fields.len() + 1 == n && Self::plausible(line, toks, l) {
                return Some((None, true));
            }
        }
        for tail in [false, true] {
            for (i, (_, l)) in self.fallbacks.iter().enumerate() {
                if l.fields.len() + tail as usize == n && Self::plausible(line, toks, l) {
                    return Some((Some(i), tail));
                }
            }
        }
        None
    }

    pub(super) fn record(
        &mut self,
        line: &[u8],
        off: u64,
        line_no: u64,
        unterminated: bool,
    ) -> bool {
        if line.len() > MAX_VALUE_LEN {
            let msg = format!(
                "line of {} bytes: longer than any IIS writes ({MAX_VALUE_LEN} at most are read)",
                line.len()
            );
            self.issue(Severity::Error, "line_too_long", line_no, off, msg, false);
            return false;
        }
        // Tokenized in place in the file (its last block reads on past the line end): `off` is
        // where `line` starts in it.
        debug_assert_eq!(
            self.file.get(off as usize..).map(<[u8]>::as_ptr),
            Some(line.as_ptr())
        );
        let Some(ascii) = tokenize_ascii_in(self.file, off as usize, line.len(), &mut self.toks)
        else {
            let msg = format!("more than {} values on one line", wf::MAX_TOKENS);
            self.issue(Severity::Error, "field_count", line_no, off, msg, false);
            return false;
        };
        let toks = std::mem::take(&mut self.toks);
        let ok = self.record_tokens(&toks[..], line, off, line_no, unterminated, ascii);
        self.toks = toks;
        ok
    }

    /// [`ChunkParser::record`] of a line already tokenized (`toks`). (Not inlined into the SIMD
    /// variants of the line loop: one copy of it serves them all.)
    #[inline(never)]
    pub(super) fn record_tokens<T: Tokens + ?Sized>(
        &mut self,
        toks: &T,
        line: &[u8],
        off: u64,
        line_no: u64,
        unterminated: bool,
        ascii: bool,
    ) -> bool {
        let Some((fb, tail)) = self.pick_layout(toks, line, off, line_no, unterminated) else {
            return false;
        };
        let ok = self.record_as(toks, line, (off, line_no), (fb, tail), ascii);
        // A layout inferred for this line alone serves this line only: what later lines are
        // read by must not depend on where a chunk started.
        if fb.is_some_and(|i| self.fallbacks[i].0 == infer::INFERRED) {
            self.fallbacks.pop();
        }
        ok
    }

    /// Stores a line by the layout picked for it.
    fn record_as<T: Tokens + ?Sized>(
        &mut self,
        toks: &T,
        line: &[u8],
        (off, line_no): (u64, u64),
        (fb, tail): (Option<usize>, bool),
        ascii: bool,
    ) -> bool {
        let Some(layout) = layout_of(&self.fallbacks, &self.layout, fb) else {
            return false;
        };
        let tok = |f: F| toks.tok(layout.pos[f.ix()] as usize);
        let (date, time, has_date) = (tok(F::Date), tok(F::Time), layout.has_date);
        // Timestamp first: a line without one is rejected before anything is pushed.
        let Some(ts) = self.timestamp(line, date, time, has_date, line_no, off) else {
            return false;
        };
        let Some(layout) = layout_of(&self.fallbacks, &self.layout, fb) else {
            return false;
        };
        let v = LineView::new(toks, line, &layout.pos, self.file, off as usize, ascii);
        let r = &mut self.out.requests;
        let sc = &mut self.scratch;
        r.ts.push(ts);
        let (server, site) = (self.ctx.server.as_deref(), self.ctx.site.as_deref());
        let [server_code, site_code] = &mut self.ctx_codes;
        cat_or_ctx(
            &mut r.server,
            &v,
            F::Server,
            &mut self.out.server,
            server,
            server_code,
            sc,
        );
        cat_or_ctx(
            &mut r.site,
            &v,
            F::Site,
            &mut self.out.site,
            site,
            site_code,
            sc,
        );
        push_texts(r, &v, sc);
        let bad = push_numbers(r, &v, sc);
        r.file.push(self.ctx.id);
        r.offset.push(off);
        for f in bad.iter().flatten() {
            if let Some(t) = v.tok(*f) {
                let issue = bad_number(self.ctx.id, *f, raw(line, t), line_no, off);
                self.out.issues.push(issue);
            }
        }
        if tail || layout.any_extra {
            push_extra(&mut r.extra, &mut self.extra, layout, &v, tail, sc);
        } else {
            r.extra.push_null();
        }
        true
    }

    /// [`ChunkParser::choose`] with its issues: the line's layout, or an issue and `None`.
    fn pick_layout<T: Tokens + ?Sized>(
        &mut self,
        toks: &T,
        line: &[u8],
        off: u64,
        line_no: u64,
        unterminated: bool,
    ) -> Option<(Option<usize>, bool)> {
        let n = toks.count();
        if self.layout.is_none() {
            self.block_layout(n, off, line_no);
        }
        let Some((fb, tail)) = self
            .choose(line, toks)
            .or_else(|| self.inferred(line, toks))
        else {
            self.no_layout(n, off, line_no, unterminated);
            return None;
        };
        if fb.is_none() && tail {
            let msg = format!(
                "lines with one value more than #Fields names: the last value read as {TAIL_NAME}"
            );
            self.issue(
                Severity::Warning,
                "layout_mismatch",
                line_no,
                off,
                msg,
                true,
            );
        }
        if let Some(i) = fb.filter(|&i| self.fallbacks[i].0 == infer::INFERRED) {
            let msg = format!(
                "lines of {n} values that no #Fields line and no known IIS layout explain: read as the layout their values' shapes fit, {}",
                self.fallbacks[i].1.desc
            );
            // Once per block and layout: two blocks of different layouts are each said.
            let key = self.seg ^ fnv1a(self.fallbacks[i].1.desc.as_bytes());
            let row = IssueRow::new(self.ctx.id, Severity::Warning, "inferred_layout", msg);
            self.out.issues.push(Issue {
                row: row.at(Some(line_no), Some(off)),
                once_per: Some(key),
                nul_end: None,
            });
        } else if let Some(i) = fb {
            let name = self.fallbacks[i].0;
            let tail_note = if tail {
                " plus a trailing X-Forwarded-For value"
            } else {
                ""
            };
            let (code, msg) = match self.layout.as_ref().filter(|l| !l.inferred) {
                None => (
                    "no_header",
                    format!(
                        "no #Fields header: lines read as the {name} layout{tail_note} ({n} values)"
                    ),
                ),
                Some(l) => (
                    "layout_mismatch",
                    format!(
                        "lines with {n} values under a #Fields of {} names: read as the {name} layout{tail_note}",
                        l.fields.len()
                    ),
                ),
            };
            self.issue(Severity::Warning, code, line_no, off, msg, true);
        }
        Some((fb, tail))
    }

    /// A header-less block (no `#Fields` in force): its layout inferred from its first lines
    /// together (see `infer::infer_block`) and put in force as if a `#Fields` line had named it,
    /// so that its lines take the batch path. Said once per block and layout.
    fn block_layout(&mut self, n: usize, off: u64, line_no: u64) {
        // Each try reads ahead up to a few thousand lines: on junk whose lines keep changing
        // their count, a chunk stops trying after a few.
        const MAX_TRIES: usize = 16;
        if self.no_block.contains(&n) || self.no_block.len() >= MAX_TRIES {
            return;
        }
        let Some(l) = infer::infer_block(self.file, off as usize, n) else {
            self.no_block.push(n);
            return;
        };
        // A known layout (with a trailing X-Forwarded-For value, perhaps) is named as such.
        let tail = format!(" {TAIL_NAME}");
        let known = FALLBACKS.iter().find_map(|&(name, f)| {
            let rest = l.desc.strip_prefix(f)?;
            (rest.is_empty() || rest == tail).then_some((name, !rest.is_empty()))
        });
        let (code, msg, key) = match known {
            Some((name, xff)) => (
                "no_header",
                format!(
                    "no #Fields header: lines read as the {name} layout{} ({n} values)",
                    if xff {
                        " plus a trailing X-Forwarded-For value"
                    } else {
                        ""
                    }
                ),
                self.seg,
            ),
            None => (
                "inferred_layout",
                format!(
                    "no #Fields header: lines of {n} values read as the layout their values' shapes fit, {}",
                    l.desc
                ),
                self.seg ^ fnv1a(l.desc.as_bytes()),
            ),
        };
        let row = IssueRow::new(self.ctx.id, Severity::Warning, code, msg);
        self.out.issues.push(Issue {
            row: row.at(Some(line_no), Some(off)),
            once_per: Some(key),
            nul_end: None,
        });
        self.layout = Some(l);
    }

    /// A layout inferred from the shapes of this line's values alone (see `infer`): a line no
    /// layout in force or known explains, in a block that has one. Put among the fallbacks
    /// for this line only (`record_tokens` takes it out again).
    fn inferred<T: Tokens + ?Sized>(
        &mut self,
        line: &[u8],
        toks: &T,
    ) -> Option<(Option<usize>, bool)> {
        let l = infer::infer(line, toks)?;
        self.fallbacks.push((infer::INFERRED, l));
        Some((Some(self.fallbacks.len() - 1), false))
    }

    /// The issue for a line of `n` values no layout fits: cut short, or the wrong count.
    fn no_layout(&mut self, n: usize, off: u64, line_no: u64, unterminated: bool) {
        let header = self.layout.as_ref().filter(|l| !l.inferred);
        let expected = self.layout.as_ref().map(|l| l.fields.len());
        if unterminated && expected.is_none_or(|e| n < e) {
            let msg = format!(
                "last line cut short: {n} values{}, no final newline (the writer stopped mid-line)",
                expected.map(|e| format!(" of {e}")).unwrap_or_default()
            );
            self.issue(Severity::Error, "truncated_line", line_no, off, msg, false);
            return;
        }
        let msg = match header {
            Some(l) => format!(
                "{n} values, but #Fields names {} and no known IIS layout has {n} values",
                l.fields.len()
            ),
            None => format!("{n} values, no #Fields header and no known IIS layout has {n} values"),
        };
        self.issue(Severity::Error, "field_count", line_no, off, msg, false);
    }

    /// The line's time (ms since the epoch, UTC as logged), or an issue and `None`. Date-less
    /// layouts take the `#Date` day and count a rollover when the time goes back by half a day.
    fn timestamp(
        &mut self,
        line: &[u8],
        date: Option<Tok>,
        time: Option<Tok>,
        has_date: bool,
        line_no: u64,
        off: u64,
    ) -> Option<i64> {
        let t = time.and_then(|t| self.times.get(raw(line, t)));
        let day = if has_date {
            date.map(|t| raw(line, t)).and_then(|d| self.dates.get(d))
        } else {
            self.directive_day
        };
        let (Some(day), Some(t)) = (day, t) else {
            let shown =
                |t: Option<Tok>| t.map(|t| String::from_utf8_lossy(raw(line, t)).into_owned());
            let (d, t) = (shown(date), shown(time));
            let (d, t) = (wf::shown(d.as_deref()), wf::shown(t.as_deref()));
            let msg = match has_date {
                false => format!("no date field and no usable #Date directive (time {t})"),
                true => format!("unreadable date/time {d} {t}"),
            };
            let row = IssueRow::new(self.ctx.id, Severity::Error, "bad_timestamp", msg)
                .at(Some(line_no), Some(off));
            self.out.issues.push(Issue {
                row,
                once_per: None,
                nul_end: None,
            });
            return None;
        };
        if has_date {
            return Some(wf::to_millis(day, t));
        }
        if let Some(prev) = self.roll_prev
            && t + ROLLOVER_BACKSTEP_MS < prev
        {
            self.roll_days += 1;
        }
        self.roll_prev = Some(t);
        Some(wf::to_millis(day + self.roll_days, t))
    }
}

/// FNV-1a of `b` (a stable key for a layout's description).
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ c as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The header layout (`fb` None) or fallback `fb`.
fn layout_of<'a>(
    fallbacks: &'a [(&'static str, Layout)],
    header: &'a Option<Layout>,
    fb: Option<usize>,
) -> Option<&'a Layout> {
    match fb {
        Some(i) => fallbacks.get(i).map(|f| &f.1),
        None => header.as_ref(),
    }
}

/// One tokenized line under its layout, and the ways of reading a field's value.
struct LineView<'a, T: ?Sized> {
    toks: &'a T,
    line: &'a [u8],
    pos: &'a [u16; SLOTS],
    /// The line as checked text (one UTF-8 check per line instead of one per field: token
    /// bounds sit on ASCII separators, so slicing the checked line at them is always on char
    /// boundaries); `None` when it is not UTF-8.
    text: Option<&'a str>,
    /// The whole file, and where the line starts in it.
    file: &'a [u8],
    off: usize,
    /// The line is `file[off..]` (both paths hand out slices of the file), so a value is
    /// stored as its place there, not copied: checked once per line. (Were it not, values
    /// would be copied, not misplaced.)
    in_file: bool,
}

impl<'a, T: Tokens + ?Sized> LineView<'a, T> {
    fn new(
        toks: &'a T,
        line: &'a [u8],
        pos: &'a [u16; SLOTS],
        file: &'a [u8],
        off: usize,
        ascii: bool,
    ) -> Self {
        let in_file = file
            .get(off..off.saturating_add(line.len()))
            .is_some_and(|f| f.as_ptr() == line.as_ptr());
        let text = if ascii {
            // SAFETY: the tokenizer saw every byte of the line below 0x80 (`tokenize_ascii`
            // returns true only then; tested against `is_ascii`), and ASCII is valid UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(line) })
        } else {
            std::str::from_utf8(line).ok()
        };
        LineView {
            toks,
            line,
            pos,
            text,
            file,
            off,
            in_file,
        }
    }

    /// The token of a fixed field, through the layout's index (the line has a token for every
    /// field of the layout: `choose` checked the count).
    #[inline(always)]
    fn tok(&self, f: F) -> Option<Tok> {
        self.toks.tok(self.pos[f.ix()] as usize)
    }

    /// A token as checked text when the line is UTF-8 and the value needs no unescaping:
    /// `Some(None)` is the W3C null, `Some(Some((start, text)))` a value; `None` means take
    /// the byte path ([`LineView::value`]).
    #[inline(always)]
    fn fast(&self, t: Option<Tok>) -> Option<Option<(usize, &'a str)>> {
        match (t, self.text) {
            (None, _) => Some(None),
            (Some(t), Some(ls)) if !t.escaped => match token_str(ls, t) {
                Some(v) if is_null(v) => Some(None),
                Some(v) => Some(Some((t.start as usize, v))),
                None => None,
            },
            _ => None,
        }
    }

    /// A token's value as bytes, unescaped into `sc` when quoted.
    #[inline(always)]
    fn value<'s>(&self, t: Option<Tok>, sc: &'s mut Vec<u8>) -> Option<&'s [u8]>
    where
        'a: 's,
    {
        t.and_then(|t| wf::value(self.line, t, sc))
    }

    /// A value stored as its place in the file when it is there, else copied.
    #[inline(always)]
    fn push_in_place(&self, col: &mut StrCol, at: usize, v: &str) {
        if self.in_file {
            col.push_source(self.off + at, v)
        } else {
            col.push(Some(v))
        }
    }

    /// A number: digits read straight from the file when the token is plain.
    #[inline(always)]
    fn num(&self, f: F, sc: &mut Vec<u8>) -> Option<u64> {
        match self.tok(f) {
            Some(t) if !t.escaped => {
                let (s, e) = (t.start as usize, t.end as usize);
                if self.in_file {
                    wf::parse_u64_at(self.file, self.off + s, e.saturating_sub(s))
                } else {
                    self.line.get(s..e).and_then(wf::parse_u64)
                }
            }
            t => self.value(t, sc).and_then(wf::parse_u64),
        }
    }
}

/// Server and site: the line's value, else the file's (from its folder), whose code is looked
/// up once per chunk. The first value seen names the chunk's server or site.
#[inline(always)]
fn cat_or_ctx<T: Tokens + ?Sized>(
    col: &mut CatCol,
    v: &LineView<T>,
    f: F,
    first: &mut Option<String>,
    ctx: Option<&str>,
    code: &mut Option<u32>,
    sc: &mut Vec<u8>,
) {
    let t = v.tok(f);
    match v.fast(t) {
        Some(Some((_, s))) => {
            col.push(Some(s));
            if first.is_none() {
                *first = Some(s.to_owned());
            }
        }
        Some(None) => push_ctx(col, code, ctx),
        None => match v.value(t, sc) {
            Some(b) => {
                col.push_bytes(b);
                if first.is_none() {
                    *first = Some(String::from_utf8_lossy(b).into_owned());
                }
            }
            None => push_ctx(col, code, ctx),
        },
    }
}

/// A text field into its column.
#[inline(always)]
fn text<T: Tokens + ?Sized>(col: &mut StrCol, v: &LineView<T>, f: F, sc: &mut Vec<u8>) {
    let t = v.tok(f);
    match v.fast(t) {
        Some(Some((at, s))) => v.push_in_place(col, at, s),
        Some(None) => col.push_null(),
        None => push_str(col, v.value(t, sc)),
    }
}

/// An address: as text, repaired if a markdown link (see `unmarkdown_str`).
#[inline(always)]
fn addr<T: Tokens + ?Sized>(col: &mut StrCol, v: &LineView<T>, f: F, sc: &mut Vec<u8>) {
    let t = v.tok(f);
    match v.fast(t) {
        Some(Some((at, s))) => {
            let u = unmarkdown_str(s);
            // (A repaired address starts one byte in, after the `[`.)
            v.push_in_place(col, at + usize::from(u.len() != s.len()), u)
        }
        Some(None) => col.push_null(),
        None => push_str(col, v.value(t, sc).map(wf::unmarkdown)),
    }
}

/// A short categorical field (server address, method) into its column.
#[inline(always)]
fn category<T: Tokens + ?Sized>(
    col: &mut CatCol,
    v: &LineView<T>,
    f: F,
    sc: &mut Vec<u8>,
    clean: fn(&str) -> &str,
    clean_bytes: fn(&[u8]) -> &[u8],
) {
    let t = v.tok(f);
    match v.fast(t) {
        Some(s) => col.push(s.map(|(_, s)| clean(s))),
        None => match v.value(t, sc).map(clean_bytes) {
            Some(b) => col.push_bytes(b),
            None => col.push(None),
        },
    }
}

/// The text fields of a request.
#[inline(always)]
fn push_texts<T: Tokens + ?Sized>(r: &mut Requests, v: &LineView<T>, sc: &mut Vec<u8>) {
    category(&mut r.s_ip, v, F::SIp, sc, unmarkdown_str, wf::unmarkdown);
    category(&mut r.method, v, F::Method, sc, |s| s, |b| b);
    text(&mut r.uri_stem, v, F::Stem, sc);
    text(&mut r.uri_query, v, F::Query, sc);
    text(&mut r.username, v, F::User, sc);
    addr(&mut r.c_ip, v, F::CIp, sc);
    // (Stored as logged, `+` decoded when read: see `PlusCol`.)
    text(&mut r.user_agent, v, F::Ua, sc);
    text(&mut r.referer, v, F::Referer, sc);
    text(&mut r.cookie, v, F::Cookie, sc);
    text(&mut r.host, v, F::Host, sc);
}

/// The numeric fields of a request. Returns the fields whose value is there (not `-`) but no
/// number in range: they are stored as null and get an issue.
#[inline(always)]
fn push_numbers<T: Tokens + ?Sized>(
    r: &mut Requests,
    v: &LineView<T>,
    sc: &mut Vec<u8>,
) -> [Option<F>; 7] {
    let mut bad: [Option<F>; 7] = [None; 7];
    let mut nbad = 0;
    let mut check = |f: F, ok: bool| {
        if !ok
            && let Some(t) = v.tok(f)
            && !number_null(raw(v.line, t))
        {
            bad[nbad] = Some(f);
            nbad += 1;
        }
    };
    let port = v.num(F::SPort, sc).and_then(|n| u16::try_from(n).ok());
    check(F::SPort, port.is_some());
    r.s_port.push(port);
    let status = v.num(F::Status, sc).and_then(|n| u16::try_from(n).ok());
    check(F::Status, status.is_some());
    r.status.push(status);
    let sub = v.num(F::Sub, sc).and_then(|n| u32::try_from(n).ok());
    check(F::Sub, sub.is_some());
    r.substatus.push(sub);
    let win32 = v.num(F::Win32, sc);
    check(F::Win32, win32.is_some());
    r.win32_status.push(win32);
    let sc_bytes = v.num(F::ScBytes, sc);
    check(F::ScBytes, sc_bytes.is_some());
    r.sc_bytes.push(sc_bytes);
    let cs_bytes = v.num(F::CsBytes, sc);
    check(F::CsBytes, cs_bytes.is_some());
    r.cs_bytes.push(cs_bytes);
    let ms = v.num(F::Taken, sc).and_then(taken);
    check(F::Taken, ms.is_some());
    r.time_taken_ms.push(ms);
    bad
}

/// The custom and unknown fields (and a trailing positional value) as one JSON object.
fn push_extra<T: Tokens + ?Sized>(
    col: &mut StrCol,
    e: &mut String,
    layout: &Layout,
    v: &LineView<T>,
    tail: bool,
    sc: &mut Vec<u8>,
) {
    e.clear();
    let write = |e: &mut String, name: &str, val: Option<&[u8]>| {
        if let Some(val) = val {
            e.push(if e.is_empty() { '{' } else { ',' });
            e.push('"');
            e.push_str(name);
            e.push_str("\":\"");
            json_escape_bytes(e, val);
            e.push('"');
        }
    };
    for (i, f) in layout.fields.iter().enumerate() {
        let Some(t) = v.toks.tok(i) else {
            break;
        };
        if let F::Extra(k) = f
            && let Some(name) = layout.extra_names.get(*k as usize)
        {
            write(e, name, wf::value(v.line, t, sc));
        }
    }
    let last = v.toks.count().checked_sub(1).and_then(|k| v.toks.tok(k));
    if tail && let Some(t) = last {
        write(e, TAIL_NAME, wf::value(v.line, t, sc));
    }
    if e.is_empty() {
        col.push_null();
    } else {
        e.push('}');
        col.push(Some(e));
    }
}
