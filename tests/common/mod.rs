//! Helpers shared by the integration tests: the fixture workspace and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub mod browser;

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

/// Whether a process's executable link names `exe`, or a fresh copy of it that coldbench ran
/// (a file of the same name under a `stage` folder, perhaps removed since: "… (deleted)").
fn is_exe_or_its_copy(link: &Path, exe: &Path) -> bool {
    if link == exe {
        return true;
    }
    let name = link.file_name().map(|n| n.to_string_lossy().trim_end_matches(" (deleted)").to_string());
    let staged = link.components().any(|c| c.as_os_str() == "stage");
    staged && name.as_deref() == exe.file_name().and_then(|n| n.to_str())
}

/// Pids of live processes whose executable is `exe` (or coldbench's copy of it) or whose command
/// line is exactly `cmdline`.
pub fn live_processes(exe: Option<&Path>, cmdline: Option<&[&str]>) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let dir = entry.path();
        // Zombies have no exe link; they are dead already.
        if let (Some(exe), Ok(link)) = (exe, std::fs::read_link(dir.join("exe"))) {
            if is_exe_or_its_copy(&link, exe) {
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

/// What `find` still finds after giving killed processes up to 5 s to leave `/proc`: on a loaded
/// machine a process killed with its group dies a moment after the kill returns.
pub fn left_after_kill<T>(find: impl Fn() -> Vec<T>) -> Vec<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = find();
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
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

/// A git repository holding a one-binary cargo project whose binary spins for a chosen number
/// of iterations, for comparison tests.
pub struct GitProject {
    /// The temporary folder (the repository's working tree).
    pub dir: tempfile::TempDir,
}

impl GitProject {
    /// A repository on branch `main` with one commit ("A") of a binary doing `iterations` of work.
    pub fn new(iterations: u64) -> GitProject {
        let dir = tempfile::tempdir().unwrap();
        let p = GitProject { dir };
        std::fs::write(
            p.path().join("Cargo.toml"),
            "[package]\nname = \"work\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(p.path().join(".gitignore"), "/target\n").unwrap();
        std::fs::write(p.path().join("README.md"), "a fixture\n").unwrap();
        std::fs::create_dir(p.path().join("src")).unwrap();
        p.set_work(iterations);
        // Binary crates commit their lock file; building must then leave the tree as it was.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let lock = std::process::Command::new(cargo)
            .args(["generate-lockfile", "--offline", "--quiet"])
            .current_dir(p.path())
            .status()
            .unwrap();
        assert!(lock.success());
        p.git(&["init", "-q", "-b", "main"]);
        p.commit_all("A");
        p
    }

    /// The working tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Rewrites the binary to spin for `iterations`.
    pub fn set_work(&self, iterations: u64) {
        std::fs::write(self.path().join("src/main.rs"), spin_source(iterations)).unwrap();
    }

    /// Runs git in the repository and returns its stdout; panics when git fails.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }

    /// Everything about the repository that coldbench must leave as it was: status, stash, HEAD,
    /// branches, linked worktrees, the index, the hooks, and the state of a `git bisect`.
    pub fn state(&self) -> Vec<String> {
        let files = |dir: &Path, prefix: &str| -> String {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                        .map(|e| {
                            let bytes = std::fs::read(e.path()).unwrap_or_default();
                            format!("{}:{}", e.file_name().to_string_lossy(), String::from_utf8_lossy(&bytes))
                        })
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names.join(",")
        };
        vec![
            self.git(&["status", "--porcelain", "--untracked-files=all"]),
            self.git(&["stash", "list"]),
            self.git(&["rev-parse", "HEAD"]),
            self.git(&["rev-parse", "--symbolic-full-name", "HEAD"]),
            self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
            self.git(&["worktree", "list", "--porcelain"]),
            std::fs::read(self.path().join(".git/index")).map(|b| format!("index {} bytes", b.len())).unwrap(),
            files(&self.path().join(".git/hooks"), ""),
            files(&self.path().join(".git"), "BISECT_"),
        ]
    }

    /// Commits everything and returns the new sha.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// The source of a binary that spins for `iterations` and exits.
pub fn spin_source(iterations: u64) -> String {
    format!(
        "fn main() {{\n    let mut x: u64 = 1;\n    for i in 0..{iterations}u64 {{\n        \
         x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));\n    }}\n    \
         if x == 42 {{\n        println!(\"unlikely\");\n    }}\n}}\n"
    )
}

/// Runs git in `dir` with a fixed identity and returns stdout; panics when git fails.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "coldbench test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "coldbench test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Iterations of the spin loop that take a few milliseconds in a release build.
pub const BASE_WORK: u64 = 3_000_000;

/// Copies a fixture folder, leaving out its `target`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// Live processes (not zombies) whose environment holds `entry`.
pub fn processes_with_env(entry: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(env) = std::fs::read(e.path().join("environ")) else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && env.split(|b| *b == 0).any(|v| v == entry.as_bytes()) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
        }
    }
    found
}

/// The target directory every copy of the suites' fixtures builds into, so libzmq compiles once.
pub fn suite_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("zmq-fixture-target")
}

/// A copy of a suite's fixture workspace, with its results and a TMPDIR of its own beside it.
/// Every run gets that TMPDIR: the servers and workers inherit it, so after the run no process may
/// still carry it and no ipc folder may be left in it.
pub struct SuiteFixture {
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl SuiteFixture {
    /// Copies `tests/fixtures/NAME`; `edit` then changes the copy (given its root).
    pub fn new(name: &str, edit: impl FnOnce(&Path)) -> SuiteFixture {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name), &ws);
        edit(&ws);
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        SuiteFixture { dir, target: suite_target_dir() }
    }

    /// Builds in a target directory of its own instead of the one the suites' fixtures share:
    /// for a fixture whose tests build different versions of the same binaries at once.
    pub fn own_target(mut self) -> SuiteFixture {
        self.target = self.dir.path().join("target");
        self
    }

    /// The workspace.
    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    /// Where results go.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// The runs' TMPDIR.
    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// cargo-coldbench in the workspace with these arguments. Suite rows run against 2 server
    /// processes per side (the fewest a comparison takes) unless the arguments say otherwise: the
    /// tests are about what the rows do, and stay quick.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = coldbench();
        cmd.current_dir(self.ws())
            .env("TMPDIR", self.tmp())
            .arg("--target-dir")
            .arg(&self.target)
            .arg("--output-dir")
            .arg(self.out())
            .args(args);
        if !args.contains(&"--processes") {
            cmd.args(["--processes", "2"]);
        }
        cmd
    }

    /// Makes the workspace a git repository on branch `main` with everything committed (the
    /// build output ignored), for `--compare`.
    pub fn commit_all(&self, message: &str) {
        let ws = self.ws();
        std::fs::write(ws.join(".gitignore"), "/target\n").unwrap();
        git_in(&ws, &["init", "-q", "-b", "main"]);
        git_in(&ws, &["add", "-A"]);
        git_in(&ws, &["commit", "-q", "-m", message]);
    }

    /// Runs it, and checks that it left nothing behind.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        self.assert_clean();
        out
    }

    /// Nothing of the run is left: no process that inherited its TMPDIR, no ipc folder in it.
    pub fn assert_clean(&self) {
        let tmp = self.tmp();
        let marker = format!("TMPDIR={}", tmp.display());
        // Stopped processes are reaped before coldbench exits; give the kernel a moment anyway.
        let left = left_after_kill(|| processes_with_env(&marker));
        assert!(left.is_empty(), "processes of the run are still alive: {left:?}");
        let files: Vec<String> =
            std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(!files.iter().any(|f| f.starts_with("coldbench-ipc-")), "ipc folders left: {files:?}");
    }
}
