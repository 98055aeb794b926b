//! The `cache` setting: what the page cache holds when a run starts (the measuring is in
//! `measure::process::cache`).

use serde::{Deserialize, Serialize};

/// `cache`: the state of the page cache at the start of each run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// Leave the page cache alone (after warmups the files are cached).
    #[default]
    Warm,
    /// Evict the executable and the shared objects it maps with `posix_fadvise(DONTNEED)`.
    Cold,
    /// Drop the whole page cache through `/proc/sys/vm/drop_caches` (root only).
    Drop,
}
