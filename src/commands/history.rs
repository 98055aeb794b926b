//! `cargo coldbench history [RANGE] [--last N] [--every K] [--anchor REF] [--resume|--force]`:
//! every first-parent commit of a range measured against one anchor, interleaved; per benchmark
//! the series of ratios, its steps, printed and written as `history.html` and `history.md`.

use anyhow::Result;

use super::options::{refuse_run_options, run_options};
use crate::build::git::{self, ResolvedRef};
use crate::build::range::{self, RangeSpec};
use crate::cli::{HistoryArgs, RunArgs};
use crate::error::UserError;
use crate::pipeline::anchored::{unknown_metric, Anchored, Point, Setup};
use crate::report::history::{self as view, PointDoc};
use crate::ui::Ui;

/// `history`: returns the exit status (0; 1 when no commit could be measured).
pub fn command(args: &HistoryArgs, run: &RunArgs, ui: &Ui) -> Result<u8> {
    crate::suites::server::stop_servers_on_interrupt();
    crate::build::interrupt::defer_interrupts();
    refuse_run_options(run, "history")?;
    let setup = Setup::new(run_options(run, &[])?, ui)?;
    let spec = RangeSpec::parse(args.range.as_deref()).map_err(UserError::from)?;
    let line = range::resolve(&setup.repo, &spec, args.last.map(|n| n as usize))?;
    if let Some(base) = &line.forked_base {
        ui.warn(format!(
            "`{base}` is not on the first-parent line of `{}`: the range starts where `{base}`'s history left it, at {}",
            spec.tip,
            line.commits[0].describe()
        ));
    }
    if line.shallow {
        ui.warn(format!(
            "this is a shallow clone: the range stops at {}, the oldest commit it has (`git fetch --unshallow` \
             fetches the rest)",
            line.commits[0].describe()
        ));
    }
    let kept = range::every(line.commits.len(), args.every.map_or(1, |k| k as usize));
    let anchor = match &args.anchor {
        Some(name) => git::resolve(&setup.repo, name).map_err(UserError::from)?,
        None => {
            let first = &line.commits[kept[0]];
            ResolvedRef { name: git::short(&first.sha).to_string(), sha: first.sha.clone() }
        }
    };
    let mut anchored = Anchored::new(&setup, anchor, ui)?;
    ui.status("History", format!("{} commits against {} (the anchor)", kept.len(), anchored.anchor().describe()));

    let ids = setup.ids();
    let mut points: Vec<(Point, usize)> = Vec::new();
    for (n, &i) in kept.iter().enumerate() {
        let commit = &line.commits[i];
        let left_out = if n == 0 { 0 } else { i - kept[n - 1] - 1 };
        let point = match anchored.stored(commit, &ids).filter(|_| !args.force) {
            Some(point) => {
                ui.note(format!("{}: measured earlier ({})", commit.describe(), point.file.display()));
                point
            }
            None => {
                ui.status("Commit", format!("{}/{} {}", n + 1, kept.len(), commit.describe()));
                anchored.measure(commit, None)?
            }
        };
        if let Some(gap) = point.gap() {
            ui.warn(format!("{}: {gap}", commit.describe()));
        }
        points.push((point, left_out));
    }
    anchored.report_cache();
    let reused = points.iter().filter(|(p, _)| p.reused).count();
    if reused > 0 {
        ui.status("Reused", format!("{reused} commits measured earlier with the same anchor and settings"));
    }

    let docs: Vec<PointDoc> = points
        .iter()
        .map(|(p, left_out)| PointDoc {
            commit: &p.commit,
            doc: &p.doc,
            file: Some(p.file.clone()),
            reused: p.reused,
            left_out: *left_out,
        })
        .collect();
    let noise = setup.opts.plan_options.noise;
    let history = view::build(anchored.anchor(), &docs, args.metric.as_deref(), noise, crate::pipeline::store::now());
    if let (Some(metric), true) = (&args.metric, history.series.is_empty()) {
        let docs = docs.iter().map(|d| d.doc);
        return Err(UserError::Invalid(format!("{}; drawn without it", unknown_metric(metric, docs))).into());
    }
    super::write_stdout(view::render(&history, &docs, run.format)?.as_bytes())?;
    let [html, md] = view::write_standard(&history, setup.store.dir())?;
    ui.status("Reports", format!("{} and {}", html.display(), md.display()));
    let measured = points.iter().filter(|(p, _)| p.gap().is_none()).count();
    Ok(if measured == 0 { crate::EXIT_ERROR } else { 0 })
}
