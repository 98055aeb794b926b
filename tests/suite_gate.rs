//! Suite comparisons you can gate on, with a fake suite row whose server process has a quirk of its
//! own: every fresh process runs a few percent faster or slower for as long as it lives (where its
//! threads landed, its buffers), and every round adds a little noise of its own. Measured through
//! the real scheduler and judged by the real pairing:
//!
//! - the old analysis — three rounds of one process per side, each row at its own 5% — flags
//!   identical code in nearly every compare;
//! - rows measured against fresh processes, compared process by process and adjusted as one
//!   family, do not; and a real 20% slowdown is still found;
//! - a plan of 100 null rows flags at most about one compare in twenty after the adjustment, and
//!   nearly every one without it.

use std::time::Duration;

use coldbench::analysis::pairing::{compare_results_with, Rows};
use coldbench::build::stage::Staged;
use coldbench::build::Executables;
use coldbench::cli::Format;
use coldbench::measure::bench::{Bench, BenchId, Observation, PrepareEnv, RunFailure, Settings};
use coldbench::measure::policy::{NoProgress, RunCount, RunPolicy};
use coldbench::measure::session;
use coldbench::results::{
    Adjustment, BenchmarkResult, Better, Comparison, Location, MetricDesc, OrderedMap, RunConfig, RunDocument, Series,
    Side, Thresholds, Unit,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How noisy the fake server is.
#[derive(Clone, Copy)]
struct Noise {
    /// Spread of a process's own level, on the log scale.
    process: f64,
    /// Spread of one round around its process's level.
    round: f64,
}

const QUIRKY: Noise = Noise { process: 0.06, round: 0.02 };

fn normal(rng: &mut StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// Messages per second from a server whose level is drawn anew each time it is started.
struct FakeRow {
    id: BenchId,
    settings: Settings,
    rng: StdRng,
    noise: Noise,
    /// The side's true rate (a slower server: 0.8 × the other side's).
    rate: f64,
    /// The running process's own factor; `None` before the first start.
    process: Option<f64>,
    /// The noise band of the metric's family.
    band: Option<f64>,
}

impl Bench for FakeRow {
    fn id(&self) -> &BenchId {
        &self.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        let mut m = OrderedMap::new();
        let desc = MetricDesc {
            gates: true,
            compare: Location::Mean,
            noise: self.band,
            ..MetricDesc::new(Unit::PerSecond, Better::Higher)
        };
        m.insert("throughput", desc);
        m
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn prepare(&mut self, _env: &PrepareEnv) -> Result<(), RunFailure> {
        self.process = Some((self.noise.process * normal(&mut self.rng)).exp());
        Ok(())
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let process = self.process.ok_or_else(|| RunFailure::new("not started"))?;
        let value = self.rate * process * (self.noise.round * normal(&mut self.rng)).exp();
        Ok(Observation {
            elapsed: Duration::from_millis(60),
            values: vec![("throughput".into(), value)],
            ..Observation::default()
        })
    }
}

/// How a comparison is made: rounds per process, processes per side, the adjustment, the
/// configured noise threshold (0 to judge on p-values alone) and the metric family's band.
#[derive(Clone, Copy)]
struct Design {
    rounds: u32,
    processes: u32,
    method: Adjustment,
    noise: f64,
    band: Option<f64>,
}

/// The old analysis: three rounds against one process per side, each row at its own 5%, the
/// band of start times for every metric.
const OLD: Design = Design { rounds: 3, processes: 1, method: Adjustment::None, noise: 0.02, band: None };
/// The new: one round against each of eight fresh processes per side, the rows as a family, a
/// throughput's band of 5%.
const NEW: Design = Design { rounds: 1, processes: 8, method: Adjustment::Bh, noise: 0.02, band: Some(0.05) };

fn row(i: usize, rate: f64, seed: u64, noise: Noise, design: Design) -> FakeRow {
    let settings = Settings {
        policy: RunPolicy { warmup: 1, runs: RunCount::Exactly(design.rounds) },
        thresholds: Thresholds { noise: design.noise, ..Thresholds::DEFAULT },
        limits: vec![],
        timeout: Duration::from_secs(1),
        default_entry: false,
        precision: None,
        processes: design.processes,
    };
    FakeRow {
        id: BenchId::new("fakesuite", "pkg", &format!("row{i}")),
        settings,
        rng: StdRng::seed_from_u64(seed),
        noise,
        rate,
        process: None,
        band: design.band,
    }
}

/// One compare of `rows` rows, interleaved side by side as `--compare` runs them; the candidate's
/// rows listed in `slower` run at 0.8 × the baseline's rate.
fn compare(rows: usize, slower: &[usize], seed: u64, noise: Noise, design: Design) -> Rows {
    measure_and_compare(rows, slower, seed, &|_| noise, design).2
}

/// [`compare`] with the noise of each row, returning both sides' results too.
fn measure_and_compare(
    rows: usize,
    slower: &[usize],
    seed: u64,
    noise: &dyn Fn(usize) -> Noise,
    design: Design,
) -> (Vec<BenchmarkResult>, Vec<BenchmarkResult>, Rows) {
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let (mut base, mut cand): (Vec<BenchmarkResult>, Vec<BenchmarkResult>) = (Vec::new(), Vec::new());
    for i in 0..rows {
        let s = seed * 1_000_003 + 2 * i as u64;
        let factor = if slower.contains(&i) { 0.8 } else { 1.0 };
        let mut b = row(i, 10_000.0, s, noise(i), design);
        let mut c = row(i, 10_000.0 * factor, s + 1, noise(i), design);
        let mut sides: [coldbench::measure::bench::SideRef; 2] = [(&mut b, &staged), (&mut c, &staged)];
        let mut results = session::measure(&mut sides, &exe, &mut NoProgress);
        cand.push(results.pop().unwrap());
        base.push(results.pop().unwrap());
    }
    let thresholds = Thresholds { noise: design.noise, ..Thresholds::DEFAULT };
    let rows = compare_results_with(&base, &cand, &|_| thresholds, design.method);
    (base, cand, rows)
}

/// The rows of a comparison that are flagged: any verdict but no change and within noise.
fn flagged(rows: &Rows) -> Vec<&str> {
    rows.rows
        .iter()
        .filter(|r| r.gating && r.verdict.as_str() != "no_change" && r.verdict.as_str() != "within_noise")
        .map(|r| r.id.as_str())
        .collect()
}

#[test]
fn the_old_analysis_flags_identical_code_and_the_new_one_does_not() {
    let compares = 20;
    let old = (0..compares).filter(|s| !flagged(&compare(20, &[], *s, QUIRKY, OLD)).is_empty()).count();
    // Three rounds of one process are nearly one sample: 6% between processes against 2% within.
    assert!(old >= 18, "the old analysis flagged only {old} of {compares} A/A compares");
    let new = (0..compares).filter(|s| !flagged(&compare(20, &[], 100 + *s, QUIRKY, NEW)).is_empty()).count();
    assert!(new <= 1, "the new analysis flagged {new} of {compares} A/A compares");
}

#[test]
fn a_real_twenty_percent_slowdown_is_still_found_process_by_process() {
    let slower = [3, 7, 11];
    let mut found = 0;
    let compares = 20;
    for seed in 0..compares {
        let rows = compare(20, &slower, 200 + seed, QUIRKY, NEW);
        let flagged: Vec<&str> =
            rows.rows.iter().filter(|r| r.verdict.is_regression()).map(|r| r.id.as_str()).collect();
        let expected: Vec<String> = slower.iter().map(|i| format!("fakesuite/pkg/row{i}")).collect();
        found += expected.iter().filter(|id| flagged.contains(&id.as_str())).count();
        assert!(flagged.iter().all(|id| expected.iter().any(|e| e == id)), "a row that did not change: {flagged:?}");
        let row = rows.rows.iter().find(|r| r.id == expected[0]).unwrap();
        assert_eq!(row.processes, Some([8, 8]));
        assert_eq!(row.test.as_deref(), Some("paired_t"));
        assert!(row.p_adjusted.unwrap() >= row.p_value.unwrap());
    }
    let rate = found as f64 / (compares as usize * slower.len()) as f64;
    assert!(rate >= 0.95, "the slower rows were found in {:.0}% of cases", rate * 100.0);
}

/// A compare of `rows` null rows, each with `processes` one-round processes per side of honest
/// noise (no quirk: each row's own test is right at its level), built on the shape of one row
/// measured through the scheduler.
fn null_plan(template: &[BenchmarkResult; 2], rows: usize, seed: u64) -> [Vec<BenchmarkResult>; 2] {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sides: [Vec<BenchmarkResult>; 2] = [Vec::new(), Vec::new()];
    for i in 0..rows {
        for (side, out) in template.iter().zip(sides.iter_mut()) {
            let mut r = side.clone();
            r.id = format!("fakesuite/pkg/row{i}");
            let values: Vec<f64> = r.processes.iter().map(|_| 10_000.0 * (0.03 * normal(&mut rng)).exp()).collect();
            r.samples.insert("throughput".into(), Series::Float(values));
            out.push(r);
        }
    }
    sides
}

#[test]
fn a_plan_of_100_null_rows_is_controlled_as_a_family() {
    let design = Design { rounds: 1, processes: 6, method: Adjustment::None, noise: 0.0, band: None };
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let (mut b, mut c) = (row(0, 1.0, 1, QUIRKY, design), row(0, 1.0, 2, QUIRKY, design));
    let mut results = session::measure(&mut [(&mut b, &staged), (&mut c, &staged)], &exe, &mut NoProgress);
    let template: [BenchmarkResult; 2] = [results.remove(0), results.remove(0)];
    assert_eq!(template[1].processes, [0, 1, 2, 3, 4, 5]);
    let thresholds = Thresholds { noise: 0.0, ..Thresholds::DEFAULT };
    let compares = 200;
    let any = |method| {
        (0..compares)
            .filter(|seed| {
                let [base, cand] = null_plan(&template, 100, *seed);
                !flagged(&compare_results_with(&base, &cand, &|_| thresholds, method)).is_empty()
            })
            .count()
    };
    let raw = any(Adjustment::None);
    // 1 − 0.95¹⁰⁰ = 99.4% of compares flag a row.
    assert!(raw >= 190, "unadjusted, {raw} of {compares} compares of 100 null rows flagged a row");
    for method in [Adjustment::Bh, Adjustment::Holm] {
        let n = any(method);
        // At most 5%: 10 of 200 at the limit, with room for chance (σ ≈ 3).
        assert!(n <= 16, "{method:?}: {n} of {compares} compares of 100 null rows flagged a row");
        assert!(n >= 2, "{method:?} is not so strict that nothing is ever found: {n}");
    }
}

#[test]
fn the_console_says_how_the_family_was_judged_what_each_row_could_see_and_which_are_too_noisy() {
    // Six rows: row 1 is 20% slower; rows 4 and 5 have servers whose level swings by 40%.
    let wild = Noise { process: 0.4, round: 0.05 };
    let noise = |i: usize| if i >= 4 { wild } else { QUIRKY };
    let (base, cand, rows) = measure_and_compare(6, &[1], 7, &noise, NEW);
    let side = |label: &str| Side { label: label.into(), sha: None, dirty: false };
    let comparison = Comparison {
        baseline: side("main"),
        candidate: side("working tree"),
        interleaved: true,
        rows: rows.rows,
        added: rows.added,
        removed: rows.removed,
        baseline_benchmarks: base,
        skipped: vec![],
        multiplicity: rows.multiplicity,
    };
    let config = RunConfig {
        profile: "release".into(),
        features: vec![],
        all_features: false,
        no_default_features: false,
        no_build: true,
    };
    let doc = RunDocument::new(
        "2026-12-06T00:00:00Z".into(),
        None,
        coldbench::host::collect(),
        config,
        cand,
        Some(comparison),
    );
    let console = coldbench::report::render(&doc, Format::Human, None, coldbench::report::Detail::default()).unwrap();
    assert!(
        console.contains("p-values adjusted for the 6 gating rows (Benjamini–Hochberg, per direction of change)"),
        "{console}"
    );
    let slower = console.lines().find(|l| l.starts_with("fakesuite/pkg/row1: ")).unwrap();
    assert!(slower.contains("20.0% lower") || slower.contains("% lower (CI "), "{slower}");
    assert!(slower.contains("paired t over 8 processes, p "), "{slower}");
    assert!(slower.contains("could detect ≥ ") && slower.contains("(95% power, as one of 6 rows)"), "{slower}");
    assert!(slower.ends_with("▲ regressed") || slower.ends_with("▲ warning"), "{slower}");
    // The wild rows could not have seen a 25% regression: they say so, and are listed.
    for i in [4, 5] {
        let line = console.lines().find(|l| l.starts_with(&format!("fakesuite/pkg/row{i}: "))).unwrap();
        assert!(line.contains("too noisy to judge: a 25% regression (fail) could go unseen"), "{line}");
    }
    assert!(console.contains("too noisy to judge: 2 of the gating rows"), "{console}");
    assert!(console.contains("  fakesuite/pkg/row4: could detect ≥ "), "{console}");
    assert!(!console.contains("  fakesuite/pkg/row0: could detect"), "a quiet row is not listed: {console}");
}
