//! Judgement, on the statistics of [`crate::stats`]: the verdict policy (`verdict`,
//! direction-aware), side A against side B (`pairing`), budgets (`budget`), a benchmark against
//! its reference (`speedup`), sides whose runs are nested in processes (`nested`), the adjustment
//! of many rows' p-values as one family (`multiplicity`), and the steps of a history and the
//! bisection that finds one (`steps`, `bisection`).

pub mod bisection;
pub mod budget;
pub mod multiplicity;
pub mod nested;
pub mod pairing;
pub mod reference;
pub mod speedup;
pub mod steps;
pub mod verdict;
