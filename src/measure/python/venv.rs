//! A virtual environment per side for a Python import row (`install`): made with the row's
//! interpreter (`python -m venv`), filled by the user's command run in that side's package folder,
//! and kept in `target/coldbench/venvs/<key>/`. The key hashes everything that decides what the
//! command installs: the interpreter, the command, the package folder (an editable install, which
//! `uv sync` makes of the project, points into it) and the contents of the files the command reads.
//! A side whose key is already there reuses its environment without running anything.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The folder of environments under the results folder.
pub const VENVS_DIR: &str = "venvs";
/// Written into an environment once its install command succeeded: what made it.
pub const MARKER: &str = "coldbench-env.json";
/// The output of making an environment: `python -m venv` and the install command.
const LOG: &str = "coldbench-install.log";
/// How long the install command may take (a resolver stuck on a network) before it is killed.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The last lines of the output a failed install shows.
const TAIL_LINES: usize = 20;

/// What installs a row's dependencies (`install`, `install-inputs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Install {
    /// The program and its arguments, run in the side's package folder with the environment active.
    pub command: Vec<String>,
    /// Files and folders, relative to the package folder, whose contents decide what the command
    /// installs; `None`: the usual ones there ([`is_usual_input`]).
    pub inputs: Option<Vec<PathBuf>>,
}

/// A side's environment, ready to import from.
#[derive(Debug, Clone, PartialEq)]
pub struct Env {
    /// Its folder.
    pub dir: PathBuf,
    /// Its interpreter (`bin/python`, which Python recognises as the environment's).
    pub python: PathBuf,
    /// How long making it took; `None` when it was reused.
    pub made: Option<Duration>,
}

/// Why an environment could not be made: one line, and the last lines of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvFailure {
    /// What failed.
    pub reason: String,
    /// The end of the output.
    pub tail: Vec<String>,
}

impl EnvFailure {
    fn new(reason: impl Into<String>) -> EnvFailure {
        EnvFailure { reason: reason.into(), tail: Vec::new() }
    }

    /// What a benchmark fails to prepare with: the reason, and the tail as its detail.
    pub fn failure(&self) -> crate::measure::bench::RunFailure {
        use crate::measure::bench::RunFailure;
        if self.tail.is_empty() {
            return RunFailure::new(self.reason.clone());
        }
        RunFailure::with_detail(self.reason.clone(), self.tail.join("\n"))
    }
}

/// The files an install reads by default: `requirements*.txt`, `pyproject.toml`, `uv.lock`.
pub fn is_usual_input(name: &str) -> bool {
    name == "pyproject.toml" || name == "uv.lock" || name.starts_with("requirements") && name.ends_with(".txt")
}

/// The environment's key: a hash of the interpreter (path, size and time of change), the command,
/// the package folder and the contents of the inputs (with their paths).
pub fn key(python: &Path, install: &Install, package_dir: &Path) -> Result<String, EnvFailure> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(b"coldbench venv 1");
    field(python.as_os_str().as_encoded_bytes());
    let meta = std::fs::metadata(python)
        .map_err(|e| EnvFailure::new(format!("could not read the interpreter {}: {e}", python.display())))?;
    let changed = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
    field(&meta.len().to_le_bytes());
    field(&changed.as_nanos().to_le_bytes());
    field(&(install.command.len() as u64).to_le_bytes());
    for arg in &install.command {
        field(arg.as_bytes());
    }
    field(package_dir.as_os_str().as_encoded_bytes());
    for (relative, full) in input_files(install, package_dir)? {
        let content = std::fs::read(&full)
            .map_err(|e| EnvFailure::new(format!("could not read the install input {}: {e}", full.display())))?;
        field(relative.as_os_str().as_encoded_bytes());
        field(&content);
    }
    let digest = hash.finalize();
    Ok(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// The input files (relative to the package folder, and full), sorted: the configured files and
/// every file under the configured folders, or the usual files of the package folder.
fn input_files(install: &Install, package_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, EnvFailure> {
    let mut out = Vec::new();
    match &install.inputs {
        None => {
            let entries = std::fs::read_dir(package_dir)
                .map_err(|e| EnvFailure::new(format!("could not read {}: {e}", package_dir.display())))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_usual_input(&name) && entry.path().is_file() {
                    out.push((PathBuf::from(&name), entry.path()));
                }
            }
        }
        Some(inputs) => {
            for relative in inputs {
                let full = package_dir.join(relative);
                if !full.exists() {
                    return Err(EnvFailure::new(format!(
                        "the install input `{}` does not exist in {}",
                        relative.display(),
                        package_dir.display()
                    )));
                }
                walk(&full, relative, &mut out)
                    .map_err(|e| EnvFailure::new(format!("could not read {}: {e}", full.display())))?;
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every file under `full` (itself when it is a file), except caches of Python and git.
fn walk(full: &Path, relative: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> std::io::Result<()> {
    if !std::fs::symlink_metadata(full)?.is_dir() {
        out.push((relative.to_path_buf(), full.to_path_buf()));
        return Ok(());
    }
    for entry in std::fs::read_dir(full)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "__pycache__" || name == ".git" {
            continue;
        }
        walk(&entry.path(), &relative.join(&name), out)?;
    }
    Ok(())
}

/// The environment of `key` when it was made completely before.
pub fn existing(venvs: &Path, key: &str) -> Option<Env> {
    let dir = venvs.join(key);
    let python = dir.join("bin/python");
    (dir.join(MARKER).is_file() && python.exists()).then_some(Env { dir, python, made: None })
}

/// Makes the environment of `key`: `python -m venv`, then the install command in `package_dir`
/// with the environment active (`VIRTUAL_ENV`, its `bin` first on `PATH`, and
/// `UV_PROJECT_ENVIRONMENT` so that `uv sync` fills it rather than the project's `.venv`). A
/// folder left by an interrupted attempt is made again.
pub fn make(venvs: &Path, key: &str, python: &Path, install: &Install, package_dir: &Path) -> Result<Env, EnvFailure> {
    let started = Instant::now();
    let dir = venvs.join(key);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| EnvFailure::new(format!("could not remove the incomplete {}: {e}", dir.display())))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| EnvFailure::new(format!("could not create {}: {e}", dir.display())))?;
    let log = dir.join(LOG);
    let mut venv = Command::new(python);
    venv.arg("-m").arg("venv").arg(&dir).current_dir(package_dir);
    run_logged(&mut venv, &log, &format!("`{} -m venv` failed", python.display()))?;
    let env_python = dir.join("bin/python");
    if !env_python.exists() {
        return Err(EnvFailure::new(format!("`{} -m venv` made no {}", python.display(), env_python.display())));
    }

    let bin = dir.join("bin");
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::var_os("PATH").iter().flat_map(std::env::split_paths)),
    )
    .map_err(|e| EnvFailure::new(format!("could not put {} on PATH: {e}", bin.display())))?;
    let shown =
        shlex::try_join(install.command.iter().map(String::as_str)).unwrap_or_else(|_| install.command.join(" "));
    let program = which::which_in(&install.command[0], Some(&path), package_dir).map_err(|e| {
        EnvFailure::new(format!("could not run the install command `{shown}`: `{}`: {e}", install.command[0]))
    })?;
    let mut command = Command::new(program);
    command
        .args(&install.command[1..])
        .current_dir(package_dir)
        .env("PATH", &path)
        .env("VIRTUAL_ENV", &dir)
        .env("UV_PROJECT_ENVIRONMENT", &dir)
        .env_remove("PYTHONHOME");
    run_logged(&mut command, &log, &format!("the install command `{shown}` failed in {}", package_dir.display()))?;

    let made = started.elapsed();
    let inputs: Vec<PathBuf> = input_files(install, package_dir)?.into_iter().map(|(relative, _)| relative).collect();
    let record = serde_json::json!({
        "python": python,
        "command": install.command,
        "package": package_dir,
        "inputs": inputs,
        "made_secs": made.as_secs_f64(),
    });
    std::fs::write(dir.join(MARKER), format!("{record:#}\n"))
        .map_err(|e| EnvFailure::new(format!("could not write {}: {e}", dir.join(MARKER).display())))?;
    Ok(Env { dir, python: env_python, made: Some(made) })
}

/// The package folder an environment was made for, from its marker.
pub fn package_of(env_dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(env_dir.join(MARKER)).ok()?;
    let record: serde_json::Value = serde_json::from_str(&text).ok()?;
    record["package"].as_str().map(PathBuf::from)
}

/// Runs `command` with its output appended to `log`, in its own process group (killed whole when
/// it runs past [`INSTALL_TIMEOUT`]); a failure is `failed` with the exit status, the log's path
/// and its last lines.
fn run_logged(command: &mut Command, log: &Path, failed: &str) -> Result<(), EnvFailure> {
    use std::os::unix::process::CommandExt;
    let open = || {
        File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| EnvFailure::new(format!("could not write {}: {e}", log.display())))
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(open()?)
        .stderr(open()?)
        .process_group(0)
        .spawn()
        .map_err(|e| EnvFailure::new(format!("{failed}: could not start it: {e}")))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > INSTALL_TIMEOUT => {
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                break Err(format!("it ran past {}", humantime::format_duration(INSTALL_TIMEOUT)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => break Err(format!("could not wait for it: {e}")),
        }
    };
    let why = match status {
        Ok(status) if status.success() => return Ok(()),
        Ok(status) => status.to_string(),
        Err(why) => why,
    };
    Err(EnvFailure { reason: format!("{failed} ({why}); its output is in {}", log.display()), tail: tail(log) })
}

/// The last [`TAIL_LINES`] lines of a file that are not blank.
fn tail(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(command: &[&str], inputs: Option<&[&str]>) -> Install {
        Install {
            command: command.iter().map(|s| s.to_string()).collect(),
            inputs: inputs.map(|i| i.iter().map(PathBuf::from).collect()),
        }
    }

    #[test]
    fn the_key_follows_the_inputs_the_command_and_the_folder_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(pkg.join("req/__pycache__")).unwrap();
        let python = dir.path().join("python3");
        std::fs::write(&python, "#!/bin/sh\n").unwrap();
        std::fs::write(pkg.join("requirements.txt"), "a==1\n").unwrap();
        std::fs::write(pkg.join("README.md"), "x").unwrap();
        let pip = install(&["pip", "install", "-r", "requirements.txt"], None);
        let key = |i: &Install, folder: &Path| super::key(&python, i, folder).unwrap();
        let first = key(&pip, &pkg);
        assert_eq!(first.len(), 16);
        assert_eq!(key(&pip, &pkg), first, "the same inputs, the same key");
        std::fs::write(pkg.join("README.md"), "y").unwrap();
        assert_eq!(key(&pip, &pkg), first, "a file the command does not read");
        std::fs::write(pkg.join("requirements.txt"), "a==2\n").unwrap();
        let second = key(&pip, &pkg);
        assert_ne!(second, first, "a requirement changed");
        std::fs::write(pkg.join("requirements-dev.txt"), "b\n").unwrap();
        assert_ne!(key(&pip, &pkg), second, "another usual input appeared");
        assert_ne!(key(&install(&["uv", "sync"], None), &pkg), key(&pip, &pkg), "another command");
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::copy(pkg.join("requirements.txt"), other.join("requirements.txt")).unwrap();
        std::fs::copy(pkg.join("requirements-dev.txt"), other.join("requirements-dev.txt")).unwrap();
        assert_ne!(key(&pip, &other), key(&pip, &pkg), "another checkout");

        // Configured inputs: a folder's files, caches aside; one that is missing is named.
        let listed = install(&["pip", "install", "-r", "req/base.txt"], Some(&["req"]));
        std::fs::write(pkg.join("req/base.txt"), "c\n").unwrap();
        let before = key(&listed, &pkg);
        std::fs::write(pkg.join("req/__pycache__/x.pyc"), "junk").unwrap();
        std::fs::write(pkg.join("requirements.txt"), "a==3\n").unwrap();
        assert_eq!(key(&listed, &pkg), before, "neither caches nor unlisted files count");
        std::fs::write(pkg.join("req/base.txt"), "d\n").unwrap();
        assert_ne!(key(&listed, &pkg), before);
        let missing = super::key(&python, &install(&["pip"], Some(&["nope.txt"])), &pkg).unwrap_err();
        assert!(missing.reason.contains("`nope.txt` does not exist in"), "{missing:?}");
    }

    #[test]
    fn a_failing_command_names_itself_with_the_end_of_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let script =
            (1..=30).map(|i| format!("echo line{i}")).collect::<Vec<_>>().join("; ") + "; echo oops >&2; exit 3";
        let err =
            run_logged(Command::new("sh").args(["-c", &script]), &log, "the install command `x` failed").unwrap_err();
        assert!(
            err.reason.starts_with("the install command `x` failed (exit status: 3); its output is in "),
            "{err:?}"
        );
        assert_eq!(err.tail.len(), TAIL_LINES);
        assert_eq!(err.tail.last().map(String::as_str), Some("oops"));
        assert_eq!(err.tail[0], "line12");
        let failure = err.failure();
        assert_eq!(failure.reason, err.reason);
        assert_eq!(failure.detail.as_deref().map(|d| d.lines().count()), Some(TAIL_LINES));
        run_logged(Command::new("true").arg("x"), &log, "true").unwrap();
    }
}
