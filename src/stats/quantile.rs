//! The one percentile definition of this crate, apart so that the bootstrap and the summaries
//! both use it without using each other.

/// The `q` quantile (0–1) of sorted values, interpolating linearly between the closest ranks
/// (numpy's default, Hyndman and Fan's type 7): the one percentile definition of this crate.
/// Infinite values do not produce NaN.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = pos.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let frac = pos - below as f64;
    let (lo, hi) = (sorted[below], sorted[above]);
    if frac == 0.0 || lo == hi {
        return lo;
    }
    let value = lo * (1.0 - frac) + hi * frac;
    if value.is_nan() {
        if frac < 0.5 {
            lo
        } else {
            hi
        }
    } else {
        value
    }
}
