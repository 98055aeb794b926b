//! The cache of built executables per commit (`target/coldbench/artifacts/<sha>/`), so that a
//! later comparison against the same commit, profile, features and compiler runs no cargo build.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{ArtifactRef, Executables};
use crate::discover::workspace::CargoOptions;

/// Everything that makes two builds of the same commit interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildKey {
    /// The commit.
    pub sha: String,
    /// Cargo profile.
    pub profile: String,
    /// `--features`.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `rustc --version`.
    pub rustc: Option<String>,
    /// Environment that changes what cargo builds (`RUSTFLAGS`, `CARGO_PROFILE_*`, `CARGO_BUILD_*`, ...).
    #[serde(default)]
    pub env: Vec<(String, String)>,
}

impl BuildKey {
    /// The key of building `sha` with these cargo options and compiler.
    pub fn new(sha: &str, opts: &CargoOptions, rustc: Option<String>) -> BuildKey {
        BuildKey {
            sha: sha.to_string(),
            profile: opts.profile.clone(),
            features: opts.features.clone(),
            all_features: opts.all_features,
            no_default_features: opts.no_default_features,
            rustc,
            env: build_env(),
        }
    }
}

/// The environment variables that change compiler output, sorted.
fn build_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            matches!(k.as_str(), "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS" | "RUSTC" | "RUSTC_WRAPPER")
                || k.starts_with("CARGO_PROFILE_")
                || k.starts_with("CARGO_BUILD_")
                || k.starts_with("CARGO_TARGET_") && k.ends_with("_RUSTFLAGS")
        })
        .collect();
    env.sort();
    env
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    key: BuildKey,
    executables: Vec<(ArtifactRef, PathBuf)>,
}

const MANIFEST: &str = "coldbench-artifacts.json";

/// The folder of cached executables, one subfolder per commit.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// A cache rooted at `dir` (`target/coldbench/artifacts`).
    pub fn new(dir: PathBuf) -> Self {
        ArtifactCache { dir }
    }

    /// The cached executables for `key`, if every one of `wanted` is there.
    pub fn lookup(&self, key: &BuildKey, wanted: &[ArtifactRef]) -> Option<Executables> {
        let folder = self.dir.join(&key.sha);
        let text = std::fs::read_to_string(folder.join(MANIFEST)).ok()?;
        let manifest: Manifest = serde_json::from_str(&text).ok()?;
        if manifest.key != *key {
            return None;
        }
        let found: Executables = manifest.executables.into_iter().map(|(bin, rel)| (bin, folder.join(rel))).collect();
        wanted.iter().all(|b| found.get(b).is_some_and(|p| p.is_file())).then_some(found)
    }

    /// Copies freshly built executables into the cache and returns their cached paths.
    ///
    /// The copy is made in a temporary folder and renamed into place, so an interrupted run
    /// leaves either the old entry or the new one.
    pub fn store(&self, key: &BuildKey, built: &Executables) -> Result<Executables> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("could not create {}", self.dir.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(&format!("{}.", key.sha))
            .tempdir_in(&self.dir)
            .with_context(|| format!("could not create a folder in {}", self.dir.display()))?;
        let mut entries = Vec::new();
        for (bin, path) in built {
            let rel = Path::new(&bin.package).join(bin.file_name());
            let dest = staging.path().join(&rel);
            std::fs::create_dir_all(dest.parent().expect("has a parent"))?;
            std::fs::copy(path, &dest).with_context(|| format!("could not copy {} to the cache", path.display()))?;
            entries.push((bin.clone(), rel));
        }
        let manifest = Manifest { key: key.clone(), executables: entries };
        std::fs::write(staging.path().join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
        let folder = self.dir.join(&key.sha);
        if folder.exists() {
            std::fs::remove_dir_all(&folder).with_context(|| format!("could not replace {}", folder.display()))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &folder)
            .with_context(|| format!("could not move the cache into {}", folder.display()))?;
        Ok(built.keys().map(|b| (b.clone(), folder.join(&b.package).join(b.file_name()))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sha: &str, profile: &str) -> BuildKey {
        BuildKey {
            sha: sha.into(),
            profile: profile.into(),
            features: vec![],
            all_features: false,
            no_default_features: false,
            rustc: Some("rustc 1.0".into()),
            env: vec![],
        }
    }

    #[test]
    fn stores_and_finds_executables_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("built-app");
        std::fs::write(&exe, b"\x7fELF fake").unwrap();
        let bin = ArtifactRef::bin("pkg", "app");
        let built: Executables = [(bin.clone(), exe)].into();
        let cache = ArtifactCache::new(dir.path().join("artifacts"));
        let stored = cache.store(&key("abc", "release"), &built).unwrap();
        assert_eq!(std::fs::read(&stored[&bin]).unwrap(), b"\x7fELF fake");

        assert_eq!(cache.lookup(&key("abc", "release"), std::slice::from_ref(&bin)), Some(stored));
        assert_eq!(cache.lookup(&key("abc", "dev"), std::slice::from_ref(&bin)), None, "another profile");
        assert_eq!(cache.lookup(&key("def", "release"), std::slice::from_ref(&bin)), None, "another commit");
        let other = ArtifactRef::bin("pkg", "other");
        assert_eq!(cache.lookup(&key("abc", "release"), &[other]), None, "a binary that was not built");
    }
}
