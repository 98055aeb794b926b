//! Side A against side B: the benchmarks of two sides paired by id, and each metric compared as
//! its descriptor says — medians by the Hodges–Lehmann shift and its rank test (`shift`), means by
//! Welch's t-test with a bootstrap interval of their ratio, facts exactly — with a verdict in the
//! metric's direction. Benchmarks that ran against several processes per side are compared process
//! by process ([`nested`]), and the rows' p-values are adjusted for their number ([`multiplicity`]).

use std::collections::BTreeMap;

use super::multiplicity::{self, Method};
use super::nested::{self, Units};
use super::verdict::{exact, exact_within, explaining, verdict};
use crate::results::{
    BenchmarkResult, Better, Compared, Comparison, ComparisonRow, Location, MetricDesc, Multiplicity, RunDocument,
    Side, Status, Thresholds,
};
use crate::stats::bootstrap;
use crate::stats::hypothesis::{mann_whitney_p_value, welch_p_value};
use crate::stats::power;
use crate::stats::summary::{mean, median_in_place, Samples};
use crate::stats::{modes, shift};

/// Resamples of the comparison bootstrap: enough for stable 2.5th/97.5th percentiles, few enough
/// to stay cheap when every metric of every benchmark is compared.
const RESAMPLES: usize = 5000;

/// Two samples compared: both locations, their ratios with bootstrap CIs, and both p-values.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleComparison {
    /// Baseline median and mean.
    pub baseline: [f64; 2],
    /// Candidate median and mean.
    pub candidate: [f64; 2],
    /// Ratio of medians (candidate / baseline) and its bootstrap 95% CI.
    pub median_ratio: (f64, [f64; 2]),
    /// Ratio of means and its bootstrap 95% CI.
    pub mean_ratio: (f64, [f64; 2]),
    /// Welch's two-sided p-value.
    pub welch_p: f64,
    /// Mann-Whitney U two-sided p-value.
    pub mann_whitney_p: f64,
}

/// Compares candidate with baseline; `seed` makes the bootstrap reproducible.
pub fn compare_samples(baseline: &Samples, candidate: &Samples, seed: u64) -> SampleComparison {
    let (base, cand) = (baseline.values(), candidate.values());
    let base_median = median_in_place(&mut base.to_vec());
    let cand_median = median_in_place(&mut cand.to_vec());
    let (base_mean, cand_mean) = (mean(base), mean(cand));
    let point = [safe_ratio(cand_median, base_median), safe_ratio(cand_mean, base_mean)];
    let [median_ci, mean_ci] = bootstrap::intervals(&[base, cand], RESAMPLES, seed, point, |bufs, means| {
        let b = median_in_place(&mut bufs[0]);
        let c = median_in_place(&mut bufs[1]);
        [safe_ratio(c, b), safe_ratio(means[1], means[0])]
    });
    SampleComparison {
        baseline: [base_median, base_mean],
        candidate: [cand_median, cand_mean],
        median_ratio: (point[0], median_ci),
        mean_ratio: (point[1], mean_ci),
        welch_p: welch_p_value(base, cand),
        mann_whitney_p: mann_whitney_p_value(base, cand),
    }
}

/// `num / den`, defined when `den` is 0 so that a metric that was 0 on the baseline still compares:
/// 1.0 when both are 0 (nothing changed) and +∞ when only the baseline is 0 (it grew from nothing).
fn safe_ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        if num == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        num / den
    }
}

/// Rows for every benchmark present on both sides, and the ids present on one side only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Comparison rows, in the candidate's order.
    pub rows: Vec<ComparisonRow>,
    /// Only in the candidate.
    pub added: Vec<String>,
    /// Only in the baseline.
    pub removed: Vec<String>,
    /// How the rows' p-values were adjusted for their number.
    pub multiplicity: Option<Multiplicity>,
}

/// Compares each candidate benchmark with the baseline benchmark of the same id; `thresholds`
/// gives the thresholds of a benchmark id (from its package's configuration). The rows' p-values
/// are adjusted as a family by the default method (see [`compare_results_with`]).
pub fn compare_results(
    baseline: &[BenchmarkResult],
    candidate: &[BenchmarkResult],
    thresholds: &dyn Fn(&str) -> Thresholds,
) -> Rows {
    compare_results_with(baseline, candidate, thresholds, Method::default())
}

/// [`compare_results`], with the rows' p-values adjusted by `method` for their number: the gating
/// rows with a p-value are one family, the explaining ones another (see [`multiplicity`]). Each
/// row's stated power is for a change in that row alone at the level the family leaves it.
pub fn compare_results_with(
    baseline: &[BenchmarkResult],
    candidate: &[BenchmarkResult],
    thresholds: &dyn Fn(&str) -> Thresholds,
    method: Method,
) -> Rows {
    let base_by_id: BTreeMap<&str, &BenchmarkResult> = baseline.iter().map(|b| (b.id.as_str(), b)).collect();
    let pairs: Vec<(&BenchmarkResult, &BenchmarkResult)> =
        candidate.iter().filter_map(|c| Some((*base_by_id.get(c.id.as_str())?, c))).collect();
    let family = family_sizes(&pairs);
    let mut out = Rows::default();
    for cand in candidate {
        match base_by_id.get(cand.id.as_str()) {
            Some(base) => {
                let t = thresholds(&cand.id);
                let level = |gates: bool| {
                    let m = if gates { family[0] } else { family[1] };
                    if method == Method::None {
                        t.significance
                    } else {
                        t.significance / m.max(1) as f64
                    }
                };
                out.rows.extend(compare_one(base, cand, &t, &level));
            }
            None => out.added.push(cand.id.clone()),
        }
    }
    let cand_ids: Vec<&str> = candidate.iter().map(|c| c.id.as_str()).collect();
    out.removed = baseline.iter().filter(|b| !cand_ids.contains(&b.id.as_str())).map(|b| b.id.clone()).collect();
    let desc_of = |r: &ComparisonRow| {
        candidate
            .iter()
            .find(|c| c.id == r.id)
            .and_then(|c| c.metrics.get(&r.metric))
            .map_or(Better::Lower, |d| d.better)
    };
    let [gating, explaining] =
        multiplicity::apply(&mut out.rows, method, &desc_of, &|r: &ComparisonRow| thresholds(&r.id).significance);
    out.multiplicity = Some(Multiplicity { method, gating, explaining });
    out
}

/// Every metric of `cand` against `base`, whatever their ids (a benchmark against its reference).
pub fn compare_pair(base: &BenchmarkResult, cand: &BenchmarkResult, thresholds: &Thresholds) -> Vec<ComparisonRow> {
    compare_one(base, cand, thresholds, &|_| thresholds.significance)
}

/// The metrics two results compare: the candidate's descriptors, in its declared order, then the
/// baseline's that the candidate lacks; metrics neither describes (a file without descriptors)
/// are not compared.
fn compared<'a>(base: &'a BenchmarkResult, cand: &'a BenchmarkResult) -> Vec<(&'a str, &'a MetricDesc)> {
    let descriptors = cand.metrics.iter().chain(base.metrics.iter().filter(|(n, _)| !cand.metrics.contains_key(n)));
    let mut out: Vec<(&str, &MetricDesc)> = Vec::new();
    for (metric, desc) in descriptors {
        if !out.iter().any(|(m, _)| *m == metric) {
            out.push((metric, desc));
        }
    }
    out
}

/// How many rows with a p-value the comparison of these pairs makes: gating, explaining.
fn family_sizes(pairs: &[(&BenchmarkResult, &BenchmarkResult)]) -> [usize; 2] {
    let mut sizes = [0; 2];
    for (base, cand) in pairs.iter().filter(|(b, c)| b.status == Status::Ok && c.status == Status::Ok) {
        for (metric, desc) in compared(base, cand) {
            if desc.compare != Location::Exact && sampled(base, metric).is_some() && sampled(cand, metric).is_some() {
                sizes[usize::from(!desc.gates)] += 1;
            }
        }
    }
    sizes
}

/// The samples of a metric, when there are any and all are finite.
fn sampled(r: &BenchmarkResult, metric: &str) -> Option<Samples> {
    Samples::new(r.samples.get(metric)?.as_f64())
}

/// `level(gates)`: the significance at which a row's power is stated.
fn compare_one(
    base: &BenchmarkResult,
    cand: &BenchmarkResult,
    thresholds: &Thresholds,
    level: &dyn Fn(bool) -> f64,
) -> Vec<ComparisonRow> {
    if base.status != Status::Ok || cand.status != Status::Ok {
        return vec![status_row(base, cand)];
    }
    let mut rows = Vec::new();
    for (metric, desc) in compared(base, cand) {
        let row = match desc.compare {
            Location::Exact => exact_row(base, cand, metric, desc, thresholds),
            Location::Median | Location::Mean => nested_row(base, cand, metric, desc, thresholds, level(desc.gates))
                .or_else(|| sampled_row(base, cand, metric, desc, thresholds, level(desc.gates))),
        };
        rows.extend(row);
    }
    rows
}

/// The noise band of a metric's verdict: the configured `noise`, or wider where the host's
/// calibration of this benchmark says so, or — without one — where the metric's family
/// default is wider.
pub fn noise_band(cand: &BenchmarkResult, metric: &str, desc: &MetricDesc, thresholds: &Thresholds) -> f64 {
    let floor = cand.config.calibrated_noise.get(metric).copied().or(desc.noise).unwrap_or(0.0);
    thresholds.noise.max(floor)
}

/// A metric of two sides that ran against several processes each, compared process by process
/// ([`nested`]); `None` when either side did not.
fn nested_row(
    base: &BenchmarkResult,
    cand: &BenchmarkResult,
    metric: &str,
    desc: &MetricDesc,
    thresholds: &Thresholds,
    level: f64,
) -> Option<ComparisonRow> {
    let b = Units::new(sampled(base, metric)?.values(), &base.processes)?;
    let c = Units::new(sampled(cand, metric)?.values(), &cand.processes)?;
    let n = nested::compare(&b, &c);
    let noise = noise_band(cand, metric, desc, thresholds);
    let judged = Thresholds { noise, ..*thresholds };
    let verdict = explaining(verdict(n.p, n.ci95, n.ratio, &judged, desc.better), desc.gates);
    let finite = n.ratio.is_finite() && n.ci95.iter().all(|x| x.is_finite());
    let detectable = (n.log && n.se.is_finite()).then(|| nested::detectable(n.se, n.df, level, power::POWER));
    let fewest = n.processes[0].min(n.processes[1]);
    let means_ratio = n.means[1] / n.means[0];
    Some(ComparisonRow {
        location: Some(Compared::Mean),
        baseline: Some(n.means[0]),
        candidate: Some(n.means[1]),
        ratio: finite.then_some(n.ratio),
        ci95: finite.then_some(n.ci95),
        ratio_of_means: means_ratio.is_finite().then_some(means_ratio),
        p_value: Some(n.p),
        test: Some(if n.paired { "paired_t" } else { "welch_processes" }.into()),
        detectable,
        runs_to_see_noise: detectable.filter(|d| *d > noise).map(|d| nested::processes_to_see(fewest, d, noise)),
        noise: Some(noise),
        processes: Some(n.processes),
        df: Some(n.df),
        note: (!finite).then(|| "the baseline's mean is 0, so there is no ratio".to_string()),
        ..plain_row(&cand.id, metric, verdict, desc.gates)
    })
}

fn sampled_row(
    base: &BenchmarkResult,
    cand: &BenchmarkResult,
    metric: &str,
    desc: &MetricDesc,
    thresholds: &Thresholds,
    level: f64,
) -> Option<ComparisonRow> {
    let b = Samples::new(base.samples.get(metric)?.as_f64())?;
    let c = Samples::new(cand.samples.get(metric)?.as_f64())?;
    let m = compare_samples(&b, &c, seed_for(&cand.id, metric));
    let by_mean = desc.compare == Location::Mean;
    // A metric compared by its median is judged by the Hodges–Lehmann shift (paired run by run
    // when the sides ran interleaved) at the row's significance, which stays put when runs move
    // between two modes, where the ratio of medians jumps; with a value that is not positive (no
    // log scale) by the medians and the Mann-Whitney test. Means are judged by Welch's test.
    let shifted = (!by_mean).then(|| shift::shift(b.values(), c.values(), thresholds.significance)).flatten();
    let (location, test, p, index, (ratio, ci95)) = match shifted {
        _ if by_mean => (Compared::Mean, "welch", m.welch_p, 1, m.mean_ratio),
        Some(s) => (Compared::Shift, s.test(), s.p_value, 0, (s.ratio, s.ci)),
        None => (Compared::Median, "mann_whitney", m.mann_whitney_p, 0, m.median_ratio),
    };
    let noise = noise_band(cand, metric, desc, thresholds);
    let judged = Thresholds { noise, ..*thresholds };
    let verdict = explaining(verdict(p, ci95, ratio, &judged, desc.better), desc.gates);
    // What the comparison could detect, from the interval the verdict read where there is one.
    let detectable = match shifted {
        Some(s) => power::detectable_from_interval(s.ci, thresholds.significance, level),
        None => power::detectable_between_at(b.values(), c.values(), level),
    };
    // A ratio over a zero baseline is infinite, which JSON cannot hold: leave it out.
    let finite = ratio.is_finite() && ci95.iter().all(|x| x.is_finite());
    let (means_ratio, means_ci) = m.mean_ratio;
    let headline = cand.headline().is_some_and(|(name, _)| name == metric);
    Some(ComparisonRow {
        id: cand.id.clone(),
        metric: metric.to_string(),
        location: Some(location),
        baseline: Some(m.baseline[index]),
        candidate: Some(m.candidate[index]),
        ratio: finite.then_some(ratio),
        ci95: finite.then_some(ci95),
        ratio_of_means: means_ratio.is_finite().then_some(means_ratio),
        ratio_of_means_ci95: means_ci.iter().all(|x| x.is_finite()).then_some(means_ci),
        p_value: Some(p),
        test: Some(test.into()),
        welch_p: Some(m.welch_p),
        mann_whitney_p: Some(m.mann_whitney_p),
        detectable,
        runs_to_see_noise: detectable
            .filter(|d| *d > noise)
            .map(|d| power::runs_to_see(b.values().len().min(c.values().len()) as u64, d, noise)),
        p_adjusted: None,
        noise: Some(noise),
        processes: None,
        df: None,
        verdict,
        gating: desc.gates,
        note: (!finite).then(|| format!("the baseline's {} is 0, so there is no ratio", location.as_str())),
        ci_level: (shifted.is_some() && thresholds.significance != power::ALPHA)
            .then_some(1.0 - thresholds.significance),
        modes: (headline && !by_mean).then(|| modes::compare_shares(b.values(), c.values())).flatten(),
    })
}

/// A row without statistics: a fact compared exactly, or a status.
fn plain_row(id: &str, metric: &str, verdict: crate::results::Verdict, gating: bool) -> ComparisonRow {
    ComparisonRow {
        id: id.to_string(),
        metric: metric.to_string(),
        location: None,
        baseline: None,
        candidate: None,
        ratio: None,
        ci95: None,
        ratio_of_means: None,
        ratio_of_means_ci95: None,
        p_value: None,
        test: None,
        welch_p: None,
        mann_whitney_p: None,
        detectable: None,
        runs_to_see_noise: None,
        p_adjusted: None,
        noise: None,
        processes: None,
        df: None,
        verdict,
        gating,
        note: None,
        ci_level: None,
        modes: None,
    }
}

/// A fact compares exactly: one value per side.
fn exact_row(
    base: &BenchmarkResult,
    cand: &BenchmarkResult,
    metric: &str,
    desc: &MetricDesc,
    thresholds: &Thresholds,
) -> Option<ComparisonRow> {
    let (b, c) = (*base.values.get(metric)?, *cand.values.get(metric)?);
    let ratio = (b != 0.0).then(|| c / b);
    let verdict = match desc.tolerance {
        Some(tolerance) => explaining(exact_within(b, c, tolerance, thresholds, desc.better), desc.gates),
        None => exact(b, c, desc.better, desc.gates),
    };
    Some(ComparisonRow {
        baseline: Some(b),
        candidate: Some(c),
        ratio,
        ci95: ratio.map(|r| [r, r]),
        ..plain_row(&cand.id, metric, verdict, desc.gates)
    })
}

/// A benchmark that failed on either side compares exactly, by status.
fn status_row(base: &BenchmarkResult, cand: &BenchmarkResult) -> ComparisonRow {
    let describe = |b: &BenchmarkResult| match b.status {
        Status::Ok => "ok".to_string(),
        Status::Failed => format!("failed ({})", b.reason.as_deref().unwrap_or("unknown")),
        Status::Skipped => format!("skipped ({})", b.reason.as_deref().unwrap_or("unknown")),
    };
    let verdict = match (base.status, cand.status) {
        (Status::Failed, Status::Failed) => crate::results::Verdict::NoChange,
        (_, Status::Failed) => crate::results::Verdict::Failure,
        (Status::Failed, Status::Ok) => crate::results::Verdict::Improved,
        _ => crate::results::Verdict::NoChange,
    };
    ComparisonRow {
        note: Some(format!("baseline {}, candidate {}", describe(base), describe(cand))),
        ..plain_row(&cand.id, "status", verdict, true)
    }
}

/// A fixed seed per benchmark and metric: the same samples always give the same verdict.
fn seed_for(id: &str, metric: &str) -> u64 {
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes().chain([0]).chain(metric.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A comparison of `candidate` with a saved result document (`--baseline`, `diff`): not
/// interleaved. Thresholds come from each candidate benchmark's recorded configuration; `noise`
/// overrides theirs.
pub fn against_document(
    base: &RunDocument,
    base_label: String,
    candidate: &[BenchmarkResult],
    candidate_side: Side,
    noise: Option<f64>,
    method: Method,
) -> Comparison {
    let thresholds: BTreeMap<&str, Thresholds> =
        candidate.iter().map(|b| (b.id.as_str(), b.config.thresholds)).collect();
    let rows = compare_results_with(
        &base.benchmarks,
        candidate,
        &|id| {
            let mut t = thresholds.get(id).copied().unwrap_or_default();
            if let Some(noise) = noise {
                t.noise = noise;
            }
            t
        },
        method,
    );
    Comparison {
        baseline: Side {
            label: base_label,
            sha: base.git.as_ref().map(|g| g.sha.clone()),
            dirty: base.git.as_ref().is_some_and(|g| g.dirty),
        },
        candidate: candidate_side,
        interleaved: false,
        rows: rows.rows,
        added: rows.added,
        removed: rows.removed,
        baseline_benchmarks: base.benchmarks.clone(),
        skipped: Vec::new(),
        multiplicity: rows.multiplicity,
    }
}

#[cfg(test)]
#[path = "pairing_tests.rs"]
pub(crate) mod tests;
