//! The percentile bootstrap: the one resampling engine behind every confidence interval that is
//! not Student's (the median of one sample, the ratios of two).

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::quantile::percentile;

/// 95% percentile-bootstrap intervals of `K` statistics of resampled `groups`.
///
/// Each of `resamples` rounds draws every group anew with replacement (into a buffer that is
/// reused) and calls `statistics` with the drawn groups and their means; the interval of each
/// statistic is the 2.5th and 97.5th percentile of its values. NaNs are dropped; with nothing
/// left, an interval collapses to its `point` estimate. `seed` makes it reproducible.
pub fn intervals<const K: usize>(
    groups: &[&[f64]],
    resamples: usize,
    seed: u64,
    point: [f64; K],
    mut statistics: impl FnMut(&mut [Vec<f64>], &[f64]) -> [f64; K],
) -> [[f64; 2]; K] {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bufs: Vec<Vec<f64>> = groups.iter().map(|g| Vec::with_capacity(g.len())).collect();
    let mut means = vec![0.0; groups.len()];
    let mut drawn: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(resamples));
    for _ in 0..resamples {
        for ((group, buf), mean) in groups.iter().zip(&mut bufs).zip(&mut means) {
            *mean = resample(group, &mut rng, buf);
        }
        for (values, stat) in drawn.iter_mut().zip(statistics(&mut bufs, &means)) {
            values.push(stat);
        }
    }
    let mut out = [[0.0; 2]; K];
    for ((interval, values), fallback) in out.iter_mut().zip(&mut drawn).zip(point) {
        values.retain(|v| !v.is_nan());
        *interval = if values.is_empty() {
            [fallback, fallback]
        } else {
            values.sort_unstable_by(f64::total_cmp);
            [percentile(values, 0.025), percentile(values, 0.975)]
        };
    }
    out
}

/// Fills `buf` with `values.len()` draws with replacement and returns their mean.
///
/// Each 64-bit draw gives two indices by multiply-shift (Lemire) without rejection: the bias is at
/// most n / 2³² per index, far below the bootstrap's own sampling error, and it halves the
/// generator's work compared with `Uniform<usize>`, which is most of the bootstrap's time.
fn resample(values: &[f64], rng: &mut StdRng, buf: &mut Vec<f64>) -> f64 {
    let n = values.len() as u128;
    let pick = |bits32: u64| values[((u128::from(bits32) * n) >> 32) as usize];
    buf.clear();
    let mut sum = 0.0;
    for _ in 0..values.len() / 2 {
        let bits = rng.next_u64();
        for v in [pick(bits & 0xFFFF_FFFF), pick(bits >> 32)] {
            sum += v;
            buf.push(v);
        }
    }
    if values.len() % 2 == 1 {
        let v = pick(rng.next_u64() >> 32);
        sum += v;
        buf.push(v);
    }
    sum / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_bracket_the_statistic_and_are_reproducible() {
        let values: Vec<f64> = (0..200).map(|i| (i % 17) as f64).collect();
        let run =
            |seed| intervals(&[&values], 2000, seed, [0.0], |bufs, means| [means[0] + bufs[0].len() as f64 * 0.0]);
        let [[lo, hi]] = run(3);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!(lo < mean && mean < hi && hi - lo < 2.0, "{lo} {mean} {hi}");
        assert_eq!(run(3), [[lo, hi]]);
        assert_ne!(run(4), [[lo, hi]], "another seed draws other resamples");
    }

    #[test]
    fn nan_statistics_fall_back_to_the_point() {
        let [ci] = intervals(&[&[1.0, 2.0]], 50, 1, [7.0], |_, _| [f64::NAN]);
        assert_eq!(ci, [7.0, 7.0]);
    }
}
