//! The runner process, driven through the library against the real binary.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use coldbench::measure::process::{ProcessSpec, Readiness};
use coldbench::measure::runner::Runner;
use common::*;

/// A program that runs to its exit, its output not captured.
fn to_exit(program: std::path::PathBuf, args: Vec<String>, cwd: std::path::PathBuf) -> ProcessSpec {
    ProcessSpec {
        program,
        args,
        env: BTreeMap::new(),
        cwd,
        readiness: Readiness::Exit,
        timeout: Duration::from_secs(10),
        capture_stdout: false,
        capture_stderr: false,
        cache: Default::default(),
        evict_first: None,
        cpu: None,
    }
}

#[test]
fn peak_rss_is_each_childs_own_even_from_one_runner() {
    // Build the memory fixtures.
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "memory", "--runs", "2"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let release = fixture_target_dir().join("release");
    let spec = |bin: &str| to_exit(release.join(bin), vec![], std::env::temp_dir());
    // One runner serves both: a harness that read getrusage(RUSAGE_CHILDREN) would report the
    // big child's 64 MiB again for the small one.
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut runner = Runner::start(&exe, &[spec("alloc64"), spec("small")]).unwrap();
    const MIB: u64 = 1024 * 1024;
    for _ in 0..2 {
        let big = runner.run(0).unwrap();
        assert!(big.usage.max_rss >= 64 * MIB, "{:?}", big.usage);
        let small = runner.run(1).unwrap();
        assert!(small.usage.max_rss < 16 * MIB, "the small child reports {} bytes", small.usage.max_rss);
    }
}

#[test]
fn promised_rounds_are_made_in_one_batch_and_handed_out_in_order() {
    // Each run appends its spec's letter to a log: what the log holds after the first `run`
    // returns is what the runner made in that one request.
    let dir = tempfile::tempdir().unwrap();
    let spec =
        |letter: &str| to_exit("/bin/sh".into(), vec!["-c".into(), format!("echo {letter} >> log")], dir.path().into());
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut runner = Runner::start(&exe, &[spec("a"), spec("b")]).unwrap();
    let log =
        || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default().split_whitespace().collect::<String>();
    runner.expect(0, 2);
    runner.expect(1, 2);
    let first = runner.run(0).unwrap();
    assert_eq!(log(), "abab", "the first batch is two rounds, made before the first record returns");
    let mut pids = vec![first.pid.unwrap()];
    for index in [1, 0, 1] {
        pids.push(runner.run(index).unwrap().pid.unwrap());
    }
    assert_eq!(log(), "abab", "the other three records were made ahead, not run again");
    let mut sorted = pids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4, "four records of four runs: {pids:?}");
    // Without a promise, one run per request.
    runner.run(1).unwrap();
    assert_eq!(log(), "ababb");
}

/// A symbolic link named `name` in `dir` to `target`.
fn link(dir: &std::path::Path, name: &str, target: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join(name);
    std::os::unix::fs::symlink(target, &path).unwrap();
    path
}

/// The program that served as the runner started from `exe`, after one run of `/bin/true` through
/// it succeeded.
fn runner_program(exe: &std::path::Path) -> std::path::PathBuf {
    let spec = to_exit("/bin/true".into(), vec![], std::env::temp_dir());
    let mut runner = Runner::start(exe, std::slice::from_ref(&spec)).unwrap();
    assert_eq!(runner.run(0).unwrap().failure(&Readiness::Exit, spec.timeout), None);
    runner.program().to_path_buf()
}

/// A folder holding a link named `cargo-coldbench` to the real one, and its path.
fn cargo_coldbench_in(dir: &tempfile::TempDir) -> std::path::PathBuf {
    link(dir.path(), "cargo-coldbench", &assert_cmd::cargo::cargo_bin("cargo-coldbench"))
}

#[test]
fn the_runner_is_the_runner_binary_beside_cargo_coldbench_when_built_from_the_same_sources() {
    let runner_bin = assert_cmd::cargo::cargo_bin("coldbench-runner");
    assert_eq!(runner_program(&assert_cmd::cargo::cargo_bin("cargo-coldbench")), runner_bin);

    // No runner beside it: cargo-coldbench serves as its own runner.
    let alone = tempfile::tempdir().unwrap();
    let exe = cargo_coldbench_in(&alone);
    assert_eq!(runner_program(&exe), exe);

    // A runner built from other sources (here: one that is told another identity) is not used.
    let stale = tempfile::tempdir().unwrap();
    let exe = cargo_coldbench_in(&stale);
    let script = stale.path().join("coldbench-runner");
    std::fs::write(&script, format!("#!/bin/sh\nexec '{}' __coldbench-runner other-sources\n", runner_bin.display()))
        .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert_eq!(runner_program(&exe), exe);

    // One that cannot be started (here: not executable) is passed over too.
    let broken = tempfile::tempdir().unwrap();
    let exe = cargo_coldbench_in(&broken);
    std::fs::write(broken.path().join("coldbench-runner"), "not a program").unwrap();
    assert_eq!(runner_program(&exe), exe);
}

#[test]
fn the_runner_binary_refuses_to_be_started_by_hand() {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("coldbench-runner")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: coldbench-runner is started by `cargo coldbench`"), "{stderr}");
    assert!(stderr.contains("help: "), "{stderr}");
}
