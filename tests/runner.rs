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
