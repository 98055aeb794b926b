use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::analysis::verdict::worst_gating;
use crate::results::{BenchConfig, Better, Compared, Facts, OrderedMap, Readiness, Series, Unit, Verdict};
use crate::stats::summary::summarize;

fn s(values: &[f64]) -> Samples {
    Samples::new(values.to_vec()).unwrap()
}

/// Normal draws (Box–Muller) from a fixed seed, so that the synthetic tests are deterministic.
fn normal_samples(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| mean + sd * crate::stats::standard_normal(&mut rng)).collect()
}

pub(crate) fn time(gates: bool) -> MetricDesc {
    MetricDesc { gates, ..MetricDesc::new(Unit::Seconds, Better::Lower) }
}

fn rate() -> MetricDesc {
    MetricDesc { gates: true, ..MetricDesc::new(Unit::PerSecond, Better::Higher) }
}

fn by_mean(desc: MetricDesc) -> MetricDesc {
    MetricDesc { compare: Location::Mean, ..desc }
}

fn fact(gates: bool) -> MetricDesc {
    MetricDesc { gates, compare: Location::Exact, ..MetricDesc::new(Unit::Count, Better::Lower) }
}

/// A result with these metrics and samples (an empty sample list for an exact value).
pub(crate) fn result(id: &str, metrics: Vec<(&str, MetricDesc, Vec<f64>)>) -> BenchmarkResult {
    let mut descs = OrderedMap::new();
    let mut samples = BTreeMap::new();
    let mut summary = BTreeMap::new();
    for (name, desc, values) in metrics {
        if desc.compare != Location::Exact {
            summary.insert(name.to_string(), summarize(&s(&values)));
            samples.insert(name.to_string(), Series::Float(values));
        }
        descs.insert(name, desc);
    }
    BenchmarkResult {
        id: id.into(),
        kind: "fake".into(),
        params: OrderedMap::new(),
        param_units: BTreeMap::new(),
        metrics: descs,
        status: Status::Ok,
        reason: None,
        detail: None,
        samples,
        processes: Vec::new(),
        warmup_samples: BTreeMap::new(),
        summary,
        values: BTreeMap::new(),
        distributions: BTreeMap::new(),
        series: BTreeMap::new(),
        reference: None,
        facts: Facts::default(),
        budget: vec![],
        warnings: vec![],
        config: BenchConfig {
            command: vec![],
            default_entry: false,
            args: vec![],
            env: BTreeMap::new(),
            ready: Readiness::Exit,
            warmup: 0,
            runs: crate::results::RunsAsked::Exactly(10),
            timeout: 1.0,
            thresholds: Thresholds::DEFAULT,
            processes: None,
            calibrated_noise: BTreeMap::new(),
        },
    }
}

fn spread(center: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| center * (1.0 + 0.01 * ((i % 7) as f64 - 3.0))).collect()
}

fn judge(base: &[f64], cand: &[f64], desc: MetricDesc) -> ComparisonRow {
    let rows = compare_results(
        &[result("k/p/a", vec![("m", desc.clone(), base.to_vec())])],
        &[result("k/p/a", vec![("m", desc, cand.to_vec())])],
        &|_| Thresholds::DEFAULT,
    );
    rows.rows.into_iter().find(|r| r.metric == "m").expect("a row")
}

#[test]
fn identical_constant_samples_are_no_change() {
    let c = compare_samples(&s(&[2.0; 8]), &s(&[2.0; 8]), 7);
    assert_eq!((c.median_ratio, c.mean_ratio), ((1.0, [1.0, 1.0]), (1.0, [1.0, 1.0])));
    assert_eq!((c.welch_p, c.mann_whitney_p), (1.0, 1.0));
    assert_eq!(judge(&[2.0; 8], &[2.0; 8], time(true)).verdict, Verdict::NoChange);
}

#[test]
fn constant_samples_that_differ_are_a_certain_change() {
    let c = compare_samples(&s(&[1.0; 5]), &s(&[2.0; 6]), 7);
    assert_eq!((c.median_ratio, c.mean_ratio.1), ((2.0, [2.0, 2.0]), [2.0, 2.0]));
    assert_eq!(c.welch_p, 0.0);
    assert_eq!(judge(&[1.0; 12], &[2.0; 12], by_mean(time(true))).verdict, Verdict::Failure);
    assert_eq!(judge(&[2.0; 12], &[1.0; 12], by_mean(time(true))).verdict, Verdict::Improved);
}

#[test]
fn zero_baselines_give_defined_ratios() {
    let c = compare_samples(&s(&[0.0; 4]), &s(&[0.0; 3]), 3);
    assert_eq!((c.median_ratio, c.mean_ratio), ((1.0, [1.0, 1.0]), (1.0, [1.0, 1.0])));
    let c = compare_samples(&s(&[0.0, 0.0, 0.0, 1.0]), &s(&[1.0; 4]), 3);
    assert_eq!((c.baseline[0], c.median_ratio.0, c.mean_ratio.0), (0.0, f64::INFINITY, 4.0));
    assert!(c.median_ratio.1[0] >= 1.0 && c.median_ratio.1[1] == f64::INFINITY, "{c:?}");
}

#[test]
fn three_times_slower_is_a_failure_and_graded_slowdowns_are_graded() {
    let base = normal_samples(11, 50, 1.0, 0.03);
    let cand = normal_samples(12, 50, 3.0, 0.09);
    let row = judge(&base, &cand, time(true));
    assert_eq!(row.verdict, Verdict::Failure, "{row:?}");
    let [lo, hi] = row.ci95.unwrap();
    assert!(lo > 1.0 && lo <= row.ratio.unwrap() && row.ratio.unwrap() <= hi, "{row:?}");
    // Every one of the 50 pairs is slower: as far as the signed-rank test goes.
    assert!(row.p_value.unwrap() < 1e-8, "{row:?}");

    let base = normal_samples(21, 50, 1.0, 0.03);
    for (factor, expected) in [(1.06, Verdict::Regressed), (1.17, Verdict::Warning), (1.40, Verdict::Failure)] {
        let cand = normal_samples(22, 50, factor, 0.03 * factor);
        assert_eq!(judge(&base, &cand, time(true)).verdict, expected, "{factor}");
    }
}

#[test]
fn same_distribution_is_not_a_regression() {
    for seed in 0..20 {
        let base = normal_samples(100 + seed, 50, 1.0, 0.03);
        let cand = normal_samples(200 + seed, 50, 1.0, 0.03);
        let row = judge(&base, &cand, time(true));
        assert!(matches!(row.verdict, Verdict::NoChange | Verdict::WithinNoise), "seed {seed}: {row:?}");
    }
}

#[test]
fn ten_percent_faster_is_improved() {
    let row = judge(&normal_samples(31, 50, 1.0, 0.03), &normal_samples(32, 50, 0.9, 0.027), time(true));
    assert_eq!(row.verdict, Verdict::Improved, "{row:?}");
}

#[test]
fn a_rate_that_rose_is_improved_and_one_that_fell_by_30_percent_is_a_failure() {
    let base = normal_samples(41, 30, 1000.0, 20.0);
    assert_eq!(judge(&base, &normal_samples(42, 30, 1300.0, 20.0), rate()).verdict, Verdict::Improved);
    assert_eq!(judge(&base, &normal_samples(43, 30, 700.0, 20.0), rate()).verdict, Verdict::Failure);
}

#[test]
fn bootstrap_is_reproducible_by_seed() {
    let base = s(&normal_samples(41, 40, 1.0, 0.05));
    let cand = s(&normal_samples(42, 35, 1.02, 0.05));
    assert_eq!(compare_samples(&base, &cand, 1234), compare_samples(&base, &cand, 1234));
    assert_ne!(compare_samples(&base, &cand, 1234).median_ratio, compare_samples(&base, &cand, 4321).median_ratio);
}

#[test]
fn pairs_by_id_in_declared_order_and_lists_one_sided_benchmarks() {
    let base = vec![
        result("k/p/a", vec![("t", time(true), spread(10.0, 20)), ("u", by_mean(time(false)), spread(1.0, 20))]),
        result("k/p/gone", vec![("t", time(true), spread(1.0, 20))]),
    ];
    let cand = vec![
        result("k/p/a", vec![("t", time(true), spread(30.0, 20)), ("u", by_mean(time(false)), spread(1.0, 20))]),
        result("k/p/new", vec![("t", time(true), spread(1.0, 20))]),
    ];
    let rows = compare_results(&base, &cand, &|_| Thresholds::DEFAULT);
    assert_eq!(rows.added, ["k/p/new"]);
    assert_eq!(rows.removed, ["k/p/gone"]);
    assert_eq!(rows.rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>(), ["t", "u"], "declared order");
    assert_eq!(rows.rows[0].verdict, Verdict::Failure);
    assert_eq!(worst_gating(&rows.rows), Some(Verdict::Failure));
    let u = &rows.rows[1];
    assert_eq!((u.location.map(Compared::as_str), u.test.as_deref(), u.gating), (Some("mean"), Some("welch"), false));
    assert_eq!(u.p_value, u.welch_p);
}

#[test]
fn a_metric_that_does_not_gate_stops_at_regressed() {
    let row = judge(&spread(1.0, 20), &spread(3.0, 20), time(false));
    assert_eq!((row.verdict, row.gating), (Verdict::Regressed, false));
}

#[test]
fn a_zero_baseline_has_no_ratio_rather_than_an_infinite_one() {
    let row = judge(&[0.0; 20], &spread(0.004, 20), by_mean(time(false)));
    assert_eq!(row.ratio, None);
    assert!(row.note.as_deref().unwrap().contains("is 0"));
    serde_json::to_string(&row).unwrap();
}

#[test]
fn facts_compare_exactly_and_a_new_forbidden_load_is_a_failure() {
    let mut base = result("k/p/a", vec![("mapped", fact(false), vec![]), ("forbidden", fact(true), vec![])]);
    let mut cand = base.clone();
    base.values.insert("mapped".into(), 3.0);
    cand.values.insert("mapped".into(), 4.0);
    base.values.insert("forbidden".into(), 0.0);
    cand.values.insert("forbidden".into(), 1.0);
    let rows = compare_results(&[base], &[cand], &|_| Thresholds::DEFAULT).rows;
    let mapped = rows.iter().find(|r| r.metric == "mapped").unwrap();
    assert_eq!((mapped.verdict, mapped.gating), (Verdict::Regressed, false));
    let forbidden = rows.iter().find(|r| r.metric == "forbidden").unwrap();
    assert_eq!(forbidden.verdict, Verdict::Failure);
    assert_eq!(worst_gating(&rows), Some(Verdict::Failure));
}

#[test]
fn one_stray_slow_run_does_not_hide_a_tripled_median() {
    let mut slow = spread(90.0, 10);
    slow[9] = 1000.0;
    let mut fast_with_outlier = spread(30.0, 10);
    fast_with_outlier[3] = 1000.0;
    let row = judge(&fast_with_outlier, &slow, time(true));
    assert_eq!(row.verdict, Verdict::Failure, "{row:?}");
    assert!(row.welch_p.unwrap() > 0.05, "Welch alone would have missed it: {row:?}");
    // Ten runs a side are one block: the shift of the sides, by Mann-Whitney's statistic.
    assert_eq!((row.location.map(Compared::as_str), row.test.as_deref()), (Some("shift"), Some("van_elteren")));
    assert!((row.ratio.unwrap() - 3.0).abs() < 0.1 && row.p_value.unwrap() < 0.01, "{row:?}");
}

#[test]
fn a_side_that_failed_compares_by_status() {
    let base = result("k/p/a", vec![("t", time(true), spread(10.0, 5))]);
    let mut cand = result("k/p/a", vec![("t", time(true), spread(10.0, 5))]);
    cand.status = Status::Failed;
    cand.reason = Some("timed out after 1s".into());
    let rows = compare_results(&[base], &[cand], &|_| Thresholds::DEFAULT).rows;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].metric.as_str(), rows[0].verdict), ("status", Verdict::Failure));
    assert_eq!(rows[0].note.as_deref(), Some("baseline ok, candidate failed (timed out after 1s)"));
}

#[test]
fn every_sampled_row_states_what_it_could_detect_and_few_noisy_runs_say_how_many_would_do() {
    // 5% spread: 10 runs per side cannot see the 2% noise threshold.
    let (a, b) = (normal_samples(31, 10, 10.0, 0.5), normal_samples(32, 10, 10.0, 0.5));
    let few = judge(&a, &b, time(true));
    let seen = few.detectable.unwrap();
    assert!(seen > 0.02, "{few:?}");
    let runs = few.runs_to_see_noise.unwrap();
    assert!(runs > 10 && runs == crate::stats::power::runs_to_see(10, seen, 0.02), "{few:?}");
    // 400 runs of the same spread can: no advice.
    let (a, b) = (normal_samples(33, 400, 10.0, 0.5), normal_samples(34, 400, 10.0, 0.5));
    let many = judge(&a, &b, time(true));
    assert!(many.detectable.unwrap() < 0.02 && many.runs_to_see_noise.is_none(), "{many:?}");
}

#[test]
fn a_metric_s_band_is_its_family_s_unless_this_host_s_calibration_says_otherwise() {
    let throughput = MetricDesc { noise: Some(0.05), ..by_mean(rate()) };
    let mut r = result("k/p/a", vec![("m", throughput.clone(), vec![1.0, 2.0])]);
    let t = Thresholds::DEFAULT;
    assert_eq!(noise_band(&r, "m", &throughput, &t), 0.05);
    r.config.calibrated_noise.insert("m".into(), 0.03);
    assert_eq!(noise_band(&r, "m", &throughput, &t), 0.03, "narrower on a quiet host");
    r.config.calibrated_noise.insert("m".into(), 0.01);
    assert_eq!(noise_band(&r, "m", &throughput, &t), 0.02, "never below the configured noise");
    assert_eq!(noise_band(&r, "wall", &time(true), &t), 0.02, "a start time keeps the configured noise");

    // A clear 4% fall of a throughput is within its family's 5%, and a regression at 2%.
    let (base, cand) = (spread(1000.0, 30), spread(960.0, 30));
    let row = judge(&base, &cand, throughput);
    assert_eq!((row.verdict, row.noise), (Verdict::WithinNoise, Some(0.05)));
    assert_eq!(judge(&base, &cand, by_mean(rate())).verdict, Verdict::Regressed);
}

/// A result whose runs ran one per process, in blocks 0, 1, 2, ...
fn by_process(id: &str, desc: MetricDesc, values: Vec<f64>) -> BenchmarkResult {
    let mut r = result(id, vec![("m", desc, values)]);
    r.processes = (0..r.samples["m"].as_f64().len() as u32).collect();
    r
}

#[test]
fn rows_measured_against_processes_are_compared_process_by_process_and_adjusted_as_a_family() {
    let desc = MetricDesc { noise: Some(0.05), ..by_mean(rate()) };
    // Block by block, the candidate is 20% slower; the blocks differ from each other by far more.
    let base: Vec<f64> = [1000.0, 1600.0, 700.0, 1300.0, 800.0, 1500.0].to_vec();
    let cand: Vec<f64> = base.iter().enumerate().map(|(i, b)| b * 0.8 * (1.0 + 0.01 * (i % 3) as f64)).collect();
    let mut bases = vec![by_process("k/p/slow", desc.clone(), base.clone())];
    let mut cands = vec![by_process("k/p/slow", desc.clone(), cand)];
    // Nine rows of identical code beside it.
    for i in 0..9 {
        let id = format!("k/p/same{i}");
        let noise: Vec<f64> =
            base.iter().enumerate().map(|(j, b)| b * (1.0 + 0.01 * ((i + j) % 5) as f64 - 0.02)).collect();
        bases.push(by_process(&id, desc.clone(), base.clone()));
        cands.push(by_process(&id, desc.clone(), noise));
    }
    let rows = compare_results(&bases, &cands, &|_| Thresholds::DEFAULT);
    let slow = rows.rows.iter().find(|r| r.id == "k/p/slow").unwrap();
    assert_eq!((slow.test.as_deref(), slow.processes, slow.df), (Some("paired_t"), Some([6, 6]), Some(5.0)));
    assert!(slow.verdict.is_regression(), "{slow:?}");
    assert!((slow.ratio.unwrap() - 0.808).abs() < 0.01, "{slow:?}");
    // As one of 10 gating rows, its p-value is adjusted up, and its power stated at that level.
    assert!(slow.p_adjusted.unwrap() > slow.p_value.unwrap(), "{slow:?}");
    assert_eq!(rows.multiplicity.map(|m| (m.method, m.gating)), Some((crate::results::Adjustment::Bh, 10)));
    let alone = compare_results(&bases[..1], &cands[..1], &|_| Thresholds::DEFAULT);
    assert!(slow.detectable.unwrap() > alone.rows[0].detectable.unwrap());
    // Without the blocks, their own spread (σ ≈ 30%) hides the change: the same values as two
    // groups of processes are not significant.
    let mut unpaired = cands[0].clone();
    unpaired.processes = (10..16).collect();
    let two_groups = compare_results(&bases[..1], &[unpaired], &|_| Thresholds::DEFAULT);
    assert_eq!(two_groups.rows[0].test.as_deref(), Some("welch_processes"));
    assert_eq!(two_groups.rows[0].verdict, Verdict::NoChange);
}

/// Runs of a start with two modes, 1.02 ms and 1.32 ms, each run in the slow one with
/// probability `slow`, with 1% jitter: seeded.
fn two_modes(seed: u64, n: usize, slow: f64) -> Vec<f64> {
    use rand::Rng;
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mode = if rng.gen::<f64>() < slow { 1.32e-3 } else { 1.02e-3 };
            mode * (1.0 + 0.01 * crate::stats::standard_normal(&mut rng))
        })
        .collect()
}

#[test]
fn the_power_line_and_the_interval_of_a_two_mode_start_agree() {
    // The smallest change a row claims to see at 95% power lies (z₀.₉₇₅ + z₀.₉₅) / z₀.₉₇₅ ≈ 1.839
    // half-widths of its own 95% interval away, on the log scale: the two come from one estimator.
    let factor = (1.959_964 + 1.644_854) / 1.959_964;
    for (seed, slow) in [(41, 0.5), (43, 0.3), (47, 0.7)] {
        let (a, b) = (two_modes(seed, 300, slow), two_modes(seed + 1, 300, slow));
        let row = judge(&a, &b, time(true));
        let [lo, hi] = row.ci95.expect("an interval");
        let half = (hi.ln() - lo.ln()) / 2.0;
        let claimed = (1.0 + row.detectable.expect("a power line")).ln();
        assert!((claimed / half - factor).abs() < 1e-3, "{claimed} against {half} half-width: {row:?}");
        // The spread of the runs themselves, which the power line used to come from, says
        // something else for two modes: the line and the interval disagreed.
        let from_runs = (1.0 + crate::stats::power::detectable_between(&a, &b).unwrap()).ln();
        assert!((from_runs / half - factor).abs() > 0.25 * factor, "{from_runs} against {half}: {row:?}");
    }
}
