//! The results folder of a run, its lock, and the document a run saves there.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Result;

use super::RunOptions;
use crate::build::git::GitFacts;
use crate::host;
use crate::results::{BenchmarkResult, Comparison, MachineState, RunConfig, RunDocument, Store, StoreLock};
use crate::ui::Ui;

/// The results folder for a run.
pub(crate) fn open_store(opts: &RunOptions, target_dir: &Path) -> Store {
    Store::new(opts.output_dir.clone().unwrap_or_else(|| target_dir.join("coldbench")))
}

/// Takes the store's lock, saying so when another run holds it.
pub(crate) fn lock_store(store: &Store, ui: &Ui) -> Result<StoreLock> {
    store.lock(|path| {
        ui.status("Blocking", format!("waiting for another coldbench run to finish (lock: {})", path.display()))
    })
}

/// The current UTC time as RFC 3339.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Assembles a result document.
pub(crate) fn document(
    opts: &RunOptions,
    timestamp: String,
    git: Option<GitFacts>,
    machine: Option<MachineState>,
    benchmarks: Vec<BenchmarkResult>,
    comparison: Option<Comparison>,
) -> RunDocument {
    let config = RunConfig {
        profile: opts.cargo.profile.clone(),
        features: opts.cargo.features.clone(),
        all_features: opts.cargo.all_features,
        no_default_features: opts.cargo.no_default_features,
        no_build: opts.no_build,
    };
    let host = host::HostFacts { machine, ..opts.registry.host_facts() };
    RunDocument::new(timestamp, git, host, config, benchmarks, comparison)
}

/// Records that a comparison used `sha` now, for `clean --keep`.
pub fn mark_used(store_dir: &Path, sha: &str) {
    let marker = store_dir.join("worktrees").join(sha).with_extension("complete");
    if let Ok(file) = std::fs::File::options().write(true).open(&marker) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Bytes of disk a file or folder takes (allocated blocks, as `du` counts), not following links.
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let children = std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum::<u64>())
        .unwrap_or(0);
    own + children
}
