//! The ZeroMQ suite, end to end: `cargo coldbench suite zmq` on copies of the fixture workspace
//! `tests/fixtures/zmqws` (a Rust REP echo server that can be made slow, dying, leaking or wrong,
//! and a Python one), each test writing the `[package.metadata.bench.zmq]` table it needs.
//!
//! Every run checks that no server and no ipc folder is left ([`SuiteFixture::run`]).

mod common;

use common::{bench, coldbench, describe, git_in, latest, samples, suite_target_dir, SuiteFixture};

/// A copy of the fixture workspace with `table` as its `[package.metadata.bench.zmq]` (and
/// `settings` as its `[package.metadata.bench]`).
fn fixture(settings: &str, table: &str) -> SuiteFixture {
    SuiteFixture::new("zmqws", |ws| {
        let manifest = ws.join("echosvc/Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str(&format!("\n[package.metadata.bench]\n{settings}\n\n[package.metadata.bench.zmq]\n{table}\n"));
        std::fs::write(&manifest, text).unwrap();
    })
}

/// A port nothing listens on now, for a server that binds it seconds later (after its build).
///
/// Taken below the kernel's ephemeral range, so that a socket a concurrent test binds to port 0
/// (the built-in floor, a client) cannot be handed the same port in the meantime, and different
/// for every call of this process.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    if low < 10_000 {
        return std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    }
    let base = low - 8000 + (std::process::id() % 4000) as u16;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(port < low, "no free port below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The user's Rust server on `port`, with extra flags.
fn rust_server(port: u16, flags: &str) -> String {
    format!(
        "server = {{ bin = \"echo-server\", args = [\"--endpoint\", \"tcp://127.0.0.1:{port}\"{flags}], \
         endpoint = \"tcp://127.0.0.1:{port}\", ready = {{ stdout = \"^listening\" }} }}"
    )
}

/// Small scenarios: one payload, one client count, one rate.
const SMALL: &str = "payload-sizes = [64]\nclients = [2]\nrates = [300]\nlatency-payload-sizes = [64]\n\
                     tail-requests = 300\nround = \"100ms\"\nduration = \"300ms\"\ntransports = [\"tcp\"]";

fn benchmarks(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["benchmarks"].as_array().unwrap()
}

/// The benchmark's name: `latency` of `zmq/echosvc/latency[…]`.
fn name_of(b: &serde_json::Value) -> &str {
    let id = b["id"].as_str().unwrap();
    id.split('[').next().unwrap().rsplit('/').next().unwrap()
}

fn mean(b: &serde_json::Value, metric: &str) -> f64 {
    b["summary"][metric]["mean"].as_f64().unwrap_or_else(|| panic!("no {metric} in {b:#}"))
}

#[test]
fn the_quick_suite_on_an_empty_table_runs_every_scenario_against_the_builtin_worker() {
    let f = fixture("", "");
    let out = f.run(&["suite", "zmq", "--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let all = benchmarks(&doc);
    assert!(all.iter().all(|b| b["kind"] == "zmq"), "only the suite ran");
    for name in ["throughput", "clients", "latency", "latency-payload", "tail", "compression", "handshake", "pipeline"]
    {
        assert!(all.iter().any(|b| name_of(b) == name && b["status"] == "ok"), "no measured {name} row");
    }
    for transport in ["tcp", "ipc"] {
        let row = all.iter().find(|b| name_of(b) == "throughput" && b["params"]["transport"] == transport).unwrap();
        assert_eq!(row["status"], "ok", "{row:#}");
        assert!(mean(row, "throughput") > 0.0 && mean(row, "bandwidth") > 0.0);
        // One round against each of the (here, 2) fresh servers, each after a warmup round.
        assert_eq!(row["processes"], serde_json::json!([0, 1]), "{row:#}");
        assert_eq!(row["warmup_samples"]["throughput"].as_array().unwrap().len(), 2);
    }
    assert!(all.iter().all(|b| b["params"]["transport"] != "inproc"), "--quick leaves out inproc");
    assert!(all.iter().all(|b| b["params"]["server"] == "builtin"), "no user server is configured");
    // The floor's own costs are measured.
    let tcp = bench(&doc, "zmq/echosvc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]");
    assert!(mean(tcp, "server_cpu") > 0.0 && mean(tcp, "server_rss") > 1e6, "{tcp:#}");
    // Compression rows say how much the payload shrank; text compresses, and the codec costs CPU.
    let zstd = all.iter().find(|b| b["params"]["codec"] == "zstd" && b["params"]["curve"] == "off").unwrap();
    assert!(mean(zstd, "compression_ratio") > 1.5, "{zstd:#}");
    assert!(mean(zstd, "client_cpu") > 0.0);
    // Tail latency keeps every request of the last round, in order.
    let tail = all.iter().find(|b| name_of(b) == "tail").unwrap();
    assert_eq!(tail["series"]["latency"].as_array().unwrap().len(), 2000, "--quick sends 2000");
    assert!(
        tail["summary"]["latency_p99"]["mean"].as_f64().unwrap()
            >= tail["summary"]["latency_p50"]["mean"].as_f64().unwrap()
    );
    // Open loop: the achieved rate is reported beside the percentiles, and it is never above the
    // rate asked for (how far below depends on the machine: the unit test of `achieved_rate`
    // checks the arithmetic).
    let latency = all.iter().find(|b| name_of(b) == "latency" && b["params"]["rate"] == 1000).unwrap();
    let achieved = samples(latency, "achieved_rate");
    assert!(!achieved.is_empty() && achieved.iter().all(|r| *r > 0.0 && *r <= 1000.0), "{latency:#}");
    // The latencies of all rounds are merged into one distribution, every request counted.
    assert_eq!(
        latency["distributions"]["latency"]["count"], 400,
        "a round of 200 ms at 1000/s against each of 2 servers"
    );
    let pipeline = all.iter().find(|b| name_of(b) == "pipeline" && b["params"]["stages"] == 10).unwrap();
    assert!(mean(pipeline, "ready_time") > 0.0 && mean(pipeline, "throughput") > 0.0);

    // The report is a table per scenario, with a column per parameter.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("zmq/echosvc/throughput\n"), "{stdout}");
    let header = stdout.lines().skip_while(|l| *l != "zmq/echosvc/throughput").nth(1).unwrap();
    assert!(
        header.starts_with("server   pattern") && header.contains("payload") && header.contains("bandwidth"),
        "{header}"
    );
    // Read back from the file, the parameters and the headline keep their order.
    let md = f.command(&["report", "--format", "md"]).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("| Server | Pattern | Transport | Payload | Status |"), "{md}");
}

#[test]
fn list_shows_the_rows_of_the_groups_asked_for_without_running_them() {
    let f = fixture("", "pipeline-stages = [2, 4]");
    let out = f.run(&["suite", "zmq", "--list", "--scenario", "pipeline"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "pipeline (2 rows)\n  zmq/echosvc/pipeline[server=builtin,transport=tcp,stages=2]\n  \
         zmq/echosvc/pipeline[server=builtin,transport=tcp,stages=4]\n"
    );
    assert!(!f.out().exists(), "nothing ran, nothing was saved");
    let out = f.run(&["suite", "zmq", "--list", "--scenario", "features", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let curve = rows.as_array().unwrap().iter().find(|r| r["id"].as_str().unwrap().contains("curve=on")).unwrap();
    assert_eq!(curve["scenario"], "features");
    assert_eq!(curve["skipped"].is_string(), coldbench::suites::zmq::curve_missing().is_some());
}

#[test]
fn a_suite_nobody_configured_and_a_bad_table_are_errors_that_say_what_to_do() {
    let out = coldbench()
        .arg("--manifest-path")
        .arg(common::fixture_manifest())
        .args(["suite", "zmq", "--list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no selected package has a `[package.metadata.bench.zmq]` table"), "{stderr}");
    assert!(stderr.contains("add `[package.metadata.bench.zmq]`"), "{stderr}");

    let f = fixture("", "server = { bin = \"echo-servr\", endpoint = \"tcp://10.0.0.1:5555\" }");
    let out = f.run(&["suite", "zmq", "--list"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("package.metadata.bench.zmq.server.bin") && stderr.contains("echo-server"), "{stderr}");
    let f = fixture("", "server = { bin = \"echo-server\", endpoint = \"tcp://10.0.0.1:5555\" }");
    let out = f.run(&["suite", "zmq", "--list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.endpoint") && stderr.contains("not on this machine's loopback"), "{stderr}");
}

#[test]
fn curve_rows_are_skipped_with_the_fix_without_curve_and_measured_with_it() {
    let has_curve = coldbench::suites::zmq::curve_missing().is_none();
    if std::env::var_os("COLDBENCH_EXPECT_CURVE").is_some() {
        assert!(has_curve, "COLDBENCH_EXPECT_CURVE is set, but this build's libzmq has no CURVE");
    }
    let f = fixture("", "compression = [\"none\", \"lz4\"]\nround = \"50ms\"\niterations = 2");
    let out = f.run(&["suite", "zmq", "--scenario", "features"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let curve: Vec<&serde_json::Value> = benchmarks(&doc).iter().filter(|b| b["params"]["curve"] == "on").collect();
    assert_eq!(curve.len(), 5, "4 compression rows and a handshake with CURVE");
    for row in curve {
        if has_curve {
            assert_eq!(row["status"], "ok", "{row:#}");
            let headline = if name_of(row) == "handshake" { "handshake" } else { "throughput" };
            assert!(mean(row, headline) > 0.0);
        } else {
            assert_eq!(row["status"], "skipped", "{row:#}");
            let reason = row["reason"].as_str().unwrap();
            assert!(reason.contains("without CURVE") && reason.contains("README"), "{reason}");
        }
    }
    let plain = bench(&doc, "zmq/echosvc/handshake[server=builtin,transport=tcp,curve=off]");
    assert_eq!(plain["status"], "ok");
}

#[test]
fn a_rust_server_is_measured_beside_the_floor_with_its_overhead() {
    let port = free_port();
    let f = fixture("", &format!("{}\n{SMALL}", rust_server(port, "")));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput", "--scenario", "latency"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let mine = bench(&doc, "zmq/echosvc/throughput[server=echo-server,pattern=req-rep,transport=tcp,payload=64 B]");
    assert_eq!(mine["status"], "ok", "{mine:#}");
    assert!(mean(mine, "throughput") > 0.0 && mean(mine, "server_cpu") > 0.0);
    let reference = &mine["reference"];
    assert_eq!(reference["id"], "zmq/echosvc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]");
    assert_eq!(reference["interleaved"], true);
    let row = reference["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "throughput").unwrap();
    assert!(row["baseline"].as_f64().unwrap() > 0.0 && row["candidate"].as_f64() == Some(mean(mine, "throughput")));
    assert_eq!(row["gating"], false, "a server is expected to cost more than the bare transport");
    for name in ["clients", "latency", "latency-payload", "tail"] {
        let row = benchmarks(&doc).iter().find(|b| name_of(b) == name && b["params"]["server"] == "echo-server");
        let row = row.unwrap_or_else(|| panic!("no {name} row for the user's server"));
        assert_eq!(row["status"], "ok", "{row:#}");
        assert!(row["reference"]["id"].as_str().unwrap().contains("server=builtin"));
    }
    assert!(benchmarks(&doc).iter().all(|b| b["params"]["server"] != "echo-server" || name_of(b) != "pipeline"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .contains("against [server=builtin,pattern=req-rep,transport=tcp,payload=64 B] (interleaved): throughput"),
        "{stdout}"
    );
}

/// Whether `python3` can import these modules; without them a test is skipped, unless CI
/// (`COLDBENCH_REQUIRE_PYZMQ`) requires them.
fn python_has(modules: &str) -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("COLDBENCH_REQUIRE_PYZMQ").is_none(),
            "COLDBENCH_REQUIRE_PYZMQ is set, but python3 cannot import {modules}"
        );
        eprintln!("skipped: python3 cannot import {modules} (pip install pyzmq msgpack)");
    }
    found
}

#[test]
fn a_python_server_is_measured_through_its_command() {
    if !python_has("zmq") {
        return;
    }
    let port = free_port();
    let server = format!(
        "server = {{ command = [\"python3\", \"py_echo.py\", \"tcp://127.0.0.1:{port}\"], name = \"py-echo\", \
         endpoint = \"tcp://127.0.0.1:{port}\", ready = {{ stdout = \"^ready$\" }} }}"
    );
    let f = fixture("", &format!("{server}\n{SMALL}"));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    for pattern in ["req-rep", "dealer-router"] {
        let id = format!("zmq/echosvc/throughput[server=py-echo,pattern={pattern},transport=tcp,payload=64 B]");
        let row = bench(&doc, &id);
        assert_eq!(row["status"], "ok", "{row:#}");
        assert!(mean(row, "throughput") > 0.0 && mean(row, "server_cpu") > 0.0);
        assert!(row["config"]["command"][0].as_str().unwrap().ends_with("python3"), "{row:#}");
    }
}

/// The keys of a server table for the fixture's Python RPC server (`py_rpc.py`: a ROUTER socket
/// speaking [type, msgpack header, body] only), named `name`, with its flags and `more` keys.
fn rpc_server(name: &str, port: u16, flags: &str, more: &[&str]) -> Vec<String> {
    let mut keys = vec![
        format!("command = [\"python3\", \"py_rpc.py\", \"tcp://127.0.0.1:{port}\"{flags}]"),
        format!("name = \"{name}\""),
        format!("endpoint = \"tcp://127.0.0.1:{port}\""),
        "pattern = \"router\"".to_string(),
        "ready = { stdout = \"^ready$\" }".to_string(),
    ];
    keys.extend(more.iter().map(|k| k.to_string()));
    keys
}

/// Keys as an inline table.
fn inline(keys: &[String]) -> String {
    format!("{{ {} }}", keys.join(", "))
}

/// msgpack of `{"v": 1}`: the header the RPC server wants.
const HEADER: [u8; 4] = [0x81, 0xa1, b'v', 0x01];

#[test]
fn a_server_with_its_own_messages_is_measured_by_every_request_row() {
    if !python_has("zmq, msgpack") {
        return;
    }
    let port = free_port();
    let more = [
        "request = [\"ECHO\", { file = \"frames/header.bin\" }, \"{payload}\", \"{seq}\"]",
        "reply = { frames = 3, check = [{ frame = 0, equals = \"ECHO\" }, { frame = 0, matches = \"^(ECHO|UPPER)$\" }, \
         { frame = 2, size = \"{payload}\" }] }",
    ];
    let table = format!("server = {}\n{SMALL}", inline(&rpc_server("rpc", port, ", \"--ids\"", &more)));
    let f = fixture("", &table);
    std::fs::create_dir(f.ws().join("echosvc/frames")).unwrap();
    std::fs::write(f.ws().join("echosvc/frames/header.bin"), HEADER).unwrap();
    // The list shows what each row sends, by size.
    let list = f.run(&["suite", "zmq", "--list", "--scenario", "latency"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains(
            "  zmq/echosvc/tail[server=rpc,transport=tcp,payload=64 B,requests=300]\n      request: 4 frames: \
                       \"ECHO\", 4 B (frames/header.bin), 64 B ({payload}), \"{seq}\"\n      reply: 3 frames, frame 0 \
                       equals \"ECHO\", frame 0 matches `^(ECHO|UPPER)$`, frame 2 has the payload's size\n"
        ),
        "{}",
        describe(&list)
    );
    let out = f.run(&["suite", "zmq", "--scenario", "throughput", "--scenario", "latency"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let mine: Vec<&serde_json::Value> = benchmarks(&doc).iter().filter(|b| b["params"]["server"] == "rpc").collect();
    let names: Vec<&str> = mine.iter().map(|b| name_of(b)).collect();
    assert_eq!(names, ["throughput", "throughput", "clients", "latency", "latency-payload", "tail"]);
    for row in mine {
        assert_eq!(row["status"], "ok", "{row:#}");
        assert_eq!(mean(row, "errors"), 0.0, "every reply passes the checks: {row:#}");
        assert!(row["metrics"]["errors"]["gates"] == true && row["metrics"]["errors"]["better"] == "lower");
        let headline =
            if name_of(row).starts_with("latency") || name_of(row) == "tail" { "latency_p50" } else { "throughput" };
        assert!(mean(row, headline) > 0.0, "{row:#}");
        assert!(row["reference"]["id"].as_str().unwrap().contains("server=builtin"), "{row:#}");
    }
}

#[test]
fn a_wrong_reply_check_counts_every_request_and_fails_the_gate() {
    if !python_has("zmq, msgpack") {
        return;
    }
    let port = free_port();
    let more = [
        "request = [\"ECHO\", { hex = \"81 a1 76 01\" }, \"{payload}\"]",
        "reply = { check = [{ frame = 0, equals = \"PONG\" }] }",
    ];
    let table = format!(
        "server = {}\nrates = []\nlatency-payload-sizes = []\ntail-requests = 200\niterations = 2",
        inline(&rpc_server("rpc", port, "", &more))
    );
    let f = fixture("", &table);
    let out = f.run(&["suite", "zmq", "--scenario", "latency"]);
    assert_eq!(out.status.code(), Some(3), "errors fail the gate: {}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/tail[server=rpc,transport=tcp,payload=64 B,requests=200]");
    assert_eq!(row["status"], "ok", "bad replies are counted, not a failure: {row:#}");
    // The fixture's 2 server processes, each for `iterations = 2` rounds of 200 requests.
    let rounds = 2 * 2;
    assert_eq!(row["samples"]["errors"], serde_json::json!(vec![200; rounds]), "every request of every round: {row:#}");
    assert!(row["samples"].get("latency_p50").is_none(), "a bad reply is no round trip");
    let budget = &row["budget"][0];
    assert_eq!((&budget["metric"], &budget["ok"]), (&serde_json::json!("errors"), &serde_json::json!(false)));
    let warnings = row["warnings"].to_string();
    assert!(
        warnings.contains(
            "600 replies failed the `reply` check over the rounds of a server process; the first: frame 0 fails the check that it equals \\\"PONG\\\"; the reply: [\\\"ECHO\\\""
        ),
        "{warnings}"
    );
    assert!(describe(&out).contains("replies failed the `reply` check"), "shown under the row: {}", describe(&out));
}

#[test]
fn a_server_that_does_not_understand_the_request_is_told_apart_from_one_that_closes() {
    if !python_has("zmq, msgpack") {
        return;
    }
    // Without `request` the RPC server gets the bare payload, which it ignores.
    let port = free_port();
    let table = format!(
        "server = {}\npayload-sizes = [64]\nclients = []\nround = \"50ms\"\niterations = 2",
        inline(&rpc_server("rpc", port, "", &[]))
    );
    let f = fixture("", &table);
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/throughput[server=rpc,pattern=req-rep,transport=tcp,payload=64 B]");
    assert_eq!(
        row["reason"],
        "sent 1 frame: 64 B ({payload}); no reply within 5s: a server with its own message format needs `request` \
         (the frames of one request) in its `[package.metadata.bench.zmq]` server table"
    );
    // Something that is no ZeroMQ server: it accepts connections and closes them.
    let port = free_port();
    let closer = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\ns.listen()\nprint('ready', flush=True)\nwhile True:\n    s.accept()[0].close()\n"
    );
    std::fs::write(f.ws().join("echosvc/closer.py"), closer).unwrap();
    let table = format!(
        "server = {{ command = [\"python3\", \"closer.py\"], name = \"closer\", endpoint = \"tcp://127.0.0.1:{port}\", \
         ready = {{ stdout = \"^ready$\" }}, request = [\"PING\"] }}\npayload-sizes = [64]\nclients = []\n\
         round = \"50ms\"\niterations = 2"
    );
    let manifest = f.ws().join("echosvc/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let head = text.split("[package.metadata.bench.zmq]").next().unwrap();
    std::fs::write(&manifest, format!("{head}[package.metadata.bench.zmq]\n{table}\n")).unwrap();
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/throughput[server=closer,pattern=req-rep,transport=tcp]");
    let reason = row["reason"].as_str().unwrap();
    assert!(reason.starts_with("sent 1 frame: \"PING\"; the ZeroMQ handshake with the server failed"), "{reason}");
}

#[test]
fn two_servers_run_side_by_side_and_one_that_allocates_per_request_is_flagged() {
    if !python_has("zmq, msgpack") {
        return;
    }
    let more = ["request = [\"UPPER\", { hex = \"81a17601\" }, \"{payload}\"]", "reply = { frames = 3 }"];
    let settings =
        [("rpc-fast", ""), ("rpc-slow", ", \"--delay-us\", \"2000\""), ("rpc-leaky", ", \"--leak-kb\", \"16\"")];
    let servers: String = settings
        .iter()
        .map(|(name, flags)| {
            format!(
                "[[package.metadata.bench.zmq.server]]\n{}\n\n",
                rpc_server(name, free_port(), flags, &more).join("\n")
            )
        })
        .collect();
    let f = SuiteFixture::new("zmqws", |ws| {
        let manifest = ws.join("echosvc/Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str(&format!(
            "\n[package.metadata.bench.zmq]\npayload-sizes = [64]\nclients = []\nround = \"100ms\"\niterations = 3\ntransports = [\"tcp\"]\n\n{servers}"
        ));
        std::fs::write(&manifest, text).unwrap();
    });
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let id =
        |server: &str| format!("zmq/echosvc/throughput[server={server},pattern=req-rep,transport=tcp,payload=64 B]");
    let (fast, slow, leaky) =
        (bench(&doc, &id("rpc-fast")), bench(&doc, &id("rpc-slow")), bench(&doc, &id("rpc-leaky")));
    assert_eq!(fast["reference"]["id"], id("builtin"));
    assert_eq!(slow["reference"]["id"], id("rpc-fast"), "the second server is measured against the first");
    let row = slow["reference"]["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "throughput").unwrap();
    // The slow setting's 2 ms a request against the fast one's ~0.1 ms: the ratio says it whatever
    // the spread of three rounds on a loaded machine makes of the test.
    assert!(row["ratio"].as_f64().unwrap() < 0.5, "{row:#} {:?}", samples(fast, "throughput"));
    let warnings = leaky["warnings"].to_string();
    assert!(warnings.contains("grew after every round") && warnings.contains("per 10 000 requests"), "{warnings}");
    let per_10k = leaky["facts"]["server_rss_growth_per_10k_requests_bytes"].as_f64().unwrap();
    assert!(per_10k > 100.0 * 1024.0 * 1024.0, "16 KiB a request is 156 MiB per 10 000: {per_10k}");
    assert!(mean(leaky, "server_rss_growth") > 100.0 * 1024.0 * 1024.0, "{leaky:#}");
    assert!(!fast["warnings"].to_string().contains("possible leak"), "{fast:#}");
    assert!(fast["facts"]["server_rss_growth_per_10k_requests_bytes"].as_f64().unwrap() < per_10k / 10.0);
}

#[test]
fn open_loop_latency_of_an_overloaded_server_counts_the_queue() {
    // The server takes 5 ms per request: 200 requests a second at most. Sent 400 a second, a
    // closed-loop client would wait for each answer and report about 5 ms; sent on schedule, the
    // queue grows by 200 a second and each latency counts from when its request was due.
    let port = free_port();
    let table = format!(
        "{}\nrates = [400]\nduration = \"1s\"\niterations = 2\nlatency-payload-sizes = []\ntail-requests = 10\ntransports = [\"tcp\"]",
        rust_server(port, ", \"--delay-ms\", \"5\"")
    );
    let f = fixture("timeout = \"5s\"", &table);
    let out = f.run(&["suite", "zmq", "--scenario", "latency", "--warmup", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let slow = bench(&doc, "zmq/echosvc/latency[server=echo-server,transport=tcp,payload=64 B,rate=400]");
    assert_eq!(slow["status"], "ok", "{slow:#}");
    let p99 = mean(slow, "latency_p99");
    assert!(p99 > 0.1, "p99 {p99} s: the queue of ~200 requests behind a 5 ms server is not counted");
    // What went out is reported as achieved, not as the rate asked for.
    let achieved = mean(slow, "achieved_rate");
    assert!(achieved < 300.0, "achieved {achieved}/s from a server that can do 200/s");
    let warnings = slow["warnings"].to_string();
    // The server's shortfall, or, when the loaded machine also fell behind its own schedule,
    // the generator's (both wordings are checked exactly in the unit test of `shortfall`).
    assert!(
        warnings.contains("asked for 400/s, the server answered") && warnings.contains("cannot keep up")
            || warnings.contains("this machine could not generate 400/s"),
        "{warnings}"
    );
    let floor = bench(&doc, "zmq/echosvc/latency[server=builtin,transport=tcp,payload=64 B,rate=400]");
    assert!(mean(floor, "latency_p99") < p99 / 4.0, "the floor is not slow");
}

#[test]
fn a_server_that_dies_fails_its_rows_and_the_floor_is_still_measured() {
    let port = free_port();
    let f = fixture("", &format!("{}\n{SMALL}", rust_server(port, ", \"--die-after\", \"40\"")));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput", "--scenario", "latency"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let mine: Vec<&serde_json::Value> =
        benchmarks(&doc).iter().filter(|b| b["params"]["server"] == "echo-server").collect();
    let first = mine[0];
    assert_eq!(first["status"], "failed", "{first:#}");
    assert_eq!(first["reason"], "the server exited with status 3");
    assert!(first["detail"].as_str().unwrap().contains("giving up after 40 requests"), "{first:#}");
    for later in &mine[1..] {
        assert_eq!(later["status"], "failed", "{later:#}");
        let reason = later["reason"].as_str().unwrap();
        assert!(reason.starts_with("not run: the server failed in an earlier row"), "{reason}");
    }
    let floor: Vec<&serde_json::Value> =
        benchmarks(&doc).iter().filter(|b| b["params"]["server"] == "builtin").collect();
    assert!(
        floor.len() >= 6 && floor.iter().all(|b| b["status"] == "ok"),
        "the floor is measured whatever the user's server does"
    );
}

#[test]
fn servers_that_cannot_serve_fail_their_rows_with_the_reason() {
    let one = "payload-sizes = [64]\nclients = [1]\nround = \"50ms\"\niterations = 2\ntransports = [\"tcp\"]";
    // The endpoint is taken: the row names who holds it.
    let port = free_port();
    let holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let f = fixture("", &format!("{}\n{one}", rust_server(port, "")));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    drop(holder);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/throughput[server=echo-server,pattern=req-rep,transport=tcp,payload=64 B]");
    let reason = row["reason"].as_str().unwrap();
    let me = format!("in use by process {}", std::process::id());
    assert!(reason.contains(&format!("tcp://127.0.0.1:{port} is already")) && reason.contains(&me), "{reason}");

    // It never gets ready: the timeout, and what it said on stderr.
    let port = free_port();
    let never = format!(
        "server = {{ command = [\"sh\", \"-c\", \"echo warming the cache >&2; sleep 60\"], name = \"never\", \
         endpoint = \"tcp://127.0.0.1:{port}\", ready = {{ stdout = \"^ready\" }}, timeout = \"1s\" }}"
    );
    let f = fixture("", &format!("{never}\n{one}"));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/throughput[server=never,pattern=req-rep,transport=tcp,payload=64 B]");
    let reason = row["reason"].as_str().unwrap();
    assert!(reason.contains("was not ready after 1s") && reason.contains("warming the cache"), "{reason}");

    // It answers with an extra frame: the row says what came back.
    let port = free_port();
    let f = fixture("", &format!("{}\n{one}", rust_server(port, ", \"--extra-frames\", \"1\"")));
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let doc = latest(&f.out());
    let row = bench(&doc, "zmq/echosvc/throughput[server=echo-server,pattern=req-rep,transport=tcp,payload=64 B]");
    let reason = row["reason"].as_str().unwrap();
    assert!(reason.starts_with("the server answered with 2 frames where 1 was expected: [64 B "), "{reason}");
    assert!(reason.ends_with(", \"extra\"]"), "{reason}");
}

#[test]
fn memory_that_grows_every_round_is_flagged_as_a_possible_leak() {
    let port = free_port();
    let table = format!(
        "{}\npayload-sizes = [64]\nclients = [1]\nround = \"100ms\"\niterations = 3\ntransports = [\"tcp\"]",
        rust_server(port, ", \"--leak-kb\", \"16\"")
    );
    let f = fixture("", &table);
    let out = f.run(&["suite", "zmq", "--scenario", "throughput"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let leaky = bench(&doc, "zmq/echosvc/throughput[server=echo-server,pattern=req-rep,transport=tcp,payload=64 B]");
    let warnings: Vec<&str> = leaky["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("grew after every round") && w.contains("possible leak")), "{leaky:#}");
    assert!(
        leaky["facts"]["server_rss_after_last_round_bytes"].as_u64()
            > leaky["facts"]["server_rss_when_ready_bytes"].as_u64()
    );
    let floor = bench(&doc, "zmq/echosvc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]");
    assert!(!floor["warnings"].to_string().contains("possible leak"), "{floor:#}");
}

#[test]
fn an_interrupted_suite_leaves_no_server_and_no_ipc_socket() {
    let f = fixture("", "payload-sizes = [64]\nround = \"10s\"\ntransports = [\"ipc\"]");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-coldbench"))
        .args(["coldbench", "--target-dir"])
        .arg(suite_target_dir())
        .arg("--output-dir")
        .arg(f.out())
        .args(["suite", "zmq", "--scenario", "throughput"])
        .current_dir(f.ws())
        .env("TMPDIR", f.tmp())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the worker is serving on its ipc socket.
    // Generous: the clock includes waiting for cargo's lock on the shared fixture target.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let serving = || {
        std::fs::read_dir(f.tmp()).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("coldbench-ipc-") && e.path().join("echo.ipc").exists()
        })
    };
    while !serving() {
        assert!(std::time::Instant::now() < deadline, "the suite never started a worker");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::into_raw(status) >> 8, 130, "{status:?}");
    f.assert_clean();
}

#[test]
fn compare_judges_a_slower_server_by_each_metric_s_direction() {
    let port = free_port();
    let table = format!(
        "{}\npayload-sizes = [64]\nclients = [1]\nrates = [200]\nlatency-payload-sizes = []\ntail-requests = 200\n\
         round = \"100ms\"\nduration = \"250ms\"\niterations = 1\ntransports = [\"tcp\"]",
        rust_server(port, "")
    );
    // Warn and fail far away: the verdict is then exactly "regressed" whatever the size. The 2 ms
    // delay per request cuts the server's throughput to a tenth or less and multiplies its median
    // latency, far beyond the wide noise band, while the floor, the same worker on both sides, may
    // drift by tens of percent on a loaded 2-core runner: the band keeps such drift from reading
    // as a change. Six blocks, each a fresh server per side back to back, are compared block by
    // block (the fixture's two would leave one degree of freedom: no change after the family's
    // adjustment however large the ratio); a block in which the machine stalled the fast server
    // (which once made a mean of rounds of one server per side read "no change" on CI) is one of
    // six paired ratios, and the other five still carry the change.
    let f = fixture("noise = \"40%\"\nwarn = \"100000%\"\nfail = \"200000%\"", &table);
    let ws = f.ws();
    f.commit_all("fast server");
    let main_rs = ws.join("echosvc/src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, source.replace("const EXTRA_DELAY_US: u64 = 0;", "const EXTRA_DELAY_US: u64 = 2000;"))
        .unwrap();
    let out = f.run(&[
        "suite",
        "zmq",
        "--scenario",
        "throughput",
        "--scenario",
        "latency",
        "--compare",
        "HEAD",
        "--processes",
        "6",
    ]);
    assert_eq!(out.status.code(), Some(0), "regressed does not fail the gate: {}", describe(&out));
    let doc = latest(&f.out());
    let rows = doc["comparison"]["rows"].as_array().unwrap();
    let row = |id: &str, metric: &str| -> &serde_json::Value {
        rows.iter()
            .find(|r| r["id"] == id && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {id} {metric} in {rows:#?}"))
    };
    let verdict = |id: &str, metric: &str| -> String { row(id, metric)["verdict"].as_str().unwrap().to_string() };
    // Each side's values, process by process, for a failure to show.
    let samples = |id: &str, metric: &str| -> String {
        let side = |b: &serde_json::Value| {
            format!(
                "{} over processes {} ({} {} {})",
                b["samples"][metric], b["processes"], b["status"], b["failure"], b["warnings"]
            )
        };
        let base = doc["comparison"]["baseline_benchmarks"].as_array().unwrap().iter().find(|b| b["id"] == id);
        format!("baseline {}, candidate {}", base.map_or("none".into(), side), side(bench(&doc, id)))
    };
    let throughput = "zmq/echosvc/throughput[server=echo-server,pattern=req-rep,transport=tcp,payload=64 B]";
    let slower = row(throughput, "throughput");
    let why = format!("{slower:#}\n{}", samples(throughput, "throughput"));
    assert_eq!(verdict(throughput, "throughput"), "regressed", "throughput fell: higher is better: {why}");
    assert_eq!((&slower["test"], &slower["processes"]), (&"paired_t".into(), &serde_json::json!([6, 6])), "{why}");
    let latency = "zmq/echosvc/latency[server=echo-server,transport=tcp,payload=64 B,rate=200]";
    let why = format!("{:#}\n{}", row(latency, "latency_p50"), samples(latency, "latency_p50"));
    assert_eq!(verdict(latency, "latency_p50"), "regressed", "latency rose: lower is better: {why}");
    // The floor did not change: it is the same built-in worker on both sides.
    let floor = "zmq/echosvc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]";
    assert!(["no_change", "within_noise"].contains(&verdict(floor, "throughput").as_str()));
    assert_eq!(
        git_in(&ws, &["status", "--porcelain"]).trim(),
        "M echosvc/src/main.rs",
        "the working tree is as it was"
    );
}

#[test]
fn calibrate_learns_each_suite_row_s_spread_and_its_comparisons_here_judge_with_that_band() {
    let f = fixture("", "payload-sizes = [64]\nround = \"30ms\"\ntransports = [\"tcp\"]");
    let out = f.run(&["calibrate", "--suite", "zmq", "--scenario", "throughput", "--processes", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = "zmq/echosvc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]";
    assert!(
        stdout.contains(&format!("{id}\n  4 A/A pairs of fresh processes (1 round each) of `throughput`")),
        "{stdout}"
    );
    assert!(stdout.contains("noise band of its comparisons: 4 processes ±"), "{stdout}");
    assert!(stdout.contains("processes per side to detect 5.0%: "), "the band of its family by default: {stdout}");
    let files: Vec<_> = std::fs::read_dir(f.out().join("calibration")).unwrap().flatten().collect();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(files[0].path()).unwrap()).unwrap();
    let entry = saved["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id && b["metric"] == "throughput")
        .unwrap_or_else(|| panic!("{saved:#}"));
    assert_eq!(entry["suite"], serde_json::json!({ "rounds": 1, "quick": false }));
    assert_eq!(entry["pairs"], 4);
    let sd = entry["log_ratio_sd"].as_f64().unwrap();
    assert!(sd > 0.0, "{entry:#}");

    // A comparison of that row here, with the same rounds, is judged with the band of the spread
    // over its own number of processes: σ / √3 on the log scale.
    f.commit_all("bench");
    let out = f.run(&["suite", "zmq", "--scenario", "throughput", "--compare", "HEAD", "--processes", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let band = bench(&doc, id)["config"]["calibrated_noise"]["throughput"].as_f64().unwrap();
    assert!((band - (sd / 3f64.sqrt()).exp_m1()).abs() < 1e-12, "{band} from σ {sd}");
    let row = |doc: &serde_json::Value| -> serde_json::Value {
        doc["comparison"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id && r["metric"] == "throughput")
            .cloned()
            .unwrap()
    };
    assert_eq!(row(&doc)["noise"].as_f64().unwrap(), band.max(0.02), "never below the configured noise");
    assert_eq!(row(&doc)["processes"], serde_json::json!([3, 3]));
    assert_eq!(row(&doc)["test"], "paired_t");

    // The calibration of full rounds says nothing of --quick ones: the family's band applies.
    let out = f.run(&["suite", "zmq", "--scenario", "throughput", "--compare", "HEAD", "--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    assert!(bench(&doc, id)["config"].get("calibrated_noise").is_none());
    assert_eq!(row(&doc)["noise"], 0.05);
}
