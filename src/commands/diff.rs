//! `cargo coldbench diff BASE.json NEW.json`: the comparison of two saved runs.

use std::path::Path;

use anyhow::Result;

use crate::analysis::pairing;
use crate::cli::RunArgs;
use crate::results::{Adjustment, RunDocument, Side};
use crate::ui::Ui;

/// Reads both files and returns NEW with a comparison against BASE attached (nothing is written),
/// its rows adjusted for their number by the default method.
pub fn diff(base: &Path, new: &Path, noise: Option<f64>) -> Result<RunDocument> {
    diff_with(base, new, noise, Adjustment::default())
}

/// [`diff`], with the rows adjusted for their number by `method`.
pub fn diff_with(base: &Path, new: &Path, noise: Option<f64>, method: Adjustment) -> Result<RunDocument> {
    let base_doc = super::read_result(base)?;
    let mut new_doc = super::read_result(new)?;
    let candidate = Side {
        label: new.display().to_string(),
        sha: new_doc.git.as_ref().map(|g| g.sha.clone()),
        dirty: new_doc.git.as_ref().is_some_and(|g| g.dirty),
    };
    let cmp =
        pairing::against_document(&base_doc, base.display().to_string(), &new_doc.benchmarks, candidate, noise, method);
    new_doc.comparison = Some(cmp);
    Ok(new_doc)
}

/// `diff`: prints the comparison and returns the gate's exit status.
pub fn command(base: &Path, new: &Path, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let doc = diff_with(base, new, args.noise, args.multiplicity.into())?;
    super::print_document(&doc, args, ui)?;
    Ok(super::run::exit_code(&doc, args.fail_on))
}
