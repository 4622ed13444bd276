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
        // An inferred layout is a guess from a sample: a line it does not fit takes the row
        // path, which reads it by another layout.
        if layout.inferred && !Self::plausible(line, &wf::Edges(e), layout) {
            return false;
        }
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
        let Batch {
            edges,
            stride,
            lines,
            ts,
            off,
            first_line,
            nums,
            num_ok,
            ..
        } = &mut self.batch;
        let n = std::mem::take(lines);
        let Some(layout) = self.layout.as_ref().filter(|_| n > 0) else {
            ts.clear();
            off.clear();
            return;
        };
        let v = BatchView {
            file: self.file,
            edges: &edges[..n * *stride],
            stride: *stride,
            offs: &off[..n],
            first_line: *first_line,
            id: self.ctx.id,
        };
        let r = &mut self.out.requests;
        r.ts.extend_from_slice(ts);
        // Bad numbers found a column at a time, reported a line at a time as the row path does.
        let mut bad: Vec<(u64, u8, Issue)> = Vec::new();
        let scratch = (&mut nums[..n], &mut num_ok[..n]);
        for &(k, f) in &layout.prog {
            let k2 = 2 * k as usize;
            if k2 + 1 >= v.stride {
                continue;
            }
            let at = (v.file, (v.edges, v.stride, k2), v.offs);
            // (A null that is not `-` is a bad number: looked for only in a batch that has nulls.)
            macro_rules! numbers {
                ($col:expr, $conv:expr) => {{
                    let (vals, ok) = (&mut *scratch.0, &mut *scratch.1);
                    masker.field_numbers(at.0, at.1, at.2, (&mut *vals, &mut *ok));
                    let nulls = std::cell::Cell::new(false);
                    $col.push_all(vals.iter().zip(ok.iter()).map(|(&x, &ok)| {
                        let x = ok.then_some(x).and_then($conv);
                        nulls.set(nulls.get() | x.is_none());
                        x
                    }));
                    if nulls.get() {
                        let fits = |x: u64| ($conv)(x).is_some();
                        v.bad_numbers(k2, f, (vals, ok), fits, &mut bad);
                    }
                }};
            }
            match f {
                F::Server => {
                    let (ctx, code) = (self.ctx.server.as_deref(), &mut self.ctx_codes[0]);
                    v.cat_or_ctx(k2, &mut r.server, &mut self.out.server, ctx, code);
                }
                F::Site => {
                    let (ctx, code) = (self.ctx.site.as_deref(), &mut self.ctx_codes[1]);
                    v.cat_or_ctx(k2, &mut r.site, &mut self.out.site, ctx, code);
                }
                // (The server's address: one or a few values, a category.)
                F::SIp => v.each(k2, |_, s, null| {
                    r.s_ip.push((!null).then(|| unmarkdown_str(s)))
                }),
                F::CIp => v.client_addresses(k2, &mut r.c_ip),
                F::Method => v.each(k2, |_, s, null| r.method.push((!null).then_some(s))),
                F::Stem | F::Query | F::User | F::Host | F::Ua | F::Referer | F::Cookie => {
                    // (Every line of the batch fits a source span: see `batch_add`.)
                    let col = text_col(r, f);
                    col.extend_packed(n, |out| masker.field_spans(at.0, at.1, at.2, out));
                }
                F::SPort => numbers!(r.s_port, |x| u16::try_from(x).ok()),
                F::Status => numbers!(r.status, |x| u16::try_from(x).ok()),
                F::Sub => numbers!(r.substatus, |x| u32::try_from(x).ok()),
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
        push_absent(r, &layout.absent, self.ctx, &mut self.ctx_codes, n);
        r.file.push_n(self.ctx.id, n);
        r.offset.push_all(off);
        r.extra.push_nulls(n);
        ts.clear();
        off.clear();
    }
}

/// The batch as `flush_with` reads it: each line's token edges and where the line starts.
struct BatchView<'a> {
    file: &'a [u8],
    /// `stride` edges per line: start and end of each token, relative to the line.
    edges: &'a [u32],
    stride: usize,
    offs: &'a [usize],
    first_line: u64,
    id: crate::tables::FileId,
}

impl BatchView<'_> {
    /// Calls `body(offset in the file, text, is the W3C null "-")` for each line's token at
    /// edge `k2`. (Tokens are never empty.)
    #[inline(always)]
    fn each(&self, k2: usize, mut body: impl FnMut(usize, &str, bool)) {
        for (row, &off) in self.edges.chunks_exact(self.stride).zip(self.offs) {
            let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
            let bytes = self.file.get(off + s..off + t).unwrap_or_default();
            // SAFETY: the tokenizer saw every byte of the line below 0x80 (the batch holds
            // only such lines), and ASCII is valid UTF-8.
            let v = unsafe { std::str::from_utf8_unchecked(bytes) };
            body(off + s, v, bytes == b"-");
        }
    }

    /// Server or site: the line's value, else the file's (from its folder). The first value
    /// names the chunk's server or site.
    #[inline(always)]
    fn cat_or_ctx(
        &self,
        k2: usize,
        col: &mut CatCol,
        first: &mut Option<String>,
        ctx: Option<&str>,
        code: &mut Option<u32>,
    ) {
        self.each(k2, |_, v, null| {
            if null {
                push_ctx(col, code, ctx);
            } else {
                col.push(Some(v));
                if first.is_none() {
                    *first = Some(v.to_owned());
                }
            }
        });
    }

    /// Client addresses as places in the file, repaired when a markdown link.
    #[inline(always)]
    fn client_addresses(&self, k2: usize, col: &mut StrCol) {
        let spans = self
            .edges
            .chunks_exact(self.stride)
            .zip(self.offs)
            .map(|(row, &off)| {
                let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
                (off + s, t.wrapping_sub(s))
            });
        let file = self.file;
        col.extend_packed(self.offs.len(), |out| {
            for (o, (at, len)) in out.iter_mut().zip(spans) {
                let v = file.get(at..at.saturating_add(len)).unwrap_or_default();
                *o = if v.first() == Some(&b'[') {
                    // SAFETY: as in `each`: the batch holds only ASCII lines.
                    let u = unmarkdown_str(unsafe { std::str::from_utf8_unchecked(v) });
                    // (A repaired address starts one byte in, after the `[`.)
                    packed::source(at + usize::from(u.len() != v.len()), u.len(), false)
                } else {
                    packed::source(at, len, v == b"-")
                };
            }
        });
    }

    /// The issues for a numeric field's values that are there (not `-`) but no number in
    /// range (`fits` false), ranked for the row path's order.
    #[cold]
    fn bad_numbers(
        &self,
        k2: usize,
        f: F,
        (vals, ok): (&[u64], &[bool]),
        fits: impl Fn(u64) -> bool,
        bad: &mut Vec<(u64, u8, Issue)>,
    ) {
        let rows = self.edges.chunks_exact(self.stride).zip(self.offs);
        for (i, (row, &off)) in rows.enumerate() {
            if ok[i] && fits(vals[i]) {
                continue;
            }
            let (s, t) = (row[k2] as usize, row[k2 + 1] as usize);
            let v = self.file.get(off + s..off + t).unwrap_or_default();
            if !number_null(v) {
                let line = self.first_line + i as u64;
                let issue = bad_number(self.id, f, v, line, off as u64);
                bad.push((line, f.number_rank(), issue));
            }
        }
    }
}

/// The text column of field `f` (one of the text fields).
fn text_col(r: &mut Requests, f: F) -> &mut StrCol {
    match f {
        F::Stem => &mut r.uri_stem,
        F::Query => &mut r.uri_query,
        F::User => &mut r.username,
        F::Host => &mut r.host,
        // (Stored as logged, `+` decoded when read: see `PlusCol`.)
        F::Ua => &mut r.user_agent,
        F::Referer => &mut r.referer,
        _ => &mut r.cookie,
    }
}

/// The columns the layout has no field for: null, or the file's server and site.
fn push_absent(
    r: &mut Requests,
    absent: &[F],
    ctx: &FileCtx,
    ctx_codes: &mut [Option<u32>; 2],
    n: usize,
) {
    for &f in absent {
        match f {
            F::Server => {
                let c = ctx_code(&mut r.server, &mut ctx_codes[0], ctx.server.as_deref());
                r.server.push_codes(c, n);
            }
            F::Site => {
                let c = ctx_code(&mut r.site, &mut ctx_codes[1], ctx.site.as_deref());
                r.site.push_codes(c, n);
            }
            F::Method => r.method.push_codes(CatCol::NULL, n),
            F::SIp => r.s_ip.push_codes(CatCol::NULL, n),
            F::Stem | F::Query | F::User | F::Host | F::Ua | F::Referer | F::Cookie => {
                text_col(r, f).push_nulls(n)
            }
            F::CIp => r.c_ip.push_nulls(n),
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
}
