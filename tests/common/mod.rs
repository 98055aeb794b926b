//! Helpers shared by the integration tests: the fixture workspace and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The fixture workspace's manifest.
pub fn fixture_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ws/Cargo.toml")
}

/// One target directory for every test that builds the fixture, so it compiles once.
pub fn fixture_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-target")
}

/// `cargo-coldbench coldbench` with a deterministic environment (no colours, no inherited target dir).
pub fn coldbench() -> Command {
    let mut cmd = Command::cargo_bin("cargo-coldbench").expect("binary built");
    cmd.arg("coldbench").env_remove("CARGO_TARGET_DIR").env_remove("CARGO_TERM_COLOR").env("NO_COLOR", "1");
    cmd
}

/// Runs coldbench on the fixture workspace with results in `out`.
pub fn run_fixture(out: &Path, args: &[&str]) -> Output {
    let mut cmd = coldbench();
    cmd.arg("--manifest-path")
        .arg(fixture_manifest())
        .arg("--target-dir")
        .arg(fixture_target_dir())
        .arg("--output-dir")
        .arg(out)
        .args(args);
    cmd.output().expect("coldbench runs")
}

/// Reads `latest.json` from a results folder.
pub fn latest(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("latest.json")).expect("latest.json written");
    serde_json::from_str(&text).expect("latest.json is JSON")
}

/// The benchmark with this id in a result document.
pub fn bench<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["benchmarks"]
        .as_array()
        .expect("benchmarks array")
        .iter()
        .find(|b| b["id"] == id)
        .unwrap_or_else(|| panic!("no benchmark {id} in {doc:#}"))
}

/// Numbers of one metric's samples.
pub fn samples(bench: &serde_json::Value, metric: &str) -> Vec<f64> {
    bench["samples"][metric].as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap()).collect()).unwrap_or_default()
}

/// Pids of live processes whose executable is `exe` or whose command line is exactly `cmdline`.
pub fn live_processes(exe: Option<&Path>, cmdline: Option<&[&str]>) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let dir = entry.path();
        // Zombies have no exe link; they are dead already.
        if let (Some(exe), Ok(link)) = (exe, std::fs::read_link(dir.join("exe"))) {
            if link == exe {
                found.push(pid);
                continue;
            }
        }
        if let (Some(want), Ok(raw)) = (cmdline, std::fs::read(dir.join("cmdline"))) {
            let args: Vec<String> =
                raw.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into()).collect();
            if args == want {
                found.push(pid);
            }
        }
    }
    found
}

/// Text of stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A one-package cargo project in a temporary folder with `extra` appended to its manifest.
pub fn temp_project(extra: &str, main_rs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{extra}\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), main_rs).unwrap();
    dir
}
