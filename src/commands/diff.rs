//! `cargo coldbench diff BASE.json NEW.json`: the comparison of two saved runs.

use std::path::Path;

use anyhow::Result;

use crate::comparison;
use crate::results::{self, RunDocument, Side};

/// Reads both files and returns NEW with a comparison against BASE attached (nothing is written).
pub fn diff(base: &Path, new: &Path, noise: Option<f64>) -> Result<RunDocument> {
    let base_doc = results::read(base)?;
    let mut new_doc = results::read(new)?;
    let candidate = Side {
        label: new.display().to_string(),
        sha: new_doc.git.as_ref().map(|g| g.sha.clone()),
        dirty: new_doc.git.as_ref().is_some_and(|g| g.dirty),
    };
    let cmp =
        comparison::against_document(&base_doc, base.display().to_string(), &new_doc.benchmarks, candidate, noise);
    new_doc.comparison = Some(cmp);
    Ok(new_doc)
}
