//! What a number is worth: `cargo coldbench calibrate` (A/A pairs for a bounded time, the noise
//! and what comparisons can see, printed and saved per host), the warning of a compare with too
//! few runs, `--precision`, and `--measure instructions`.

mod common;

use common::{describe, run_fixture};

#[test]
fn calibrate_prints_what_each_run_count_can_see_and_saves_it_per_host() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["calibrate", "-p", "apps", "--bin", "hello", "--time", "1s", "--detect", "5%"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("start/apps/hello\n"), "{stdout}");
    assert!(stdout.contains(" A/A pairs of `wall` in "), "{stdout}");
    assert!(stdout.contains("detects: 10 runs ≥ ") && stdout.contains(", 300 runs ≥ "), "{stdout}");
    assert!(stdout.contains("runs per side to detect 5.0%: "), "{stdout}");
    assert!(!stdout.contains("start/apps/greet"), "--bin selects: {stdout}");

    let dir = out.path().join("calibration");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one file per host");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(files[0].path()).unwrap()).unwrap();
    assert_eq!(saved["schema"], "coldbench-calibration/1");
    let bench = &saved["benchmarks"][0];
    assert_eq!(bench["id"], "start/apps/hello");
    assert!(bench["pairs"].as_u64().unwrap() >= 10, "{bench:#}");
    assert!(bench["log_ratio_sd"].as_f64().unwrap() > 0.0, "{bench:#}");
    assert_eq!(bench["detect"], 0.05);
    // More runs see smaller changes, and the runs for 5% see about 5%.
    let seen: Vec<f64> = bench["detectable"].as_array().unwrap().iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|w| w[1] < w[0]), "{seen:?}");

    // JSON on stdout with --format json; the default threshold is the configured noise (2%).
    let res =
        run_fixture(out.path(), &["calibrate", "-p", "apps", "--bin", "hello", "--time", "1s", "--format", "json"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let printed: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(printed["benchmarks"][0]["detect"], 0.02);
}

#[test]
fn a_compare_whose_run_count_cannot_see_its_noise_threshold_on_this_host_says_so() {
    let p = common::GitProject::new(common::BASE_WORK);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let dir = p.path().join("target/coldbench/calibration");
    std::fs::create_dir_all(&dir).unwrap();
    // σ of the log ratio 5%: seeing ±2% takes ((1.96 + 1.645) × 0.05 / ln 1.02)² = 83 runs a side.
    let calibration = serde_json::json!({
        "schema": "coldbench-calibration/1", "host": host, "timestamp": "2026-11-24T05:00:00Z",
        "benchmarks": [{
            "id": "start/work/work", "metric": "wall", "pairs": 500, "seconds": 10.0,
            "log_ratio_sd": 0.05, "lag1": 0.0, "drift_per_100": 0.0,
            "detectable": [[10, 0.06]], "detect": 0.02, "runs_for_detect": 83
        }]
    });
    std::fs::write(dir.join(format!("{host}.json")), calibration.to_string()).unwrap();
    let compare = |runs: &str| {
        common::coldbench().current_dir(p.path()).args(["--compare", "HEAD", "--runs", runs]).output().unwrap()
    };
    let few = compare("5");
    assert_eq!(few.status.code(), Some(0), "{}", describe(&few));
    let stderr = String::from_utf8_lossy(&few.stderr);
    assert!(
        stderr.contains("start/work/work: about 5 runs per side cannot see a 2.0% change on this host")
            && stderr.contains("it takes 83 (α = 0.05, 95% power); use `--runs 83`"),
        "{stderr}"
    );
    let enough = compare("90");
    assert_eq!(enough.status.code(), Some(0), "{}", describe(&enough));
    assert!(!String::from_utf8_lossy(&enough.stderr).contains("cannot see"), "{}", describe(&enough));
}

#[test]
fn a_compare_to_a_precision_stops_at_a_checkpoint_and_judges_at_the_significance_it_spent() {
    let p = common::GitProject::new(common::BASE_WORK);
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    p.set_work(common::BASE_WORK * 3);
    p.commit_all("B: three times the work");
    let res = common::coldbench()
        .current_dir(p.path())
        .args(["--compare", &a, "--precision", "5%", "--max-time", "2m", "--fail-on", "regression"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let doc = common::latest(&p.path().join("target/coldbench"));
    let bench = &doc["benchmarks"][0];
    let precision = &bench["facts"]["precision"];
    assert_eq!(precision["metric"], "wall", "{precision:#}");
    // A threefold change is ±5% precise long before two minutes are up, however loaded the machine:
    // the looks go on past 1 280 runs a side when it is noisy, planned from --max-time.
    assert_eq!(precision["reached"], true, "{precision:#}");
    assert_eq!(precision["stopped"], "precise", "{precision:#}");
    // Only at checkpoints: 10, 20, 40, ... runs per side, the look's own.
    let (look, looks) = (precision["look"].as_u64().unwrap(), precision["looks"].as_u64().unwrap());
    assert!(look >= 1 && look <= looks, "{precision:#}");
    let runs = precision["runs"].as_u64().unwrap();
    assert_eq!(runs, 10 << (look - 1), "{precision:#}");
    assert_eq!(bench["samples"]["wall"].as_array().unwrap().len() as u64, runs);
    // The verdict used the look's share of alpha, recorded with the thresholds.
    let alpha = precision["alpha"].as_f64().unwrap();
    assert!(alpha < 0.05 && alpha > 0.0, "{precision:#}");
    assert_eq!(bench["config"]["thresholds"]["significance"].as_f64().unwrap(), alpha);
    let row = doc["comparison"]["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "wall").unwrap();
    assert_eq!(row["verdict"], "failure", "{row:#}");
}

#[test]
fn instruction_counts_see_three_percent_more_work_and_nothing_in_identical_code() {
    let p = common::GitProject::new(common::BASE_WORK);
    let compare = || {
        common::coldbench()
            .current_dir(p.path())
            .args(["--compare", "HEAD", "--measure", "instructions", "--runs", "5"])
            .output()
            .unwrap()
    };
    let verdict_of = |doc: &serde_json::Value| {
        let rows = doc["comparison"]["rows"].as_array().unwrap();
        let row = rows.iter().find(|r| r["metric"] == "instructions").unwrap_or_else(|| panic!("{rows:#?}"));
        (row["verdict"].as_str().unwrap().to_string(), row["ratio"].as_f64().unwrap(), row["gating"].as_bool().unwrap())
    };
    let same = compare();
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    let doc = common::latest(&p.path().join("target/coldbench"));
    let (verdict, ratio, gating) = verdict_of(&doc);
    assert!(["no_change", "within_noise"].contains(&verdict.as_str()), "{verdict} at {ratio}");
    assert!(gating);
    let bench = &doc["benchmarks"][0];
    assert_eq!(bench["metrics"]["instructions"]["tolerance"], 0.005);
    assert_eq!(bench["facts"]["instructions"]["counts"].as_array().unwrap().len(), 3);
    // 3% more iterations of the loop that is nearly all the program does.
    p.set_work(common::BASE_WORK * 103 / 100);
    let more = compare();
    assert_eq!(more.status.code(), Some(0), "regressed does not fail the gate: {}", describe(&more));
    let (verdict, ratio, _) = verdict_of(&common::latest(&p.path().join("target/coldbench")));
    assert_eq!(verdict, "regressed", "ratio {ratio}");
    assert!((1.02..1.04).contains(&ratio), "{ratio}");
    let stdout = String::from_utf8_lossy(&more.stdout);
    assert!(stdout.contains("start/work/work: instructions ") && stdout.contains("% higher ("), "{stdout}");
}

#[test]
fn measuring_instructions_without_valgrind_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = common::coldbench();
    cmd.env("PATH", empty.path())
        .arg("--manifest-path")
        .arg(common::fixture_manifest())
        .arg("--output-dir")
        .arg(out.path())
        .args(["start", "-p", "apps", "--measure", "instructions"]);
    let res = cmd.output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("error: valgrind was not found on PATH"), "{stderr}");
    assert!(stderr.contains("apt-get install valgrind"), "{stderr}");
}
