//! The start benchmarks, driven through the real binary against the fixture workspace.

mod common;

use common::*;

#[test]
fn measures_every_binary_and_writes_latest_json() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "apps"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("start/apps/hello") && stdout.contains("start/apps/greet"), "{stdout}");
    assert!(stdout.lines().next().unwrap().contains("median"), "{stdout}");

    let doc = latest(out.path());
    assert_eq!(doc["schema"], "coldbench/1");
    assert_eq!(doc["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["benchmarks"].as_array().unwrap().len(), 2);
    for id in ["start/apps/hello", "start/apps/greet"] {
        let b = bench(&doc, id);
        assert_eq!(b["status"], "ok");
        assert_eq!(b["kind"], "start");
        // The package configures runs = 5; one warmup is kept apart.
        assert_eq!(samples(b, "wall").len(), 5, "{b:#}");
        assert_eq!(b["warmup_samples"]["wall"].as_array().unwrap().len(), 1);
        for metric in ["user", "sys", "max_rss", "minor_faults", "major_faults", "vcsw", "ivcsw"] {
            assert_eq!(samples(b, metric).len(), 5, "{metric}");
        }
        assert!(b["samples"]["max_rss"][0].is_u64(), "bytes are integers");
        let s = &b["summary"]["wall"];
        assert_eq!(s["n"], 5);
        for key in ["mean", "median", "stddev", "min", "max", "p5", "p95", "mad", "outliers"] {
            assert!(s[key].is_number(), "summary.{key} missing: {s}");
        }
        assert_eq!(s["ci95"].as_array().unwrap().len(), 2);
        assert!(b["facts"]["binary_bytes"].as_u64().unwrap() > 0);
    }
    // The run is also kept under runs/.
    assert_eq!(std::fs::read_dir(out.path().join("runs")).unwrap().count(), 1);
}

#[test]
fn crashing_failing_and_hanging_binaries_are_failed_rows_and_exit_4() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(
        out.path(),
        &["-p", "failing", "--bin", "crash", "--bin", "exit1", "--bin", "hang", "--bin", "fine"],
    );
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    let doc = latest(out.path());
    let reason = |id: &str| bench(&doc, id)["reason"].as_str().unwrap_or_default().to_string();
    assert_eq!(bench(&doc, "start/failing/crash")["status"], "failed");
    assert_eq!(reason("start/failing/crash"), "killed by signal 6 (SIGABRT)");
    assert_eq!(reason("start/failing/exit1"), "exited with status 1");
    assert_eq!(reason("start/failing/hang"), "timed out after 2s");
    assert!(bench(&doc, "start/failing/crash")["detail"].as_str().unwrap().contains("about to abort"));
    // A hanging binary costs one timeout: the first failed run ends its benchmark.
    assert!(samples(bench(&doc, "start/failing/hang"), "wall").is_empty());
    // The others are measured.
    let fine = bench(&doc, "start/failing/fine");
    assert_eq!(fine["status"], "ok");
    assert_eq!(samples(fine, "wall").len(), 4);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("failed: timed out after 2s"), "{stdout}");

    // Nothing the fixtures started is still running: not the hanging binary, nor its child (an
    // odd duration, so that no other `sleep` on the machine is taken for it).
    let hang = fixture_target_dir().join("release/hang");
    let left = left_after_kill(|| live_processes(Some(&hang), Some(&["sleep", "300.0417"])));
    assert_eq!(left, Vec::<u32>::new());
}

#[test]
fn readiness_on_stdout_ends_the_run_at_the_ready_line() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "server"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    let b = bench(&doc, "start/server/ready-stdout");
    assert_eq!(b["status"], "ok");
    let median = b["summary"]["wall"]["median"].as_f64().unwrap();
    let timeout = b["config"]["timeout"].as_f64().unwrap();
    assert!(median >= 0.040, "the fixture sleeps 40 ms before its ready line; median {median}");
    assert!(median < timeout / 2.0, "median {median} is not well below the {timeout} s timeout");
    let ready = fixture_target_dir().join("release/ready");
    assert_eq!(live_processes(Some(&ready), None), Vec::<u32>::new(), "the server was not terminated");
    assert!(b["facts"]["threads"].as_u64().unwrap() >= 1, "threads are counted at readiness");
    assert!(b["facts"]["mapped_libs"].as_u64().unwrap() >= 1);
}

#[test]
fn max_rss_is_the_childs_own() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "memory"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    let big = samples(bench(&doc, "start/memory/alloc64"), "max_rss");
    let small = samples(bench(&doc, "start/memory/small"), "max_rss");
    const MIB: f64 = 1024.0 * 1024.0;
    assert!(big.iter().all(|&v| v >= 64.0 * MIB), "alloc64 touched 64 MiB: {big:?}");
    // Not alloc64's 64 MiB: what small reports is the runner's own peak, which exec folds in
    // (about 5 MiB with a release build of coldbench, some 16 MiB with the debug build tests use).
    assert!(small.iter().all(|&v| v < 32.0 * MIB), "small measured after alloc64: {small:?}");
}

#[test]
fn an_exceeded_budget_fails_the_gate_unless_fail_on_never() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "budgeted"]);
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("over budget"), "{stdout}");
    assert!(stdout.contains("budget exceeded: median wall time"), "{stdout}");
    let doc = latest(out.path());
    let checks = bench(&doc, "start/budgeted/budgeted")["budget"].as_array().unwrap().clone();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c["ok"] == false), "{checks:?}");
    assert_eq!(checks[0]["metric"], "wall");
    assert_eq!(checks[0]["limit"], 1e-6);

    let res = run_fixture(out.path(), &["-p", "budgeted", "--fail-on", "never"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
}

#[test]
fn json_format_prints_the_result_document_and_nothing_else() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["start", "-p", "apps", "--bin", "hello", "--runs", "3", "--format", "json"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let printed: serde_json::Value = serde_json::from_slice(&res.stdout).expect("stdout is only JSON");
    assert_eq!(printed, latest(out.path()));
    let ids: Vec<&str> = printed["benchmarks"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["start/apps/hello"], "--bin selects one binary");
    assert_eq!(samples(&printed["benchmarks"][0], "wall").len(), 3, "--runs overrides the configuration");
}

#[test]
fn results_go_under_the_target_dir_that_cargo_reports() {
    let target = tempfile::tempdir().unwrap();
    let res = coldbench()
        .arg("--manifest-path")
        .arg(fixture_manifest())
        .args(["-p", "apps", "--bin", "greet", "--runs", "2", "--warmup", "0"])
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(&target.path().join("coldbench"));
    assert_eq!(
        bench(&doc, "start/apps/greet")["facts"]["program"],
        target.path().join("release/greet").display().to_string()
    );
}

#[test]
fn no_build_uses_built_executables_and_names_missing_ones() {
    let out = tempfile::tempdir().unwrap();
    // Build once, then measure without cargo.
    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "hello", "--runs", "2"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "hello", "--runs", "2", "--no-build"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));

    let empty = tempfile::tempdir().unwrap();
    let res = coldbench()
        .arg("--manifest-path")
        .arg(fixture_manifest())
        .args(["-p", "apps", "--no-build", "--target-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("error: --no-build: these executables are not built: apps/greet"), "{stderr}");
    assert!(stderr.contains("run without --no-build"), "{stderr}");
}

#[test]
fn env_reports_the_host_facts() {
    let res = coldbench().args(["env", "--format", "json"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let facts: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    for key in ["kernel", "cpu", "cores", "governor", "rustc", "libzmq", "curve", "gpus"] {
        assert!(facts.get(key).is_some(), "missing {key}: {facts}");
    }
    assert!(facts["curve"].is_boolean(), "{facts}");
    assert_eq!(facts["cores"].as_u64().unwrap() as usize, std::thread::available_parallelism().unwrap().get());
    let human = coldbench().arg("env").output().unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("libzmq:"));
}

#[test]
fn runs_as_a_cargo_subcommand_and_directly() {
    let res = coldbench().arg("--version").output().unwrap();
    assert_eq!(res.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&res.stdout).contains(env!("CARGO_PKG_VERSION")));
    let help = coldbench().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--runs",
        "--warmup",
        "--timeout",
        "--fail-on",
        "--no-build",
        "--bin",
        "--format",
        "--output-dir",
        "--manifest-path",
        "--package",
        "--workspace",
        "--exclude",
        "--features",
        "--all-features",
        "--no-default-features",
        "--profile",
        "--target-dir",
        "--locked",
        "--offline",
        "--frozen",
        "--verbose",
        "--quiet",
        "--color",
        "--compare",
        "--against",
        "--baseline",
        "--save-baseline",
        "--noise",
        "--quick",
    ] {
        assert!(text.contains(option), "--help lacks {option}");
    }
}

#[test]
fn an_interrupted_run_leaves_nothing_running_and_writes_nothing() {
    use std::os::unix::process::CommandExt;
    let out = tempfile::tempdir().unwrap();
    // Build first so that the hang fixture starts quickly below.
    let res = run_fixture(
        out.path(),
        &["-p", "failing", "--bin", "fine", "--bin", "linger", "--runs", "2", "--timeout", "1s"],
    );
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    std::fs::remove_file(out.path().join("latest.json")).unwrap();

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-coldbench"))
        .arg("coldbench")
        .arg("--manifest-path")
        .arg(fixture_manifest())
        .arg("--target-dir")
        .arg(fixture_target_dir())
        .arg("--output-dir")
        .arg(out.path())
        .args(["-p", "failing", "--bin", "linger", "--timeout", "60s", "--no-build", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own group, like a shell job, so that the "Ctrl-C" below reaches coldbench and its
        // runner but not this test.
        .process_group(0)
        .spawn()
        .unwrap();
    let linger = fixture_target_dir().join("release/linger");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while live_processes(Some(&linger), None).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the linger fixture never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The program was spawned by the runner binary, a child of coldbench.
    let runner_bin = assert_cmd::cargo::cargo_bin("coldbench-runner");
    let runners = || -> Vec<u32> {
        live_processes(Some(&runner_bin), None)
            .into_iter()
            .filter(|pid| {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                status.lines().any(|l| l.strip_prefix("PPid:").is_some_and(|p| p.trim() == child.id().to_string()))
            })
            .collect()
    };
    let runner = runners();
    assert_eq!(runner.len(), 1, "one runner, the coldbench-runner binary, serves the run: {runner:?}");
    unsafe {
        libc::killpg(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(
        left_after_kill(|| live_processes(Some(&runner_bin), None)
            .into_iter()
            .filter(|p| runner.contains(p))
            .collect()),
        Vec::<u32>::new(),
        "the runner survived the interrupt"
    );
    // The kill is asynchronous; give the kernel a moment to finish it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !live_processes(Some(&linger), Some(&["sleep", "301"])).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the linger fixture survived the interrupt");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!out.path().join("latest.json").exists(), "no half result is written");
}

#[test]
fn a_process_that_escapes_the_group_is_still_ended_with_its_run() {
    // `setsid` puts the sleep in a session of its own, beyond the process group that a run's end
    // kills; the runner, a child subreaper, inherits it when the shell exits and ends it.
    let dir = temp_project(
        "[[package.metadata.bench.start]]\ncommand = [\"sh\", \"-c\", \"setsid sleep 302 & exit 0\"]\nname = \"escapes\"\n",
        "fn main() {}\n",
    );
    let res = coldbench().current_dir(dir.path()).args(["--runs", "3", "--warmup", "0"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert_eq!(live_processes(None, Some(&["sleep", "302"])), Vec::<u32>::new(), "a run left a process behind");
}

#[test]
fn pinned_runs_put_the_runner_and_the_program_on_the_cpus_asked_for() {
    let out = tempfile::tempdir().unwrap();
    let seen = out.path().join("affinity.txt");
    // The program writes its own CPUs and its parent's (the runner's).
    let script = format!(
        "grep Cpus_allowed_list /proc/self/status /proc/$PPID/status | sed s/.*://g | tr -d '\\\\t' | tr '\\\\n' ' ' >> {}; echo >> {}",
        seen.display(),
        seen.display()
    );
    let dir = temp_project(
        &format!("[[package.metadata.bench.start]]\ncommand = [\"sh\", \"-c\", \"{script}\"]\nname = \"where\"\n"),
        "fn main() {}\n",
    );
    let two = std::thread::available_parallelism().unwrap().get() >= 2;
    let (pin, expected) = if two { ("0,1", "1 0") } else { ("0", "0 0") };
    let res =
        coldbench().current_dir(dir.path()).args(["--runs", "3", "--warmup", "0", "--pin", pin]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let lines = std::fs::read_to_string(&seen).unwrap();
    let runs: Vec<&str> = lines.lines().map(str::trim).collect();
    assert!(runs.len() >= 3 && runs.iter().all(|l| *l == expected), "program and runner CPUs per run: {runs:?}");

    let res = coldbench().current_dir(dir.path()).args(["--pin", "4096"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("--pin: CPU 4096 is not one this process may run on"));
}
