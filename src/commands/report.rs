//! `cargo coldbench report [RESULT.json]`: a saved result rendered in any format.

use anyhow::Result;

use super::{store_for, write_stdout};
use crate::cli::{Format, RunArgs};
use crate::ui::Ui;

/// Renders a saved result (default: the newest) to stdout or to a file.
pub fn report(
    result: Option<&std::path::Path>,
    output: Option<&std::path::Path>,
    template: Option<&std::path::Path>,
    args: &RunArgs,
    ui: &Ui,
) -> Result<u8> {
    // A bad output path is reported before any work.
    if let Some(out) = output {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(crate::error::UserError::Invalid(format!(
                "cannot write {}: the folder {} does not exist",
                out.display(),
                parent.display()
            ))
            .into());
        }
    }
    let path = match result {
        Some(p) => p.to_path_buf(),
        None => store_for(args)?.latest(),
    };
    let doc = super::read_result(&path)?;
    let format = if args.format == Format::Human && output.is_some() { Format::Html } else { args.format };
    let text = crate::report::render(&doc, format, template, crate::report::Detail::new(ui.verbose, args.top))?;
    match output {
        Some(out) => {
            crate::results::write_atomic(out, text.as_bytes())?;
            ui.status("Wrote", out.display());
        }
        None => write_stdout(text.as_bytes())?,
    }
    Ok(0)
}
