//! Which estimate judges a start: a seeded fake start (wall times drawn from a chosen shape) runs
//! through the scheduler and the comparison as `--compare` runs it, and the verdict of today's
//! rule (the Hodges–Lehmann shift of the interleaved pairs) is set beside the one of the ratio of
//! medians with its bootstrap interval and Mann-Whitney's test, which it replaced.
//! `simulated_verdicts_for_benchmarks_md` prints each rule's rates over many seeds (by hand).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use coldbench::analysis::pairing::{compare_results, compare_samples};
use coldbench::analysis::verdict::verdict;
use coldbench::build::stage::Staged;
use coldbench::build::Executables;
use coldbench::cli::Format;
use coldbench::measure::bench::{Bench, BenchId, Observation, Precision, RunFailure, Settings};
use coldbench::measure::policy::{NoProgress, RunCount, RunPolicy};
use coldbench::measure::session;
use coldbench::results::{
    BenchmarkResult, Better, Comparison, MetricDesc, OrderedMap, PrecisionStop, RunConfig, RunDocument, Side,
    Thresholds, Unit, Verdict,
};
use coldbench::stats::shift;
use coldbench::stats::summary::Samples;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// The shape of a start's wall time.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One mode, log-normal noise of this spread.
    Unimodal { sd: f64 },
    /// One mode, plus this share of runs slowed by 1.5–3× (the machine interrupted them).
    HeavyTail { sd: f64, slow: f64 },
    /// Two modes (1.02 and 1.32 ms with 1.5% noise each); the share of the slow one is 0.5 plus a
    /// per-side offset drawn once per compare from N(0, `jitter`): what two copies of one binary
    /// give.
    Bimodal { jitter: f64 },
    /// The same two modes with these shares of the slow one on the baseline and the candidate.
    BimodalShares([f64; 2]),
    /// One mode with a level both sides share that wanders (AR(1) with this lag-1 correlation and
    /// spread): a machine that slows down for a while.
    Drift { sd: f64, rho: f64, level: f64 },
}

/// A start benchmark whose runs are seeded draws of a shape, `factor` times slower.
struct FakeStart {
    id: BenchId,
    settings: Settings,
    rng: StdRng,
    shape: Shape,
    factor: f64,
    slow_share: f64,
    level: Rc<RefCell<f64>>,
    /// How long each run takes in fact: a run to a precision stops on the clock.
    pause: Duration,
}

impl Bench for FakeStart {
    fn id(&self) -> &BenchId {
        &self.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        let mut m = OrderedMap::new();
        m.insert("wall", MetricDesc { gates: true, ..MetricDesc::new(Unit::Seconds, Better::Lower) });
        m
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        std::thread::sleep(self.pause);
        let rng = &mut self.rng;
        let base = match self.shape {
            Shape::Unimodal { sd } => 1e-3 * (sd * normal(rng)).exp(),
            Shape::HeavyTail { sd, slow } => {
                let hit = if rng.gen::<f64>() < slow { rng.gen_range(1.5..3.0) } else { 1.0 };
                1e-3 * (sd * normal(rng)).exp() * hit
            }
            Shape::Bimodal { .. } | Shape::BimodalShares(_) => {
                let at = if rng.gen::<f64>() < self.slow_share { 1.32e-3 } else { 1.02e-3 };
                at * (0.015 * normal(rng)).exp()
            }
            Shape::Drift { sd, rho, level: spread } => {
                let mut level = self.level.borrow_mut();
                *level = rho * *level + spread * (1.0f64 - rho * rho).sqrt() * normal(rng);
                1e-3 * (*level + sd * normal(rng)).exp()
            }
        };
        let wall = base * self.factor;
        Ok(Observation {
            elapsed: Duration::from_secs_f64(wall),
            values: vec![("wall".into(), wall)],
            ..Observation::default()
        })
    }
}

/// The verdicts of one interleaved compare of `runs` per side: today's and that of the ratio of
/// medians; with `all`, also those of the Hodges–Lehmann shift of single pairs, of the sides taken
/// whole and of blocks of 8, 16 and 32 pairs (slow in a debug build: for BENCHMARKS.md only).
fn one_compare(shape: Shape, factor: f64, runs: u32, noise: f64, seed: u64, all: bool) -> [Verdict; 7] {
    let mut rng = StdRng::seed_from_u64(seed);
    let level = Rc::new(RefCell::new(0.0));
    let thresholds = Thresholds { noise, ..Thresholds::DEFAULT };
    let side = |index: usize, factor: f64, rng: &mut StdRng| {
        let slow_share = match shape {
            Shape::Bimodal { jitter } => (0.5 + jitter * normal(rng)).clamp(0.05, 0.95),
            Shape::BimodalShares(shares) => shares[index],
            _ => 0.0,
        };
        FakeStart {
            id: BenchId::new("start", "fake", "bin"),
            settings: Settings {
                policy: RunPolicy { warmup: 0, runs: RunCount::Exactly(runs) },
                thresholds,
                limits: vec![],
                timeout: Duration::from_secs(1),
                default_entry: false,
                precision: None,
                processes: 1,
            },
            rng: StdRng::seed_from_u64(rng.gen()),
            shape,
            factor,
            slow_share,
            level: level.clone(),
            pause: Duration::ZERO,
        }
    };
    let (mut base, mut cand) = (side(0, 1.0, &mut rng), side(1, factor, &mut rng));
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut results = session::measure(&mut [(&mut base, &staged), (&mut cand, &staged)], &exe, &mut NoProgress);
    let (c, b) = (results.pop().unwrap(), results.pop().unwrap());
    let rows = compare_results(std::slice::from_ref(&b), std::slice::from_ref(&c), &|_| thresholds).rows;
    let today = rows.iter().find(|r| r.metric == "wall").unwrap().verdict;
    let walls = |r: &coldbench::results::BenchmarkResult| Samples::new(r.samples["wall"].as_f64()).unwrap();
    let m = compare_samples(&walls(&b), &walls(&c), seed);
    let (ratio, ci) = m.median_ratio;
    let medians = verdict(m.mann_whitney_p, ci, ratio, &thresholds, Better::Lower);
    if !all {
        return [today, today, today, medians, today, today, today];
    }
    let (wb, wc) = (walls(&b), walls(&c));
    let judge = |s: Option<shift::Shift>| {
        let s = s.unwrap();
        verdict(s.p_value, s.ci, s.ratio, &thresholds, Better::Lower)
    };
    let paired = judge(shift::paired(wb.values(), wc.values(), 0.05));
    let unpaired = judge(shift::unpaired(wb.values(), wc.values(), 0.05));
    let b8 = judge(shift::blocked(wb.values(), wc.values(), 0.05, 8));
    let b16 = judge(shift::blocked(wb.values(), wc.values(), 0.05, 16));
    let b32 = judge(shift::blocked(wb.values(), wc.values(), 0.05, 32));
    [today, paired, unpaired, medians, b8, b16, b32]
}

/// How many of `compares` compares flag a regression (regressed, warning or failure) and how many
/// say anything but no change or within noise, by each rule of [`one_compare`].
fn tally(shape: Shape, factor: f64, runs: u32, noise: f64, compares: u64, all: bool) -> [[usize; 2]; 7] {
    let mut out = [[0; 2]; 7];
    for i in 0..compares {
        let verdicts = one_compare(shape, factor, runs, noise, 1000 * i + 7, all);
        for (slot, v) in out.iter_mut().zip(verdicts) {
            slot[0] += usize::from(v.is_regression());
            slot[1] += usize::from(!matches!(v, Verdict::NoChange | Verdict::WithinNoise));
        }
    }
    out
}

#[test]
fn a_bimodal_start_whose_copies_differ_a_little_in_mode_mass_is_not_a_regression() {
    // Identical code whose two copies put 46% and 54% of their runs in the slow mode: the median
    // leaves the fast mode for the slow one, 29% higher.
    for seed in 0..3 {
        let [today, _, _, medians, ..] = one_compare(Shape::BimodalShares([0.46, 0.54]), 1.0, 1280, 0.01, seed, false);
        assert!(medians.is_regression(), "seed {seed}: the ratio of medians said {medians:?}");
        assert!(matches!(today, Verdict::NoChange | Verdict::WithinNoise), "seed {seed}: {today:?}");
    }
}

#[test]
fn the_shift_is_as_powerful_as_the_medians_on_one_mode() {
    // A 3% slower start with 5% noise, 100 runs a side, noise threshold 1%: about 3 in 4 found.
    // (Two modes, where the medians raise false alarms and the shift does not, take 1280 runs a side:
    // the test above, and the simulation below for the rates.)
    let [today, _, _, medians, ..] = tally(Shape::Unimodal { sd: 0.05 }, 1.03, 100, 0.01, 40, false);
    assert!(today[0] >= medians[0] && today[0] >= 24, "3% found: shift {today:?}, medians {medians:?}");
}

/// A document of one compare, as `--compare` saves it.
fn document(base: BenchmarkResult, cand: BenchmarkResult, thresholds: Thresholds) -> RunDocument {
    let rows = compare_results(std::slice::from_ref(&base), std::slice::from_ref(&cand), &|_| Thresholds {
        significance: cand.config.thresholds.significance,
        ..thresholds
    });
    let side = |label: &str| Side { label: label.into(), sha: None, dirty: false };
    let comparison = Comparison {
        baseline: side("before"),
        candidate: side("after"),
        interleaved: true,
        rows: rows.rows,
        added: vec![],
        removed: vec![],
        baseline_benchmarks: vec![base],
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
    RunDocument::new(
        "2026-11-23T00:00:00Z".into(),
        None,
        coldbench::host::collect(),
        config,
        vec![cand],
        Some(comparison),
    )
}

#[test]
fn a_precision_run_that_cannot_reach_its_precision_says_so_and_judges_on_its_last_look() {
    // ±0.1% is out of reach for 5% noise in 250 ms of runs that take 0.1 ms each: time is up, or
    // (when a loaded machine slowed the first look and so the plan) the last planned look is made.
    let thresholds = Thresholds { noise: 0.01, ..Thresholds::DEFAULT };
    let precision = Precision { within: 0.001, max_time: Duration::from_millis(250) };
    let mut rng = StdRng::seed_from_u64(77);
    let mut side = |factor: f64| FakeStart {
        id: BenchId::new("start", "fake", "bin"),
        settings: Settings {
            policy: RunPolicy { warmup: 0, runs: RunCount::DEFAULT },
            thresholds,
            limits: vec![],
            timeout: Duration::from_secs(1),
            default_entry: false,
            precision: Some(precision),
            processes: 1,
        },
        rng: StdRng::seed_from_u64(rng.gen()),
        shape: Shape::Unimodal { sd: 0.05 },
        factor,
        slow_share: 0.0,
        level: Rc::new(RefCell::new(0.0)),
        pause: Duration::from_micros(100),
    };
    let (mut base, mut cand) = (side(1.0), side(1.05));
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut results = session::measure(&mut [(&mut base, &staged), (&mut cand, &staged)], &exe, &mut NoProgress);
    let (c, b) = (results.pop().unwrap(), results.pop().unwrap());
    let p = c.facts.precision.clone().expect("the run to a precision is recorded");
    let why = match p.stopped {
        Some(PrecisionStop::MaxTime) => "--max-time was up",
        Some(PrecisionStop::Looks) => "the last look of the schedule was made",
        _ => panic!("a run short of its precision stopped as if precise: {p:?}"),
    };
    assert!(!p.reached, "{p:?}");
    assert!(p.half_width.unwrap() > 0.001 && p.alpha < 0.05, "{p:?}");
    assert_eq!(c.samples["wall"].len() as u64, p.runs, "judged on the runs the last look saw");

    let doc = document(b, c, thresholds);
    let row = doc.comparison.as_ref().unwrap().rows.iter().find(|r| r.metric == "wall").unwrap().clone();
    // The verdict reads the sequential rule's interval at its look's level, not a 95% one.
    assert_eq!((row.ratio, row.ci95), (Some(p.ratio), Some(p.ci)), "{row:?}");
    assert_eq!(row.ci_level, Some(1.0 - p.alpha));
    assert_eq!((row.location, row.test.as_deref()), (Some(coldbench::results::Compared::Shift), Some("van_elteren")));
    assert_eq!(doc.benchmarks[0].config.thresholds.significance, p.alpha);
    let expected = verdict(
        row.p_value.unwrap(),
        p.ci,
        p.ratio,
        &Thresholds { significance: p.alpha, ..thresholds },
        Better::Lower,
    );
    assert_eq!(row.verdict, expected);

    let said = format!(
        "precision not reached: ±{:.1}% after {} runs a side; asked ±0.1% ({why})",
        p.half_width.unwrap() * 100.0,
        p.runs
    );
    for format in [Format::Human, Format::Md, Format::Html] {
        let text = coldbench::report::render(&doc, format, None, coldbench::report::Detail::default()).unwrap();
        assert!(text.contains(&said), "{format:?} does not say {said:?}:\n{text}");
    }
}

/// Each rule's regressions and alarms over 200 seeded compares per shape (too slow for CI):
/// `cargo test --release --test estimator -- --ignored --nocapture`.
#[test]
#[ignore]
fn simulated_verdicts_for_benchmarks_md() {
    let compares = 200;
    let cases: [(&str, Shape, f64, u32); 14] = [
        ("one mode, σ 5%, A/A", Shape::Unimodal { sd: 0.05 }, 1.0, 100),
        ("one mode, σ 5%, 3% slower", Shape::Unimodal { sd: 0.05 }, 1.03, 100),
        ("one mode + 5% of runs 1.5–3× slower, A/A", Shape::HeavyTail { sd: 0.05, slow: 0.05 }, 1.0, 100),
        ("one mode + 5% of runs 1.5–3× slower, 3% slower", Shape::HeavyTail { sd: 0.05, slow: 0.05 }, 1.03, 100),
        (
            "σ 2% on a shared level wandering slowly by 3%, A/A",
            Shape::Drift { sd: 0.02, rho: 0.995, level: 0.03 },
            1.0,
            100,
        ),
        (
            "σ 2% on a shared level wandering slowly by 3%, 3% slower",
            Shape::Drift { sd: 0.02, rho: 0.995, level: 0.03 },
            1.03,
            100,
        ),
        ("σ 2% on a shared level jumping by 5%, A/A", Shape::Drift { sd: 0.02, rho: 0.9, level: 0.05 }, 1.0, 100),
        (
            "σ 2% on a shared level jumping by 5%, 3% slower",
            Shape::Drift { sd: 0.02, rho: 0.9, level: 0.05 },
            1.03,
            100,
        ),
        ("two modes, shares 50% ± 3%, A/A", Shape::Bimodal { jitter: 0.03 }, 1.0, 100),
        ("two modes, shares 50% ± 3%, 3% slower", Shape::Bimodal { jitter: 0.03 }, 1.03, 100),
        ("two modes, shares 50% ± 3%, A/A, 1280 runs", Shape::Bimodal { jitter: 0.03 }, 1.0, 1280),
        ("two modes, shares 50% ± 3%, 3% slower, 1280 runs", Shape::Bimodal { jitter: 0.03 }, 1.03, 1280),
        ("two modes, shares 46% / 54%, A/A, 1280 runs", Shape::BimodalShares([0.46, 0.54]), 1.0, 1280),
        ("two modes, shares 46% / 54%, 3% slower, 1280 runs", Shape::BimodalShares([0.46, 0.54]), 1.03, 1280),
    ];
    println!(
        "| data ({compares} compares a side each, noise 1%; runs a side 100 unless said) | shift in blocks of 16 \
         pairs (verdicts) | of 8 | of 32 | of single pairs | of the sides | ratio of medians |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for (label, shape, factor, runs) in cases {
        let [today, pairs, sides, medians, b8, _, b32] = tally(shape, factor, runs, 0.01, compares, true);
        let cells: Vec<String> =
            [today, b8, b32, pairs, sides, medians].iter().map(|c| format!("{} / {}", c[0], c[1])).collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
}
