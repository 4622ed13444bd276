//! The statistics behind "over-represented among in-flight requests": a one-sided exact binomial
//! test of the in-flight count against the baseline rate, with the lift and a Bonferroni
//! correction for the number of patterns tested.
//!
//! **The null rate is a share of busy time, not of requests.** A crash at a random instant
//! catches a request in flight iff the request started before and ended after it, so the chance
//! that a given request is caught is proportional to its duration (length-biased sampling). Under
//! "the pattern has nothing to do with the crash", the share of in-flight requests with the
//! pattern is therefore its share of baseline *busy time* (Σ durations), not its share of
//! baseline requests: a slow page is in flight far more often than a fast static file requested
//! as often. Comparing with the request-count share would blame every slow popular page. The
//! sums are kept in [`Busy`]; [`busy_rate`] turns them into the smoothed null rate.
//!
//! Why binomial and not chi-square: in-flight sets are small (a handful of requests per crash), so
//! only an exact test is honest; with a baseline of thousands of requests the binomial tail equals
//! the one-sided Fisher exact test for all practical purposes and costs O(n) instead of O(n·N).

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; relative error below 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the approximation in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln C(n, k)`.
pub fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// `P(X ≥ x)` for `X ~ Binomial(n, p)`: the one-sided p-value of seeing `x` or more of `n`
/// in-flight requests with a pattern whose baseline rate is `p`.
pub fn binom_sf(x: u64, n: u64, p: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    if x > n || p <= 0.0 {
        return 0.0;
    }
    if !p.is_finite() || p >= 1.0 {
        return 1.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // Sum the tail in log space from its largest term (at k = x when x is above the mean).
    let terms = (x..=n).map(|k| ln_choose(n, k) + k as f64 * lp + (n - k) as f64 * lq);
    let max = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return 0.0;
    }
    let sum: f64 = terms.map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().clamp(0.0, 1.0)
}

/// `P(X ≥ k)` for `X ~ Poisson(lambda)`: counts of events with no denominator (HTTPERR rows per
/// minute). Summed upward from `k` in log space, so tiny tails stay exact.
pub fn poisson_sf(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if !lambda.is_finite() || lambda <= 0.0 {
        return if lambda > 0.0 { 1.0 } else { 0.0 };
    }
    let ll = lambda.ln();
    let term = |j: u64| -lambda + j as f64 * ll - ln_gamma(j as f64 + 1.0);
    // Below the mean the tail is most of the mass: take the complement of the head instead.
    if (k as f64) < lambda {
        let head: f64 = (0..k).map(|j| term(j).exp()).sum();
        return (1.0 - head).clamp(0.0, 1.0);
    }
    let first = term(k);
    let mut sum = 0.0;
    let mut j = k;
    loop {
        let d = (term(j) - first).exp();
        sum += d;
        j += 1;
        if d < 1e-17 * sum || j > k + 100_000 {
            break;
        }
    }
    (first + sum.ln()).exp().clamp(0.0, 1.0)
}

/// The outcome of testing one pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// Share among in-flight requests divided by the (smoothed) baseline share.
    pub lift: f64,
    /// One-sided binomial p-value.
    pub p_value: f64,
    /// Bonferroni: `min(1, p · tests)`.
    pub p_adjusted: f64,
    /// The baseline rate used, smoothed: `(b + 0.5) / (N + 1)`.
    pub baseline_rate: f64,
}

/// Tests `x` of `n` in-flight requests against `b` of `big_n` baseline requests, `tests` patterns
/// tested in all. The baseline rate is smoothed (`+0.5`, Jeffreys-like) so a pattern never seen in
/// the baseline gets a finite, conservative rate instead of zero. This is the request-count null;
/// the analysis uses [`test_rate`] with a busy-time rate ([`busy_rate`]).
pub fn test(x: u64, n: u64, b: u64, big_n: u64, tests: usize) -> Test {
    test_rate(x, n, (b as f64 + 0.5) / (big_n as f64 + 1.0), tests)
}

/// Tests `x` of `n` in-flight requests against the null rate `rate` (already smoothed), `tests`
/// patterns tested in all.
pub fn test_rate(x: u64, n: u64, rate: f64, tests: usize) -> Test {
    let rate = if rate.is_finite() {
        rate.clamp(f64::MIN_POSITIVE, 1.0)
    } else {
        1.0
    };
    let share = if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let p_value = binom_sf(x, n, rate);
    Test {
        lift: share / rate,
        p_value,
        p_adjusted: (p_value * tests.max(1) as f64).min(1.0),
        baseline_rate: rate,
    }
}

/// How long a request with a logged `time-taken` of `t` ms is counted as busy: `t + 1` ms.
/// `time-taken` is whole milliseconds, truncated, so the request lasted somewhere in `[t, t + 1)`;
/// adding the logging granularity keeps a `0` (a kernel-cache hit) from weighing nothing, and can
/// shift any one request's weight by at most 1 ms.
pub const BUSY_FLOOR_MS: f64 = 1.0;

/// Time-takens above this are capped (a day: longer values are logging garbage, and the cap keeps
/// the integer sums far from overflow).
pub const MAX_TIME_TAKEN_MS: u64 = 86_400_000;

/// Baseline sums of one pattern (or of all requests of a group): how many requests, how many of
/// them logged `time-taken`, and the sum of those time-takens. Integer sums, so adding them up in
/// any order (any thread count) gives the same result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Busy {
    /// Requests.
    pub count: u64,
    /// Requests that logged a time-taken.
    pub timed: u64,
    /// The sum of their time-taken, in ms.
    pub time_ms: u64,
}

impl Busy {
    #[inline]
    /// Adds one request (no time-taken: counted, weighed at the mean later).
    pub fn add(&mut self, time_taken_ms: Option<u64>) {
        self.count += 1;
        if let Some(t) = time_taken_ms {
            self.timed += 1;
            self.time_ms += t.min(MAX_TIME_TAKEN_MS);
        }
    }
    #[inline]
    /// Adds another group of requests.
    pub fn merge(&mut self, o: &Busy) {
        self.count += o.count;
        self.timed += o.timed;
        self.time_ms += o.time_ms;
    }
    /// `self − o`, saturating (to take the in-flight rows out of the baseline).
    pub fn minus(&self, o: &Busy) -> Busy {
        Busy {
            count: self.count.saturating_sub(o.count),
            timed: self.timed.saturating_sub(o.timed),
            time_ms: self.time_ms.saturating_sub(o.time_ms),
        }
    }
    /// Requests without a `time-taken`.
    pub fn untimed(&self) -> u64 {
        self.count.saturating_sub(self.timed)
    }
    /// Mean logged `time-taken` (0 when none was logged).
    pub fn mean_ms(&self) -> f64 {
        if self.timed == 0 {
            0.0
        } else {
            self.time_ms as f64 / self.timed as f64
        }
    }
    /// Busy time in ms: each request weighs its `time-taken + extra_ms`; a request without a
    /// `time-taken` weighs `impute_ms + extra_ms`.
    pub fn weight(&self, extra_ms: f64, impute_ms: f64) -> f64 {
        self.time_ms as f64 + self.untimed() as f64 * impute_ms + self.count as f64 * extra_ms
    }
}

/// The smoothed null rate of a pattern whose baseline requests weigh `w` out of `big_w` over
/// `big_n` requests: `(w + ½·w̄) / (W + w̄)` with `w̄ = W / N` the mean weight of a request. With
/// equal weights this is the request-count rate `(b + 0.5) / (N + 1)`; a pattern never seen in the
/// baseline gets half a typical request, not zero.
pub fn busy_rate(w: f64, big_w: f64, big_n: u64) -> f64 {
    if big_n == 0 || big_w <= 0.0 || !big_w.is_finite() {
        return 1.0;
    }
    let mean = big_w / big_n as f64;
    ((w.max(0.0) + 0.5 * mean) / (big_w + mean)).min(1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn poisson_tail() {
        // P(X ≥ 1 | λ = 1) = 1 − e^-1; P(X ≥ 3 | λ = 1) = 1 − e^-1 (1 + 1 + 1/2).
        assert!((super::poisson_sf(1, 1.0) - (1.0 - (-1f64).exp())).abs() < 1e-12);
        assert!((super::poisson_sf(3, 1.0) - (1.0 - 2.5 * (-1f64).exp())).abs() < 1e-12);
        assert!((super::poisson_sf(2, 5.0) - (1.0 - 6.0 * (-5f64).exp())).abs() < 1e-12);
        // A far tail: P(X ≥ 50 | λ = 1) ≈ e^-1 / 50! (the first term dominates).
        let want = (-1.0 - super::ln_gamma(51.0)).exp();
        let got = super::poisson_sf(50, 1.0);
        assert!((got / want - 1.0).abs() < 0.05, "{got} vs {want}");
        assert_eq!(super::poisson_sf(0, 3.0), 1.0);
    }

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
    }

    #[test]
    fn gamma_matches_factorials() {
        assert!(ln_gamma(1.0).abs() < 1e-12);
        assert!(ln_gamma(2.0).abs() < 1e-12);
        assert!(close(ln_gamma(6.0).exp(), 120.0));
        assert!((ln_gamma(101.0) - 363.739_375_555_563_5).abs() < 1e-9);
    }

    #[test]
    fn binomial_tail() {
        // P(X >= 1 | n = 1, p) = p
        assert!(close(binom_sf(1, 1, 0.25), 0.25));
        // P(X >= 2 | n = 3, p = 0.5) = 4/8
        assert!(close(binom_sf(2, 3, 0.5), 0.5));
        // P(X >= 3 | n = 3, p = 0.1) = 0.001
        assert!(close(binom_sf(3, 3, 0.1), 0.001));
        assert_eq!(binom_sf(0, 10, 0.3), 1.0);
        assert_eq!(binom_sf(11, 10, 0.3), 0.0);
        // Large n stays finite and small.
        let p = binom_sf(50, 60, 0.001);
        assert!(p > 0.0 && p < 1e-100);
    }

    #[test]
    fn popular_url_is_not_significant() {
        // Half the in-flight requests, half the baseline: lift 1, p large.
        let t = test(5, 10, 5_000, 10_000, 20);
        assert!((t.lift - 1.0).abs() < 0.01);
        assert!(t.p_value > 0.3);
        // Rare in baseline, in every crash: lift huge, p tiny.
        let t = test(5, 10, 2, 10_000, 20);
        assert!(t.lift > 1000.0);
        assert!(t.p_adjusted < 1e-10);
    }

    #[test]
    fn busy_sums() {
        let mut a = Busy::default();
        a.add(Some(10));
        a.add(None);
        a.add(Some(u64::MAX));
        assert_eq!(
            a,
            Busy {
                count: 3,
                timed: 2,
                time_ms: 10 + MAX_TIME_TAKEN_MS
            }
        );
        assert_eq!(a.untimed(), 1);
        let mut b = Busy::default();
        b.add(Some(4));
        assert!((b.weight(BUSY_FLOOR_MS, 0.0) - 5.0).abs() < 1e-12);
        // The untimed request weighs the imputed value plus the floor.
        let c = Busy {
            count: 2,
            timed: 1,
            time_ms: 10,
        };
        assert!((c.weight(1.0, 7.0) - (10.0 + 7.0 + 2.0)).abs() < 1e-12);
        assert!((c.mean_ms() - 10.0).abs() < 1e-12);
        let mut m = a;
        m.merge(&b);
        assert_eq!(m.minus(&b), a);
        assert_eq!(b.minus(&a), Busy::default());
    }

    #[test]
    fn busy_rate_reduces_to_count_rate_with_equal_weights() {
        // 5 of 100 requests, every request weighing 3 ms.
        let r = busy_rate(15.0, 300.0, 100);
        assert!(close(r, 5.5 / 101.0), "{r}");
        // Never seen: half a typical request.
        assert!(close(busy_rate(0.0, 300.0, 100), 0.5 / 101.0));
        assert_eq!(busy_rate(0.0, 0.0, 0), 1.0);
        let t = test_rate(3, 10, busy_rate(15.0, 300.0, 100), 1);
        let u = test(3, 10, 5, 100, 1);
        assert!(close(t.p_value, u.p_value) && close(t.lift, u.lift));
    }
}
