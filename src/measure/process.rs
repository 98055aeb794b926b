//! One timed process start: spawn without a shell, wait for the end event, reap with `wait4`.
//!
//! The child's resource usage comes from `wait4` on its own pid, never from
//! `getrusage(RUSAGE_CHILDREN)`, whose `ru_maxrss` is the maximum over every child so far.
//! Every child gets its own process group, so a run that times out or has reached readiness is
//! ended together with anything it started.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::cache::{drop_all, evict, residency, CacheMode, Residency};
use super::facts::{loader_stats, mapped_objects, threads, ProcessFacts};

/// How often readiness by TCP connect or by file is checked.
const READY_POLL_INTERVAL: Duration = Duration::from_micros(500);
/// Time a process gets to exit after SIGTERM before it is killed.
pub const TERMINATION_GRACE: Duration = Duration::from_millis(500);
/// How much of the child's stderr is kept to explain a failure.
const STDERR_TAIL_BYTES: u64 = 4096;

/// Set to `1` in the environment of the untimed facts run, so that a helper can report more.
pub const FACTS_RUN_ENV: &str = "COLDBENCH_FACTS_RUN";

/// Process group of the run in progress (0 when none), for the interrupt handler.
static ACTIVE_GROUP: AtomicI32 = AtomicI32::new(0);

/// Makes SIGINT, SIGTERM and SIGHUP kill the process group of the run in progress before this
/// process exits, so that an interrupted benchmark leaves nothing running. Measured processes
/// have their own process groups, so the terminal's Ctrl-C does not reach them by itself.
pub fn kill_active_group_on_interrupt() {
    extern "C" fn handler(signal: libc::c_int) {
        let group = ACTIVE_GROUP.load(Ordering::SeqCst);
        // Only async-signal-safe calls here: killpg and _exit.
        unsafe {
            if group > 0 {
                libc::killpg(group, libc::SIGKILL);
            }
            libc::_exit(128 + signal);
        }
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The end event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Readiness {
    /// The process exits (successfully).
    Exit,
    /// A line on stdout matches the regular expression.
    Stdout { pattern: String },
    /// A TCP connection to the address succeeds.
    Tcp { addr: SocketAddr },
    /// The file appears (it is removed before each run).
    File { path: PathBuf },
}

impl Readiness {
    /// A short description for messages ("stdout matching `ready`").
    pub fn describe(&self) -> String {
        match self {
            Readiness::Exit => "exit".into(),
            Readiness::Stdout { pattern } => format!("a stdout line matching `{pattern}`"),
            Readiness::Tcp { addr } => format!("a TCP connection to {addr}"),
            Readiness::File { path } => format!("the file {}", path.display()),
        }
    }
}

/// Everything needed to start one process the same way every time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// Path of the executable (no shell, no PATH lookup at run time).
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The end event.
    pub readiness: Readiness,
    /// A run that has not reached its end event by then is killed and fails.
    pub timeout: Duration,
    /// Keep stdout (when readiness does not read it) in [`RunRecord::stdout`].
    #[serde(default)]
    pub capture_stdout: bool,
    /// Keep all of stderr in [`RunRecord::stderr`].
    #[serde(default)]
    pub capture_stderr: bool,
    /// The page cache before each run.
    #[serde(default)]
    pub cache: CacheMode,
    /// Files to evict with a cold cache instead of the program and what it maps.
    #[serde(default)]
    pub evict_first: Option<Vec<PathBuf>>,
}

/// The child's own resource usage, from `wait4`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// User CPU time.
    pub user: Duration,
    /// System CPU time.
    pub sys: Duration,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
    /// Page faults served without I/O.
    pub minor_faults: u64,
    /// Page faults that needed I/O.
    pub major_faults: u64,
    /// Voluntary context switches.
    pub vcsw: u64,
    /// Involuntary context switches.
    pub ivcsw: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ending {
    /// The process exited by itself with this status (end event: exit, or exited before ready).
    Exited { code: i32 },
    /// The process was killed by a signal it did not ask for.
    Signaled { signal: i32 },
    /// The readiness event happened; the process was then terminated.
    #[default]
    Ready,
    /// The end event did not happen before the timeout; the process was killed.
    TimedOut,
    /// Readiness could not even be attempted.
    Blocked { reason: String },
}

/// The record of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Time from just before spawn to the end event.
    pub wall: Duration,
    /// The child's own rusage (covers its whole life, termination after readiness included).
    pub usage: Usage,
    /// How it ended.
    pub ending: Ending,
    /// The last lines of stderr, kept when the run failed.
    pub stderr_tail: Option<String>,
    /// All of stdout, with `capture_stdout`.
    #[serde(default)]
    pub stdout: Option<String>,
    /// All of stderr, with `capture_stderr`.
    #[serde(default)]
    pub stderr: Option<String>,
    /// With a cold cache: how much of each file stayed resident right after eviction.
    #[serde(default)]
    pub residency: Vec<Residency>,
    /// The child's pid.
    #[serde(default)]
    pub pid: Option<u32>,
}

impl RunRecord {
    fn blocked(reason: String) -> RunRecord {
        RunRecord { ending: Ending::Blocked { reason }, ..RunRecord::default() }
    }
}

impl RunRecord {
    /// Why this run counts as failed, or `None` when it succeeded.
    pub fn failure(&self, readiness: &Readiness, timeout: Duration) -> Option<String> {
        let waiting_for_ready = *readiness != Readiness::Exit;
        let before_ready = if waiting_for_ready { " before it was ready" } else { "" };
        match &self.ending {
            Ending::Ready => None,
            Ending::Exited { code: 0 } if !waiting_for_ready => None,
            Ending::Exited { code } => Some(format!("exited with status {code}{before_ready}")),
            Ending::Signaled { signal } => {
                Some(format!("killed by signal {signal} ({}){before_ready}", signal_name(*signal)))
            }
            Ending::TimedOut if waiting_for_ready => Some(format!(
                "not ready after {} (waited for {})",
                humantime::format_duration(timeout),
                readiness.describe()
            )),
            Ending::TimedOut => Some(format!("timed out after {}", humantime::format_duration(timeout))),
            Ending::Blocked { reason } => Some(reason.clone()),
        }
    }
}

/// The conventional name of a signal number (`SIGABRT`).
pub fn signal_name(signal: i32) -> &'static str {
    nix::sys::signal::Signal::try_from(signal).map(|s| s.as_str()).unwrap_or("unknown signal")
}

/// Starts the process of a [`ProcessSpec`] once per call to [`Launcher::run`].
pub struct Launcher {
    spec: ProcessSpec,
    pattern: Option<Regex>,
    stdout: File,
    stderr: File,
    /// Files evicted before each run with `cache = "cold"`: the executable and, once the facts
    /// run has seen them, the shared objects it maps.
    evict: Vec<PathBuf>,
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
        Ok(Launcher { spec, pattern, stdout: memfd("coldbench-stdout")?, stderr: memfd("coldbench-stderr")?, evict })
    }

    /// The spec this launcher runs.
    pub fn spec(&self) -> &ProcessSpec {
        &self.spec
    }

    /// Runs the process once and records it. An `Err` means the process could not be started.
    pub fn run(&mut self) -> io::Result<RunRecord> {
        let residency = self.prepare_cache()?;
        let (mut record, _) = self.run_once(false, &BTreeMap::new())?;
        record.residency = residency;
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

    fn command(&self, extra_env: &BTreeMap<String, String>) -> io::Result<Command> {
        self.stdout.set_len(0)?;
        (&self.stdout).seek(SeekFrom::Start(0))?;
        self.stderr.set_len(0)?;
        (&self.stderr).seek(SeekFrom::Start(0))?;
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
        let mut cmd = self.command(extra_env)?;

        let blocked = InterruptsBlocked::new();
        let start = Instant::now();
        let mut child = cmd.spawn()?;
        let pid = child.id() as libc::pid_t;
        let mut guard = ChildGuard::new(pid);
        drop(blocked);
        let stdout = child.stdout.take();
        let watcher = ExitWatcher::new(pid);
        let deadline = start + self.spec.timeout;

        let (event, end) = match &self.spec.readiness {
            Readiness::Exit => {
                let event = watcher.wait(None, deadline)?;
                (event, Instant::now())
            }
            Readiness::Stdout { .. } => {
                let pattern = self.pattern.as_ref().expect("compiled in new()");
                wait_for_line(&watcher, stdout.map(OwnedFd::from), pattern, deadline)?
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
                kill_group(pid, libc::SIGKILL);
                Some(Ending::TimedOut)
            }
        };
        // The leader has exited (a zombie still holds its pid, so the group id cannot be reused):
        // end whatever it left behind in its group before reaping it.
        watcher.wait(None, far_future())?;
        kill_group(pid, libc::SIGKILL);
        let (status, usage) = reap(pid)?;
        guard.reaped();
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
        // SAFETY: ptrace(TRACEME) is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| ptrace::traceme().map_err(io::Error::from));
        }
        let blocked = InterruptsBlocked::new();
        let start = Instant::now();
        let child = cmd.spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        ACTIVE_GROUP.store(pid.as_raw(), Ordering::SeqCst);
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
                        kill_group(pid.as_raw(), libc::SIGKILL);
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
        kill_group(pid.as_raw(), libc::SIGKILL);
        ACTIVE_GROUP.store(0, Ordering::SeqCst);
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
        let len = self.stderr.metadata().ok()?.len();
        self.stderr.seek(SeekFrom::Start(len.saturating_sub(STDERR_TAIL_BYTES))).ok()?;
        let mut buf = Vec::new();
        self.stderr.read_to_end(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        (!tail.is_empty()).then_some(tail)
    }
}

/// Holds SIGINT, SIGTERM and SIGHUP back while a child is spawned and its group recorded, so that
/// an interrupt in between is handled (killing that group) rather than leaving the child running.
/// The child itself starts with an empty signal mask: std resets it when spawning.
struct InterruptsBlocked {
    old: libc::sigset_t,
}

impl InterruptsBlocked {
    fn new() -> Self {
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, signal);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            InterruptsBlocked { old }
        }
    }
}

impl Drop for InterruptsBlocked {
    fn drop(&mut self) {
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

/// Owns a started child until it is reaped: an error on the way out (a failed poll, a read error)
/// still kills its process group and reaps it, so nothing is left running or unreaped.
struct ChildGuard {
    pid: libc::pid_t,
    armed: bool,
}

impl ChildGuard {
    fn new(pid: libc::pid_t) -> Self {
        ACTIVE_GROUP.store(pid, Ordering::SeqCst);
        ChildGuard { pid, armed: true }
    }

    fn reaped(&mut self) {
        self.armed = false;
        ACTIVE_GROUP.store(0, Ordering::SeqCst);
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.armed {
            kill_group(self.pid, libc::SIGKILL);
            let _ = reap(self.pid);
            ACTIVE_GROUP.store(0, Ordering::SeqCst);
        }
    }
}

fn read_all(file: &mut File) -> Option<String> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn take_snapshot(pid: libc::pid_t, program: &Path) -> Snapshot {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let exe = std::fs::canonicalize(program).ok();
    Snapshot { mapped_objects: mapped_objects(&maps, exe.as_deref()), threads: threads(&status) }
}

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Exited,
    Ready,
    Deadline,
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

fn wait_for_line(
    watcher: &ExitWatcher,
    stdout: Option<OwnedFd>,
    pattern: &Regex,
    deadline: Instant,
) -> io::Result<(Event, Instant)> {
    let mut stdout = stdout.map(File::from);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let fd = stdout.as_ref().map(|f| f.as_raw_fd());
        match watcher.wait(fd, deadline)? {
            Event::Ready => {
                let Some(reader) = stdout.as_mut() else { continue };
                let n = match reader.read(&mut chunk) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    // stdout closed while the process runs on: only exit or the deadline are left.
                    stdout = None;
                    continue;
                }
                pending.extend_from_slice(&chunk[..n]);
                while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    if pattern.is_match(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).as_ref()) {
                        return Ok((Event::Ready, Instant::now()));
                    }
                }
            }
            Event::Exited => {
                // A ready line written just before exiting is still in the pipe: read it first.
                let end = Instant::now();
                if let Some(reader) = stdout.as_mut() {
                    // Non-blocking: a child left in the group may still hold the pipe open.
                    unsafe {
                        let fd = reader.as_raw_fd();
                        libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
                    }
                    let mut rest = Vec::new();
                    let _ = reader.read_to_end(&mut rest);
                    pending.extend_from_slice(&rest);
                    pending.push(b'\n');
                    let text = String::from_utf8_lossy(&pending);
                    if text.lines().any(|l| pattern.is_match(l.trim_end_matches('\r'))) {
                        return Ok((Event::Ready, end));
                    }
                }
                return Ok((Event::Exited, end));
            }
            Event::Deadline => return Ok((Event::Deadline, Instant::now())),
        }
    }
}

fn wait_polling(
    watcher: &ExitWatcher,
    deadline: Instant,
    mut is_ready: impl FnMut() -> bool,
) -> io::Result<(Event, Instant)> {
    loop {
        if is_ready() {
            return Ok((Event::Ready, Instant::now()));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok((Event::Deadline, now));
        }
        let tick = (now + READY_POLL_INTERVAL).min(deadline);
        if watcher.wait(None, tick)? == Event::Exited {
            return Ok((Event::Exited, Instant::now()));
        }
    }
}

fn tcp_accepts(addr: &SocketAddr) -> bool {
    TcpStream::connect_timeout(addr, Duration::from_millis(100)).is_ok()
}

/// Sends SIGTERM to the group, then SIGKILL if the leader is still there after the grace period.
fn terminate_group(pid: libc::pid_t, watcher: &ExitWatcher) -> io::Result<()> {
    kill_group(pid, libc::SIGTERM);
    if watcher.wait(None, Instant::now() + TERMINATION_GRACE)? != Event::Exited {
        kill_group(pid, libc::SIGKILL);
    }
    Ok(())
}

fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // ESRCH (the group is already empty) is the common, harmless case.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

fn reap(pid: libc::pid_t) -> io::Result<(libc::c_int, Usage)> {
    let mut status: libc::c_int = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    let usage = Usage {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss: (ru.ru_maxrss as u64) * 1024,
        minor_faults: ru.ru_minflt as u64,
        major_faults: ru.ru_majflt as u64,
        vcsw: ru.ru_nvcsw as u64,
        ivcsw: ru.ru_nivcsw as u64,
    };
    Ok((status, usage))
}

fn status_ending(status: libc::c_int) -> Ending {
    if libc::WIFSIGNALED(status) {
        Ending::Signaled { signal: libc::WTERMSIG(status) }
    } else {
        Ending::Exited { code: libc::WEXITSTATUS(status) }
    }
}

fn memfd(name: &str) -> io::Result<File> {
    let cname = std::ffi::CString::new(name).expect("no NUL in name");
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        // Kernels without memfd: an unlinked temporary file serves the same purpose.
        return tempfile::tempfile();
    }
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Waits for a child's exit without reaping it, optionally together with a readable fd.
///
/// Uses a pidfd where the kernel has one (Linux 5.3+), which wakes exactly at exit; otherwise
/// it falls back to checking `waitid(WNOWAIT)` every 200 µs.
struct ExitWatcher {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
}

impl ExitWatcher {
    fn new(pid: libc::pid_t) -> Self {
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        ExitWatcher { pid, pidfd }
    }

    /// Returns `Exited` when the child has exited, `Ready` when `extra` is readable (or hung up),
    /// and `Deadline` once `until` has passed.
    fn wait(&self, extra: Option<RawFd>, until: Instant) -> io::Result<Event> {
        loop {
            let now = Instant::now();
            let remaining = until.saturating_duration_since(now);
            let mut fds = Vec::with_capacity(2);
            if let Some(pidfd) = &self.pidfd {
                fds.push(libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            if let Some(fd) = extra {
                fds.push(libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
            }
            let slice = if self.pidfd.is_some() { remaining } else { remaining.min(Duration::from_micros(200)) };
            let ts = libc::timespec { tv_sec: slice.as_secs() as libc::time_t, tv_nsec: slice.subsec_nanos() as _ };
            let r = unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &ts, std::ptr::null()) };
            if r < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            let mut idx = 0;
            if self.pidfd.is_some() {
                if fds[0].revents != 0 {
                    return Ok(Event::Exited);
                }
                idx = 1;
            } else if self.exited_nowait() {
                return Ok(Event::Exited);
            }
            if extra.is_some() && fds[idx].revents != 0 {
                return Ok(Event::Ready);
            }
            if Instant::now() >= until {
                return Ok(Event::Deadline);
            }
        }
    }

    fn exited_nowait(&self) -> bool {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(libc::P_PID, self.pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
        };
        r == 0 && unsafe { info.si_pid() } != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, args: &[&str], readiness: Readiness, timeout_ms: u64) -> ProcessSpec {
        ProcessSpec {
            program: which::which(program).unwrap(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
            readiness,
            timeout: Duration::from_millis(timeout_ms),
            capture_stdout: false,
            capture_stderr: false,
            cache: CacheMode::Warm,
            evict_first: None,
        }
    }

    #[test]
    fn successful_exit_is_not_a_failure() {
        let mut l = Launcher::new(spec("true", &[], Readiness::Exit, 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::Exited { code: 0 });
        assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)), None);
        assert!(rec.usage.max_rss > 0);
    }

    #[test]
    fn exit_codes_signals_and_stderr_are_reported() {
        let mut l = Launcher::new(spec("sh", &["-c", "echo oops >&2; exit 3"], Readiness::Exit, 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)).unwrap(), "exited with status 3");
        assert_eq!(rec.stderr_tail.as_deref(), Some("oops"));

        let mut l = Launcher::new(spec("sh", &["-c", "kill -SEGV $$"], Readiness::Exit, 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)).unwrap(), "killed by signal 11 (SIGSEGV)");
    }

    #[test]
    fn a_hanging_process_is_killed_at_the_timeout_with_its_group() {
        let mut l = Launcher::new(spec("sh", &["-c", "sleep 31.5 & sleep 30"], Readiness::Exit, 300)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::TimedOut);
        let left: Vec<_> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x0031.5\x00"))
            .collect();
        assert!(left.is_empty(), "the background child of the timed-out process survived");
        assert!(rec.wall >= Duration::from_millis(300));
        assert_eq!(rec.failure(&Readiness::Exit, Duration::from_millis(300)).unwrap(), "timed out after 300ms");
    }

    #[test]
    fn stdout_readiness_ends_the_run_at_the_matching_line() {
        let ready = Readiness::Stdout { pattern: "^listening".into() };
        let mut l = Launcher::new(spec(
            "sh",
            &["-c", "echo starting; sleep 0.1; echo listening on 1; sleep 30"],
            ready.clone(),
            5000,
        ))
        .unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::Ready);
        assert!(rec.wall >= Duration::from_millis(100), "{:?}", rec.wall);
        assert!(rec.wall < Duration::from_secs(5), "{:?}", rec.wall);
    }

    #[test]
    fn children_start_with_no_blocked_signals() {
        let mut s = spec("sh", &["-c", "grep SigBlk /proc/self/status"], Readiness::Exit, 5000);
        s.capture_stdout = true;
        let rec = Launcher::new(s).unwrap().run().unwrap();
        let out = rec.stdout.unwrap();
        assert!(
            out.trim().ends_with("0000000000000000"),
            "interrupts blocked around spawn leaked into the child: {out}"
        );
    }

    #[test]
    fn a_ready_line_printed_just_before_exit_counts() {
        let ready = Readiness::Stdout { pattern: "^ready$".into() };
        let mut l = Launcher::new(spec("sh", &["-c", "echo ready"], ready.clone(), 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::Ready, "{rec:?}");
    }

    #[test]
    fn exiting_before_ready_is_a_failure() {
        let ready = Readiness::Stdout { pattern: "never".into() };
        let mut l = Launcher::new(spec("sh", &["-c", "echo hi"], ready.clone(), 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.failure(&ready, Duration::from_secs(5)).unwrap(), "exited with status 0 before it was ready");
    }

    #[test]
    fn file_readiness_waits_for_the_file_and_removes_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ready.flag");
        std::fs::write(&marker, "stale").unwrap();
        let ready = Readiness::File { path: marker.clone() };
        let script = format!("sleep 0.05; touch {}; sleep 30", marker.display());
        let mut l = Launcher::new(spec("sh", &["-c", &script], ready, 5000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::Ready);
        assert!(rec.wall >= Duration::from_millis(50), "stale file counted as ready: {:?}", rec.wall);
    }

    #[test]
    fn tcp_readiness_connects_to_the_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let ready = Readiness::Tcp { addr };
        let script = format!(
            "sleep 0.05; exec python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",{})); s.listen(); time.sleep(30)'",
            addr.port()
        );
        let mut l = Launcher::new(spec("sh", &["-c", &script], ready, 10_000)).unwrap();
        let rec = l.run().unwrap();
        assert_eq!(rec.ending, Ending::Ready, "{rec:?}");
        assert!(rec.wall >= Duration::from_millis(50));
    }
}
