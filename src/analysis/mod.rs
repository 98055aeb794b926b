//! Statistics and judgement, in one place: descriptive statistics (`summary`, one percentile
//! definition), the tests (`hypothesis`: Welch and Mann-Whitney; `bootstrap`), the verdict policy
//! (`verdict`, direction-aware), side A against side B (`pairing`), and budgets (`budget`).

pub mod bootstrap;
pub mod budget;
pub mod hypothesis;
pub mod pairing;
pub mod summary;
pub mod verdict;
