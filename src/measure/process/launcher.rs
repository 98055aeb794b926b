//! One timed process start: spawn without a shell, wait for the end event, reap with `wait4`.
//!
//! The child's resource usage comes from `wait4` on its own pid, never from
//! `getrusage(RUSAGE_CHILDREN)`, whose `ru_maxrss` is the maximum over every child so far.
//! Every child gets its own process group, so a run that times out or has reached readiness is
//! ended together with anything it started.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::CpuSet;
use nix::sys::signal::Signal;
use regex::Regex;

use super::cache::{drop_all, evict, residency, CacheMode};
use super::maps::{loader_stats, mapped_objects, threads, ProcessFacts};
use super::spawn::{exec, Exec, Spawner};
use super::spec::{Ending, ProcessSpec, RunRecord};
use super::wait::{
    collect_leftovers, far_future, kill_group, memfd, read_all, reap, status_ending, tcp_accepts, terminate_group,
    wait_for_line, wait_polling, ChildGuard, Event, ExitWatcher,
};
use crate::results::{Readiness, Residency};
use crate::sys::signals::{set_active_group, unblock_all_in_child, AllSignalsBlocked};

/// How much of the child's stderr is kept to explain a failure.
const STDERR_TAIL_BYTES: u64 = 4096;

/// Set to `1` in the environment of the untimed facts run, so that a helper can report more.
pub const FACTS_RUN_ENV: &str = "COLDBENCH_FACTS_RUN";

/// Starts the process of a [`ProcessSpec`] once per call to [`Launcher::run`].
pub struct Launcher {
    spec: ProcessSpec,
    pattern: Option<Regex>,
    stdout: File,
    stderr: File,
    /// Files evicted before each run with `cache = "cold"`: the executable and, once the facts
    /// run has seen them, the shared objects it maps.
    evict: Vec<PathBuf>,
    /// The command as `execve` takes it, built once.
    exec: Exec,
    /// The child's stack and what else every spawn needs, prepared once.
    spawner: Spawner,
    /// With `cpu`: the child's CPU.
    cpu: Option<CpuSet>,
}

/// What a run observes beyond timing when it is the untimed facts run.
struct Snapshot {
    mapped_objects: Vec<String>,
    threads: Option<u64>,
}

impl Launcher {
    /// Prepares a spec: compiles the readiness pattern and creates the in-memory output files.
    pub fn new(spec: ProcessSpec) -> io::Result<Self> {
        let pattern = match &spec.readiness {
            Readiness::Stdout { pattern } => {
                Some(Regex::new(pattern).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?)
            }
            _ => None,
        };
        let evict = match &spec.evict_first {
            Some(files) => files.clone(),
            None => vec![spec.program.clone()],
        };
        let exec = exec(&spec, &BTreeMap::new())?;
        let cpu = spec.cpu.map(cpu_set).transpose()?;
        Ok(Launcher {
            spec,
            pattern,
            stdout: memfd("coldbench-stdout")?,
            stderr: memfd("coldbench-stderr")?,
            evict,
            exec,
            spawner: Spawner::new()?,
            cpu,
        })
    }

    /// The spec this launcher runs.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// Runs the process once and records it. An `Err` means the process could not be started.
    ///
    /// The file a program reports its own metrics to is removed before the run and read after it,
    /// here, so that runs made one after another without the main process (a batch) each keep
    /// their own.
    pub fn run(&mut self) -> io::Result<RunRecord> {
        let residency = self.prepare_cache()?;
        let metrics = self.spec.env.get(crate::self_report::ENV).map(PathBuf::from);
        if let Some(file) = &metrics {
            let _ = std::fs::remove_file(file);
        }
        let (mut record, _) = self.run_once(false, &BTreeMap::new())?;
        record.residency = residency;
        record.reported = metrics.and_then(|file| match std::fs::read_to_string(&file) {
            Ok(text) => Some(Ok(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(format!("cannot read {} ({}): {e}", crate::self_report::ENV, file.display()))),
        });
        Ok(record)
    }

    /// One untimed run that records what is mapped at the end event and the loader statistics.
    ///
    /// For the exit event the process is stopped under ptrace just before it exits, while its
    /// memory map still exists. With `cache = "cold"`, later runs also evict what it mapped.
    pub fn facts(&mut self) -> io::Result<(ProcessFacts, RunRecord)> {
        let dir = tempfile::tempdir()?;
        let prefix = dir.path().join("ld");
        let mut env = BTreeMap::new();
        env.insert("LD_DEBUG".to_string(), "statistics".to_string());
        env.insert("LD_DEBUG_OUTPUT".to_string(), prefix.display().to_string());
        env.insert(FACTS_RUN_ENV.to_string(), "1".to_string());
        let (record, snapshot, pid) = match self.spec.readiness {
            Readiness::Exit => self.traced_run(&env)?,
            _ => {
                let (record, snapshot) = self.run_once(true, &env)?;
                let pid = record.pid;
                (record, snapshot, pid)
            }
        };
        let mut facts = ProcessFacts::default();
        let failed = record.failure(&self.spec.readiness, self.spec.timeout);
        match snapshot {
            // A snapshot of a run that then failed may be of a wrapper, not of the program.
            Some(_) if failed.is_some() && self.spec.readiness != Readiness::Exit => {
                facts.problem = failed;
            }
            Some(s) => {
                facts.mapped_objects = s.mapped_objects;
                facts.threads = s.threads;
                if let Some(why) = failed {
                    facts.problem = Some(why);
                }
            }
            None => {
                facts.problem = Some(
                    record
                        .failure(&self.spec.readiness, self.spec.timeout)
                        .unwrap_or_else(|| "the process ended before its end event could be observed".into()),
                )
            }
        }
        let ld_file = pid.map(|pid| dir.path().join(format!("ld.{pid}")));
        facts.loader = ld_file.and_then(|f| std::fs::read_to_string(f).ok()).and_then(|t| loader_stats(&t));
        // What the program maps is evicted too; a spec that names its own files (a load, where
        // the helper's libraries are not the ones measured) keeps just those.
        if self.spec.evict_first.is_none() {
            for object in &facts.mapped_objects {
                let path = PathBuf::from(object);
                if !self.evict.contains(&path) {
                    self.evict.push(path);
                }
            }
        }
        Ok((facts, record))
    }

    /// Empties the page cache of the files this run depends on, as `cache` asks, and reports
    /// how much of each stayed resident.
    fn prepare_cache(&self) -> io::Result<Vec<Residency>> {
        match self.spec.cache {
            CacheMode::Warm => Ok(Vec::new()),
            CacheMode::Drop => {
                drop_all()?;
                Ok(self
                    .evict
                    .iter()
                    .map(|f| Residency { file: f.clone(), resident: residency(f).unwrap_or(0.0) })
                    .collect())
            }
            CacheMode::Cold => Ok(self
                .evict
                .iter()
                .map(|f| {
                    let _ = evict(f);
                    Residency { file: f.clone(), resident: residency(f).unwrap_or(1.0) }
                })
                .collect()),
        }
    }

    /// Empties the files that keep the child's output.
    fn reset_output(&self) -> io::Result<()> {
        self.stdout.set_len(0)?;
        (&self.stdout).seek(SeekFrom::Start(0))?;
        self.stderr.set_len(0)?;
        (&self.stderr).seek(SeekFrom::Start(0))?;
        Ok(())
    }

    /// The command of the untimed traced run (ptrace needs a hook before `exec`, which the timed
    /// spawn has not).
    fn command(&self, extra_env: &BTreeMap<String, String>) -> io::Result<Command> {
        self.reset_output()?;
        let stdout = if self.pattern.is_some() {
            Stdio::piped()
        } else if self.spec.capture_stdout {
            Stdio::from(self.stdout.try_clone()?)
        } else {
            Stdio::null()
        };
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.args)
            .envs(&self.spec.env)
            .envs(extra_env)
            .current_dir(&self.spec.cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::from(self.stderr.try_clone()?))
            .process_group(0);
        Ok(cmd)
    }

    fn run_once(
        &mut self,
        snapshot_at_ready: bool,
        extra_env: &BTreeMap<String, String>,
    ) -> io::Result<(RunRecord, Option<Snapshot>)> {
        if let Some(blocked) = self.prepare_readiness()? {
            return Ok((RunRecord::blocked(blocked), None));
        }
        self.reset_output()?;
        // Everything the spawn needs is ready before the clock starts: the command (built once,
        // or with the facts run's variables now), the streams, the child's stack.
        let facts_exec = if extra_env.is_empty() { None } else { Some(exec(&self.spec, extra_env)?) };
        let exec: &Exec = facts_exec.as_ref().unwrap_or(&self.exec);
        // A pipe whose ends close on exec (the child gets the write end by `dup2`).
        let (stdout_read, stdout_write) = match self.pattern {
            Some(_) => nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map(|(r, w)| (Some(r), Some(w)))?,
            None => (None, None),
        };
        let stdout_fd = match (&stdout_write, self.spec.capture_stdout) {
            (Some(w), _) => w.as_fd(),
            (None, true) => self.stdout.as_fd(),
            (None, false) => self.spawner.null(),
        };
        let fds = [self.spawner.null(), stdout_fd, self.stderr.as_fd()];

        let blocked = AllSignalsBlocked::new();
        let start = Instant::now();
        let spawned = self.spawner.spawn(exec, fds, self.cpu.as_ref())?;
        let pid = spawned.pid;
        let mut guard = ChildGuard::new(pid);
        drop(blocked);
        drop(stdout_write);
        let watcher = ExitWatcher::with_pidfd(pid, spawned.pidfd);
        let deadline = start + self.spec.timeout;

        let (event, end) = match &self.spec.readiness {
            Readiness::Exit => {
                let event = watcher.wait(None, deadline)?;
                (event, Instant::now())
            }
            Readiness::Stdout { .. } => {
                let pattern = self.pattern.as_ref().expect("compiled in new()");
                wait_for_line(&watcher, stdout_read, pattern, deadline)?
            }
            Readiness::Tcp { addr } => wait_polling(&watcher, deadline, || tcp_accepts(addr))?,
            Readiness::File { path } => wait_polling(&watcher, deadline, || path.exists())?,
        };
        let wall = end - start;

        let mut snapshot = None;
        let ending_hint = match event {
            Event::Exited => None,
            Event::Ready => {
                if snapshot_at_ready {
                    snapshot = Some(take_snapshot(pid, &self.spec.program));
                }
                terminate_group(pid, &watcher)?;
                Some(Ending::Ready)
            }
            Event::Deadline => {
                kill_group(pid, Signal::SIGKILL);
                Some(Ending::TimedOut)
            }
        };
        // The leader has exited (a zombie still holds its pid, so the group id cannot be reused):
        // end whatever it left behind in its group before reaping it.
        watcher.wait(None, far_future())?;
        kill_group(pid, Signal::SIGKILL);
        let (status, usage) = reap(pid)?;
        guard.reaped();
        collect_leftovers(pid);
        let ending = ending_hint.unwrap_or_else(|| status_ending(status));
        let mut record = RunRecord { wall, usage, ending, pid: Some(pid as u32), ..RunRecord::default() };
        self.collect_output(&mut record);
        Ok((record, snapshot))
    }

    /// The facts run for the exit event: the child stops under ptrace when it is about to exit.
    fn traced_run(
        &mut self,
        extra_env: &BTreeMap<String, String>,
    ) -> io::Result<(RunRecord, Option<Snapshot>, Option<u32>)> {
        use nix::sys::ptrace;
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        use nix::unistd::Pid;

        let mut cmd = self.command(extra_env)?;
        // In this order before the exec: the fork inherits the mask that holds every signal back
        // around the spawn, and with SIGTRAP blocked the stop at exec would never come and the run
        // would go untraced; then the CPU, then the request to be traced.
        unblock_all_in_child(&mut cmd);
        if let Some(cpus) = self.cpu {
            crate::sys::process::pin_in_child(&mut cmd, cpus);
        }
        crate::sys::process::trace_in_child(&mut cmd);
        let blocked = AllSignalsBlocked::new();
        let start = Instant::now();
        let child = cmd.spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        set_active_group(pid.as_raw());
        drop(blocked);
        let deadline = start + self.spec.timeout;
        let mut snapshot = None;
        let mut options_set = false;
        let mut timed_out = false;
        let final_status = loop {
            let status = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(s) => s,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(io::Error::from(e)),
            };
            match status {
                WaitStatus::StillAlive => {
                    if Instant::now() >= deadline && !timed_out {
                        timed_out = true;
                        kill_group(pid.as_raw(), Signal::SIGKILL);
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                WaitStatus::Stopped(_, signal) if !options_set && signal == nix::sys::signal::Signal::SIGTRAP => {
                    // The stop at exec: from here on, stop again just before exit. TRACEEXEC turns
                    // the SIGTRAP of every later exec (`env`, a shell, a version-manager shim
                    // exec'ing the real program) into an event instead of a signal that kills it.
                    options_set = true;
                    let _ = ptrace::setoptions(
                        pid,
                        ptrace::Options::PTRACE_O_TRACEEXIT
                            | ptrace::Options::PTRACE_O_TRACEEXEC
                            | ptrace::Options::PTRACE_O_EXITKILL,
                    );
                    let _ = ptrace::cont(pid, None);
                }
                WaitStatus::PtraceEvent(_, _, event) if event == libc::PTRACE_EVENT_EXIT => {
                    let mut s = take_snapshot(pid.as_raw(), &self.spec.program);
                    // exit_group has already ended the other threads: a count here means nothing.
                    s.threads = None;
                    snapshot = Some(s);
                    let _ = ptrace::cont(pid, None);
                }
                WaitStatus::Stopped(_, signal) => {
                    let _ = ptrace::cont(pid, Some(signal));
                }
                WaitStatus::PtraceEvent(..) | WaitStatus::PtraceSyscall(_) | WaitStatus::Continued(_) => {
                    let _ = ptrace::cont(pid, None);
                }
                WaitStatus::Exited(_, code) => break Ending::Exited { code },
                WaitStatus::Signaled(_, signal, _) => break Ending::Signaled { signal: signal as i32 },
            }
        };
        kill_group(pid.as_raw(), Signal::SIGKILL);
        set_active_group(0);
        collect_leftovers(pid.as_raw());
        let ending = if timed_out { Ending::TimedOut } else { final_status };
        let mut record =
            RunRecord { wall: start.elapsed(), ending, pid: Some(pid.as_raw() as u32), ..RunRecord::default() };
        self.collect_output(&mut record);
        Ok((record, snapshot, Some(pid.as_raw() as u32)))
    }

    fn collect_output(&mut self, record: &mut RunRecord) {
        let failed = record.failure(&self.spec.readiness, self.spec.timeout).is_some();
        if self.spec.capture_stdout && self.pattern.is_none() {
            record.stdout = read_all(&mut self.stdout);
        }
        if self.spec.capture_stderr {
            record.stderr = read_all(&mut self.stderr);
        }
        if failed {
            record.stderr_tail = self.stderr_tail();
        }
    }

    /// Checks and resets what readiness depends on before a run; `Some(reason)` blocks the run.
    fn prepare_readiness(&self) -> io::Result<Option<String>> {
        match &self.spec.readiness {
            Readiness::File { path } => match std::fs::remove_file(path) {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Ok(Some(format!("could not remove the old ready file {}: {e}", path.display()))),
            },
            Readiness::Tcp { addr } if tcp_accepts(addr) => Ok(Some(format!(
                "something already accepts connections on {addr} before the program starts; stop it first"
            ))),
            _ => Ok(None),
        }
    }

    fn stderr_tail(&mut self) -> Option<String> {
        stderr_tail(&mut self.stderr)
    }
}

/// The last five non-empty lines of the last 4 KiB a process wrote to its stderr file.
pub fn stderr_tail(stderr: &mut File) -> Option<String> {
    let len = stderr.metadata().ok()?.len();
    stderr.seek(SeekFrom::Start(len.saturating_sub(STDERR_TAIL_BYTES))).ok()?;
    let mut buf = Vec::new();
    stderr.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    (!tail.is_empty()).then_some(tail)
}

/// The CPU set of one CPU (an error for a CPU beyond what a set holds).
fn cpu_set(cpu: usize) -> io::Result<CpuSet> {
    let mut set = CpuSet::new();
    set.set(cpu).map_err(io::Error::from)?;
    Ok(set)
}

fn take_snapshot(pid: libc::pid_t, program: &Path) -> Snapshot {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let exe = std::fs::canonicalize(program).ok();
    Snapshot { mapped_objects: mapped_objects(&maps, exe.as_deref()), threads: threads(&status) }
}

#[cfg(test)]
#[path = "launcher_tests.rs"]
mod tests;
