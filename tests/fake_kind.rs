//! A benchmark kind that exists only in this file — a rate where higher is better, with a
//! parameter — runs through the whole pipeline: plan → scheduler → result JSON → diff and
//! interleaved compare → verdict → exit status → console, Markdown, HTML, BMF and
//! github-action-benchmark exports. Nothing outside this file names it: the seam is `Bench`.

use std::time::Duration;

use coldbench::build::stage::Staged;
use coldbench::build::Executables;
use coldbench::cli::{FailOn, Format};
use coldbench::discover::plan::Plan;
use coldbench::measure::bench::{
    percentile_metrics, Bench, BenchId, Observation, Param, ParamValue, RunFailure, Settings,
};
use coldbench::measure::policy::{NoProgress, RunCount, RunPolicy};
use coldbench::measure::session;
use coldbench::pipeline::exit_status;
use coldbench::results::{
    Better, Comparison, Location, MetricDesc, OrderedMap, RunConfig, RunDocument, Side, Thresholds, Unit,
};

/// Items per second through a pretend pipeline: scripted values, and a scripted clock — every
/// run says how long it took, so run counts are exact.
struct Throughput {
    id: BenchId,
    settings: Settings,
    /// Values returned in turn.
    rates: Vec<f64>,
    /// What each run says it took.
    took: Duration,
    calls: usize,
}

impl Throughput {
    fn new(mean_rate: f64, took: Duration, policy: RunPolicy) -> Throughput {
        Throughput::with_items(1000.0, mean_rate, took, policy)
    }

    fn with_items(items: f64, mean_rate: f64, took: Duration, policy: RunPolicy) -> Throughput {
        let mut id = BenchId::new("fake", "pkg", "pipeline");
        id.params.push(Param { name: "items".into(), value: ParamValue::Number(items), unit: Some(Unit::Count) });
        // A spread of ±1.5% around the mean, the same shape on every side.
        let rates = (0..7).map(|i| mean_rate * (1.0 + 0.005 * (i as f64 - 3.0))).collect();
        let settings = Settings {
            policy,
            thresholds: Thresholds::DEFAULT,
            limits: vec![],
            timeout: Duration::from_secs(1),
            default_entry: false,
            precision: None,
            processes: 1,
        };
        Throughput { id, settings, rates, took, calls: 0 }
    }
}

impl Bench for Throughput {
    fn id(&self) -> &BenchId {
        &self.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        let mut m = OrderedMap::new();
        let rate =
            MetricDesc { gates: true, label: "throughput".into(), ..MetricDesc::new(Unit::PerSecond, Better::Higher) };
        m.insert("throughput", rate);
        let spent = MetricDesc { compare: Location::Mean, ..MetricDesc::new(Unit::Seconds, Better::Lower) };
        m.insert("cpu", spent);
        for (name, desc) in percentile_metrics("latency", "item latency", false) {
            m.insert(name, desc);
        }
        m
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let rate = self.rates[self.calls % self.rates.len()];
        self.calls += 1;
        // Each item's latency in nanoseconds: one item in a hundred takes ten times as long.
        let mut latency = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        let per_item = (1e9 / rate) as u64;
        for i in 0..100 {
            latency.record(if i == 99 { per_item * 10 } else { per_item }).unwrap();
        }
        Ok(Observation {
            elapsed: self.took,
            values: vec![("throughput".into(), rate), ("cpu".into(), 1000.0 / rate)],
            histograms: vec![("latency".into(), latency)],
            series: Vec::new(),
        })
    }
}

fn exactly(runs: u32) -> RunPolicy {
    RunPolicy { warmup: 1, runs: RunCount::Exactly(runs) }
}

fn document(benchmarks: Vec<coldbench::results::BenchmarkResult>, comparison: Option<Comparison>) -> RunDocument {
    let config = RunConfig {
        profile: "release".into(),
        features: vec![],
        all_features: false,
        no_default_features: false,
        no_build: true,
    };
    RunDocument::new("2026-11-23T00:00:00Z".into(), None, coldbench::host::collect(), config, benchmarks, comparison)
}

/// Measures `baseline` and `candidate` interleaved, as `--compare` does, and judges them.
fn compare(baseline: Throughput, candidate: Throughput) -> RunDocument {
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let mut plan = Plan { benches: vec![Box::new(baseline), Box::new(candidate)], warnings: vec![] };
    assert!(plan.to_build().is_empty(), "nothing to build for this kind");
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let (b, c) = plan.benches.split_at_mut(1);
    let mut sides: [coldbench::measure::bench::SideRef; 2] = [(&mut *b[0], &staged), (&mut *c[0], &staged)];
    let mut results = session::measure(&mut sides, &exe, &mut NoProgress);
    let cand = results.pop().unwrap();
    let base = results.pop().unwrap();
    let rows = coldbench::analysis::pairing::compare_results(
        std::slice::from_ref(&base),
        std::slice::from_ref(&cand),
        &|_| Thresholds::DEFAULT,
    );
    let side = |label: &str| Side { label: label.into(), sha: None, dirty: false };
    let comparison = Comparison {
        baseline: side("before"),
        candidate: side("after"),
        interleaved: true,
        rows: rows.rows,
        added: rows.added,
        removed: rows.removed,
        baseline_benchmarks: vec![base],
        skipped: vec![],
        multiplicity: rows.multiplicity,
    };
    document(vec![cand], Some(comparison))
}

fn verdict_of(doc: &RunDocument, metric: &str) -> String {
    let row = doc.comparison.as_ref().unwrap().rows.iter().find(|r| r.metric == metric).unwrap();
    row.verdict.as_str().to_string()
}

#[test]
fn a_rate_that_rose_is_improved_and_one_that_fell_by_30_percent_fails_the_gate() {
    let doc = compare(
        Throughput::new(1000.0, Duration::from_millis(5), exactly(20)),
        Throughput::new(1300.0, Duration::from_millis(5), exactly(20)),
    );
    assert_eq!(verdict_of(&doc, "throughput"), "improved");
    assert_eq!(exit_status(&doc, FailOn::Regression), 0);

    let doc = compare(
        Throughput::new(1000.0, Duration::from_millis(5), exactly(20)),
        Throughput::new(700.0, Duration::from_millis(5), exactly(20)),
    );
    assert_eq!(verdict_of(&doc, "throughput"), "failure");
    assert_eq!(exit_status(&doc, FailOn::Regression), 3);
    assert_eq!(exit_status(&doc, FailOn::Budget), 0, "verdicts gate only when asked to");

    // The id carries the parameter; the descriptors travel in the result.
    let b = &doc.benchmarks[0];
    assert_eq!(b.id, "fake/pkg/pipeline[items=1000]");
    assert_eq!(b.params.get("items"), Some(&serde_json::json!(1000)));
    let json = serde_json::to_value(&doc).unwrap();
    let throughput = &json["benchmarks"][0]["metrics"]["throughput"];
    assert_eq!((throughput["unit"].as_str(), throughput["better"].as_str()), (Some("per_second"), Some("higher")));
}

#[test]
fn saved_results_diff_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let store = coldbench::results::Store::new(dir.path().to_path_buf());
    let lock = store.lock(|_| {}).unwrap();
    let mut paths = Vec::new();
    for rate in [1000.0, 700.0] {
        let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
        let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
        let mut bench = Throughput::new(rate, Duration::from_millis(5), exactly(20));
        let results = session::measure(&mut [(&mut bench, &staged)], &exe, &mut NoProgress);
        let mut doc = document(results, None);
        doc.timestamp = format!("2026-11-23T00:00:0{}Z", paths.len());
        paths.push(store.save_run(&doc, &lock).unwrap());
    }
    let doc = coldbench::commands::diff::diff(&paths[0], &paths[1], None).unwrap();
    assert_eq!(verdict_of(&doc, "throughput"), "failure", "read back from JSON, the direction still holds");
    assert_eq!(exit_status(&doc, FailOn::Regression), 3);
}

#[test]
fn every_report_renders_it_with_its_unit_and_direction() {
    let doc = compare(
        Throughput::new(1000.0, Duration::from_millis(5), exactly(20)),
        Throughput::new(700.0, Duration::from_millis(5), exactly(20)),
    );
    let render = |format| coldbench::report::render(&doc, format, None, Default::default()).unwrap();

    let console = render(Format::Human);
    assert!(console.contains("fake/pkg/pipeline[items=1000]"), "{console}");
    assert!(console.contains("700/s") || console.contains("697/s"), "rates print as rates: {console}");
    assert!(console.contains("▲ failure"), "{console}");
    assert!(console.contains("30.0% lower"), "a rate reads higher or lower, not slower: {console}");

    let md = render(Format::Md);
    assert!(md.contains("| throughput (shift) |") && md.contains("🔴 failure"), "{md}");

    let html = render(Format::Html);
    assert!(html.contains("fake/pkg/pipeline[items=1000]") && html.contains("class=\"text failure\""), "{html}");
    assert!(html.contains("<svg class=\"chart change\""));

    let bmf: serde_json::Value = serde_json::from_str(&render(Format::Bmf)).unwrap();
    let value = bmf["fake/pkg/pipeline[items=1000]"]["throughput"]["value"].as_f64().unwrap();
    assert!((690.0..710.0).contains(&value), "rates are not scaled like times: {value}");

    let smaller: serde_json::Value = serde_json::from_str(&render(Format::Gab)).unwrap();
    let bigger: serde_json::Value = serde_json::from_str(&render(Format::GabBigger)).unwrap();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&bigger), ["fake/pkg/pipeline[items=1000] - throughput"], "customBiggerIsBetter");
    assert!(!names(&smaller).iter().any(|n| n.ends_with("throughput")), "not in customSmallerIsBetter");
    assert_eq!(bigger[0]["unit"], "/s");
}

#[test]
fn histograms_become_percentile_metrics_and_parameters_become_sweeps() {
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut results = Vec::new();
    for items in [100.0, 1000.0, 10_000.0] {
        let mut bench = Throughput::with_items(items, 1000.0 * items.log10(), Duration::from_millis(5), exactly(5));
        results.extend(session::measure(&mut [(&mut bench, &staged)], &exe, &mut NoProgress));
    }
    let b = &results[1];
    assert_eq!(b.samples["latency_p50"].len(), 5);
    let (p50, p99, max) =
        (b.summary["latency_p50"].median, b.summary["latency_p99"].median, b.summary["latency_max"].median);
    assert!((p50 - 1.0 / 3000.0).abs() < 1e-5, "{p50}");
    assert!(p99 >= p50 && max > 9.0 * p50, "the slow item shows in the tail: {p99} {max}");
    assert_eq!(b.metrics.get("latency_p99").unwrap().better, Better::Lower);
    assert_eq!(b.distributions["latency"].count, 500, "the merged histogram of the measured runs");

    let doc = document(results, None);
    let html = coldbench::report::render(&doc, Format::Html, None, Default::default()).unwrap();
    assert!(html.contains("<svg class=\"chart sweep\""), "throughput against items");
    assert!(html.contains("throughput of fake/pkg/pipeline by items"));
}

#[test]
fn the_scheduler_counts_runs_by_the_time_they_report_and_the_exit_status_follows() {
    // A scripted clock: each run says it took 400 ms. The default count wants 10 runs and 3 s:
    // 10 runs (4 s) here; at 50 ms a run, 60 runs make the 3 s.
    let policy = RunPolicy { warmup: 2, runs: RunCount::DEFAULT };
    let doc = compare(
        Throughput::new(1000.0, Duration::from_millis(400), policy),
        Throughput::new(1000.0, Duration::from_millis(400), policy),
    );
    let b = &doc.benchmarks[0];
    assert_eq!(b.samples["throughput"].len(), 10);
    assert_eq!(b.warmup_samples["throughput"].len(), 2);
    assert_eq!(verdict_of(&doc, "throughput"), "no_change");
    assert_eq!(exit_status(&doc, FailOn::Regression), 0);

    let doc = compare(
        Throughput::new(1000.0, Duration::from_millis(50), policy),
        Throughput::new(650.0, Duration::from_millis(50), policy),
    );
    assert_eq!(doc.benchmarks[0].samples["throughput"].len(), 60);
    assert_eq!(doc.comparison.as_ref().unwrap().baseline_benchmarks[0].samples["throughput"].len(), 60);
    assert_eq!(exit_status(&doc, FailOn::Warning), 3);
}
