//! The points of `history` and the probes of `bisect`: one result file per commit,
//! `history/<sha>.json`, each a comparison of the commit with its anchor (the usual schema plus
//! its [`HistoryMark`]), written atomically and found again by sha.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::schema::{HistoryMark, RunDocument};
use super::store::{read, write_atomic, StoreLock};

/// The folder of history points under the results folder.
pub const HISTORY_DIR: &str = "history";

/// `<results>/history/`.
#[derive(Debug, Clone)]
pub struct HistoryStore {
    dir: PathBuf,
}

impl HistoryStore {
    /// The history folder of the results folder `store_dir`.
    pub fn new(store_dir: &Path) -> HistoryStore {
        HistoryStore { dir: store_dir.join(HISTORY_DIR) }
    }

    /// Where the point of `sha` is kept.
    pub fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(format!("{sha}.json"))
    }

    /// The point of `sha` when one was measured against `anchor` with the settings of `key`;
    /// `None` when there is none, or it is of other settings, or it cannot be read.
    pub fn find(&self, sha: &str, anchor: &str, key: &str) -> Option<RunDocument> {
        let doc = read(&self.path(sha)).ok()?;
        let mark = doc.history.as_ref()?;
        (mark.commit.sha == sha && mark.anchor == anchor && mark.key == key).then_some(doc)
    }

    /// Saves a point (a document with its mark), replacing an older one of the same commit.
    pub fn save(&self, doc: &RunDocument, _lock: &StoreLock) -> Result<PathBuf> {
        let mark: &HistoryMark = doc.history.as_ref().context("a history point without its mark")?;
        std::fs::create_dir_all(&self.dir).with_context(|| format!("could not create {}", self.dir.display()))?;
        let path = self.path(&mark.commit.sha);
        write_atomic(&path, &serde_json::to_vec_pretty(doc).context("serialising the result")?)?;
        Ok(path)
    }
}
