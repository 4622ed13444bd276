//! Request-pattern suspects: features of in-flight requests tested against the site's
//! baseline busy time (see the parent module's docs).

use super::*;

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
    let ng = corr.groups.len();
    let mut notes = Vec::new();
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
        for &ci in &group.incidents {
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
    if cands.iter().all(Vec::is_empty) {
        return (Vec::new(), notes);
    }
    let base = baseline_counts(t, opts, corr, &index, needed);
    // A W3C row is "in flight" when `[time − time-taken − slack, time + slack]` holds the crash:
    // its chance of being caught is proportional to its duration plus twice the slack.
    let w3c_extra = BUSY_FLOOR_MS + 2.0 * opts.in_flight_slack_ms.max(0) as f64;

    let mut out = Vec::new();
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
        let tests = group_cands.len();
        let pool = group
            .pool
            .clone()
            .unwrap_or_else(|| "(unknown pool)".into());
        let mut findings: Vec<PatternFinding> = Vec::new();
        let mut explained: Vec<(f64, Cand)> = Vec::new();
        let mut untested = false;
        // Requests without a time-taken weigh the group's mean time-taken (see `null_rate`).
        let all_base = base.all[g].minus(&w3c_all[g]);
        let impute = all_base.mean_ms();
        for (ci, cand) in group_cands.into_iter().enumerate() {
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
            .minus(&w3c_def[g][k]);
            let (b, big_n) = (pat.count, all.count);
            let n = n_def[g][k];
            let n_w3c = w3c_def[g][k].count.min(n);
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
                untested = true;
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
                    explained.push((by_count.p_adjusted, cand));
                }
                continue;
            }
            findings.push(PatternFinding {
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
            });
        }
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
        if !shown.is_empty() {
            let list: Vec<String> = shown
                .iter()
                .take(4)
                .map(|c| format!("{} {}", c.kind.name(), cut(&c.text, 100)))
                .collect();
            notes.push(format!(
                "app pool {pool}: {} pattern{} in flight at several crashes {} over-represented against {} share of baseline requests but not against {} share of baseline busy time (slow requests spend longer in flight), so {} not {}: {}{}",
                shown.len(),
                if shown.len() == 1 { "" } else { "s" },
                if shown.len() == 1 { "is" } else { "are" },
                if shown.len() == 1 { "its" } else { "their" },
                if shown.len() == 1 { "its" } else { "their" },
                if shown.len() == 1 { "it is" } else { "they are" },
                if shown.len() == 1 { "a suspect" } else { "suspects" },
                list.join("; "),
                if shown.len() > 4 { "; …" } else { "" }
            ));
        }
        if untested {
            notes.push(format!(
                "app pool {pool}: fewer than {MIN_BASELINE} baseline requests for some features, so those request patterns were not tested against baseline traffic"
            ));
        }
        // Patterns matching exactly the same in-flight requests say one thing: keep the most
        // significant (then most specific), list the others as `same_requests`.
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
        out.extend(kept);
    }
    out.sort_by_key(|f| f.group);
    (out, notes)
}
