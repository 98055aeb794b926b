//! Head-to-head runs on `tests/fixtures/h2hws`: a Rust program against a Python reference,
//! interleaved, with speedups, the `min-speedup` gate, self-reported metrics through `--compare`
//! and the exports, and the reports and configurations that are wrong.

mod common;

use std::path::Path;

use common::{describe, git_in, latest, SuiteFixture};

/// Runs per side: enough for a bootstrap interval, few enough for a test.
const SETTINGS: &str = "[package.metadata.bench]\nruns = 10\nwarmup = 1\n";

const PYTHON: &str =
    "[[package.metadata.bench.start]]\nname = \"python-baseline\"\ncommand = [\"python3\", \"py/pipeline.py\"]\n";

/// The Rust program against the Python one, with `budget` (a TOML inline table, or "").
fn rust_against_python(budget: &str) -> String {
    let budget = if budget.is_empty() { String::new() } else { format!("budget = {budget}\n") };
    format!(
        "{SETTINGS}\n{PYTHON}\n[[package.metadata.bench.start]]\nbin = \"fast\"\nname = \"rust\"\nreference = \"python-baseline\"\n{budget}"
    )
}

/// A copy of the fixture depending on this checkout's library, with `config` appended to the
/// package's manifest. Each copy builds in its own target directory: the tests build different
/// versions of the same binaries at the same time. (The fixture has no dependencies.)
fn fixture(config: &str) -> SuiteFixture {
    SuiteFixture::new("h2hws", |ws| write_config(ws, config)).own_target()
}

fn write_config(ws: &Path, config: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = ws.join("pipeline/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.split("\n[package.metadata.bench]").next().unwrap().to_string();
    let text = text.replace("path = \"../../../..\"", &format!("path = {:?}", root.display().to_string()));
    std::fs::write(&manifest, format!("{text}\n{config}")).unwrap();
}

fn bench<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let id = format!("start/pipeline/{name}");
    doc["benchmarks"].as_array().unwrap().iter().find(|b| b["id"] == id.as_str()).unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn a_rewrite_runs_interleaved_with_its_reference_and_min_speedup_gates_on_the_interval() {
    let f = fixture(&rust_against_python("{ min-speedup = 1.5 }"));
    // `--bin fast` selects the Rust entry; its reference comes with it.
    let out = f.run(&["--bin", "fast"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let rust = bench(&doc, "rust");
    let python = bench(&doc, "python-baseline");
    assert_eq!(python["status"], "ok", "{python:#}");
    let reference = &rust["reference"];
    assert_eq!(reference["id"], "start/pipeline/python-baseline");
    assert_eq!(reference["interleaved"], true);
    assert_eq!(rust["samples"]["wall"].as_array().unwrap().len(), python["samples"]["wall"].as_array().unwrap().len());
    // Python starts an interpreter: far more than 1.5× slower, whatever the machine.
    let wall = &reference["speedups"]["wall"];
    let (factor, lo, hi) =
        (wall["factor"].as_f64().unwrap(), wall["ci95"][0].as_f64().unwrap(), wall["ci95"][1].as_f64().unwrap());
    assert!(lo <= factor && factor <= hi && lo > 1.5, "{wall}");
    // The factor is the shift of the interleaved runs, reference over this one.
    let shift_of = |metric: &str| {
        let runs = |b: &serde_json::Value| -> Vec<f64> {
            b["samples"][metric].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
        };
        coldbench::stats::shift::shift(&runs(python), &runs(rust), 0.05).unwrap().ratio
    };
    assert!((factor - 1.0 / shift_of("wall")).abs() / factor < 1e-9, "the factor is the shift: {wall}");
    // The rate the programs reported: higher is better, so the speedup is Rust's over Python's.
    let rate = &reference["speedups"]["items_per_second"];
    let rate_factor = rate["factor"].as_f64().unwrap();
    assert!((rate_factor - shift_of("items_per_second")).abs() / rate_factor < 1e-6, "{rate}");
    assert!(rate["factor"].as_f64().unwrap() > 1.0, "{rate}");
    assert!(reference["speedups"]["max_rss"]["factor"].as_f64().unwrap() > 1.0, "Python holds more memory");
    assert_eq!(rust["metrics"]["items_per_second"]["better"], "higher");
    assert_eq!(rust["metrics"]["items_per_second"]["unit"], "per_second");
    assert_eq!(rust["metrics"]["init"]["unit"], "seconds");
    let check = rust["budget"].as_array().unwrap().iter().find(|c| c["stat"] == "speedup").unwrap();
    assert_eq!(
        (check["metric"].as_str(), check["ok"].as_bool(), check["limit"].as_f64()),
        (Some("wall"), Some(true), Some(1.5))
    );
    assert_eq!(check["value"].as_f64().unwrap(), lo, "the gate reads the lower end of the interval");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("faster wall time (") && stdout.contains("than python-baseline (interleaved)"), "{stdout}");
    assert!(stdout.contains("less peak RSS ("), "{stdout}");
    assert!(stdout.contains("Head-to-head (1 benchmark against their references)"), "{stdout}");
    assert!(stdout.contains("wall time: ") && stdout.contains("geometric mean of 1 pair"), "{stdout}");
    assert!(stdout.contains("peak RSS: ") && stdout.contains("mean of 1 pair"), "{stdout}");
    let html = std::fs::read_to_string(f.out().join("report.html")).unwrap();
    assert!(html.contains("<h2>Head-to-head</h2>") && html.contains("class=\"chart speedup\""), "the bar chart");
    let md = std::fs::read_to_string(f.out().join("report.md")).unwrap();
    assert!(md.contains("**Head-to-head**"), "{md}");

    // A limit above what was measured fails the gate and says by how much.
    write_config(&f.ws(), &rust_against_python(&format!("{{ min-speedup = {:.1} }}", hi * 100.0)));
    let out = f.run(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("min-speedup not met: wall time"), "{stdout}");
    assert!(stdout.contains("faster than python-baseline at the lower end of its 95% CI"), "{stdout}");

    // Per metric: the reported rate must be 100 000× Python's.
    write_config(&f.ws(), &rust_against_python("{ min-speedup = { wall = 1.2, items_per_second = 100000.0 } }"));
    let out = f.run(&["--runs", "5"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = latest(&f.out());
    let checks = bench(&doc, "rust")["budget"].as_array().unwrap().clone();
    let by_metric =
        |m: &str| checks.iter().find(|c| c["metric"] == m).unwrap_or_else(|| panic!("{checks:#?}"))["ok"].clone();
    assert_eq!((by_metric("wall"), by_metric("items_per_second")), (true.into(), false.into()));

    // The exports carry what the programs reported, with units and directions.
    let export = |format: &str| {
        let out = common::coldbench()
            .arg("report")
            .arg(f.out().join("latest.json"))
            .args(["--format", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let bmf = export("bmf");
    let rust_bmf = &bmf["start/pipeline/rust"];
    assert!(rust_bmf["items-per-second (/s, higher is better)"]["value"].as_f64().unwrap() > 0.0, "{bmf:#}");
    assert!(rust_bmf["init (ns, lower is better)"]["value"].as_f64().unwrap() > 0.0, "{bmf:#}");
    let names = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["name"].as_str().unwrap().into(), e["unit"].as_str().unwrap().into()))
            .collect()
    };
    let smaller = names(&export("gab"));
    let bigger = names(&export("gab-bigger"));
    assert!(smaller.contains(&("start/pipeline/rust - init".into(), "ms".into())), "{smaller:?}");
    assert!(bigger.contains(&("start/pipeline/rust - items_per_second".into(), "/s".into())), "{bigger:?}");
    assert!(!smaller.iter().any(|(n, _)| n.ends_with("items_per_second")), "a rate is not smaller-is-better");
}

#[test]
fn a_reported_rate_that_halved_on_a_branch_fails_the_compare() {
    let f = fixture(&rust_against_python(""));
    let ws = f.ws();
    f.commit_all("fast pipeline");
    // Twice the work per item: half the items per second, far past the 25% failure threshold
    // whatever the noise of ten runs on a loaded machine.
    let main_rs = ws.join("pipeline/src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, source.replace("const WORK: u64 = 400;", "const WORK: u64 = 800;")).unwrap();
    let out = f.run(&["--compare", "HEAD", "--fail-on", "regression"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = latest(&f.out());
    let rows = doc["comparison"]["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["id"] == "start/pipeline/rust" && r["metric"] == "items_per_second")
        .unwrap_or_else(|| panic!("{rows:#?}"));
    let ratio = row["ratio"].as_f64().unwrap();
    assert!((0.35..0.65).contains(&ratio), "{row:#}");
    assert_eq!(row["verdict"], "failure", "a rate that fell is worse: {row:#}");
    assert_eq!(row["gating"], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("items_per_second"), "{stdout}");
    // The candidate's Rust and Python entries ran in different pairs (each against its baseline):
    // their head-to-head is there, marked as measured apart.
    let reference = &bench(&doc, "rust")["reference"];
    assert_eq!(
        (reference["id"].as_str(), reference["interleaved"].as_bool()),
        (Some("start/pipeline/python-baseline"), Some(false))
    );
    assert!(reference["speedups"]["wall"]["factor"].as_f64().unwrap() > 1.0, "{reference:#}");
    assert!(stdout.contains("than python-baseline (measured apart)"), "{stdout}");
    assert_eq!(
        git_in(&ws, &["status", "--porcelain"]).trim(),
        "M pipeline/src/main.rs",
        "the working tree is as it was"
    );
}

#[test]
fn a_chain_of_references_runs_as_one_interleaved_group() {
    let config = format!(
        "{}\n[[package.metadata.bench.start]]\nbin = \"fast\"\nname = \"rust-again\"\nreference = \"rust\"\n",
        rust_against_python("")
    );
    let f = fixture(&config);
    let out = f.run(&["--runs", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let runs = |name: &str| bench(&doc, name)["samples"]["wall"].as_array().unwrap().len();
    assert_eq!((runs("python-baseline"), runs("rust"), runs("rust-again")), (4, 4, 4));
    let again = &bench(&doc, "rust-again")["reference"];
    assert_eq!((again["id"].as_str(), again["interleaved"].as_bool()), (Some("start/pipeline/rust"), Some(true)));
    // The same program against itself: about 1×, whatever the machine.
    let wall = again["speedups"]["wall"]["factor"].as_f64().unwrap();
    assert!((0.33..3.0).contains(&wall), "{again:#}");
    assert_eq!(bench(&doc, "rust")["reference"]["id"], "start/pipeline/python-baseline");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Head-to-head (2 benchmarks against their references)"), "{stdout}");
}

#[test]
fn wrong_reports_fail_their_row_and_name_the_line_or_the_runs() {
    let config = format!(
        "{SETTINGS}\n[[package.metadata.bench.start]]\nbin = \"badline\"\n\n[[package.metadata.bench.start]]\nbin = \"flaky\"\n\
         env = {{ FLAKY_STATE = \"flaky.state\" }}\n\n[[package.metadata.bench.start]]\nbin = \"fast\"\n"
    );
    let f = fixture(&config);
    let out = f.run(&["--runs", "4"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let bad = bench(&doc, "badline");
    assert_eq!(bad["status"], "failed");
    assert_eq!(
        bad["reason"],
        "COLDBENCH_METRICS line 2: `items_per_second=fast unit=per_second better=higher`: `fast` is not a number \
         (write it like 1234.5 or 1.2e6, in the metric's unit)"
    );
    let flaky = bench(&doc, "flaky");
    assert_eq!(flaky["status"], "failed");
    // The untimed facts run reports, the warmup does not, then runs 1 and 3 do and 2 and 4 do not.
    assert_eq!(flaky["reason"], "metric `items_per_second` was reported by 2 of 4 runs (not by run 2, 4)");
    assert_eq!(bench(&doc, "fast")["status"], "ok", "the other rows are measured");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("`fast` is not a number"), "{stdout}");
}

#[test]
fn references_to_nothing_to_itself_in_a_cycle_or_in_another_package_are_config_errors() {
    let entry = |name: &str, reference: &str| {
        format!("[[package.metadata.bench.start]]\nbin = \"fast\"\nname = \"{name}\"\nreference = \"{reference}\"\n\n")
    };
    let cases = [
        (
            entry("rust", "pyhton-baseline"),
            "start[1].reference",
            "no start entry of this package is named `pyhton-baseline` (its entries: python-baseline, rust)",
        ),
        (entry("rust", "rust"), "start[1].reference", "`rust` is this entry: an entry cannot be its own reference"),
        (
            format!("{}{}", entry("a", "b"), entry("b", "a")),
            "start[1].reference",
            "the references a → b → a go round in a cycle",
        ),
        (
            entry("rust", "other/python"),
            "start[1].reference",
            "names an entry of another package: a reference must be a start entry of the same package",
        ),
        (
            "[[package.metadata.bench.start]]\nbin = \"fast\"\nbudget = { min-speedup = 2.0 }\n".into(),
            "start[1].budget.min-speedup",
            "a speedup is measured against a reference",
        ),
    ];
    let f = fixture(SETTINGS);
    for (entries, key, message) in cases {
        write_config(&f.ws(), &format!("{SETTINGS}\n{PYTHON}\n{entries}"));
        let out = f.run(&[]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("package.metadata.bench.{key}")), "{key}: {stderr}");
        assert!(stderr.contains(message), "{message}: {stderr}");
    }
}

#[test]
fn the_pipeline_example_prints_speedups_and_the_memory_saved() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = common::coldbench()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-p", "pipeline-example", "--runs", "10", "--target-dir"])
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipeline-example-target"))
        .arg("--output-dir")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Head-to-head (4 benchmarks against their references)"), "{stdout}");
    assert!(stdout.contains("faster wall time (") && stdout.contains("less peak RSS ("), "{stdout}");
    assert!(stdout.contains("than python-10-text-1000 (interleaved)"), "{stdout}");
    let doc = latest(out_dir.path());
    for size in ["3-ints-100", "3-ints-1000", "10-text-100", "10-text-1000"] {
        let b = doc["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == format!("start/pipeline-example/rust-{size}"))
            .unwrap();
        let speedups = &b["reference"]["speedups"];
        for metric in ["wall", "max_rss", "init", "items_per_second"] {
            assert!(speedups[metric]["factor"].as_f64().is_some(), "{size} {metric}: {speedups:#}");
        }
        assert_eq!(b["budget"].as_array().unwrap().iter().filter(|c| c["stat"] == "speedup").count(), 1);
    }
}
