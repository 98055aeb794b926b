//! Output into a pipe whose reader is gone (`cargo coldbench ... | head -3`) ends quietly, as
//! cargo and ripgrep do: no panic, no backtrace, the command's own exit status.

mod common;

use common::*;

/// Runs `args` with stdout a pipe whose read end is already closed, so that every write fails
/// with EPIPE; returns the exit status and stderr.
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-coldbench"))
        .arg("coldbench")
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .env("NO_COLOR", "1")
        .stdout(writer)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_command_that_prints_ends_quietly_when_its_reader_is_gone() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "hello", "--runs", "2", "--warmup", "0"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let latest = out.path().join("latest.json");
    let latest = latest.to_str().unwrap();
    let manifest = fixture_manifest();
    let target = fixture_target_dir();
    let fixture = [
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
        "--output-dir",
        out.path().to_str().unwrap(),
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["completions", "bash"],
        vec!["init"],
        vec!["env"],
        vec!["env", "--format", "json"],
        vec!["report", latest, "--format", "md"],
        vec!["report", latest, "--format", "html"],
        vec!["report", latest, "--format", "json"],
        vec!["diff", latest, latest],
        [&fixture[..], &["-p", "apps", "--bin", "hello", "--runs", "2", "--warmup", "0"]].concat(),
        [&fixture[..], &["-p", "apps", "--bin", "hello", "--runs", "2", "--warmup", "0", "--format", "json"]].concat(),
        [&fixture[..], &["baseline", "save", "b1"]].concat(),
        [&fixture[..], &["baseline", "list"]].concat(),
    ];
    for args in runs {
        let (status, stderr) = into_closed_pipe(&args);
        assert_eq!(status, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}
