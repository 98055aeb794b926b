//! `cargo coldbench suite zmq|rpc|tensor|all`: the suites only, all of their scenarios or the groups
//! `--scenario` names; `--list` shows the rows without running them.

use anyhow::Result;

use crate::cli::{Format, RunArgs, SuiteName};
use crate::discover::{plan, workspace};
use crate::error::UserError;
use crate::suites::rpc::rows::ScalingArgs;
use crate::suites::tensor::rows::TensorArgs;
use crate::suites::{rpc, tensor, zmq, Group};

/// The options of one suite or another.
pub struct SuiteArgs {
    /// rpc's scaling rows.
    pub scaling: ScalingArgs,
    /// tensor's modes, devices and sizes.
    pub tensor: TensorArgs,
}
use crate::ui::Ui;

/// Runs the suites (or lists their rows); returns the exit status.
pub fn command(
    args: &RunArgs,
    which: SuiteName,
    scenarios: &[Group],
    suite_args: &SuiteArgs,
    list: bool,
    ui: &Ui,
) -> Result<u8> {
    let kinds = kinds(which, scenarios)?;
    let mut opts = super::run::options(args, kinds)?;
    opts.overrides.scenarios = scenarios.to_vec();
    opts.overrides.scaling = suite_args.scaling.clone();
    opts.overrides.tensor = suite_args.tensor.clone();
    if list {
        return print_list(&opts, args.format);
    }
    super::run::execute(&opts, args, ui)
}

/// The result kinds of a suite name, or the error of a scenario group that is not the suite's.
pub fn kinds(which: SuiteName, scenarios: &[Group]) -> Result<&'static [&'static str], UserError> {
    let kinds: &'static [&'static str] = match which {
        SuiteName::Zmq => &[zmq::KIND],
        SuiteName::Rpc => &[rpc::KIND],
        SuiteName::Tensor => &[tensor::KIND],
        SuiteName::All => &[zmq::KIND, rpc::KIND, tensor::KIND],
    };
    if let [kind] = kinds {
        if let Some(g) = scenarios.iter().find(|g| g.suite() != *kind) {
            use clap::ValueEnum;
            let available = Group::value_variants().iter().filter(|v| v.suite() == *kind).map(|v| v.as_str()).collect();
            return Err(UserError::ScenarioNotInSuite { group: g.as_str(), suite: kind, available });
        }
    }
    Ok(kinds)
}

/// The rows that would run, by scenario group, with why a row would be skipped.
fn print_list(opts: &super::run::RunOptions, format: Format) -> Result<u8> {
    let ws = workspace::load(&opts.cargo)?;
    let plan = plan::plan(&ws, &opts.overrides)?;
    let rows: Vec<(Group, String, Option<String>)> =
        plan.benches.iter().map(|b| (Group::of(b.id().kind, &b.id().name), b.id().render(), b.skip())).collect();
    let text = match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(group, id, skip)| serde_json::json!({ "scenario": group.as_str(), "id": id, "skipped": skip }))
                .collect();
            serde_json::to_string_pretty(&items)? + "\n"
        }
        _ => {
            let mut out = String::new();
            let mut groups: Vec<Group> = rows.iter().map(|(g, _, _)| *g).collect();
            groups.dedup();
            // A reason is said once, at the end: nine CURVE rows share one.
            let mut reasons: Vec<&str> = Vec::new();
            for group in groups {
                let mine: Vec<&(Group, String, Option<String>)> = rows.iter().filter(|(g, _, _)| *g == group).collect();
                out.push_str(&format!(
                    "{} ({} row{})\n",
                    group.as_str(),
                    mine.len(),
                    if mine.len() == 1 { "" } else { "s" }
                ));
                for (_, id, skip) in mine {
                    match skip {
                        Some(why) => {
                            if !reasons.contains(&why.as_str()) {
                                reasons.push(why);
                            }
                            let n = reasons.iter().position(|r| r == why).unwrap_or(0) + 1;
                            out.push_str(&format!("  {id}  (skipped [{n}])\n"));
                        }
                        None => out.push_str(&format!("  {id}\n")),
                    }
                }
            }
            for (i, why) in reasons.iter().enumerate() {
                out.push_str(&format!("[{}] {why}\n", i + 1));
            }
            out
        }
    };
    super::write_stdout(text.as_bytes())?;
    Ok(0)
}
