//! `cargo coldbench baseline save|list|remove NAME`: named baselines under `target/coldbench/baselines/`.

use anyhow::{Context, Result};

use super::{store_for, write_stdout};
use crate::cli::{BaselineAction, RunArgs};
use crate::ui::Ui;

/// Runs one baseline action.
pub fn baseline(action: &BaselineAction, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let store = store_for(args)?;
    match action {
        BaselineAction::Save { name } => {
            let doc = super::read_result(&store.latest())
                .context("reading the newest result (run `cargo coldbench` first)")?;
            let path = store.save_baseline(name, &doc)?;
            ui.status("Saved", format!("baseline `{name}` ({})", path.display()));
        }
        BaselineAction::List => {
            let names: String = store.list_baselines()?.iter().map(|n| format!("{n}\n")).collect();
            write_stdout(names.as_bytes())?;
        }
        BaselineAction::Remove { name } => {
            store.remove_baseline(name)?;
            ui.status("Removed", format!("baseline `{name}`"));
        }
    }
    Ok(0)
}
