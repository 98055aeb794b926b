//! Statistics, pure and free of any judgement: descriptive statistics (`summary`, one percentile
//! definition), the tests (`hypothesis`: Welch and Mann-Whitney; `bootstrap`), the shift between
//! two samples (`shift`: Hodges–Lehmann), modes (`modes`), what a comparison can see (`power`:
//! noise, detectable changes, runs needed) and the looks of a sequential run (`sequential`). It
//! imports only the result types; [`crate::analysis`] judges with it.

pub mod bootstrap;
pub mod hypothesis;
pub mod modes;
pub mod power;
pub mod quantile;
pub mod sequential;
pub mod shift;
pub mod summary;

/// A standard normal draw (Box-Muller) for the tests' seeded noise models, so that they need no
/// distribution crate.
#[cfg(test)]
pub(crate) fn standard_normal(rng: &mut impl rand::Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}
