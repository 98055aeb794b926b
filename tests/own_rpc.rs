//! `examples/own-rpc`: an RPC stack of one's own, measured through a start entry whose client
//! reports latency percentiles and throughput — the rows, and a `--compare` that judges
//! `latency_p99` in its direction.

mod common;

use std::path::Path;

use common::{describe, git_in, latest};

#[test]
fn the_own_rpc_example_reports_its_latencies_and_a_compare_judges_the_p99() {
    // A copy of the example in a repository of its own, depending on this checkout's library.
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::copy_dir(&root.join("examples/own-rpc"), &ws);
    let manifest = ws.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replace("path = \"../..\"", &format!("path = {:?}", root.display().to_string()));
    // Fewer calls per run than the example makes, to keep the test short; both sides make them.
    let fewer = text.replace("[\"--calls\", \"1000\",", "[\"--calls\", \"200\",");
    assert_ne!(fewer, text);
    let text = fewer;
    std::fs::write(&manifest, format!("{text}\n[workspace]\n")).unwrap();
    std::fs::write(ws.join(".gitignore"), "/target\n").unwrap();
    git_in(&ws, &["init", "-q", "-b", "main"]);
    git_in(&ws, &["add", "-A"]);
    git_in(&ws, &["commit", "-q", "-m", "an echo over HTTP"]);
    let (out_dir, target) = (dir.path().join("out"), dir.path().join("target"));
    let run = |args: &[&str]| {
        common::coldbench()
            .current_dir(&ws)
            .args(["--runs", "5", "--output-dir"])
            .arg(&out_dir)
            .arg("--target-dir")
            .arg(&target)
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&out_dir);
    for name in ["http-1KiB", "http-64KiB"] {
        let id = format!("start/own-rpc-example/{name}");
        let b = doc["benchmarks"].as_array().unwrap().iter().find(|b| b["id"] == id.as_str()).unwrap();
        assert_eq!(b["status"], "ok", "{b:#}");
        for (metric, unit, better) in [
            ("latency_p50", "seconds", "lower"),
            ("latency_p99", "seconds", "lower"),
            ("calls_per_second", "per_second", "higher"),
        ] {
            assert_eq!(
                (b["metrics"][metric]["unit"].as_str(), b["metrics"][metric]["better"].as_str()),
                (Some(unit), Some(better))
            );
        }
        let median = |m: &str| b["summary"][m]["median"].as_f64().unwrap();
        assert!(0.0 < median("latency_p50") && median("latency_p50") <= median("latency_p99"), "{b:#}");
        assert!(median("latency_p99") <= median("latency_max") && median("calls_per_second") > 0.0, "{b:#}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("latency_p99") && stdout.contains("calls_per_second"), "{stdout}");

    // A server that takes 10 ms per request: the p99 rises far past the failure threshold, and
    // past any stall of a loaded machine (the p99 of 200 calls is their second slowest), and the
    // calls per second fall.
    let main_rs = ws.join("src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    let slower = source.replace(
        "const SERVER_DELAY: Duration = Duration::ZERO;",
        "const SERVER_DELAY: Duration = Duration::from_millis(10);",
    );
    assert_ne!(slower, source);
    std::fs::write(&main_rs, slower).unwrap();
    let out = run(&["--compare", "HEAD", "--fail-on", "regression"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc = latest(&out_dir);
    let rows = doc["comparison"]["rows"].as_array().unwrap();
    let row = |metric: &str| {
        rows.iter()
            .find(|r| r["id"] == "start/own-rpc-example/http-1KiB" && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric}: {rows:#?}"))
    };
    let p99 = row("latency_p99");
    assert!(p99["ratio"].as_f64().unwrap() > 2.0, "{p99:#}");
    assert_eq!(p99["verdict"], "failure", "a p99 that rose is worse: {p99:#}");
    let rate = row("calls_per_second");
    assert!(rate["ratio"].as_f64().unwrap() < 0.5, "{rate:#}");
    assert_eq!(rate["verdict"], "failure", "a rate that fell is worse: {rate:#}");
}
