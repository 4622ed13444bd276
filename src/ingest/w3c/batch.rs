//! The batch path: plain data lines, found and tokenized by the SIMD walk, stored a column at a
//! time (`flush_with`). A property test holds it equal to the row path.

use super::*;

impl ChunkParser<'_> {
    /// Takes the plain data line at `off` whose edges the tokenizer wrote at `at` in the batch,
    /// if it is one the batch stores as [`ChunkParser::record_tokens`] would: all ASCII, as
    /// many values as the `#Fields` in force names (none custom, a date among them), and a
    /// readable timestamp. Anything else (false) goes through `record_tokens`.
    #[inline(always)]
    pub(super) fn batch_add(
        &mut self,
        f: &wf::FastLine,
        off: usize,
        at: usize,
        line_no: u64,
    ) -> bool {
        let Some(layout) = &self.layout else {
            return false;
        };
        let stride = 2 * layout.fields.len();
        if !f.ascii || layout.any_extra || !layout.has_date || f.edges != stride {
            return false;
        }
        let b = &mut self.batch;
        if b.stride != stride {
            // A new layout comes with a directive, which flushed the batch: it is empty here.
            // (Were it not, this line takes the row path, after the batch.)
            if b.lines > 0 {
                return false;
            }
            b.restride(stride);
        }
        let Some(e) = b.edges.get(at..at + stride) else {
            return false;
        };
        let Some(line) = self.file.get(off..f.content_end) else {
            return false;
        };
        if !StrCol::source_fits(f.content_end, line.len()) {
            return false;
        }
        let value = |slot: F| {
            let k = layout.pos[slot.ix()] as usize;
            match e.get(2 * k..2 * k + 2) {
                Some(&[s, t]) => line.get(s as usize..t as usize),
                _ => None,
            }
        };
        let (Some(day), Some(time)) = (
            value(F::Date).and_then(|d| self.dates.get(d)),
            value(F::Time).and_then(|t| self.times.get(t)),
        ) else {
            return false;
        };
        b.ts.push(wf::to_millis(day, time));
        b.off.push(off);
        if b.lines == 0 {
            b.first_line = line_no;
        }
        b.lines += 1;
        if b.lines == b.cap {
            self.flush();
        }
        true
    }

    /// Stores the batched lines, a column at a time (see [`Batch`]).
    pub(super) fn flush(&mut self) {
        if self.batch.lines > 0 {
            wf::with_masker(Flush(self));
        }
    }

    #[inline(always)]
    pub(super) fn flush_with<M: wf::Masker>(&mut self, masker: M) {
        let b = &mut self.batch;
        let n = b.lines;
        if n == 0 {
            return;
        }
        b.lines = 0;
        let Some(layout) = &self.layout else {
            b.ts.clear();
            b.off.clear();
            return;
        };
        let (file, stride) = (self.file, b.stride);
        let r = &mut self.out.requests;
        let (edges, offs) = (&b.edges[..n * stride], &b.off[..n]);
        r.ts.extend_from_slice(&b.ts);
        // Bad numbers found a column at a time, reported a line at a time as the row path does.
        let mut bad: Vec<(u64, u8, Issue)> = Vec::new();
        for &(k, f) in &layout.prog {
            let k2 = 2 * k as usize;
            if k2 + 1 >= stride {
                continue;
            }
            // Each line's value of this field: `$at` its offset in the file, `$v` its text, a
            // W3C null `-` when `$null`. (Tokens are never empty.)
            macro_rules! each {
                (|$at:ident, $v:ident, $null:ident| $body:expr) => {
                    for (row, &off) in edges.chunks_exact(stride).zip(offs) {
                        let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                        let $at = off + s;
                        let bytes = file.get($at..off + t).unwrap_or_default();
                        // SAFETY: the tokenizer saw every byte of the line below 0x80 (the
                        // batch holds only such lines), and ASCII is valid UTF-8.
                        let $v = unsafe { std::str::from_utf8_unchecked(bytes) };
                        let $null = bytes == b"-";
                        $body
                    }
                };
            }
            // Each line's value of this field as `(offset in the file, length)`.
            let spans = edges.chunks_exact(stride).zip(offs).map(|(row, &off)| {
                let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                (off + s, t.wrapping_sub(s))
            });
            // (A null that is not `-` is a bad number: looked for only in a batch that has nulls.)
            macro_rules! numbers {
                ($col:expr, $conv:expr) => {{
                    let (vals, ok) = (&mut b.nums[..n], &mut b.num_ok[..n]);
                    masker.field_numbers(file, (edges, stride, k2), offs, (&mut *vals, &mut *ok));
                    let nulls = std::cell::Cell::new(false);
                    $col.push_all(vals.iter().zip(ok.iter()).map(|(&v, &ok)| {
                        let v = ok.then_some(v).and_then($conv);
                        if v.is_none() {
                            nulls.set(true);
                        }
                        v
                    }));
                    if nulls.get() {
                        for (i, (row, &off)) in edges.chunks_exact(stride).zip(offs).enumerate() {
                            if ok[i] && ($conv)(vals[i]).is_some() {
                                continue;
                            }
                            let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                            let v = file.get(off + s..off + t).unwrap_or_default();
                            if !number_null(v) {
                                let line = b.first_line + i as u64;
                                let issue = bad_number(self.ctx.id, f, v, line, off as u64);
                                bad.push((line, f.number_rank(), issue));
                            }
                        }
                    }
                }};
            }
            match f {
                F::Server | F::Site => {
                    let (col, first, ctx, code) = if f == F::Server {
                        let c = &mut self.ctx_codes[0];
                        (&mut r.server, &mut self.out.server, &self.ctx.server, c)
                    } else {
                        let c = &mut self.ctx_codes[1];
                        (&mut r.site, &mut self.out.site, &self.ctx.site, c)
                    };
                    each!(|_at, v, null| if null {
                        push_ctx(col, code, ctx.as_deref());
                    } else {
                        col.push(Some(v));
                        if first.is_none() {
                            *first = Some(v.to_owned());
                        }
                    });
                }
                // (The server's address: one or a few values, a category.)
                F::SIp => each!(|_at, v, null| r.s_ip.push((!null).then(|| unmarkdown_str(v)))),
                F::CIp => {
                    r.c_ip.extend_packed(n, |out| {
                        for (o, (at, len)) in out.iter_mut().zip(spans) {
                            let v = file.get(at..at.saturating_add(len)).unwrap_or_default();
                            *o = if v.first() == Some(&b'[') {
                                // SAFETY: as in `each!`: the batch holds only ASCII lines.
                                let u = unmarkdown_str(unsafe { std::str::from_utf8_unchecked(v) });
                                // (A repaired address starts one byte in, after the `[`.)
                                packed::source(at + usize::from(u.len() != v.len()), u.len(), false)
                            } else {
                                packed::source(at, len, v == b"-")
                            };
                        }
                    });
                }
                F::Method => each!(|_at, v, null| r.method.push((!null).then_some(v))),
                F::Stem | F::Query | F::User | F::Host | F::Ua | F::Referer | F::Cookie => {
                    let col = match f {
                        F::Stem => &mut r.uri_stem,
                        F::Query => &mut r.uri_query,
                        F::User => &mut r.username,
                        F::Host => &mut r.host,
                        // (Stored as logged, `+` decoded when read: see `PlusCol`.)
                        F::Ua => &mut r.user_agent,
                        F::Referer => &mut r.referer,
                        _ => &mut r.cookie,
                    };
                    // (Every line of the batch fits a source span: see `batch_add`.)
                    col.extend_packed(n, |out| {
                        masker.field_spans(file, (edges, stride, k2), offs, out)
                    });
                }
                F::SPort => numbers!(r.s_port, |v| u16::try_from(v).ok()),
                F::Status => numbers!(r.status, |v| u16::try_from(v).ok()),
                F::Sub => numbers!(r.substatus, |v| u32::try_from(v).ok()),
                F::Win32 => numbers!(r.win32_status, Some),
                F::ScBytes => numbers!(r.sc_bytes, Some),
                F::CsBytes => numbers!(r.cs_bytes, Some),
                F::Taken => numbers!(r.time_taken_ms, taken),
                F::Date | F::Time | F::Extra(_) => {}
            }
        }
        if !bad.is_empty() {
            bad.sort_by_key(|(line, rank, _)| (*line, *rank));
            self.out.issues.extend(bad.into_iter().map(|(_, _, i)| i));
        }
        // The columns the layout has no field for: null, or the file's server and site.
        for &f in &layout.absent {
            match f {
                F::Server | F::Site => {
                    let (col, ctx, code) = if f == F::Server {
                        (&mut r.server, &self.ctx.server, &mut self.ctx_codes[0])
                    } else {
                        (&mut r.site, &self.ctx.site, &mut self.ctx_codes[1])
                    };
                    let c = ctx_code(col, code, ctx.as_deref());
                    col.push_codes(c, n);
                }
                F::Method => r.method.push_codes(CatCol::NULL, n),
                F::SIp => r.s_ip.push_codes(CatCol::NULL, n),
                F::Stem => r.uri_stem.push_nulls(n),
                F::Query => r.uri_query.push_nulls(n),
                F::User => r.username.push_nulls(n),
                F::CIp => r.c_ip.push_nulls(n),
                F::Ua => r.user_agent.push_nulls(n),
                F::Referer => r.referer.push_nulls(n),
                F::Cookie => r.cookie.push_nulls(n),
                F::Host => r.host.push_nulls(n),
                F::SPort => r.s_port.push_nulls(n),
                F::Status => r.status.push_nulls(n),
                F::Sub => r.substatus.push_nulls(n),
                F::Win32 => r.win32_status.push_nulls(n),
                F::ScBytes => r.sc_bytes.push_nulls(n),
                F::CsBytes => r.cs_bytes.push_nulls(n),
                F::Taken => r.time_taken_ms.push_nulls(n),
                F::Date | F::Time | F::Extra(_) => {}
            }
        }
        r.file.push_n(self.ctx.id, n);
        r.offset.push_all(&b.off);
        r.extra.push_nulls(n);
        b.ts.clear();
        b.off.clear();
    }
}
