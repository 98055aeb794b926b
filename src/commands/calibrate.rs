//! `cargo coldbench calibrate`: how noisy each start and load benchmark is on this machine, and so
//! what a comparison of it can see. Each benchmark runs as two identical sides, interleaved (A/A),
//! for `--time`; the log ratios of the pairs give the noise, from which the smallest detectable
//! change per run count and the runs needed for `--detect` follow ([`crate::stats::power`]).
//!
//! With `--suite`, each suite row runs as two identical sides against `--processes` fresh
//! processes each, block by block as a comparison runs them; the log ratios of the blocks' process
//! pairs give each gating metric's noise, what comparisons of so many processes can see, and the
//! noise band of this row's later comparisons on this host.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::analysis::nested::{self, Units};
use crate::cli::{Format, RunArgs};
use crate::discover::workspace;
use crate::measure::bench::Bench;
use crate::plan;
use crate::results::calibration::{self, CalibratedBench, Calibration, SuiteCalibration};
use crate::results::{BenchmarkResult, Location, Status};
use crate::stats::power::{Noise, ALPHA, POWER, RUN_COUNTS};
use crate::stats::summary::{mean, variance};
use crate::ui::Ui;

/// Processes per side of a suite row's calibration unless `--processes` says.
pub const SUITE_PROCESSES: u32 = 12;

/// The process counts per side a suite row's calibration reports.
pub const PROCESS_COUNTS: [u64; 4] = [4, 8, 12, 20];

/// Calibrates the selected start and load benchmarks, or the rows of a suite; prints and saves
/// the result (replacing the entries of the benchmarks calibrated again).
pub fn command(
    time: Duration,
    detect: Option<f64>,
    suite: Option<(&str, &[String])>,
    args: &RunArgs,
    ui: &Ui,
) -> Result<u8> {
    let kinds = match suite {
        Some((which, scenarios)) => super::suite::kinds(which, scenarios)?,
        None => {
            crate::plan::Registry::builtin().iter().filter(|k| k.info().calibrated_by_time).map(|k| k.name()).collect()
        }
    };
    let mut opts = super::options::run_options(args, &kinds)?;
    match suite {
        Some((_, scenarios)) => {
            opts.plan_options.scenarios = super::suite::registered_scenarios(scenarios);
            opts.plan_options.processes = Some(args.processes.unwrap_or(SUITE_PROCESSES));
        }
        None => opts.plan_options.min_time = Some(time),
    }
    let ws = workspace::load(&opts.cargo)?;
    let mut side_a = plan::plan(&ws, &opts.registry, &opts.plan_options)?;
    let mut side_b = plan::plan(&ws, &opts.registry, &opts.plan_options)?;
    for warning in &side_a.warnings {
        ui.warn(warning);
    }
    if side_a.benches.is_empty() {
        let what = if suite.is_some() { "suite row" } else { "start or load benchmark" };
        anyhow::bail!(crate::error::UserError::NothingToRun {
            detail: format!("the selection has no {what} to calibrate")
        });
    }
    let store = crate::pipeline::store::open_store(&opts, &ws.target_dir);
    let _lock = crate::pipeline::store::lock_store(&store, ui)?;
    let staged = crate::pipeline::single::build_and_stage(&opts, &ws, &side_a, &store, ui)?;
    let mut benches = Vec::new();
    for (a, b) in side_a.benches.iter_mut().zip(side_b.benches.iter_mut()) {
        let started = Instant::now();
        let mut sides = [(&mut **a as &mut dyn Bench, &staged), (&mut **b as &mut dyn Bench, &staged)];
        let results = crate::pipeline::measure::measure_sides(&mut sides, &opts.self_exe, ui);
        let made = match suite {
            Some(_) => calibrated_processes(&results, started.elapsed(), detect, opts.plan_options.quick),
            None => calibrated(&results, started.elapsed(), detect).map(|b| vec![b]),
        };
        match made {
            Ok(made) => benches.extend(made),
            Err(why) => ui.warn(format!("{}: not calibrated: {why}", results[1].id)),
        }
    }
    let host = calibration::host_name();
    let path = Calibration::path(store.dir(), &host);
    // Entries of other benchmarks (the start rows when suite rows are calibrated, and the other
    // way round) are kept.
    let mut kept = Calibration::load(&path).map(|c| c.benchmarks).unwrap_or_default();
    kept.retain(|old| !benches.iter().any(|new| new.id == old.id && new.suite.is_some() == old.suite.is_some()));
    kept.extend(benches);
    let calibration = Calibration {
        schema: calibration::SCHEMA.into(),
        host: host.clone(),
        timestamp: crate::pipeline::store::now(),
        benchmarks: kept,
    };
    calibration.save(&path)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&calibration)? + "\n",
        _ => render(&calibration),
    };
    super::write_stdout(text.as_bytes())?;
    ui.status("Saved", path.display());
    Ok(0)
}

/// One benchmark's calibration from its two sides' results.
fn calibrated(results: &[BenchmarkResult], took: Duration, detect: Option<f64>) -> Result<CalibratedBench, String> {
    let [a, b] = results else { return Err("two sides were not measured".into()) };
    for side in [a, b] {
        if side.status != Status::Ok {
            return Err(side.reason.clone().unwrap_or_else(|| format!("{:?}", side.status).to_lowercase()));
        }
    }
    let (metric, _) = b.headline().ok_or("it has no measured metric")?;
    let values = |r: &BenchmarkResult| r.samples.get(metric).map(|s| s.as_f64()).unwrap_or_default();
    let pairs: Vec<(f64, f64)> = values(a).into_iter().zip(values(b)).collect();
    let noise = Noise::from_pairs(&pairs).ok_or("fewer than 3 pairs of positive values")?;
    let detect = detect.unwrap_or(b.config.thresholds.noise);
    Ok(CalibratedBench {
        id: b.id.clone(),
        metric: metric.to_string(),
        pairs: noise.pairs,
        seconds: took.as_secs_f64(),
        log_ratio_sd: noise.log_ratio_sd,
        lag1: noise.lag1,
        drift_per_100: noise.drift_per_100,
        detectable: RUN_COUNTS.iter().map(|n| (*n, noise.detectable(*n))).collect(),
        detect,
        runs_for_detect: noise.runs_for(detect),
        suite: None,
    })
}

/// A suite row's calibration from its two sides' results: one entry per gating metric, from the
/// log ratios of the process pairs.
fn calibrated_processes(
    results: &[BenchmarkResult],
    took: Duration,
    detect: Option<f64>,
    quick: bool,
) -> Result<Vec<CalibratedBench>, String> {
    let [a, b] = results else { return Err("two sides were not measured".into()) };
    for side in [a, b] {
        if side.status != Status::Ok {
            return Err(side.reason.clone().unwrap_or_else(|| format!("{:?}", side.status).to_lowercase()));
        }
    }
    let rounds = b.config.runs.exactly().unwrap_or(1) as u32;
    let mut out = Vec::new();
    for (metric, desc) in b.metrics.iter().filter(|(_, d)| d.gates && d.compare != Location::Exact) {
        let units = |r: &BenchmarkResult| -> Option<Units> {
            Units::new(&r.samples.get(metric)?.as_f64(), &r.processes).filter(|u| u.means.iter().all(|m| *m > 0.0))
        };
        let (Some(ua), Some(ub)) = (units(a), units(b)) else { continue };
        if ua.ids != ub.ids || ua.ids.len() < 3 {
            continue;
        }
        let pairs: Vec<(f64, f64)> = ua.means.iter().copied().zip(ub.means.iter().copied()).collect();
        let d: Vec<f64> = pairs.iter().map(|(x, y)| y.ln() - x.ln()).collect();
        // Few pairs: the plain standard deviation, not the robust one the many pairs of starts use.
        let sd = variance(&d, mean(&d)).sqrt();
        let lag = Noise::from_pairs(&pairs).map_or((0.0, 0.0), |n| (n.lag1, n.drift_per_100));
        // A comparison of k processes per side averages k pairs' log ratios, on k − 1 degrees of freedom.
        let detectable_with = |k: u64| nested::detectable(sd / (k as f64).sqrt(), (k - 1) as f64, ALPHA, POWER);
        let detect = detect.unwrap_or_else(|| b.config.thresholds.noise.max(desc.noise.unwrap_or(0.0)));
        let needed = (2..=1000u64).find(|k| detectable_with(*k) <= detect).unwrap_or(u64::MAX);
        out.push(CalibratedBench {
            id: b.id.clone(),
            metric: metric.to_string(),
            pairs: pairs.len(),
            seconds: took.as_secs_f64(),
            log_ratio_sd: sd,
            lag1: lag.0,
            drift_per_100: lag.1,
            detectable: PROCESS_COUNTS.iter().map(|k| (*k, detectable_with(*k))).collect(),
            detect,
            runs_for_detect: needed,
            suite: Some(SuiteCalibration { rounds, quick }),
        });
    }
    if out.is_empty() {
        return Err("no gating metric had positive values in 3 or more process pairs".into());
    }
    Ok(out)
}

/// The console text of a calibration.
pub fn render(c: &Calibration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "calibration of {} (α = 0.05, 95% power)", c.host);
    for b in &c.benchmarks {
        let _ = writeln!(out, "{}", b.id);
        match b.suite {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "  {} A/A pairs of fresh processes ({} round{} each{}) of `{}` in {:.0} s: log-ratio σ {:.2}%",
                    b.pairs,
                    s.rounds,
                    if s.rounds == 1 { "" } else { "s" },
                    if s.quick { ", --quick" } else { "" },
                    b.metric,
                    b.seconds,
                    b.log_ratio_sd * 100.0,
                );
                let bands: Vec<String> = PROCESS_COUNTS
                    .iter()
                    .map(|k| format!("{k} processes ±{:.1}%", calibration::band(b.log_ratio_sd, *k as u32) * 100.0))
                    .collect();
                let _ = writeln!(out, "  noise band of its comparisons: {}", bands.join(", "));
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {} A/A pairs of `{}` in {:.0} s: log-ratio σ {:.2}%, drift {:+.2}% per 100 runs, lag-1 \
                     autocorrelation {:.2}",
                    b.pairs,
                    b.metric,
                    b.seconds,
                    b.log_ratio_sd * 100.0,
                    b.drift_per_100 * 100.0,
                    b.lag1
                );
            }
        }
        let unit = if b.suite.is_some() { "processes" } else { "runs" };
        let seen: Vec<String> = b.detectable.iter().map(|(n, d)| format!("{n} {unit} ≥ {:.1}%", d * 100.0)).collect();
        let _ = writeln!(out, "  detects: {}", seen.join(", "));
        let runs = if b.runs_for_detect == u64::MAX { "—".to_string() } else { b.runs_for_detect.to_string() };
        let _ = writeln!(out, "  {unit} per side to detect {:.1}%: {runs}", b.detect * 100.0);
    }
    out
}
