//! The RPC suite, end to end: `cargo coldbench suite rpc` on copies of the fixture workspace
//! `tests/fixtures/rpcws` (a worker built with the library's `worker` module — one custom method,
//! one that crashes, one that hangs — and a program that does not speak the protocol), each test
//! writing the `[package.metadata.bench.rpc]` table it needs.
//!
//! Every run checks that no worker and no ipc folder is left ([`SuiteFixture::run`]).

mod common;

use std::path::Path;

use common::{describe, latest, SuiteFixture};

/// A copy of the fixture workspace, depending on this checkout's library, with `table` as its
/// `[package.metadata.bench.rpc]`.
fn fixture(table: &str) -> SuiteFixture {
    SuiteFixture::new("rpcws", |ws| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = ws.join("rpcworker/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        // The copy depends on this checkout's library, wherever the copy is.
        let text = text.replace("path = \"../../../..\"", &format!("path = {:?}", root.display().to_string()));
        std::fs::write(&manifest, format!("{text}\n[package.metadata.bench.rpc]\n{table}\n")).unwrap();
    })
}

fn benchmarks(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["benchmarks"].as_array().unwrap()
}

fn name_of(b: &serde_json::Value) -> &str {
    b["id"].as_str().unwrap().split('[').next().unwrap().rsplit('/').next().unwrap()
}

fn mean(b: &serde_json::Value, metric: &str) -> f64 {
    b["summary"][metric]["mean"].as_f64().unwrap_or_else(|| panic!("no {metric} in {b:#}"))
}

fn find<'a>(doc: &'a serde_json::Value, name: &str, params: &[(&str, serde_json::Value)]) -> &'a serde_json::Value {
    benchmarks(doc)
        .iter()
        .find(|b| name_of(b) == name && params.iter().all(|(k, v)| b["params"][*k] == *v))
        .unwrap_or_else(|| panic!("no {name} row with {params:?}"))
}

#[test]
fn the_quick_suite_runs_every_call_pattern_and_scaling_row_against_the_builtin_worker() {
    let f = fixture("");
    let out = f.run(&["suite", "rpc", "--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let all = benchmarks(&doc);
    assert!(all.iter().all(|b| b["kind"] == "rpc" && b["status"] == "ok"), "{}", describe(&out));
    for method in ["small_int", "small_string", "array_f64", "bytes"] {
        let row = find(&doc, "call", &[("method", method.into())]);
        assert!(mean(row, "local") > 0.0, "{row:#}");
        assert!((mean(row, "overhead") - (mean(row, "call") - mean(row, "local"))).abs() < 1e-9);
        assert!(mean(row, "call_max") >= mean(row, "call_min"));
    }
    // A small call through a process costs far more than the same function in-process: nearly
    // all of it is overhead. (For array_f64 and bytes the function itself dominates, and in this
    // debug build its own round-to-round noise is larger than the transfer, so the sign of their
    // overhead is not asserted.)
    // Medians over the rounds: one round whose in-process block was preempted is not the rule.
    for method in ["small_int", "small_string"] {
        let row = find(&doc, "call", &[("method", method.into())]);
        let median = |metric: &str| row["summary"][metric]["median"].as_f64().unwrap();
        assert!(median("local") < 0.1 * median("call"), "{row:#}");
    }
    let small = find(&doc, "call", &[("method", "small_int".into())]);
    assert_eq!(small["samples"]["call"].as_array().unwrap().len(), 2, "1 round by default, per worker process");
    assert_eq!(small["processes"], serde_json::json!([0, 1]), "the fixture's 2 processes per side");
    assert_eq!(small["facts"]["calls_per_round"], 100, "--quick makes 100 calls a round");
    // A chain of four calls across the boundary takes longer than one.
    let depth = |d: u32| mean(find(&doc, "chain", &[("depth", d.into())]), "chain");
    assert!(depth(4) > depth(1), "depth 4: {}, depth 1: {}", depth(4), depth(1));
    for name in ["singleton", "fan-out"] {
        let row = benchmarks(&doc).iter().find(|b| name_of(b) == name).unwrap();
        assert!(mean(row, "call") > 0.0 && mean(row, "overhead") > 0.0, "{row:#}");
    }
    // Memory per worker for each worker count; together they cost more than one alone.
    for n in [1, 5, 10, 20] {
        let row = find(&doc, "workers", &[("count", n.into())]);
        assert!(mean(row, "worker_pss") > 100_000.0 && mean(row, "ready_time") > 0.0, "{row:#}");
        assert!(mean(row, "total_pss") >= mean(row, "worker_pss") * 0.99);
    }
    assert!(
        mean(find(&doc, "workers", &[("count", 20.into())]), "total_pss")
            > mean(find(&doc, "workers", &[("count", 1.into())]), "total_pss")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("overhead") && stdout.contains("in-process"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.contains("fastest call through a worker:") && last.contains("overhead"), "{stdout}");
}

#[test]
fn a_user_worker_is_measured_over_ipc_and_over_stdio() {
    let f = fixture(
        "worker = { bin = \"rpc-worker\" }\ncalls = [{ method = \"shout\", payload = \"1KiB\" }]\n\
         transport = [\"ipc\", \"stdio\"]\ncount = 50\niterations = 2",
    );
    let out = f.run(&["suite", "rpc", "--scenario", "calls", "--scenario", "scaling", "--counts", "1,3"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    for transport in ["ipc", "stdio"] {
        let row = find(&doc, "call", &[("worker", "rpc-worker".into()), ("transport", transport.into())]);
        assert_eq!(row["status"], "ok", "{row:#}");
        assert_eq!(row["params"]["method"], "shout");
        // The user's method is timed where it ran; the call costs more.
        assert!(mean(row, "local") > 0.0 && mean(row, "call") > mean(row, "local"), "{row:#}");
        // The built-in worker is measured on the same transport.
        let floor = find(&doc, "call", &[("worker", "builtin".into()), ("transport", transport.into())]);
        assert_eq!(floor["status"], "ok");
    }
    for n in [1, 3] {
        let row = find(&doc, "workers", &[("worker", "rpc-worker".into()), ("count", n.into())]);
        assert!(mean(row, "worker_pss") > 0.0, "{row:#}");
    }
    assert!(benchmarks(&doc).iter().all(|b| name_of(b) != "chain"), "--scenario leaves patterns out");
}

#[test]
fn a_worker_that_crashes_or_hangs_fails_that_row_and_the_others_pass() {
    let f = fixture(
        "worker = { bin = \"rpc-worker\" }\n\
         calls = [{ method = \"crash\" }, { method = \"hang\" }, { method = \"nope\" }, { method = \"shout\", payload = 64 }]\n\
         count = 20\niterations = 2\ntimeout = \"2s\"",
    );
    let out = f.run(&["suite", "rpc", "--scenario", "calls"]);
    assert_eq!(out.status.code(), Some(4), "some rows failed: {}", describe(&out));
    let doc = latest(&f.out());
    let row = |method: &str| find(&doc, "call", &[("worker", "rpc-worker".into()), ("method", method.into())]);
    let reason = |method: &str| row(method)["reason"].as_str().unwrap_or_default().to_string();
    assert_eq!(row("crash")["status"], "failed");
    assert!(reason("crash").contains("killed by signal 6 (SIGABRT)"), "{:#}", row("crash"));
    assert!(reason("hang").contains("no reply to `hang` within 2s"), "{:#}", row("hang"));
    assert!(reason("nope").contains("no method `nope`"), "{:#}", row("nope"));
    // The worker that crashed is replaced: the next rows have workers of their own.
    assert_eq!(row("shout")["status"], "ok", "{:#}", row("shout"));
    assert!(benchmarks(&doc).iter().filter(|b| b["params"]["worker"] == "builtin").all(|b| b["status"] == "ok"));
}

#[test]
fn a_program_that_does_not_speak_the_protocol_is_named_with_what_it_said() {
    let f = fixture(
        "worker = { bin = \"not-a-worker\" }\ncalls = [{ method = \"shout\" }]\ntransport = [\"stdio\", \"ipc\"]\n\
         count = 5\niterations = 2\ntimeout = \"1s\"",
    );
    let out = f.run(&["suite", "rpc", "--scenario", "calls"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let reason = |t: &str| {
        let row = find(&doc, "call", &[("worker", "not-a-worker".into()), ("transport", t.into())]);
        assert_eq!(row["status"], "failed");
        row["reason"].as_str().unwrap().to_string()
    };
    let stdio = reason("stdio");
    assert!(stdio.contains("not coldbench-rpc/1") && stdio.contains("`hello world\\n`"), "{stdio}");
    let ipc = reason("ipc");
    assert!(ipc.contains("did not say HELLO within 1s"), "{ipc}");
}

#[test]
fn scenarios_of_another_suite_and_tables_that_are_wrong_are_refused() {
    let f = fixture("workers = [0]");
    let out = f.run(&["suite", "rpc"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("package.metadata.bench.rpc.workers[0]"), "{stderr}");
    let out = f.run(&["suite", "zmq", "--scenario", "calls"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`calls` is not a scenario of the zmq suite"), "{stderr}");
    assert!(stderr.contains("throughput, latency, features, pipeline"), "{stderr}");
}

#[test]
fn list_shows_the_rows_by_scenario_without_running_them() {
    let f = fixture("depth = 2\nworkers = [1, 2]");
    let out = f.run(&["suite", "rpc", "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("calls (4 rows)\n"), "{stdout}");
    assert!(stdout.contains("patterns (4 rows)\n") && stdout.contains("scaling (2 rows)\n"), "{stdout}");
    assert!(stdout.contains("rpc/rpcworker/chain[worker=builtin,transport=ipc,depth=2]"), "{stdout}");
    assert!(!f.out().exists(), "nothing ran");
}
