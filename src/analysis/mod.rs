//! Statistics and judgement, in one place: descriptive statistics (`summary`, one percentile
//! definition), the tests (`hypothesis`: Welch and Mann-Whitney; `bootstrap`), the verdict policy
//! (`verdict`, direction-aware), side A against side B (`pairing`), budgets (`budget`), what a
//! comparison can see (`power`: noise from A/A pairs, detectable changes, runs needed), a
//! benchmark against its reference (`speedup`), sides whose runs are nested in processes
//! (`nested`) and the adjustment of many rows' p-values as one family (`multiplicity`).

pub mod bisection;
pub mod bootstrap;
pub mod budget;
pub mod hypothesis;
pub mod modes;
pub mod multiplicity;
pub mod nested;
pub mod pairing;
pub mod power;
pub mod sequential;
pub mod shift;
pub mod speedup;
pub mod steps;
pub mod summary;
pub mod verdict;

/// A standard normal draw (Box-Muller) for the tests' seeded noise models, so that they need no
/// distribution crate.
#[cfg(test)]
pub(crate) fn standard_normal(rng: &mut impl rand::Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}
