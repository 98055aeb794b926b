//! Result files under `target/coldbench/`: reading (refusing other schemas), atomic writes, the
//! lock that keeps two runs from writing at once, and named baselines.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::schema::{RunDocument, SCHEMA};

/// The folder under the results folder where a run's fresh copies of the measured files live
/// (`build::stage`); emptied when a run takes the lock, since only one run uses it at a time.
pub const STAGE_DIR: &str = "stage";

/// Reads a result file, refusing other schemas with a message that says what to do.
pub fn read(path: &Path) -> Result<RunDocument> {
    let text = fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a coldbench result (not JSON)", path.display()))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => bail!(
            "{} has schema `{other}`, but this cargo-coldbench ({}) reads only `{SCHEMA}`; \
             use the cargo-coldbench version that wrote it",
            path.display(),
            env!("CARGO_PKG_VERSION")
        ),
        None => bail!("{} is not a coldbench result (no \"schema\" field)", path.display()),
    }
    // From the text, not the `Value`: a `Value`'s maps are sorted, and the order of metrics and
    // parameters is part of the result (the first metric is the headline).
    serde_json::from_str(&text).with_context(|| format!("{} is a damaged coldbench result", path.display()))
}

/// The results folder: `target/coldbench/` unless `--output-dir` says otherwise.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Held while a run measures and writes; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// A store rooted at `dir` (created on first lock).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `latest.json`.
    pub fn latest(&self) -> PathBuf {
        self.dir.join("latest.json")
    }

    /// Takes the lock, waiting (and saying so) while another run holds it.
    pub fn lock(&self, on_wait: impl FnOnce(&Path)) -> Result<StoreLock> {
        fs::create_dir_all(&self.dir).with_context(|| format!("could not create {}", self.dir.display()))?;
        let path = self.dir.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("could not open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                on_wait(&path);
                file.lock().with_context(|| format!("could not lock {}", path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("could not lock {}", path.display()));
            }
        }
        let lock = StoreLock { _file: file };
        self.sweep_leftovers(&lock);
        Ok(lock)
    }

    /// Removes what an interrupted run left behind: copies of measured files under `stage/`, and
    /// half-written artifact caches (`artifacts/<sha>.XXXXXX`). Only the lock holder may, since
    /// another run uses both while it runs.
    fn sweep_leftovers(&self, _lock: &StoreLock) {
        if let Ok(entries) = fs::read_dir(self.dir.join(STAGE_DIR)) {
            for entry in entries.flatten() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        if let Ok(entries) = fs::read_dir(self.dir.join("artifacts")) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let half_written = name
                    .split_once('.')
                    .is_some_and(|(sha, _)| sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
                if half_written {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }

    /// Saves a run under `runs/` (never overwriting) and as `latest.json`; returns the `runs/` path.
    pub fn save_run(&self, doc: &RunDocument, _lock: &StoreLock) -> Result<PathBuf> {
        let runs = self.dir.join("runs");
        fs::create_dir_all(&runs).with_context(|| format!("could not create {}", runs.display()))?;
        let json = serde_json::to_vec_pretty(doc).context("serialising the result")?;
        let stem = run_file_stem(doc);
        let mut attempt = 1;
        let path = loop {
            let name = if attempt == 1 { format!("{stem}.json") } else { format!("{stem}-{attempt}.json") };
            let path = runs.join(name);
            match write_new(&runs, &path, &json) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(e).with_context(|| format!("could not write {}", path.display())),
            }
        };
        write_atomic(&self.latest(), &json)?;
        Ok(path)
    }
}

impl Store {
    fn baselines_dir(&self) -> PathBuf {
        self.dir.join("baselines")
    }

    /// Saves a document as the baseline `name`, replacing an older one of that name.
    pub fn save_baseline(&self, name: &str, doc: &RunDocument) -> Result<PathBuf> {
        check_baseline_name(name)?;
        let dir = self.baselines_dir();
        fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        let path = dir.join(format!("{name}.json"));
        write_atomic(&path, &serde_json::to_vec_pretty(doc)?)?;
        Ok(path)
    }

    /// Reads the baseline `name`.
    pub fn load_baseline(&self, name: &str) -> Result<RunDocument> {
        check_baseline_name(name)?;
        let path = self.baselines_dir().join(format!("{name}.json"));
        if !path.exists() {
            return Err(crate::error::UserError::UnknownBaseline {
                name: name.to_string(),
                available: self.list_baselines()?,
            }
            .into());
        }
        read(&path)
    }

    /// Names of the saved baselines, sorted.
    pub fn list_baselines(&self) -> Result<Vec<String>> {
        let dir = self.baselines_dir();
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes the baseline `name`.
    pub fn remove_baseline(&self, name: &str) -> Result<()> {
        check_baseline_name(name)?;
        let path = self.baselines_dir().join(format!("{name}.json"));
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(crate::error::UserError::UnknownBaseline {
                name: name.to_string(),
                available: self.list_baselines()?,
            }
            .into()),
            Err(e) => Err(e).with_context(|| format!("could not remove {}", path.display())),
        }
    }
}

fn check_baseline_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(crate::error::UserError::Invalid(format!(
            "`{name}` is not a usable baseline name: use letters, digits, `-`, `_` and `.`"
        ))
        .into());
    }
    Ok(())
}

/// `20261122T100000Z-abc1234-dirty`.
fn run_file_stem(doc: &RunDocument) -> String {
    let ts: String = doc.timestamp.chars().filter(|c| *c != '-' && *c != ':').collect();
    match &doc.git {
        Some(g) if g.dirty => format!("{ts}-{}-dirty", g.short_sha()),
        Some(g) => format!("{ts}-{}", g.short_sha()),
        None => ts,
    }
}

fn write_new(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map(|_| ()).map_err(|e| e.error)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("could not write in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::schema::{GitFacts, HostFacts, RunConfig};

    fn doc(dirty: bool) -> RunDocument {
        RunDocument {
            schema: SCHEMA.into(),
            tool_version: "0.1.0".into(),
            timestamp: "2026-11-22T10:00:00Z".into(),
            git: Some(GitFacts { sha: "0123456789abcdef".into(), branch: Some("main".into()), dirty }),
            host: HostFacts {
                kernel: "6".into(),
                os: "linux x86_64".into(),
                cpu: "cpu".into(),
                cores: 2,
                governor: None,
                rustc: None,
                libzmq: "4.3.5".into(),
                curve: false,
                gpus: vec![],
                gpu_note: None,
                torch: None,
                machine: None,
            },
            config: RunConfig {
                profile: "release".into(),
                features: vec![],
                all_features: false,
                no_default_features: false,
                no_build: false,
            },
            benchmarks: vec![],
            comparison: None,
            history: None,
            other_candidates: Vec::new(),
        }
    }

    #[test]
    fn run_files_are_named_by_time_and_sha_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("coldbench"));
        let lock = store.lock(|_| {}).unwrap();
        let first = store.save_run(&doc(true), &lock).unwrap();
        let second = store.save_run(&doc(true), &lock).unwrap();
        assert_eq!(first.file_name().unwrap(), "20261122T100000Z-0123456-dirty.json");
        assert_eq!(second.file_name().unwrap(), "20261122T100000Z-0123456-dirty-2.json");
        assert_eq!(read(&store.latest()).unwrap(), doc(true));
    }

    #[test]
    fn other_schemas_and_non_json_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, r#"{"schema":"coldbench/2"}"#).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("has schema `coldbench/2`"));
        fs::write(&path, "not json").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("not JSON"));
    }

    #[test]
    fn baselines_are_saved_listed_and_removed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        store.save_baseline("main", &doc(false)).unwrap();
        store.save_baseline("v1.2", &doc(true)).unwrap();
        assert_eq!(store.list_baselines().unwrap(), ["main", "v1.2"]);
        assert_eq!(store.load_baseline("v1.2").unwrap(), doc(true));
        store.remove_baseline("main").unwrap();
        let err = store.load_baseline("main").unwrap_err();
        assert!(err.to_string().contains("no saved baseline named `main`"), "{err}");
        assert!(store.save_baseline("../escape", &doc(false)).is_err());
    }

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        let held = store.lock(|_| {}).unwrap();
        let store2 = store.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let _lock = store2.lock(|_| tx.send("waiting").unwrap()).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), "waiting");
        drop(held);
        t.join().unwrap();
    }
}
