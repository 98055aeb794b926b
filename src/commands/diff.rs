//! `cargo coldbench diff BASE.json NEW.json [NEW2.json ...]`: the comparison of saved runs.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::pairing;
use crate::cli::RunArgs;
use crate::results::{Adjustment, Candidate, RunDocument, Side};
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
    new_doc.other_candidates.clear();
    Ok(new_doc)
}

/// Several NEW files against BASE: the first one's document, the others as further candidates
/// (each NEW file's own candidate; a file that itself holds several gives its first).
pub fn diff_several(base: &Path, new: &[PathBuf], noise: Option<f64>, method: Adjustment) -> Result<RunDocument> {
    let mut doc = diff_with(base, &new[0], noise, method)?;
    for other in &new[1..] {
        let mut compared = diff_with(base, other, noise, method)?;
        let mut comparison = compared.comparison.take().expect("diff attaches a comparison");
        // The baseline's results are the first comparison's.
        comparison.baseline_benchmarks.clear();
        doc.other_candidates.push(Candidate { comparison, benchmarks: compared.benchmarks });
    }
    Ok(doc)
}

/// `diff`: prints the comparison and returns the gate's exit status.
pub fn command(base: &Path, new: &[PathBuf], args: &RunArgs, ui: &Ui) -> Result<u8> {
    let doc = diff_several(base, new, args.noise, args.multiplicity.into())?;
    super::print_document(&doc, args, ui)?;
    Ok(crate::pipeline::exit_status(&doc, args.fail_on))
}
