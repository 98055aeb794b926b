//! `diff` of saved results and named baselines.

mod common;

use common::*;

fn run_files(out: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(out.join("runs")).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    files
}

#[test]
fn diff_compares_two_saved_runs_and_says_they_were_not_interleaved() {
    let out = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let res = run_fixture(out.path(), &["-p", "apps", "--runs", "5"]);
        assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    }
    let files = run_files(out.path());
    assert_eq!(files.len(), 2);
    let res = coldbench().arg("diff").args(&files).args(["--format", "json"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(doc["comparison"]["interleaved"], false);
    let walls: Vec<_> =
        doc["comparison"]["rows"].as_array().unwrap().iter().filter(|r| r["metric"] == "wall").collect();
    assert_eq!(walls.len(), 2, "one wall row per benchmark");
    for row in walls {
        for key in ["ratio", "ci95", "p_value", "mann_whitney_p", "verdict", "baseline", "candidate"] {
            assert!(!row[key].is_null(), "{key} missing in {row}");
        }
    }
    let human = coldbench().arg("diff").args(&files).output().unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("not interleaved"), "{}", describe(&human));

    // Several NEW files: each a candidate against BASE, in one document and one table. The second
    // candidate is BASE itself, so its every ratio is exactly 1.
    let several = [&files[0], &files[1], &files[0]];
    let res = coldbench().arg("diff").args(several).args(["--format", "json"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(doc["comparison"]["candidate"]["label"], files[1].display().to_string());
    let others = doc["other_candidates"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    let same = &others[0]["comparison"];
    assert_eq!(same["candidate"]["label"], files[0].display().to_string());
    assert_eq!(same["baseline_benchmarks"], serde_json::json!([]), "the baseline's results are kept once");
    let walls: Vec<_> = same["rows"].as_array().unwrap().iter().filter(|r| r["metric"] == "wall").collect();
    assert_eq!(walls.len(), 2, "{same:#}");
    for row in walls {
        assert_eq!(row["ratio"], 1.0, "{row:#}");
        assert_eq!(row["verdict"], "no_change", "{row:#}");
    }
    assert_eq!(others[0]["benchmarks"].as_array().unwrap().len(), 2);
    // Saved, the document renders as one table with a column group per candidate.
    let saved = out.path().join("several.json");
    std::fs::write(&saved, &res.stdout).unwrap();
    let md = coldbench().args(["report", "--format", "md"]).arg(&saved).output().unwrap();
    assert_eq!(md.status.code(), Some(0), "{}", describe(&md));
    let md = String::from_utf8_lossy(&md.stdout);
    let head = format!(
        "| Benchmark | Metric | Baseline | {} | Δ% | 95% CI | Verdict | {} | Δ% | 95% CI | Verdict |",
        files[1].display(),
        files[0].display()
    );
    assert!(md.contains(&head), "{md}");
    // Start times are judged by the shift (or, without a log scale, the medians).
    let lines = md.lines().filter(|l| l.starts_with("| `start/apps/greet` | wall (")).count();
    assert_eq!(lines, 1, "one line per metric: {md}");
    assert_eq!(md.matches("**").count() % 2, 0, "bold marks come in pairs: {md}");
    assert_eq!(run_files(out.path()).len(), 2, "diff writes nothing");
}

#[test]
fn diff_refuses_files_that_are_not_coldbench_results() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"schema\": \"coldbench/9\"}").unwrap();
    let res = coldbench().arg("diff").arg(&junk).arg(&other).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("is not a coldbench result"), "{}", describe(&res));
    let res = coldbench().arg("diff").arg(&other).arg(&other).output().unwrap();
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("has schema `coldbench/9`"), "{}", describe(&res));
}

#[test]
fn baselines_are_saved_compared_listed_and_removed() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "hello", "--runs", "5", "--save-baseline", "before"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(out.path().join("baselines/before.json").is_file());

    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "hello", "--runs", "5", "--baseline", "before"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    assert_eq!(doc["comparison"]["baseline"]["label"], "baseline before");
    assert_eq!(doc["comparison"]["interleaved"], false);
    assert!(!doc["comparison"]["rows"].as_array().unwrap().is_empty());

    let list = run_fixture(out.path(), &["baseline", "list"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout), "before\n");
    let res = run_fixture(out.path(), &["-p", "apps", "--runs", "5", "--baseline", "nope"]);
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("no saved baseline named `nope`") && stderr.contains("saved baselines: before"),
        "{stderr}"
    );
    let res = run_fixture(out.path(), &["baseline", "remove", "before"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(!out.path().join("baselines/before.json").exists());
}
