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
            if l.fields.len() == n {
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
        let n = toks.count();
        let Some((fb, tail)) = self.choose(line, toks) else {
            let expected = self.layout.as_ref().map(|l| l.fields.len());
            if unterminated && expected.is_none_or(|e| n < e) {
                let msg = format!(
                    "last line cut short: {n} values{}, no final newline (the writer stopped mid-line)",
                    expected.map(|e| format!(" of {e}")).unwrap_or_default()
                );
                self.issue(Severity::Error, "truncated_line", line_no, off, msg, false);
            } else {
                let msg = match &self.layout {
                    Some(l) => format!(
                        "{n} values, but #Fields names {} and no known IIS layout has {n} values",
                        l.fields.len()
                    ),
                    None => format!(
                        "{n} values, no #Fields header and no known IIS layout has {n} values"
                    ),
                };
                self.issue(Severity::Error, "field_count", line_no, off, msg, false);
            }
            return false;
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
        if let Some(i) = fb {
            let name = self.fallbacks[i].0;
            let tail_note = if tail {
                " plus a trailing X-Forwarded-For value"
            } else {
                ""
            };
            let (code, msg) = match &self.layout {
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
        let layout = match fb {
            Some(i) => &self.fallbacks[i].1,
            None => match &self.layout {
                Some(l) => l,
                None => return false,
            },
        };

        let has_extra = tail || layout.any_extra;
        // The token of a fixed field, through the layout's index (the line has a token for
        // every field of the layout: `choose` checked the count).
        let pos = &layout.pos;
        macro_rules! tok {
            ($f:expr) => {
                toks.tok(pos[$f.ix()] as usize)
            };
        }
        // Timestamp first: a line without one is rejected before anything is pushed.
        let time = tok!(F::Time).and_then(|t| self.times.get(raw(line, t)));
        let day = if layout.has_date {
            tok!(F::Date)
                .map(|t| raw(line, t))
                .and_then(|d| self.dates.get(d))
        } else {
            self.directive_day
        };
        let (Some(day), Some(time)) = (day, time) else {
            let d = tok!(F::Date).map(|t| String::from_utf8_lossy(raw(line, t)).into_owned());
            let t = tok!(F::Time).map(|t| String::from_utf8_lossy(raw(line, t)).into_owned());
            let (d, t) = (wf::shown(d.as_deref()), wf::shown(t.as_deref()));
            let msg = match layout.has_date {
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
            return false;
        };
        let day = if layout.has_date {
            day
        } else {
            if let Some(prev) = self.roll_prev
                && time + ROLLOVER_BACKSTEP_MS < prev
            {
                self.roll_days += 1;
            }
            self.roll_prev = Some(time);
            day + self.roll_days
        };

        let r = &mut self.out.requests;
        r.ts.push(wf::to_millis(day, time));
        let sc = &mut self.scratch;
        let file = self.file;
        // The line is `file[off..]` (both paths hand out slices of the file), so a value is
        // stored as its place there, not copied: checked once per line. (Were it not, values
        // would be copied, not misplaced.)
        let off = off as usize;
        let in_file = file
            .get(off..off.saturating_add(line.len()))
            .is_some_and(|f| f.as_ptr() == line.as_ptr());
        macro_rules! in_place {
            ($col:expr, $at:expr, $v:expr) => {{
                let v: &str = $v;
                if in_file {
                    $col.push_source(off + $at, v)
                } else {
                    $col.push(Some(v))
                }
            }};
        }
        // One UTF-8 check per line instead of one per field: token bounds sit on ASCII
        // separators, so slicing the checked line at them is always on char boundaries.
        let line_str = if ascii {
            // SAFETY: the tokenizer saw every byte of the line below 0x80 (`tokenize_ascii`
            // returns true only then; tested against `is_ascii`), and ASCII is valid UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(line) })
        } else {
            std::str::from_utf8(line).ok()
        };
        // A token as checked text: the line is UTF-8 and the value needs no unescaping.
        // `Some(None)` is the W3C null; `None` means take the byte path.
        macro_rules! fast {
            ($t:expr) => {
                match ($t, line_str) {
                    (None, _) => Some(None),
                    (Some(t), Some(ls)) if !t.escaped => match token_str(ls, t) {
                        Some(v) if is_null(v) => Some(None),
                        Some(v) => Some(Some((t.start as usize, v))),
                        None => None,
                    },
                    _ => None,
                }
            };
        }
        macro_rules! val {
            ($t:expr) => {
                match $t {
                    Some(t) => wf::value(line, t, sc),
                    None => None,
                }
            };
        }
        macro_rules! text {
            ($col:expr, $f:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((at, v))) => in_place!($col, at, v),
                    Some(None) => $col.push_null(),
                    None => push_str(&mut $col, val!(t)),
                }
            }};
        }
        // An address: as text, repaired if a markdown link (see `unmarkdown_str`).
        macro_rules! addr {
            ($col:expr, $f:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((at, v))) => {
                        let u = unmarkdown_str(v);
                        // (A repaired address starts one byte in, after the `[`.)
                        in_place!($col, at + usize::from(u.len() != v.len()), u)
                    }
                    Some(None) => $col.push_null(),
                    None => push_str(&mut $col, val!(t).map(wf::unmarkdown)),
                }
            }};
        }
        // A number: digits read straight from the file when the token is plain.
        macro_rules! num {
            ($f:expr) => {
                match tok!($f) {
                    Some(t) if !t.escaped => {
                        let (s, e) = (t.start as usize, t.end as usize);
                        if in_file {
                            wf::parse_u64_at(file, off + s, e.saturating_sub(s))
                        } else {
                            line.get(s..e).and_then(wf::parse_u64)
                        }
                    }
                    t => val!(t).and_then(wf::parse_u64),
                }
            };
        }
        // Server and site: the line's value, else the file's (from its folder), whose code is
        // looked up once per chunk.
        macro_rules! cat_or_ctx {
            ($col:expr, $f:expr, $first:expr, $ctx:expr, $code:expr) => {{
                let t = tok!($f);
                match fast!(t) {
                    Some(Some((_, v))) => {
                        $col.push(Some(v));
                        if $first.is_none() {
                            $first = Some(v.to_owned());
                        }
                    }
                    Some(None) => push_ctx(&mut $col, &mut $code, $ctx.as_deref()),
                    None => match val!(t) {
                        Some(v) => {
                            $col.push_bytes(v);
                            if $first.is_none() {
                                $first = Some(String::from_utf8_lossy(v).into_owned());
                            }
                        }
                        None => push_ctx(&mut $col, &mut $code, $ctx.as_deref()),
                    },
                }
            }};
        }
        cat_or_ctx!(
            r.server,
            F::Server,
            self.out.server,
            self.ctx.server,
            self.ctx_codes[0]
        );
        cat_or_ctx!(
            r.site,
            F::Site,
            self.out.site,
            self.ctx.site,
            self.ctx_codes[1]
        );
        match fast!(tok!(F::SIp)) {
            Some(v) => r.s_ip.push(v.map(|(_, v)| unmarkdown_str(v))),
            None => match val!(tok!(F::SIp)).map(wf::unmarkdown) {
                Some(v) => r.s_ip.push_bytes(v),
                None => r.s_ip.push(None),
            },
        }
        // A value that is there (not `-`) but no number in range: null, and an issue.
        let mut bad: [Option<F>; 7] = [None; 7];
        let mut nbad = 0;
        macro_rules! checked {
            ($f:expr, $conv:expr) => {{
                let v = num!($f).and_then($conv);
                if v.is_none()
                    && let Some(t) = tok!($f)
                    && !number_null(raw(line, t))
                {
                    bad[nbad] = Some($f);
                    nbad += 1;
                }
                v
            }};
        }
        r.s_port.push(checked!(F::SPort, |v| u16::try_from(v).ok()));
        {
            let t = tok!(F::Method);
            match fast!(t) {
                Some(v) => r.method.push(v.map(|(_, v)| v)),
                None => match val!(t) {
                    Some(v) => r.method.push_bytes(v),
                    None => r.method.push(None),
                },
            }
        }
        text!(r.uri_stem, F::Stem);
        text!(r.uri_query, F::Query);
        text!(r.username, F::User);
        addr!(r.c_ip, F::CIp);
        // (Stored as logged, `+` decoded when read: see `PlusCol`.)
        text!(r.user_agent, F::Ua);
        text!(r.referer, F::Referer);
        text!(r.cookie, F::Cookie);
        text!(r.host, F::Host);
        r.status
            .push(checked!(F::Status, |v| u16::try_from(v).ok()));
        r.substatus
            .push(checked!(F::Sub, |v| u32::try_from(v).ok()));
        r.win32_status.push(checked!(F::Win32, Some));
        r.sc_bytes.push(checked!(F::ScBytes, Some));
        r.cs_bytes.push(checked!(F::CsBytes, Some));
        r.time_taken_ms.push(checked!(F::Taken, taken));
        r.file.push(self.ctx.id);
        r.offset.push(off as u64);
        for f in bad.iter().take(nbad).flatten() {
            if let Some(t) = tok!(*f) {
                let issue = bad_number(self.ctx.id, *f, raw(line, t), line_no, off as u64);
                self.out.issues.push(issue);
            }
        }

        if !has_extra {
            r.extra.push_null();
            return true;
        }
        let e = &mut self.extra;
        e.clear();
        let write = |e: &mut String, name: &str, v: Option<&[u8]>| {
            if let Some(v) = v {
                e.push(if e.is_empty() { '{' } else { ',' });
                e.push('"');
                e.push_str(name);
                e.push_str("\":\"");
                json_escape_bytes(e, v);
                e.push('"');
            }
        };
        for (i, f) in layout.fields.iter().enumerate() {
            let Some(t) = toks.tok(i) else {
                break;
            };
            if let F::Extra(k) = f
                && let Some(name) = layout.extra_names.get(*k as usize)
            {
                write(e, name, wf::value(line, t, sc));
            }
        }
        if tail && let Some(t) = toks.count().checked_sub(1).and_then(|k| toks.tok(k)) {
            write(e, TAIL_NAME, wf::value(line, t, sc));
        }
        if e.is_empty() {
            r.extra.push_null();
        } else {
            e.push('}');
            r.extra.push(Some(e));
        }
        true
    }
}
