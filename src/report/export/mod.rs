//! Exports for continuous-benchmarking services, one file per format: Bencher Metric Format
//! (`bmf`) and github-action-benchmark (`gab`); each reads units and directions from the metric
//! descriptors.

pub mod bmf;
pub mod gab;
