//! Statistics and judgement, in one place: descriptive statistics (`summary`, one percentile
//! definition), the tests (`hypothesis`: Welch and Mann-Whitney; `bootstrap`), the verdict policy
//! (`verdict`, direction-aware), side A against side B (`pairing`), budgets (`budget`), and what
//! a comparison can see (`power`: noise from A/A pairs, detectable changes, runs needed).

pub mod bootstrap;
pub mod budget;
pub mod hypothesis;
pub mod pairing;
pub mod power;
pub mod sequential;
pub mod summary;
pub mod verdict;
