//! Request-pattern suspects: features of in-flight requests tested against the site's
//! baseline busy time (see the parent module's docs).

use super::*;
use crate::analyze::correlate::Baseline;

/// One candidate request pattern of a group.
pub(super) struct Cand {
    pub(super) kind: FeatureKind,
    pub(super) text: String,
    /// In-flight rows: (is_w3c, row index).
    pub(super) rows: BTreeSet<(bool, usize)>,
    pub(super) incidents: BTreeSet<usize>,
}

pub(super) struct PatternFinding {
    pub(super) group: usize,
    pub(super) cand: Cand,
    pub(super) stats: PatternStats,
    pub(super) tested: bool,
    pub(super) incidents_considered: usize,
}

pub(crate) fn fmt_lift(l: f64) -> String {
    if !l.is_finite() {
        "∞".into()
    } else if l >= 100.0 {
        format!("{l:.0}")
    } else {
        format!("{l:.1}")
    }
}

/// A share as a percentage: `9.1 %`, `0.44 %`, `< 0.01 %`, `0 %`.
pub(crate) fn fmt_pct(share: f64) -> String {
    let pct = share * 100.0;
    if !pct.is_finite() || pct <= 0.0 {
        "0 %".into()
    } else if pct >= 1.0 {
        format!("{pct:.1} %")
    } else if pct >= 0.01 {
        format!("{pct:.2} %")
    } else {
        "< 0.01 %".into()
    }
}

/// A p-value: three decimals, or scientific below 0.001.
pub(crate) fn fmt_p(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

pub(super) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The null rate of a pattern among `n` in-flight requests of which `n_w3c` are W3C rows: each
/// HTTPERR abandonment was truly in flight, so it has the pattern with probability `busy` (the
/// pattern's share of baseline busy time); a W3C row was matched with the slack window, so with
/// probability `slack` (the share of busy time widened by twice the slack per request). The test
/// uses the mean of the two, weighted by how many in-flight rows of each kind there are: the sum of
/// the two binomials is a Poisson-binomial, whose upper tail above its mean + 1 is bounded by the
/// binomial's with the same mean (Hoeffding 1956), so the exact binomial test stays conservative.
pub(crate) fn null_rate(busy: f64, slack: f64, n: u64, n_w3c: u64) -> f64 {
    if n == 0 {
        return busy;
    }
    let n_w3c = n_w3c.min(n);
    ((n - n_w3c) as f64 * busy + n_w3c as f64 * slack) / n as f64
}

pub(super) fn find_patterns(
    t: &Tables,
    opts: &AnalyzeOptions,
    tl: &Tl,
    corr: &Correlation,
) -> (Vec<PatternFinding>, Vec<String>) {
    let mut notes = Vec::new();
    let cc = candidates(t, tl, corr);
    if cc.cands.iter().all(Vec::is_empty) {
        return (Vec::new(), notes);
    }
    let base = baseline_counts(t, opts, corr, &cc.index, cc.needed);
    // A W3C row is "in flight" when `[time − time-taken − slack, time + slack]` holds the crash:
    // its chance of being caught is proportional to its duration plus twice the slack.
    let w3c_extra = BUSY_FLOOR_MS + 2.0 * opts.in_flight_slack_ms.max(0) as f64;
    let mut out = Vec::new();
    let Candidates {
        cands,
        n_def,
        w3c_def,
        w3c_all,
        ..
    } = cc;
    for (g, group_cands) in cands.into_iter().enumerate() {
        if group_cands.is_empty() {
            continue;
        }
        let group = &corr.groups[g];
        let considered = group
            .incidents
            .iter()
            .filter(|&&ci| tl.clusters[ci].kind == IncidentKind::Crash)
            .count()
            .max(1);
        let pool = group
            .pool
            .clone()
            .unwrap_or_else(|| "(unknown pool)".into());
        let ctx = GroupTest {
            t,
            g,
            tests: group_cands.len(),
            considered,
            base: &base,
            n_def: &n_def[g],
            w3c_def: &w3c_def[g],
            // Requests without a time-taken weigh the group's mean time-taken (see `null_rate`).
            impute: base.all[g].minus(&w3c_all[g]).mean_ms(),
            w3c_extra,
        };
        let mut findings: Vec<PatternFinding> = Vec::new();
        let mut explained: Vec<(f64, Cand)> = Vec::new();
        let mut untested = false;
        for (ci, cand) in group_cands.into_iter().enumerate() {
            let (tested, outcome) = ctx.test(ci, cand);
            untested |= !tested;
            match outcome {
                Outcome::Suspect(f) => findings.push(*f),
                Outcome::Explained(p, c) => explained.push((p, c)),
                Outcome::Dropped => {}
            }
        }
        notes.extend(explained_note(&pool, explained, &findings));
        if untested {
            notes.push(format!(
                "app pool {pool}: fewer than {MIN_BASELINE} baseline requests for some features, so those request patterns were not tested against baseline traffic"
            ));
        }
        out.extend(rank_findings(findings));
    }
    out.sort_by_key(|f| f.group);
    (out, notes)
}

/// The candidate patterns of each group's in-flight requests, and what the tests need.
struct Candidates {
    /// Per group, keyed by feature hash through `index`.
    cands: Vec<Vec<Cand>>,
    index: Vec<HashIndex>,
    /// In-flight rows per group and, per kind, how many define the feature.
    n_def: Vec<[u64; 7]>,
    /// The W3C in-flight rows, to take out of the baseline: per kind where defined, and all.
    w3c_def: Vec<[Busy; 7]>,
    w3c_all: Vec<Busy>,
    /// The feature kinds any candidate has.
    needed: [bool; 7],
}

fn candidates(t: &Tables, tl: &Tl, corr: &Correlation) -> Candidates {
    let ng = corr.groups.len();
    // Candidates per group, keyed by feature hash.
    let mut cands: Vec<Vec<Cand>> = (0..ng).map(|_| Vec::new()).collect();
    let mut index: Vec<HashIndex> = vec![HashIndex::default(); ng];
    // In-flight rows per group and, per kind, how many define the feature (all / W3C only).
    let mut n_def = vec![[0u64; 7]; ng];
    // The W3C in-flight rows, to take out of the baseline: per kind where defined, and all.
    let mut w3c_def = vec![[Busy::default(); 7]; ng];
    let mut w3c_all = vec![Busy::default(); ng];
    let mut needed = [false; 7];
    for (g, group) in corr.groups.iter().enumerate() {
        let mut rows: BTreeMap<(bool, usize), BTreeSet<usize>> = BTreeMap::new();
        // Requests in flight at a hang, a recycle or a manual dump say nothing of a crash.
        let crashes = group
            .incidents
            .iter()
            .filter(|&&ci| tl.clusters[ci].kind == IncidentKind::Crash);
        for &ci in crashes {
            for &i in &tl.clusters[ci].abandoned {
                rows.entry((false, i)).or_default().insert(ci);
            }
            for &i in &corr.in_flight[ci] {
                rows.entry((true, i)).or_default().insert(ci);
            }
        }
        for ((w3c, i), incs) in rows {
            let view = if w3c {
                w3c_all[g].add(t.requests.time_taken_ms.get(i));
                w3c_view(t, i)
            } else {
                httperr_view(t, i)
            };
            for k in KINDS {
                let text = feature_text(k, &view);
                if text.is_some() || k.always_defined() {
                    n_def[g][k.index()] += 1;
                    if w3c {
                        w3c_def[g][k.index()].add(t.requests.time_taken_ms.get(i));
                    }
                }
                let Some((hash, text)) = text else { continue };
                needed[k.index()] = true;
                let ix = *index[g].entry(hash).or_insert_with(|| {
                    cands[g].push(Cand {
                        kind: k,
                        text,
                        rows: BTreeSet::new(),
                        incidents: BTreeSet::new(),
                    });
                    cands[g].len() - 1
                });
                let c = &mut cands[g][ix];
                c.rows.insert((w3c, i));
                c.incidents.extend(incs.iter().copied());
            }
        }
    }
    Candidates {
        cands,
        index,
        n_def,
        w3c_def,
        w3c_all,
        needed,
    }
}

/// One group's candidates tested against its baseline.
struct GroupTest<'a> {
    t: &'a Tables,
    g: usize,
    /// Candidates tested (the Bonferroni correction).
    tests: usize,
    /// Crashes the group's pool had.
    considered: usize,
    base: &'a Baseline,
    n_def: &'a [u64; 7],
    w3c_def: &'a [Busy; 7],
    /// The time-taken a request without one weighs.
    impute: f64,
    /// What a W3C row's chance of being in flight adds to its duration.
    w3c_extra: f64,
}

/// What a candidate turned out to be.
enum Outcome {
    Suspect(Box<PatternFinding>),
    /// Over-represented by request count, not by busy time: named in a note (p by count).
    Explained(f64, Cand),
    Dropped,
}

impl GroupTest<'_> {
    /// Tests candidate `ci`: whether it could be tested at all, and the outcome.
    fn test(&self, ci: usize, cand: Cand) -> (bool, Outcome) {
        let (t, g, base, tests) = (self.t, self.g, self.base, self.tests);
        let (considered, impute, w3c_extra) = (self.considered, self.impute, self.w3c_extra);
        let k = cand.kind.index();
        let x = cand.rows.len() as u64;
        let mut w3c_in = Busy::default();
        for &(w, i) in &cand.rows {
            if w {
                w3c_in.add(t.requests.time_taken_ms.get(i));
            }
        }
        let pat = base.cands[g]
            .get(ci)
            .copied()
            .unwrap_or_default()
            .minus(&w3c_in);
        let all = if cand.kind.always_defined() {
            base.all[g]
        } else {
            base.kinds[g][k]
        }
        .minus(&self.w3c_def[k]);
        let (b, big_n) = (pat.count, all.count);
        let n = self.n_def[k];
        let n_w3c = self.w3c_def[k].count.min(n);
        let tested = big_n >= MIN_BASELINE;
        let busy = pat.weight(BUSY_FLOOR_MS, impute);
        let busy_total = all.weight(BUSY_FLOOR_MS, impute);
        let null = null_rate(
            stats::busy_rate(busy, busy_total, big_n),
            stats::busy_rate(
                pat.weight(w3c_extra, impute),
                all.weight(w3c_extra, impute),
                big_n,
            ),
            n,
            n_w3c,
        );
        let test = stats::test_rate(x, n, null, tests);
        let keep = if tested {
            test.p_adjusted < ALPHA && test.lift > 2.0
        } else {
            // Without a baseline only repetition across crashes means anything.
            cand.incidents.len() >= 2 && cand.incidents.len() == considered && x >= 2
        };
        if !keep {
            // Would the request-count share have blamed it? Then say why it is not blamed.
            let by_count = stats::test(x, n, b, big_n, tests);
            if tested
                && cand.incidents.len() >= 2
                && by_count.p_adjusted < ALPHA
                && by_count.lift > 2.0
            {
                return (tested, Outcome::Explained(by_count.p_adjusted, cand));
            }
            return (tested, Outcome::Dropped);
        }
        let finding = PatternFinding {
            group: g,
            stats: PatternStats {
                feature: cand.kind,
                in_flight: x,
                in_flight_total: n,
                baseline: b,
                baseline_total: big_n,
                baseline_share: ratio(b as f64, big_n as f64),
                baseline_busy_ms: busy,
                baseline_busy_total_ms: busy_total,
                baseline_busy_share: ratio(busy, busy_total),
                baseline_untimed: pat.untimed(),
                null_rate: null,
                in_flight_w3c: n_w3c,
                lift: if tested { test.lift } else { 0.0 },
                p_value: if tested { test.p_value } else { 1.0 },
                p_adjusted: if tested { test.p_adjusted } else { 1.0 },
                tests,
                same_requests: Vec::new(),
            },
            cand,
            tested,
            incidents_considered: considered,
        };
        (tested, Outcome::Suspect(Box::new(finding)))
    }
}

/// The note on patterns the request-count share would have blamed but the busy-time share does
/// not (slow requests spend longer in flight), leaving out those that share a request with a
/// suspect.
fn explained_note(
    pool: &str,
    mut explained: Vec<(f64, Cand)>,
    findings: &[PatternFinding],
) -> Option<String> {
    explained.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.kind.cmp(&b.1.kind))
            .then(a.1.text.cmp(&b.1.text))
    });
    // Patterns sharing a request with a suspect are that suspect's business, not "explained".
    let mut shown: Vec<&Cand> = Vec::new();
    for (_, c) in &explained {
        if !shown.iter().any(|s| s.rows == c.rows)
            && !findings
                .iter()
                .any(|f| f.cand.rows.intersection(&c.rows).next().is_some())
        {
            shown.push(c);
        }
    }
    if shown.is_empty() {
        return None;
    }
    let list: Vec<String> = shown
        .iter()
        .take(4)
        .map(|c| format!("{} {}", c.kind.name(), cut(&c.text, 100)))
        .collect();
    Some(format!(
        "app pool {pool}: {} pattern{} in flight at several crashes {} over-represented against {} share of baseline requests but not against {} share of baseline busy time (slow requests spend longer in flight), so {} not {}: {}{}",
        shown.len(),
        if shown.len() == 1 { "" } else { "s" },
        if shown.len() == 1 { "is" } else { "are" },
        if shown.len() == 1 { "its" } else { "their" },
        if shown.len() == 1 { "its" } else { "their" },
        if shown.len() == 1 {
            "it is"
        } else {
            "they are"
        },
        if shown.len() == 1 {
            "a suspect"
        } else {
            "suspects"
        },
        list.join("; "),
        if shown.len() > 4 { "; …" } else { "" }
    ))
}

/// Patterns matching exactly the same in-flight requests say one thing: keep the most
/// significant (then most specific), list the others as `same_requests`; then rank and keep
/// [`MAX_PATTERNS`].
fn rank_findings(mut findings: Vec<PatternFinding>) -> Vec<PatternFinding> {
    findings.sort_by(|a, b| {
        a.stats
            .p_adjusted
            .total_cmp(&b.stats.p_adjusted)
            .then(a.cand.kind.cmp(&b.cand.kind))
            .then(a.cand.text.cmp(&b.cand.text))
    });
    let mut kept: Vec<PatternFinding> = Vec::new();
    for f in findings {
        if let Some(k) = kept.iter_mut().find(|k| k.cand.rows == f.cand.rows) {
            k.stats.same_requests.push(format!(
                "{}: {}",
                f.cand.kind.name(),
                cut(&f.cand.text, 200)
            ));
            continue;
        }
        kept.push(f);
    }
    kept.sort_by(|a, b| {
        b.cand
            .incidents
            .len()
            .cmp(&a.cand.incidents.len())
            .then(a.stats.p_adjusted.total_cmp(&b.stats.p_adjusted))
            .then(b.stats.lift.total_cmp(&a.stats.lift))
            .then(a.cand.kind.cmp(&b.cand.kind))
            .then(a.cand.text.cmp(&b.cand.text))
    });
    kept.truncate(MAX_PATTERNS);
    kept
}
