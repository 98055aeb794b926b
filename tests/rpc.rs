//! The RPC suite, end to end: `cargo coldbench suite rpc` on copies of the fixture workspace
//! `tests/fixtures/rpcws` (a worker built with the library's `worker` module — one custom method,
//! one that crashes, one that hangs — and a program that does not speak the protocol), each test
//! writing the `[package.metadata.bench.rpc]` table it needs.
//!
//! The Python worker (`cargo coldbench worker python`) is tested against the same rows, on
//! `tests/fixtures/pyrpcws`, and method by method against the Rust functions.
//!
//! Every run checks that no worker and no ipc folder is left ([`SuiteFixture::run`]).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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
    let out = f.run(&["suite", "rpc", "--quick", "--scenario", "calls", "--scenario", "scaling", "--counts", "1,3"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    for transport in ["ipc", "stdio"] {
        let mine = [("worker", "rpc-worker".into()), ("transport", transport.into())];
        let row = find(&doc, "call", &[mine[0].clone(), mine[1].clone(), ("method", "shout".into())]);
        assert_eq!(row["status"], "ok", "{row:#}");
        // The user's method is timed where it ran; the call costs more.
        assert!(mean(row, "local") > 0.0 && mean(row, "call") > mean(row, "local"), "{row:#}");
        // Its built-in methods are measured too, each against the built-in worker's row.
        let small = find(&doc, "call", &[mine[0].clone(), mine[1].clone(), ("method", "small_int".into())]);
        assert_eq!(small["status"], "ok", "{small:#}");
        let floor = find(&doc, "call", &[("worker", "builtin".into()), ("transport", transport.into())]);
        assert_eq!(floor["status"], "ok");
        assert_eq!(small["reference"]["id"], floor["id"]);
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

/// The transports the Python worker is tested over: stdio always, ipc where pyzmq is installed
/// (in CI it must be).
fn python_transports() -> Vec<&'static str> {
    let has_pyzmq = Command::new("python3").args(["-c", "import zmq"]).status().is_ok_and(|s| s.success());
    if !has_pyzmq {
        assert!(
            std::env::var_os("COLDBENCH_REQUIRE_PYZMQ").is_none(),
            "COLDBENCH_REQUIRE_PYZMQ is set, but pyzmq is missing"
        );
        eprintln!("ipc skipped: pyzmq is not installed (pip install pyzmq)");
        return vec!["stdio"];
    }
    vec!["stdio", "ipc"]
}

/// A copy of `tests/fixtures/pyrpcws` with the Python worker saved from `cargo coldbench worker
/// python` into `bench/`, and `table` as its `[package.metadata.bench.rpc]`.
fn python_fixture(table: &str) -> SuiteFixture {
    let f = SuiteFixture::new("pyrpcws", |ws| {
        let manifest = ws.join("pyrpc/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("{text}\n[package.metadata.bench.rpc]\n{table}\n")).unwrap();
    });
    let out = f.command(&["worker", "python"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(out.stdout.starts_with(b"#!/usr/bin/env python3\n"), "{}", describe(&out));
    std::fs::write(f.ws().join("pyrpc/bench/coldbench_worker.py"), &out.stdout).unwrap();
    f
}

#[test]
fn the_python_worker_answers_every_builtin_method_as_the_rust_worker_does() {
    use coldbench::worker::builtin::Call;
    use coldbench::worker::{CallError, Method, Peer};
    use std::collections::HashMap;
    use std::rc::Rc;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/worker/coldbench_worker.py");
    for transport in python_transports() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let (conn, _ctx) = if transport == "stdio" {
            cmd.env("COLDBENCH_RPC", "stdio");
            (None, None)
        } else {
            let ctx = zmq::Context::new();
            let socket = ctx.socket(zmq::DEALER).unwrap();
            socket.set_linger(0).unwrap();
            let endpoint = format!("ipc://{}/w", dir.path().display());
            socket.bind(&endpoint).unwrap();
            cmd.env("COLDBENCH_RPC", &endpoint);
            (Some(coldbench::worker::transport::Connection::zmq(socket)), Some(ctx))
        };
        // Large arguments through the host's shared memory (docs/PROTOCOL.md, "Shared memory").
        let segment = coldbench::worker::shared::Segment::create().unwrap();
        cmd.env(coldbench::worker::shared::SHARED_ENV, segment.path());
        let mut child = cmd.spawn().unwrap();
        let conn = conn.unwrap_or_else(|| {
            let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
            let fd = std::os::fd::AsRawFd::as_raw_fd(&stdout);
            coldbench::worker::transport::Connection::stream(Box::new(stdout), Box::new(stdin), fd)
        });
        let conn = conn.offering(segment);
        // The host's side: `chain` and the counter that `singleton` calls.
        let counter = Rc::new(std::cell::Cell::new(0u64));
        let c = counter.clone();
        let mut host: HashMap<String, Method> = HashMap::new();
        host.insert("chain".into(), Rc::new(coldbench::worker::chain));
        host.insert(
            "counter.add".into(),
            Rc::new(move |_: &[u8], _: &mut Peer| {
                c.set(c.get() + 1);
                Ok(c.get().to_le_bytes().to_vec())
            }),
        );
        let mut peer = Peer::new(conn, host).with_limit(Duration::from_secs(30), Box::new(|| None));
        let mut methods = peer.await_hello().unwrap();
        methods.sort();
        assert_eq!(methods, ["array_f64", "bytes", "chain", "echo", "singleton", "small_int", "small_string"]);
        assert!(peer.shares_memory(), "{transport}: the worker maps the host's segment");

        for call in Call::ALL {
            let payload = call.payload();
            let reply = peer.call(call.method(), &payload).unwrap();
            assert_eq!(*reply.payload, call.function()(&payload).unwrap()[..], "{transport}: {call:?}");
            assert!(reply.method_time > Duration::ZERO, "{transport}: {call:?}");
        }
        assert_eq!(*peer.call("bytes", b"123456789").unwrap().payload, 0xCBF4_3926u32.to_le_bytes());
        assert_eq!(*peer.call("small_string", "añb€".as_bytes()).unwrap().payload, *"€bña".as_bytes());
        let big: std::sync::Arc<[u8]> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        assert_eq!(*peer.call("echo", &big).unwrap().payload, big[..], "{transport}: a large echo");
        // Over 1 MiB, the argument lies in the segment, twice in a row (the segment is reused)
        // and then larger (it grows, and the worker maps it again).
        for len in [3 << 20, 3 << 20, 5 << 20] {
            let arg: Vec<u8> = (0..len as u32).map(|i| (i % 239) as u8).collect();
            let want = Call::Bytes.function()(&arg).unwrap();
            assert_eq!(*peer.call("bytes", &arg).unwrap().payload, want[..], "{transport}: {len} bytes");
            assert_eq!(*peer.call("echo", &arg).unwrap().payload, arg[..], "{transport}: an echo of {len} bytes");
        }
        assert_eq!(*peer.call("chain", &3u32.to_le_bytes()).unwrap().payload, 1u32.to_le_bytes());
        assert_eq!(*peer.call("singleton", &5u32.to_le_bytes()).unwrap().payload, 5u64.to_le_bytes());
        assert_eq!(counter.get(), 5);
        match peer.call("small_int", b"1234") {
            Err(CallError::Failed(why)) => assert_eq!(why, "ValueError: small_int takes 8 bytes, got 4"),
            other => panic!("{transport}: {other:?}"),
        }
        assert!(matches!(peer.call("nope", b""), Err(CallError::UnknownMethod(m)) if m == "nope"));

        peer.bye();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{transport}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("ValueError: small_int takes 8 bytes"), "the traceback goes to stderr: {stderr}");
    }
}

#[test]
fn a_python_worker_runs_the_call_pattern_and_scaling_rows_beside_the_builtin_one() {
    let transports = python_transports();
    let f = python_fixture(&format!(
        "worker = {{ command = [\"python3\", \"bench/worker.py\"], name = \"py\" }}\n\
         calls = [{{ method = \"shout\", payload = 64 }}, {{ method = \"explode\", payload = 3 }}]\n\
         transport = {transports:?}\ndepth = 2\nfan-out = 2\nworkers = [1, 2]\niterations = 2"
    ));
    let out = f.run(&["suite", "rpc", "--quick"]);
    assert_eq!(out.status.code(), Some(4), "`explode` fails, the rest passes: {}", describe(&out));
    let doc = latest(&f.out());
    let py = |name: &str, t: &str, extra: (&str, serde_json::Value)| {
        find(&doc, name, &[("worker", "py".into()), ("transport", t.into()), extra]).clone()
    };
    for t in &transports {
        let explode = py("call", t, ("method", "explode".into()));
        assert_eq!(explode["status"], "failed");
        let reason = explode["reason"].as_str().unwrap();
        assert!(reason.contains("ValueError: cannot explode 3 bytes"), "{reason}");
        let mut rows = vec![py("call", t, ("method", "shout".into()))];
        for method in ["small_int", "small_string", "array_f64", "bytes"] {
            let row = py("call", t, ("method", method.into()));
            // Measured interleaved with the built-in worker's row, on the same transport.
            let floor = row["id"].as_str().unwrap().replace("[worker=py,", "[worker=builtin,");
            assert_eq!(row["reference"]["id"], floor.as_str(), "{row:#}");
            assert_eq!(row["reference"]["interleaved"], true);
            // Both workers map the host's segment: a 50 MiB argument crosses through it.
            assert_eq!(row["facts"]["shared_memory"], true, "{row:#}");
            let builtin = benchmarks(&doc).iter().find(|b| b["id"] == floor.as_str()).expect("the built-in row");
            assert_eq!(builtin["facts"]["shared_memory"], true, "{builtin:#}");
            rows.push(row);
        }
        rows.extend([1, 2].map(|d| py("chain", t, ("depth", d.into()))));
        rows.push(find(&doc, "singleton", &[("worker", "py".into()), ("transport", (*t).into())]).clone());
        rows.push(py("fan-out", t, ("workers", 2.into())));
        for row in &rows {
            assert_eq!(row["status"], "ok", "{row:#}");
        }
        // `local` is the time the worker says its method ran: Python's own CRC-32 of 50 MiB.
        let bytes = py("call", t, ("method", "bytes".into()));
        assert!(mean(&bytes, "local") > 0.0 && mean(&bytes, "call") > mean(&bytes, "local"), "{bytes:#}");
    }
    for n in [1, 2] {
        let row = find(&doc, "workers", &[("worker", "py".into()), ("count", n.into())]);
        assert_eq!(row["status"], "ok", "{row:#}");
        assert!(mean(row, "worker_pss") > 1_000_000.0, "a Python interpreter: {row:#}");
    }
    assert!(benchmarks(&doc).iter().filter(|b| b["params"]["worker"] == "builtin").all(|b| b["status"] == "ok"));
}

#[test]
fn a_worker_without_the_builtin_methods_skips_their_rows_and_one_without_pyzmq_says_how_to_get_it() {
    let f = python_fixture(
        "worker = { command = [\"python3\", \"bench/only_mine.py\"], name = \"mine\", env = { PYTHONPATH = \"nozmq\" } }\n\
         transport = [\"stdio\", \"ipc\"]\ndepth = 1\nfan-out = 2\ncount = 5\niterations = 2",
    );
    let out = f.run(&["suite", "rpc", "--scenario", "patterns"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    for name in ["chain", "singleton", "fan-out"] {
        let over = |t: &str| {
            benchmarks(&doc)
                .iter()
                .find(|b| name_of(b) == name && b["params"]["worker"] == "mine" && b["params"]["transport"] == t)
                .unwrap_or_else(|| panic!("no {name} row over {t}"))
        };
        let stdio = over("stdio");
        assert_eq!(stdio["status"], "skipped", "{stdio:#}");
        assert!(stdio["reason"].as_str().unwrap().contains("the worker has no method `"), "{stdio:#}");
        assert!(stdio["reason"].as_str().unwrap().contains("(its methods: shout)"), "{stdio:#}");
        let ipc = over("ipc");
        assert_eq!(ipc["status"], "failed", "{ipc:#}");
        let reason = ipc["reason"].as_str().unwrap();
        assert!(reason.contains("pyzmq is not installed: pip install pyzmq"), "{reason}");
    }
    assert!(benchmarks(&doc).iter().filter(|b| b["params"]["worker"] == "builtin").all(|b| b["status"] == "ok"));
}
