//! The W3C tokenizer's byte classifiers: one [`Masker`] per instruction set (SSE2 on every
//! x86-64, AVX2, AVX-512 VBMI2), the scalar fallbacks, and the run-time choice of the widest
//! ([`with_masker`]). All give the same masks; a property test holds them equal.

use super::*;

/// The four byte classes of a 64-byte block as bit masks (bit `k` for byte `k`).
#[derive(Clone, Copy)]
pub struct RawMasks {
    /// Space or tab.
    pub sep: u64,
    /// `"`.
    pub quote: u64,
    /// At or above 0x80.
    pub high: u64,
    /// `\n`.
    pub newline: u64,
}

/// Computes [`RawMasks`]: with the instructions every x86-64 has (SSE2), or wider ones the CPU
/// turns out to have (chosen once per chunk by [`with_masker`]). All give the same masks.
pub trait Masker: Copy {
    /// The four masks of one 64-byte block.
    fn masks(self, block: &[u8; 64]) -> RawMasks;

    /// The packed source span ([`packed`]) of one field of each batched line: line `r` starts
    /// at `offs[r]` in `file` and has its token edges at `edges[r * stride..]`; the field's
    /// are at `k2` and `k2 + 1`; a `-` is null. One value per line into `out`.
    #[inline(always)]
    fn field_spans(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        out: &mut [u64],
    ) {
        field_spans_scalar(file, (edges, stride, k2), offs, out)
    }

    /// The number ([`parse_u64_at`]) one field of each batched line holds (laid out as for
    /// [`Masker::field_spans`]): into `vals`, and whether it is one into `ok` (false for a null
    /// `-` or anything else that is not decimal digits fitting a `u64`).
    #[inline(always)]
    fn field_numbers(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        (vals, ok): (&mut [u64], &mut [bool]),
    ) {
        field_numbers_scalar(file, (edges, stride, k2), offs, (vals, ok))
    }

    /// Writes `base +` the position of each set bit of `edges`, in order, to the start of `out`
    /// and returns how many. Slots past that count may be overwritten with junk.
    #[inline(always)]
    fn edges(self, mut edges: u64, base: u32, out: &mut [u32; 64]) -> usize {
        let count = edges.count_ones() as usize;
        // The first 8 (and 16) written whatever the count (past it they are junk that is never
        // read): a block's edge count varies, and a loop ending at it is a mispredicted branch.
        let mut put = |slots: &mut [u32]| {
            for slot in slots {
                *slot = base + edges.trailing_zeros();
                edges &= edges.wrapping_sub(1);
            }
        };
        put(&mut out[..8]);
        if count > 8 {
            put(&mut out[8..16]);
            let mut i = 16;
            while edges != 0 {
                out[i & 63] = base + edges.trailing_zeros();
                i += 1;
                edges &= edges - 1;
            }
        }
        count
    }
}

/// 16 bytes at a time: SSE2, part of every x86-64 (and a plain loop elsewhere).
#[derive(Clone, Copy)]
pub struct Sse2;

impl Masker for Sse2 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            let (mut sep, mut quote, mut high, mut newline) = (0u64, 0u64, 0u64, 0u64);
            for k in 0..4 {
                // SAFETY: SSE2 is part of x86-64; the load reads bytes 16k..16k+16 of `block`.
                unsafe {
                    let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
                    let s = _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\t' as i8)),
                    );
                    let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                    let n = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
                    newline |= (_mm_movemask_epi8(n) as u32 as u64) << (16 * k);
                    sep |= (_mm_movemask_epi8(s) as u32 as u64) << (16 * k);
                    quote |= (_mm_movemask_epi8(q) as u32 as u64) << (16 * k);
                    high |= (_mm_movemask_epi8(v) as u32 as u64) << (16 * k);
                }
            }
            RawMasks {
                sep,
                quote,
                high,
                newline,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut m = RawMasks {
                sep: 0,
                quote: 0,
                high: 0,
                newline: 0,
            };
            for (k, &c) in block.iter().enumerate() {
                m.newline |= ((c == b'\n') as u64) << k;
                m.sep |= (matches!(c, b' ' | b'\t') as u64) << k;
                m.quote |= ((c == b'"') as u64) << k;
                m.high |= ((c >= 0x80) as u64) << k;
            }
            m
        }
    }
}

/// 32 bytes at a time. Only constructed by [`with_masker`] once the CPU is known to have AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Avx2(pub(super) ());

#[cfg(target_arch = "x86_64")]
impl Masker for Avx2 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        use std::arch::x86_64::*;
        let (mut sep, mut quote, mut high, mut newline) = (0u64, 0u64, 0u64, 0u64);
        for k in 0..2 {
            // SAFETY: an `Avx2` exists only where the CPU has AVX2 (`with_masker`); the load
            // reads bytes 32k..32k+32 of `block`.
            unsafe {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * k).cast());
                let s = _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b' ' as i8)),
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\t' as i8)),
                );
                let q = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
                let n = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
                newline |= (_mm256_movemask_epi8(n) as u32 as u64) << (32 * k);
                sep |= (_mm256_movemask_epi8(s) as u32 as u64) << (32 * k);
                quote |= (_mm256_movemask_epi8(q) as u32 as u64) << (32 * k);
                high |= (_mm256_movemask_epi8(v) as u32 as u64) << (32 * k);
            }
        }
        RawMasks {
            sep,
            quote,
            high,
            newline,
        }
    }
}

/// 64 bytes at a time, compared straight into mask registers, and a block's token edges
/// gathered by one compress. Only constructed by [`with_masker`] once the CPU is known to have
/// AVX-512F, BW and VBMI2.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Avx512(pub(super) ());

#[cfg(target_arch = "x86_64")]
impl Masker for Avx512 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> RawMasks {
        use std::arch::x86_64::*;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F and BW (`with_masker`);
        // the load reads the 64 bytes of `block`.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            RawMasks {
                sep: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b' ' as i8))
                    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\t' as i8)),
                quote: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8)),
                high: _mm512_movepi8_mask(v),
                newline: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8)),
            }
        }
    }

    /// Eight lines at a time: their edges and the byte of one-byte values gathered, the spans
    /// packed and the nulls blended in 512-bit lanes.
    #[inline(always)]
    fn field_spans(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        out: &mut [u64],
    ) {
        use std::arch::x86_64::*;
        let n = offs.len().min(out.len());
        // The gathers read `edges[r * stride + k2]` and the one after for `r < n`, as 32-bit
        // indices; the scalar code takes anything else.
        let fits = k2 + 1 < stride
            && n.checked_mul(stride)
                .is_some_and(|e| e <= edges.len() && e < i32::MAX as usize);
        if !fits {
            return field_spans_scalar(file, (edges, stride, k2), offs, out);
        }
        let whole = n / 8 * 8;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F and AVX2 (`with_masker`).
        // The edge gathers read indices below `n * stride <= edges.len()` (checked above, as
        // `k2 + 1 < stride`); the offset loads and span stores read and write 8 of the first
        // `whole <= n` slots of `offs` and `out`; the byte gather reads the 4 bytes ending at
        // `at` only for lanes with `3 <= at < file.len()` (others take the scalar code).
        unsafe {
            let base = edges.as_ptr().cast::<i32>();
            let step = _mm256_mullo_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(stride as i32),
            );
            let one = _mm512_set1_epi64(1);
            let three = _mm512_set1_epi64(3);
            let file_len = _mm512_set1_epi64(file.len() as i64);
            let dash = _mm512_set1_epi64(i64::from(b'-'));
            let max_start = _mm512_set1_epi64(packed::MAX_START as i64);
            let max_len = _mm512_set1_epi64(packed::MAX_LEN as i64);
            let null = _mm512_set1_epi64(packed::NULL as i64);
            let empty = _mm512_set1_epi64(packed::EMPTY as i64);
            let mut r = 0;
            while r < whole {
                let idx = _mm256_add_epi32(step, _mm256_set1_epi32((r * stride + k2) as i32));
                let s = _mm256_i32gather_epi32::<4>(base, idx);
                let t =
                    _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(idx, _mm256_set1_epi32(1)));
                let off = _mm512_loadu_si512(offs.as_ptr().add(r).cast());
                let at = _mm512_add_epi64(off, _mm512_cvtepu32_epi64(s));
                let len = _mm512_cvtepu32_epi64(_mm256_sub_epi32(t, s));
                let len1 = _mm512_cmpeq_epi64_mask(len, one);
                let readable =
                    _mm512_cmpge_epu64_mask(at, three) & _mm512_cmplt_epu64_mask(at, file_len);
                if len1 & !readable != 0 {
                    let rows = r * stride..;
                    field_spans_scalar(
                        file,
                        (&edges[rows], stride, k2),
                        &offs[r..r + 8],
                        &mut out[r..r + 8],
                    );
                    r += 8;
                    continue;
                }
                // The byte of a one-byte value: the top one of the 4 ending at it.
                let word = _mm512_mask_i64gather_epi32::<1>(
                    _mm256_setzero_si256(),
                    len1,
                    _mm512_sub_epi64(at, three),
                    file.as_ptr().cast(),
                );
                let byte = _mm512_srli_epi64::<24>(_mm512_cvtepu32_epi64(word));
                let is_null = len1 & _mm512_cmpeq_epi64_mask(byte, dash);
                let fit =
                    _mm512_cmple_epu64_mask(at, max_start) & _mm512_cmple_epu64_mask(len, max_len);
                let v = _mm512_or_si512(_mm512_slli_epi64::<{ packed::LEN_BITS }>(at), len);
                let v = _mm512_mask_blend_epi64(fit, empty, v);
                let v = _mm512_mask_blend_epi64(is_null, v, null);
                _mm512_storeu_si512(out.as_mut_ptr().add(r).cast(), v);
                r += 8;
            }
        }
        field_spans_scalar(
            file,
            (&edges[whole * stride..], stride, k2),
            &offs[whole..n],
            &mut out[whole..n],
        );
    }

    /// Eight lines at a time: each value's 8 bytes gathered and read as [`parse_u64_at`] reads
    /// one, in 64-bit lanes; values it cannot take (over 8 digits, near the file's end) are
    /// read a line at a time.
    #[inline(always)]
    fn field_numbers(
        self,
        file: &[u8],
        (edges, stride, k2): (&[u32], usize, usize),
        offs: &[usize],
        (vals, ok): (&mut [u64], &mut [bool]),
    ) {
        use std::arch::x86_64::*;
        let n = offs.len().min(vals.len()).min(ok.len());
        let fits = k2 + 1 < stride
            && file.len() >= 8
            && n.checked_mul(stride)
                .is_some_and(|e| e <= edges.len() && e < i32::MAX as usize);
        if !fits {
            return field_numbers_scalar(file, (edges, stride, k2), offs, (vals, ok));
        }
        let whole = n / 8 * 8;
        let mut r = 0;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F/DQ and AVX2
        // (`with_masker`). The edge gathers read indices below `n * stride <= edges.len()`
        // (checked above, as `k2 + 1 < stride`); the offset loads and value stores read and
        // write 8 of the first `whole <= n` slots; the byte gather reads the 8 bytes at `at`
        // only for lanes with `at + 8 <= file.len()` (the others are read a line at a time).
        unsafe {
            let base = edges.as_ptr().cast::<i32>();
            let step = _mm256_mullo_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(stride as i32),
            );
            let q = |x: u64| _mm512_set1_epi64(x as i64);
            let (one, eight, last) = (q(1), q(8), q(file.len() as u64 - 8));
            let threes = q(0x3030_3030_3030_3030);
            while r < whole {
                let idx = _mm256_add_epi32(step, _mm256_set1_epi32((r * stride + k2) as i32));
                let s = _mm256_i32gather_epi32::<4>(base, idx);
                let t =
                    _mm256_i32gather_epi32::<4>(base, _mm256_add_epi32(idx, _mm256_set1_epi32(1)));
                let at = _mm512_add_epi64(
                    _mm512_loadu_si512(offs.as_ptr().add(r).cast()),
                    _mm512_cvtepu32_epi64(s),
                );
                let len = _mm512_cvtepu32_epi64(_mm256_sub_epi32(t, s));
                let lanes = _mm512_cmpge_epu64_mask(len, one)
                    & _mm512_cmple_epu64_mask(len, eight)
                    & _mm512_cmple_epu64_mask(at, last);
                let w = _mm512_mask_i64gather_epi64::<1>(
                    _mm512_setzero_si512(),
                    lanes,
                    at,
                    file.as_ptr().cast(),
                );
                // The digits moved to the top of the word, '0's below them; every byte a digit.
                let bits = _mm512_slli_epi64::<3>(len);
                let x = _mm512_or_si512(
                    _mm512_sllv_epi64(w, _mm512_sub_epi64(q(64), bits)),
                    _mm512_srlv_epi64(threes, bits),
                );
                let (digits, v) = swar_digits(x);
                _mm512_storeu_si512(vals.as_mut_ptr().add(r).cast(), v);
                let good = lanes & digits;
                for (j, k) in ok[r..r + 8].iter_mut().enumerate() {
                    *k = good >> j & 1 != 0;
                }
                let mut rest = !lanes;
                while rest != 0 {
                    let i = r + rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    field_numbers_scalar(
                        file,
                        (&edges[i * stride..], stride, k2),
                        &offs[i..i + 1],
                        (&mut vals[i..i + 1], &mut ok[i..i + 1]),
                    );
                }
                r += 8;
            }
        }
        field_numbers_scalar(
            file,
            (&edges[whole * stride..], stride, k2),
            &offs[whole..n],
            (&mut vals[whole..n], &mut ok[whole..n]),
        );
    }

    /// The positions gathered by one compress of the byte indices 0..64 (VBMI2), widened to
    /// 32 bits 16 at a time: no loop over the bits.
    #[inline(always)]
    fn edges(self, edges: u64, base: u32, out: &mut [u32; 64]) -> usize {
        use std::arch::x86_64::*;
        static IOTA: [u8; 64] = {
            let mut a = [0u8; 64];
            let mut i = 0;
            while i < 64 {
                a[i] = i as u8;
                i += 1;
            }
            a
        };
        let count = edges.count_ones() as usize;
        // SAFETY: an `Avx512` exists only where the CPU has AVX-512F, BW and VBMI2
        // (`with_masker`); the loads read the 64 bytes of `IOTA`, each store writes 16 of the
        // 64 slots of `out`.
        unsafe {
            let idx = _mm512_maskz_compress_epi8(edges, _mm512_loadu_si512(IOTA.as_ptr().cast()));
            let b = _mm512_set1_epi32(base as i32);
            let p = out.as_mut_ptr();
            let wide = |q: __m128i| _mm512_add_epi32(_mm512_cvtepu8_epi32(q), b);
            _mm512_storeu_si512(p.cast(), wide(_mm512_castsi512_si128(idx)));
            if count > 16 {
                _mm512_storeu_si512(p.add(16).cast(), wide(_mm512_extracti32x4_epi32::<1>(idx)));
                if count > 32 {
                    _mm512_storeu_si512(
                        p.add(32).cast(),
                        wide(_mm512_extracti32x4_epi32::<2>(idx)),
                    );
                    if count > 48 {
                        let q = _mm512_extracti32x4_epi32::<3>(idx);
                        _mm512_storeu_si512(p.add(48).cast(), wide(q));
                    }
                }
            }
        }
        count
    }
}

/// Eight words of ASCII digits, each right-aligned over `'0'` padding (as [`parse_u64_at`]
/// lays one out): which lanes hold only digits, and the value of each, pairwise 8 digits → 4
/// → 2 → 1.
///
/// # Safety
/// The CPU has AVX-512F/DQ (called only from the [`Avx512`] masker).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn swar_digits(x: std::arch::x86_64::__m512i) -> (u8, std::arch::x86_64::__m512i) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's CPU has AVX-512F/DQ (above); no memory is touched.
    unsafe {
        let q = |x: u64| _mm512_set1_epi64(x as i64);
        let (hi, threes, sixes) = (
            q(0xF0F0_F0F0_F0F0_F0F0),
            q(0x3030_3030_3030_3030),
            q(0x0606_0606_0606_0606),
        );
        let digits = _mm512_cmpeq_epi64_mask(_mm512_and_si512(x, hi), threes)
            & _mm512_cmpeq_epi64_mask(_mm512_and_si512(_mm512_add_epi64(x, sixes), hi), threes);
        let d = _mm512_sub_epi64(x, threes);
        let d = _mm512_and_si512(
            _mm512_add_epi64(_mm512_mullo_epi64(d, q(10)), _mm512_srli_epi64::<8>(d)),
            q(0x00FF_00FF_00FF_00FF),
        );
        let d = _mm512_and_si512(
            _mm512_add_epi64(_mm512_mullo_epi64(d, q(100)), _mm512_srli_epi64::<16>(d)),
            q(0x0000_FFFF_0000_FFFF),
        );
        let v = _mm512_and_si512(
            _mm512_add_epi64(_mm512_mullo_epi64(d, q(10000)), _mm512_srli_epi64::<32>(d)),
            q(0xFFFF_FFFF),
        );
        (digits, v)
    }
}

/// [`Masker::field_spans`], a line at a time.
#[inline(always)]
pub fn field_spans_scalar(
    file: &[u8],
    (edges, stride, k2): (&[u32], usize, usize),
    offs: &[usize],
    out: &mut [u64],
) {
    for ((row, &off), o) in edges.chunks_exact(stride.max(1)).zip(offs).zip(out) {
        let (Some(&s), Some(&t)) = (row.get(k2), row.get(k2 + 1)) else {
            continue;
        };
        let at = off + s as usize;
        let len = t.wrapping_sub(s) as usize;
        *o = packed::source(at, len, len == 1 && file.get(at) == Some(&b'-'));
    }
}

/// [`Masker::field_numbers`], a line at a time.
#[inline(always)]
pub fn field_numbers_scalar(
    file: &[u8],
    (edges, stride, k2): (&[u32], usize, usize),
    offs: &[usize],
    (vals, ok): (&mut [u64], &mut [bool]),
) {
    for (((row, &off), v), k) in edges
        .chunks_exact(stride.max(1))
        .zip(offs)
        .zip(vals)
        .zip(ok)
    {
        let (Some(&s), Some(&t)) = (row.get(k2), row.get(k2 + 1)) else {
            continue;
        };
        let n = parse_u64_at(file, off + s as usize, t.wrapping_sub(s) as usize);
        (*v, *k) = (n.unwrap_or(0), n.is_some());
    }
}

/// Something to run with the widest [`Masker`] this CPU has: `run` is compiled once per masker,
/// each copy with the instructions its masker needs enabled.
pub trait WithMasker {
    /// What `run` returns.
    type Out;
    /// Runs with masker `m`.
    fn run<M: Masker>(self, m: M) -> Self::Out;
}

/// Runs `f` with the widest [`Masker`] the CPU has (the check is cached by the standard
/// library: a load and a test).
#[inline]
pub fn with_masker<F: WithMasker>(f: F) -> F::Out {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(
            enable = "avx512f,avx512bw,avx512dq,avx512vbmi2,avx2,bmi1,bmi2,popcnt,lzcnt"
        )]
        fn avx512<F: WithMasker>(f: F) -> F::Out {
            f.run(Avx512(()))
        }
        #[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
        fn avx2<F: WithMasker>(f: F) -> F::Out {
            f.run(Avx2(()))
        }
        if has_avx512() {
            // SAFETY: the CPU has every feature `avx512` is compiled for (`has_avx512`).
            return unsafe { avx512(f) };
        }
        if has_avx2() {
            // SAFETY: the CPU has every feature `avx2` is compiled for (`has_avx2`).
            return unsafe { avx2(f) };
        }
    }
    f.run(Sse2)
}

/// The CPU has what the AVX2 variant of [`with_masker`] is compiled for.
#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("lzcnt")
}

/// The CPU has what the AVX-512 variant of [`with_masker`] is compiled for.
#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx512() -> bool {
    has_avx2()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
}
