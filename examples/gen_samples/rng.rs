//! A small deterministic PRNG and the distributions the traffic model needs.
//!
//! splitmix64 (Steele, Lea, Flood 2014): one `u64` of state, good enough statistics for test
//! data, trivially reproducible. No `rand` dependency, so a crate upgrade can never change the
//! committed samples.
//!
//! Only correctly rounded IEEE operations (`+ - * /`, `sqrt`) are used: `f64::ln`, `exp`, `cos`
//! come from the platform's libm and may differ in the last bit between systems, which would
//! make the "byte-identical on every machine" promise depend on luck.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// An independent stream for one part of the model, so adding draws in one part does not
    /// shift every value in the others.
    pub fn fork(&self, tag: u64) -> Rng {
        let mut r = Rng(self.0 ^ tag.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in [lo, hi].
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal, Irwin–Hall (sum of 12 uniforms − 6): tails end at ±6σ, which suits
    /// response times (no 10⁹ ms outliers) and needs no transcendental function.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.f64()).sum::<f64>() - 6.0
    }

    /// Log-normal with the given median and shape.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * exp(sigma * self.normal())
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    pub fn weighted<T: Copy>(&mut self, xs: &[(T, u32)]) -> T {
        let total: u64 = xs.iter().map(|x| x.1 as u64).sum();
        let mut r = self.below(total);
        for &(v, w) in xs {
            if r < w as u64 {
                return v;
            }
            r -= w as u64;
        }
        xs[xs.len() - 1].0
    }

    pub fn hex(&mut self, digits: usize) -> String {
        const H: &[u8] = b"0123456789abcdef";
        (0..digits)
            .map(|_| H[self.below(16) as usize] as char)
            .collect()
    }

    /// A random (version 4) GUID, lower case, as Windows prints them.
    pub fn guid(&mut self) -> String {
        let a = self.hex(8);
        let b = self.hex(4);
        let c = self.hex(3);
        let d = ["8", "9", "a", "b"][self.below(4) as usize];
        let e = self.hex(3);
        let f = self.hex(12);
        format!("{a}-{b}-4{c}-{d}{e}-{f}")
    }
}

/// e^x from +, *, / only: x = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series, 2^k by
/// building the exponent bits.
pub fn exp(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN2 + if x >= 0.0 { 0.5 } else { -0.5 }) as i64;
    let r = x - k as f64 * LN2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..20 {
        term = term * r / i as f64;
        sum += term;
    }
    sum * f64::from_bits(((k + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_libm() {
        for i in -200..200 {
            let x = i as f64 / 17.0;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-14, "{x}");
        }
    }
}
