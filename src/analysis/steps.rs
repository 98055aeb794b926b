//! Where a series changed level: the steps of a history, found by binary segmentation over the
//! log ratios, each point weighted by its own confidence interval, with the noise band as the
//! smallest step worth marking.
//!
//! The model: point `i` of a level is `y_i = ln(ratio_i) = μ + ε_i` with `Var(ε_i) = s_i² + τ²`,
//! where `s_i` is the point's own standard error (from its 95% CI) and `τ²` what varies between
//! points beyond it (each point is a different session and build), estimated robustly from the
//! differences of neighbours so that the steps themselves barely count. A split of a segment at
//! `k` compares the weighted means of both sides; the split with the largest `|z|` (the
//! likelihood ratio of one change against none) is taken when it is significant at a level
//! corrected for the number of places a step could be (Bonferroni: `|Δ| / se > z_crit`, a 5%
//! chance of any false step in a series of identical code when the model holds) and larger than
//! the noise band (`|Δ| > ln(1 + noise)`). Both halves are split again, and at the end
//! every step is checked again between its final neighbouring levels; the weakest that no longer
//! passes is merged away until all pass. A series of identical code thus marks no step except by
//! a chance smaller than 5% per series, and one lone noisy point cannot make one unless it is far
//! outside everything its CI and the series' spread allow.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::stats::summary::median_in_place;

/// z of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;
/// The median absolute deviation times this estimates a normal distribution's standard deviation.
const MAD_TO_SD: f64 = 1.4826;
/// The smallest standard error a point is given (0.01%), so that a point whose interval has no
/// width (a count that did not vary) cannot outweigh all the others.
const MIN_SE: f64 = 1e-4;
/// The family-wise error rate of marking a step in a series without one.
const FAMILY_ALPHA: f64 = 0.05;

/// One point: an estimate (a ratio to the anchor, or a positive value) and its 95% CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The estimate; positive.
    pub value: f64,
    /// Its 95% confidence interval.
    pub ci95: [f64; 2],
}

/// A run of points at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Position of its first measured point.
    pub from: usize,
    /// Position of its last measured point.
    pub to: usize,
    /// The level, on the estimates' scale.
    pub value: f64,
    /// Its 95% CI.
    pub ci95: [f64; 2],
}

/// A change of level between two neighbouring runs of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Position of the first point at the new level.
    pub at: usize,
    /// Position of the last measured point at the old level (`at − 1` unless points in between
    /// have no estimate).
    pub after: usize,
    /// New level / old level − 1.
    pub change: f64,
    /// The 95% CI of `change`.
    pub ci95: [f64; 2],
}

/// The levels and steps of a series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segmentation {
    /// The levels, in order; none when no point has an estimate.
    pub levels: Vec<Level>,
    /// The steps between them.
    pub steps: Vec<Step>,
    /// `τ`: the spread between points beyond their own intervals, on the log scale.
    pub extra_sd: f64,
}

/// A usable point on the log scale.
#[derive(Debug, Clone, Copy)]
struct Obs {
    pos: usize,
    y: f64,
    var: f64,
}

/// Prefix sums of weights and weighted values, for the weighted mean of any run of points.
struct Sums {
    w: Vec<f64>,
    wy: Vec<f64>,
}

impl Sums {
    fn new(obs: &[Obs]) -> Sums {
        let (mut w, mut wy) = (vec![0.0], vec![0.0]);
        for o in obs {
            w.push(w.last().unwrap() + 1.0 / o.var);
            wy.push(wy.last().unwrap() + o.y / o.var);
        }
        Sums { w, wy }
    }

    /// The weighted mean of points `a..b` and its variance.
    fn mean(&self, a: usize, b: usize) -> (f64, f64) {
        let w = self.w[b] - self.w[a];
        ((self.wy[b] - self.wy[a]) / w, 1.0 / w)
    }

    /// The change from `a..k` to `k..b` and its standard error, on the log scale.
    fn change(&self, a: usize, k: usize, b: usize) -> (f64, f64) {
        let ((left, lv), (right, rv)) = (self.mean(a, k), self.mean(k, b));
        (right - left, (lv + rv).sqrt())
    }
}

/// What a step must pass: significant at `z`, and beyond the noise band.
#[derive(Debug, Clone, Copy)]
struct Rule {
    z: f64,
    up: f64,
    down: f64,
}

impl Rule {
    fn new(points: usize, noise: f64) -> Rule {
        // Bonferroni over the places a step could be, two-sided; Student's t, since the spread
        // between points is estimated from the points themselves.
        let places = points.saturating_sub(1).max(1) as f64;
        let q = 1.0 - FAMILY_ALPHA / (2.0 * places);
        let z = match StudentsT::new(0.0, 1.0, points.saturating_sub(1).max(1) as f64) {
            Ok(t) => t.inverse_cdf(q),
            Err(_) => Normal::new(0.0, 1.0).expect("standard normal").inverse_cdf(q),
        };
        let noise = noise.clamp(0.0, 0.99);
        Rule { z, up: (1.0 + noise).ln(), down: (1.0 - noise).ln() }
    }

    /// By how many standard errors the change passes both tests (its distance from the
    /// significance threshold, and from the noise band); positive passes.
    fn margin(&self, change: f64, se: f64) -> f64 {
        let beyond_band = if change > 0.0 { change - self.up } else { self.down - change };
        (change.abs() / se - self.z).min(beyond_band / se)
    }
}

/// The levels and steps of `series` (one entry per position; `None` where there is no estimate),
/// marking only steps larger than `noise` (a fraction: 0.02 for ±2%).
pub fn detect(series: &[Option<Estimate>], noise: f64) -> Segmentation {
    let raw: Vec<Obs> = series
        .iter()
        .enumerate()
        .filter_map(|(pos, e)| {
            let e = e.as_ref()?;
            let [lo, hi] = e.ci95;
            let usable = e.value > 0.0 && lo > 0.0 && hi >= lo && e.value.is_finite() && hi.is_finite();
            usable.then(|| {
                let se = ((hi.ln() - lo.ln()) / (2.0 * Z95)).max(MIN_SE);
                Obs { pos, y: e.value.ln(), var: se * se }
            })
        })
        .collect();
    if raw.is_empty() {
        return Segmentation::default();
    }
    let rule = Rule::new(raw.len(), noise);
    // τ² from neighbours first; then, within the levels found, from every point's distance to
    // its level, which is the more precise estimate once the steps are known. The larger is kept
    // (an underestimate makes false steps), and the levels are found again with it.
    let from_neighbours = extra_variance(&raw);
    let cuts = segment(&raw, from_neighbours, &rule);
    let tau2 = from_neighbours.max(residual_variance(&raw, &cuts));
    let cuts = if tau2 > from_neighbours { segment(&raw, tau2, &rule) } else { cuts };
    let obs = widened(&raw, tau2);
    describe(&obs, &Sums::new(&obs), &cuts, tau2.sqrt())
}

/// The points with `tau2` added to their own variance.
fn widened(raw: &[Obs], tau2: f64) -> Vec<Obs> {
    raw.iter().map(|o| Obs { var: o.var + tau2, ..*o }).collect()
}

/// Where the levels change, for points whose variance is their own plus `tau2`.
fn segment(raw: &[Obs], tau2: f64, rule: &Rule) -> Vec<usize> {
    let obs = widened(raw, tau2);
    let sums = Sums::new(&obs);
    let mut cuts = Vec::new();
    split(&sums, rule, 0, obs.len(), &mut cuts);
    cuts.sort_unstable();
    prune(&sums, rule, obs.len(), &mut cuts);
    cuts
}

/// `τ²` from the points' spread around their levels beyond their own variances
/// (DerSimonian-Laird, pooled over the levels).
fn residual_variance(raw: &[Obs], cuts: &[usize]) -> f64 {
    let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain([raw.len()]).collect();
    let (mut q, mut df, mut c) = (0.0, 0.0, 0.0);
    for level in bounds.windows(2).map(|w| &raw[w[0]..w[1]]).filter(|l| l.len() > 1) {
        let w: f64 = level.iter().map(|o| 1.0 / o.var).sum();
        let w2: f64 = level.iter().map(|o| 1.0 / (o.var * o.var)).sum();
        let mean = level.iter().map(|o| o.y / o.var).sum::<f64>() / w;
        q += level.iter().map(|o| (o.y - mean).powi(2) / o.var).sum::<f64>();
        df += (level.len() - 1) as f64;
        c += w - w2 / w;
    }
    if c > 0.0 {
        ((q - df) / c).max(0.0)
    } else {
        0.0
    }
}

/// `τ²`: the variance of neighbours' differences beyond what their own intervals explain, halved
/// (each difference holds two points). Robust (the median absolute deviation), so that the few
/// differences across a step do not count as spread; 0 with fewer than three differences.
fn extra_variance(obs: &[Obs]) -> f64 {
    if obs.len() < 4 {
        return 0.0;
    }
    let diffs: Vec<f64> = obs.windows(2).map(|w| w[1].y - w[0].y).collect();
    let center = median_in_place(&mut diffs.clone());
    let spread = MAD_TO_SD * median_in_place(&mut diffs.iter().map(|d| (d - center).abs()).collect::<Vec<_>>());
    let own = median_in_place(&mut obs.windows(2).map(|w| w[0].var + w[1].var).collect::<Vec<_>>());
    ((spread * spread - own) / 2.0).max(0.0)
}

/// Splits the points `a..b` at the most likely change, when it passes the rule, and both halves
/// again.
fn split(sums: &Sums, rule: &Rule, a: usize, b: usize, cuts: &mut Vec<usize>) {
    if b - a < 2 {
        return;
    }
    let candidates = || (a + 1..b).map(|k| (k, sums.change(a, k, b)));
    // The likeliest place (largest |z|) when it passes; else the place that passes by the most.
    let likeliest = candidates().max_by(|x, y| (x.1 .0.abs() / x.1 .1).total_cmp(&(y.1 .0.abs() / y.1 .1)));
    let widest = candidates().max_by(|x, y| rule.margin(x.1 .0, x.1 .1).total_cmp(&rule.margin(y.1 .0, y.1 .1)));
    let chosen = [likeliest, widest].into_iter().flatten().find(|(_, (change, se))| rule.margin(*change, *se) > 0.0);
    if let Some((k, _)) = chosen {
        cuts.push(k);
        split(sums, rule, a, k, cuts);
        split(sums, rule, k, b, cuts);
    }
}

/// Merges away, weakest first, the steps that do not pass between their final neighbours.
fn prune(sums: &Sums, rule: &Rule, n: usize, cuts: &mut Vec<usize>) {
    loop {
        let weakest = (0..cuts.len())
            .map(|i| {
                let a = if i == 0 { 0 } else { cuts[i - 1] };
                let b = cuts.get(i + 1).copied().unwrap_or(n);
                let (change, se) = sums.change(a, cuts[i], b);
                (i, rule.margin(change, se))
            })
            .filter(|(_, margin)| *margin <= 0.0)
            .min_by(|x, y| x.1.total_cmp(&y.1));
        match weakest {
            Some((i, _)) => {
                cuts.remove(i);
            }
            None => return,
        }
    }
}

fn describe(obs: &[Obs], sums: &Sums, cuts: &[usize], extra_sd: f64) -> Segmentation {
    let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain([obs.len()]).collect();
    let levels = bounds
        .windows(2)
        .map(|w| {
            let (mean, var) = sums.mean(w[0], w[1]);
            let half = Z95 * var.sqrt();
            Level {
                from: obs[w[0]].pos,
                to: obs[w[1] - 1].pos,
                value: mean.exp(),
                ci95: [(mean - half).exp(), (mean + half).exp()],
            }
        })
        .collect();
    let steps = bounds
        .windows(3)
        .map(|w| {
            let (change, se) = sums.change(w[0], w[1], w[2]);
            Step {
                at: obs[w[1]].pos,
                after: obs[w[1] - 1].pos,
                change: change.exp() - 1.0,
                ci95: [(change - Z95 * se).exp() - 1.0, (change + Z95 * se).exp() - 1.0],
            }
        })
        .collect();
    Segmentation { levels, steps, extra_sd }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::stats::standard_normal;
    use rand::SeedableRng;
    /// `n` points at the levels `steps` give (position → new level, from 1.0), each drawn with
    /// its own noise of sd `own` (and a CI that says so) plus `extra` between points.
    pub fn simulated(n: usize, steps: &[(usize, f64)], own: f64, extra: f64, seed: u64) -> Vec<Option<Estimate>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut level = 1.0;
        (0..n)
            .map(|i| {
                if let Some((_, l)) = steps.iter().find(|(p, _)| *p == i) {
                    level = *l;
                }
                let y = level * (own * standard_normal(&mut rng) + extra * standard_normal(&mut rng)).exp();
                let half = Z95 * own;
                Some(Estimate { value: y, ci95: [y * (-half).exp(), y * half.exp()] })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    /// A point at `level` whose own 95% CI is ±`half` (relative).
    fn at(level: f64, half: f64) -> Option<Estimate> {
        Some(Estimate { value: level, ci95: [level * (1.0 - half), level * (1.0 + half)] })
    }

    #[test]
    fn a_flat_series_is_one_level_and_no_step() {
        let series: Vec<_> = (0..20).map(|i| at(1.0 + 0.002 * ((i % 3) as f64 - 1.0), 0.01)).collect();
        let s = detect(&series, 0.02);
        assert!(s.steps.is_empty(), "{s:?}");
        assert_eq!(s.levels.len(), 1);
        assert_eq!((s.levels[0].from, s.levels[0].to), (0, 19));
        assert!((s.levels[0].value - 1.0).abs() < 0.002, "{s:?}");
    }

    #[test]
    fn two_steps_are_found_where_they_are_with_their_signs() {
        // Commit 19 (position 18) is 10% slower, commit 27 (position 26) 5% faster than before.
        let mut series: Vec<_> = (0..32).map(|_| at(1.0, 0.015)).collect();
        for (i, p) in series.iter_mut().enumerate() {
            let level = if i >= 26 {
                1.10 * 0.95
            } else if i >= 18 {
                1.10
            } else {
                1.0
            };
            let wobble = 1.0 + 0.004 * ((i * 7 % 5) as f64 - 2.0);
            *p = at(level * wobble, 0.015);
        }
        let s = detect(&series, 0.02);
        let found: Vec<(usize, bool)> = s.steps.iter().map(|st| (st.at, st.change > 0.0)).collect();
        assert_eq!(found, [(18, true), (26, false)], "{s:?}");
        assert!((s.steps[0].change - 0.10).abs() < 0.01 && s.steps[0].ci95[0] > 0.07, "{s:?}");
        assert!((s.steps[1].change + 0.05).abs() < 0.01 && s.steps[1].ci95[1] < -0.02, "{s:?}");
        assert_eq!(s.levels.len(), 3);
        assert_eq!((s.levels[1].from, s.levels[1].to), (18, 25));
    }

    #[test]
    fn a_precise_change_inside_the_noise_band_is_not_a_step() {
        let series: Vec<_> = (0..20).map(|i| at(if i < 10 { 1.0 } else { 1.015 }, 0.002)).collect();
        assert!(detect(&series, 0.02).steps.is_empty());
        // The same change with a band of 1% is one.
        let s = detect(&series, 0.01);
        assert_eq!(s.steps.iter().map(|st| st.at).collect::<Vec<_>>(), [10], "{s:?}");
    }

    #[test]
    fn points_without_an_estimate_are_gaps_the_step_spans() {
        let mut series: Vec<_> = (0..12).map(|i| at(if i < 6 { 1.0 } else { 1.2 }, 0.01)).collect();
        series[5] = None;
        series[6] = None;
        let s = detect(&series, 0.02);
        assert_eq!(s.steps.len(), 1, "{s:?}");
        assert_eq!((s.steps[0].after, s.steps[0].at), (4, 7), "the change is somewhere in 5, 6 or 7");
        assert!(detect(&[None, None], 0.02).levels.is_empty());
    }

    #[test]
    fn the_last_commit_alone_can_be_a_step_but_a_lone_vague_point_cannot() {
        let mut series: Vec<_> = (0..16).map(|_| at(1.0, 0.01)).collect();
        series[15] = at(1.25, 0.01);
        let s = detect(&series, 0.02);
        assert_eq!(s.steps.iter().map(|st| st.at).collect::<Vec<_>>(), [15], "{s:?}");
        // In the middle, a point whose own interval is wide (a noisy moment) is no step.
        let mut series: Vec<_> = (0..16).map(|_| at(1.0, 0.01)).collect();
        series[7] = at(1.15, 0.30);
        assert!(detect(&series, 0.02).steps.is_empty());
    }

    #[test]
    fn intervals_too_narrow_for_the_spread_between_points_do_not_make_steps() {
        // Each point claims ±0.3% but they scatter by 2% (different builds and sessions): the
        // spread is estimated, and a step is marked in at most 5% of such series.
        let mut with_steps = 0;
        for seed in 0..200 {
            let s = detect(&simulated(24, &[], 0.0015, 0.02, seed), 0.02);
            assert!(s.extra_sd > 0.008, "τ is estimated: {}", s.extra_sd);
            with_steps += usize::from(!s.steps.is_empty());
        }
        assert!(with_steps <= 10, "{with_steps} of 200 series of identical code marked a step");
    }

    #[test]
    fn false_steps_are_rare_and_real_steps_are_found_in_simulated_histories() {
        let runs = 1000;
        // Identical code: per-point noise 1.5% and 0.5% between sessions.
        let false_series =
            (0..runs).filter(|&seed| !detect(&simulated(32, &[], 0.015, 0.005, seed), 0.02).steps.is_empty()).count();
        assert!(false_series as u64 <= runs / 50, "{false_series} of {runs} identical series marked a step");
        // Commit 19 10% slower, commit 27 5% faster: both found with their signs; where the noise
        // of one point is a third of the smaller step, it is sometimes placed a commit off.
        for (own, near_share, exact_share) in [(0.015, 0.9, 0.8), (0.007, 0.99, 0.97)] {
            let (mut near, mut exact) = (0, 0);
            for seed in 0..runs {
                let s = detect(&simulated(32, &[(18, 1.10), (26, 1.045)], own, 0.005, seed + 10_000), 0.02);
                let found: Vec<(usize, bool)> = s.steps.iter().map(|st| (st.at, st.change > 0.0)).collect();
                if let [(a, true), (b, false)] = found[..] {
                    near += usize::from(a.abs_diff(18) <= 1 && b.abs_diff(26) <= 1);
                    exact += usize::from(a == 18 && b == 26);
                }
            }
            assert!(
                near as f64 >= near_share * runs as f64,
                "{own}: {near} of {runs} found both steps near their places"
            );
            assert!(exact as f64 >= exact_share * runs as f64, "{own}: {exact} of {runs} found both in place");
        }
    }
}
