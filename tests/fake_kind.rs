//! A benchmark kind that exists only in this file — a rate where higher is better, with a
//! parameter — runs through the whole pipeline: its key in a configuration file → the real plan →
//! scheduler → result JSON → diff and interleaved compare → verdict → exit status → console,
//! Markdown, HTML, BMF and github-action-benchmark exports. Nothing outside this file names it:
//! it is registered in one line (`Registry::builtin().with(&FAKE)`), and the seams are `Kind` and
//! `Bench`.

use std::time::Duration;

use coldbench::build::stage::Staged;
use coldbench::build::Executables;
use coldbench::cli::{FailOn, Format};
use coldbench::config::Site;
use coldbench::error::UserError;
use coldbench::measure::bench::{
    percentile_metrics, Bench, BenchId, Observation, Param, ParamValue, RunFailure, Settings,
};
use coldbench::measure::kind::{config_of, Kind, KindConfig, KindInfo};
use coldbench::measure::package::{PackageContext, PlanOptions};
use coldbench::measure::policy::NoProgress;
use coldbench::measure::session;
use coldbench::pipeline::exit_status;
use coldbench::plan::{Plan, Registry};
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
    fn new(package: &PackageContext, items: f64, mean_rate: f64, took: Duration) -> Throughput {
        let mut id = BenchId::new(KIND, &package.member.name, "pipeline");
        id.params.push(Param { name: "items".into(), value: ParamValue::Number(items), unit: Some(Unit::Count) });
        // A spread of ±1.5% around the mean, the same shape on every side.
        let rates = (0..7).map(|i| mean_rate * (1.0 + 0.005 * (i as f64 - 3.0))).collect();
        let settings = Settings {
            policy: package.policy,
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

/// The kind's name: its key in a configuration and the first part of its ids.
const KIND: &str = "fake";

/// `[fake]`: the rate at 1000 items (it grows with the log of the batch), the batch sizes, and
/// what each run says it took.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FakeConfig {
    rate: f64,
    #[serde(default = "one_batch")]
    items: Vec<f64>,
    took_ms: u64,
}

fn one_batch() -> Vec<f64> {
    vec![1000.0]
}

/// The kind: one benchmark per batch size of its table.
struct Fake;

static FAKE: Fake = Fake;

static INFO: KindInfo = KindInfo::suite(KIND, "A pretend pipeline's throughput", &[]);

impl Kind for Fake {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn parse(&self, value: &serde_json::Value, site: &Site) -> Result<KindConfig, UserError> {
        let config: FakeConfig = serde_json::from_value(value.clone()).map_err(|e| UserError::Config {
            key: site.key(),
            manifest: site.manifest.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Box::new(config))
    }

    fn plan(&self, config: Option<&KindConfig>, package: &PackageContext) -> Result<Vec<Box<dyn Bench>>, UserError> {
        let Some(c) = config_of::<FakeConfig>(config) else { return Ok(Vec::new()) };
        let took = Duration::from_millis(c.took_ms);
        Ok(c.items
            .iter()
            .map(|&items| {
                Box::new(Throughput::new(package, items, c.rate * items.log10() / 3.0, took)) as Box<dyn Bench>
            })
            .collect())
    }
}

/// The kinds of the binary and this one: the one line a kind takes to register.
fn kinds() -> Registry {
    Registry::builtin().with(&FAKE)
}

/// The plan of a configuration file (`suite --config`) of a package named `pkg`, made by the
/// real plan with `kinds`.
fn plan_with(kinds: &Registry, toml: &str) -> anyhow::Result<Plan> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pkg.toml");
    std::fs::write(&file, toml).unwrap();
    let ws = coldbench::discover::standalone::load(&file, None, &kinds.names())?;
    coldbench::plan::plan(&ws, kinds, &PlanOptions::default())
}

/// The benchmarks `toml` configures.
fn plan(toml: &str) -> Plan {
    plan_with(&kinds(), toml).unwrap_or_else(|e| panic!("{e:#}"))
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

/// Measures the benchmark of the configuration `baseline` and that of `candidate` interleaved,
/// as `--compare` does, and judges them.
fn compare(baseline: &str, candidate: &str) -> RunDocument {
    let dir = tempfile::tempdir().unwrap();
    let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
    let (mut base, mut cand) = (plan(baseline), plan(candidate));
    assert!(base.to_build().is_empty(), "nothing to build for this kind");
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut sides: [coldbench::measure::bench::SideRef; 2] =
        [(&mut *base.benches[0], &staged), (&mut *cand.benches[0], &staged)];
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

/// A configuration file: `runs` runs at `rate` items a second, each saying it took `took_ms`.
fn rate(rate: u32, runs: u32, took_ms: u64) -> String {
    format!("runs = {runs}\n[fake]\nrate = {rate}.0\ntook-ms = {took_ms}\n")
}

fn verdict_of(doc: &RunDocument, metric: &str) -> String {
    let row = doc.comparison.as_ref().unwrap().rows.iter().find(|r| r.metric == metric).unwrap();
    row.verdict.as_str().to_string()
}

#[test]
fn a_rate_that_rose_is_improved_and_one_that_fell_by_30_percent_fails_the_gate() {
    let doc = compare(&rate(1000, 20, 5), &rate(1300, 20, 5));
    assert_eq!(verdict_of(&doc, "throughput"), "improved");
    assert_eq!(exit_status(&doc, FailOn::Regression), 0);

    let doc = compare(&rate(1000, 20, 5), &rate(700, 20, 5));
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
    for per_second in [1000, 700] {
        let staged = Staged::new(dir.path(), "fake", Executables::new()).unwrap();
        let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
        let mut plan = plan(&rate(per_second, 20, 5));
        let results = session::measure(&mut [(&mut *plan.benches[0], &staged)], &exe, &mut NoProgress);
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
    let doc = compare(&rate(1000, 20, 5), &rate(700, 20, 5));
    let render = |format| coldbench::report::render(&doc, format, None, Default::default()).unwrap();

    let console = render(Format::Human);
    assert!(console.contains("fake/pkg/pipeline[items=1000]"), "{console}");
    // The scripted rates lie symmetrically around 700/s, the middle one exactly there: their median.
    assert!(console.contains("700/s"), "rates print as rates: {console}");
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
    let mut plan = plan("runs = 5\n[fake]\nrate = 3000.0\nitems = [100, 1000, 10000]\ntook-ms = 5\n");
    assert_eq!(plan.benches.len(), 3, "a benchmark per batch size, in the order configured");
    for bench in plan.benches.iter_mut() {
        results.extend(session::measure(&mut [(&mut **bench, &staged)], &exe, &mut NoProgress));
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
    let config = |rate: u32, took_ms: u32| format!("warmup = 2\n[fake]\nrate = {rate}.0\ntook-ms = {took_ms}\n");
    let doc = compare(&config(1000, 400), &config(1000, 400));
    let b = &doc.benchmarks[0];
    assert_eq!(b.samples["throughput"].len(), 10);
    assert_eq!(b.warmup_samples["throughput"].len(), 2);
    assert_eq!(verdict_of(&doc, "throughput"), "no_change");
    assert_eq!(exit_status(&doc, FailOn::Regression), 0);

    let doc = compare(&config(1000, 50), &config(650, 50));
    assert_eq!(doc.benchmarks[0].samples["throughput"].len(), 60);
    assert_eq!(doc.comparison.as_ref().unwrap().baseline_benchmarks[0].samples["throughput"].len(), 60);
    assert_eq!(exit_status(&doc, FailOn::Warning), 3);
}

#[test]
fn the_registry_decides_which_keys_are_kinds() {
    let toml = rate(1000, 20, 5);
    let planned = plan(&toml);
    assert_eq!(planned.benches.len(), 1);
    assert_eq!(planned.benches[0].id().render(), "fake/pkg/pipeline[items=1000]");
    // Without the one line, the same file names a key nothing reads.
    let err = plan_with(&Registry::builtin(), &toml).err().expect("an unknown key");
    let message = format!("{err:#}");
    assert!(message.contains("unknown field `fake`"), "{message}");
    // The kind's own parse names its key in the file.
    let err = plan_with(&kinds(), "[fake]\nrate = 1.0\n").err().expect("took-ms is missing");
    let message = format!("{err:#}");
    assert!(message.contains("took-ms") && message.contains("fake"), "{message}");
}
