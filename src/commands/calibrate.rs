//! `cargo coldbench calibrate`: how noisy each start and load benchmark is on this machine, and so
//! what a comparison of it can see. Each benchmark runs as two identical sides, interleaved (A/A),
//! for `--time`; the log ratios of the pairs give the noise, from which the smallest detectable
//! change per run count and the runs needed for `--detect` follow ([`crate::analysis::power`]).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::analysis::power::{Noise, RUN_COUNTS};
use crate::cli::{Format, RunArgs};
use crate::discover::plan;
use crate::discover::workspace;
use crate::measure::bench::Bench;
use crate::results::calibration::{self, CalibratedBench, Calibration};
use crate::results::{BenchmarkResult, Status};
use crate::ui::Ui;

/// Calibrates the selected start and load benchmarks; prints and saves the result.
pub fn command(time: Duration, detect: Option<f64>, args: &RunArgs, ui: &Ui) -> Result<u8> {
    let mut opts = super::run::options(args, &[crate::measure::start::KIND, crate::measure::load::KIND])?;
    opts.overrides.min_time = Some(time);
    let ws = workspace::load(&opts.cargo)?;
    let mut side_a = plan::plan(&ws, &opts.overrides)?;
    let mut side_b = plan::plan(&ws, &opts.overrides)?;
    for warning in &side_a.warnings {
        ui.warn(warning);
    }
    if side_a.benches.is_empty() {
        anyhow::bail!(crate::error::UserError::NothingToRun {
            detail: "the selection has no start or load benchmark to calibrate".into()
        });
    }
    let store = super::run::open_store(&opts, &ws.target_dir);
    let _lock = super::run::lock_store(&store, ui)?;
    let staged = super::run::build_and_stage(&opts, &ws, &side_a, &store, ui)?;
    let mut benches = Vec::new();
    for (a, b) in side_a.benches.iter_mut().zip(side_b.benches.iter_mut()) {
        let started = Instant::now();
        let mut sides = [(&mut **a as &mut dyn Bench, &staged), (&mut **b as &mut dyn Bench, &staged)];
        let results = super::run::measure_sides(&mut sides, &opts.runner_exe, ui);
        match calibrated(&results, started.elapsed(), detect) {
            Ok(bench) => benches.push(bench),
            Err(why) => ui.warn(format!("{}: not calibrated: {why}", results[1].id)),
        }
    }
    let host = calibration::host_name();
    let calibration = Calibration {
        schema: calibration::SCHEMA.into(),
        host: host.clone(),
        timestamp: super::run::now(),
        benchmarks: benches,
    };
    let path = Calibration::path(store.dir(), &host);
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
    })
}

/// The console text of a calibration.
pub fn render(c: &Calibration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "calibration of {} (α = 0.05, 95% power)", c.host);
    for b in &c.benchmarks {
        let _ = writeln!(out, "{}", b.id);
        let _ = writeln!(
            out,
            "  {} A/A pairs of `{}` in {:.0} s: log-ratio σ {:.2}%, drift {:+.2}% per 100 runs, lag-1 autocorrelation {:.2}",
            b.pairs,
            b.metric,
            b.seconds,
            b.log_ratio_sd * 100.0,
            b.drift_per_100 * 100.0,
            b.lag1
        );
        let seen: Vec<String> = b.detectable.iter().map(|(n, d)| format!("{n} runs ≥ {:.1}%", d * 100.0)).collect();
        let _ = writeln!(out, "  detects: {}", seen.join(", "));
        let runs = if b.runs_for_detect == u64::MAX { "—".to_string() } else { b.runs_for_detect.to_string() };
        let _ = writeln!(out, "  runs per side to detect {:.1}%: {runs}", b.detect * 100.0);
    }
    out
}
