//! `cargo coldbench suite zmq|rpc|tensor|all`: the suites only, all of their scenarios or the groups
//! `--scenario` names; `--list` shows the rows without running them; `--config FILE` runs them from
//! a configuration file instead of a workspace.

use std::path::Path;

use anyhow::Result;

use crate::cli::{Format, RunArgs, ALL_SUITES};
use crate::error::UserError;
use crate::measure::kind::Family;
use crate::plan::Registry;
use crate::suites::rpc::rows::ScalingArgs;
use crate::suites::tensor::rows::TensorArgs;
use crate::ui::Ui;

/// The options of one suite or another, as the command line parsed them.
pub struct SuiteArgs<'a> {
    /// rpc's scaling rows.
    pub scaling: &'a ScalingArgs,
    /// tensor's modes, devices and sizes.
    pub tensor: &'a TensorArgs,
    /// `--config FILE`: a configuration file instead of a workspace.
    pub config: Option<&'a Path>,
}

/// Runs the suites (or lists their rows); returns the exit status.
pub fn command(
    args: &RunArgs,
    which: &str,
    scenarios: &[String],
    suite_args: &SuiteArgs,
    list: bool,
    ui: &Ui,
) -> Result<u8> {
    let kinds = kinds(which, scenarios)?;
    if let Some(file) = suite_args.config {
        check_without_workspace(args, file)?;
    }
    let mut opts = super::options::run_options(args, &kinds)?;
    opts.config = suite_args.config.map(Path::to_path_buf);
    opts.plan_options.scenarios = registered_scenarios(scenarios);
    opts.plan_options.kind_args.set(suite_args.scaling.clone());
    opts.plan_options.kind_args.set(suite_args.tensor.clone());
    if list {
        return print_list(&opts, args.format);
    }
    super::run::execute(&opts, args, ui)
}

/// The kinds a suite name stands for (`all`: every suite of the registry), or the error of a
/// scenario group that is not the suite's.
pub fn kinds(which: &str, scenarios: &[String]) -> Result<Vec<&'static str>, UserError> {
    let registry = Registry::builtin();
    let kinds: Vec<&'static str> = match registry.get(which) {
        Some(kind) => vec![kind.name()],
        None if which == ALL_SUITES => registry.names_of(Family::Suite),
        None => return Err(UserError::Invalid(format!("`{which}` is not a suite"))),
    };
    if let [kind] = kinds[..] {
        let groups: Vec<&'static str> =
            registry.get(kind).map(|k| k.info().groups).unwrap_or_default().iter().map(|g| g.name).collect();
        if let Some(g) = scenarios.iter().find(|g| !groups.contains(&g.as_str())) {
            return Err(UserError::ScenarioNotInSuite { group: g.clone(), suite: kind, available: groups });
        }
    }
    Ok(kinds)
}

/// The registry's own names of the scenario groups named on the command line (which clap checked).
pub fn registered_scenarios(scenarios: &[String]) -> Vec<&'static str> {
    let registry = Registry::builtin();
    scenarios.iter().filter_map(|s| registry.scenario_groups().find(|g| g.name == s).map(|g| g.name)).collect()
}

/// What a run from a configuration file cannot do: it has no workspace to build or compare.
fn check_without_workspace(args: &RunArgs, file: &Path) -> Result<(), UserError> {
    let cargo = &args.cargo;
    let with = [
        ("--compare", args.compare.is_some()),
        ("--manifest-path", cargo.manifest_path.is_some()),
        ("-p/--package", !cargo.packages.is_empty()),
        ("--workspace", cargo.workspace),
        ("--features", !cargo.features.is_empty() || cargo.all_features || cargo.no_default_features),
        ("--bin", !args.bins.is_empty()),
        ("--lib", !args.libs.is_empty()),
    ];
    match with.iter().find(|(_, given)| *given) {
        Some((option, _)) => Err(UserError::Invalid(format!(
            "{option} needs a cargo workspace, and --config {} runs without one: the suites of this binary, configured \
             by the file (to compare with an earlier run, save it with --save-baseline NAME and run again with \
             --baseline NAME)",
            file.display()
        ))),
        None => Ok(()),
    }
}

/// The rows that would run, by scenario group, with why a row would be skipped.
fn print_list(opts: &crate::pipeline::RunOptions, format: Format) -> Result<u8> {
    let (_, plan) = crate::pipeline::single::load_and_plan(opts)?;
    let rows: Vec<(&str, String, Option<String>, Vec<String>)> =
        plan.benches.iter().map(|b| (b.group().unwrap_or_default(), b.id().render(), b.skip(), b.listing())).collect();
    let text = match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(group, id, skip, lines)| {
                    serde_json::json!({ "scenario": group, "id": id, "skipped": skip, "sends": lines })
                })
                .collect();
            serde_json::to_string_pretty(&items)? + "\n"
        }
        _ => {
            let mut out = String::new();
            let mut groups: Vec<&str> = rows.iter().map(|(g, ..)| *g).collect();
            groups.dedup();
            // A reason is said once, at the end: nine CURVE rows share one.
            let mut reasons: Vec<&str> = Vec::new();
            for group in groups {
                let mine: Vec<_> = rows.iter().filter(|(g, ..)| *g == group).collect();
                out.push_str(&format!("{} ({} row{})\n", group, mine.len(), if mine.len() == 1 { "" } else { "s" }));
                for (_, id, skip, lines) in mine {
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
                    for line in lines {
                        out.push_str(&format!("      {line}\n"));
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
