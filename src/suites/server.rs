//! Long-running processes a suite measures against — the built-in workers and users' servers:
//! started in a process group of their own, awaited (a `ready` line, a port, a file), watched
//! (CPU time, memory, whether they still run), and stopped, also on error and on Ctrl-C.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::results::Readiness;
use crate::sys::signals;

/// Makes SIGINT, SIGTERM and SIGHUP kill every running server's process group (and remove the
/// folders of [`remove_on_interrupt`]) before this process exits, so that an interrupted suite
/// leaves nothing running. The handler is [`crate::sys::signals::exit_on_interrupt`]'s.
pub fn stop_servers_on_interrupt() {
    signals::exit_on_interrupt();
}

fn register(group: i32) {
    signals::kill_group_on_interrupt(group);
}

fn unregister(group: i32) {
    signals::forget_group(group);
}

/// How to start a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment added.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// What says it is ready. A built-in worker prints `ready ENDPOINT...` on stdout.
    pub ready: Readiness,
    /// How long it may take to get ready.
    pub timeout: Duration,
    /// Its stdin and stdout are pipes to this process (a worker that speaks over them).
    pub pipes: bool,
    /// What it is, in messages: `server`, `worker`.
    pub role: &'static str,
}

/// A running server; dropping it stops it.
pub struct Server {
    child: Child,
    group: i32,
    stderr: File,
    role: &'static str,
    stopped: bool,
    /// The words after `ready` on the line that said it was ready (the endpoints it bound).
    pub announced: Vec<String>,
}

impl Server {
    /// Starts the server and waits until it is ready; an error says why it never was, with the
    /// last lines it wrote to stderr.
    pub fn start(spec: &ServerSpec) -> Result<Server, String> {
        let stderr =
            tempfile::tempfile().map_err(|e| format!("could not create a file for the server's stderr: {e}"))?;
        if let Readiness::File { path } = &spec.ready {
            let _ = std::fs::remove_file(path);
        }
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .envs(&spec.env)
            .current_dir(&spec.cwd)
            .stdin(if spec.pipes { Stdio::piped() } else { Stdio::null() })
            .stdout(if spec.pipes || matches!(spec.ready, Readiness::Stdout { .. }) {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::from(stderr.try_clone().map_err(|e| e.to_string())?))
            .process_group(0);
        // If coldbench dies, its servers go with it.
        crate::sys::process::signal_child_on_parent_death(&mut cmd, Signal::SIGKILL);
        let child = cmd.spawn().map_err(|e| format!("could not start {}: {e}", spec.program.display()))?;
        let group = child.id() as i32;
        register(group);
        let mut server = Server { child, group, stderr, role: spec.role, stopped: false, announced: Vec::new() };
        match server.await_ready(spec) {
            Ok(()) => Ok(server),
            Err(why) => {
                let tail = server.stderr_tail();
                drop(server);
                Err(match tail {
                    Some(tail) => format!("{why}; its stderr ends with:\n{tail}"),
                    None => why,
                })
            }
        }
    }

    fn await_ready(&mut self, spec: &ServerSpec) -> Result<(), String> {
        let deadline = Instant::now() + spec.timeout;
        match &spec.ready {
            Readiness::Stdout { pattern } => {
                let re = regex::Regex::new(pattern).map_err(|e| e.to_string())?;
                let stdout = self.child.stdout.take().expect("piped");
                // Lines are read on a thread so that the wait keeps its deadline.
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                });
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left.min(Duration::from_millis(50))) {
                        Ok(line) if re.is_match(&line) => {
                            self.announced = line.split_whitespace().skip(1).map(str::to_string).collect();
                            // Keep draining stdout so the server never blocks on a full pipe.
                            std::thread::spawn(move || while rx.recv().is_ok() {});
                            return Ok(());
                        }
                        Ok(_) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            // A process that exits closes its stdout a moment before it can be
                            // reaped: its exit status says more than the closed pipe.
                            let grace = Instant::now() + Duration::from_millis(500);
                            while Instant::now() < grace {
                                if let Some(why) = self.exit_reason() {
                                    return Err(why);
                                }
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            return Err(format!("{} closed its stdout before it was ready", spec.program.display()));
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                    }
                    if let Some(why) = self.exit_reason() {
                        return Err(why);
                    }
                    if Instant::now() >= deadline {
                        return Err(not_ready(spec));
                    }
                }
            }
            Readiness::Exit => Ok(()),
            Readiness::Tcp { addr } => {
                self.poll_ready(spec, || std::net::TcpStream::connect_timeout(addr, Duration::from_millis(100)).is_ok())
            }
            Readiness::File { path } => self.poll_ready(spec, || path.exists()),
        }
    }

    /// Checks `ready` every 2 ms until it holds, the server exits, or the timeout passes.
    fn poll_ready(&mut self, spec: &ServerSpec, mut ready: impl FnMut() -> bool) -> Result<(), String> {
        let deadline = Instant::now() + spec.timeout;
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(why) = self.exit_reason() {
                return Err(why);
            }
            if Instant::now() >= deadline {
                return Err(not_ready(spec));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdin and stdout, when they are pipes ([`ServerSpec::pipes`]); once.
    pub fn take_pipes(&mut self) -> Option<(std::process::ChildStdin, std::process::ChildStdout)> {
        Some((self.child.stdin.take()?, self.child.stdout.take()?))
    }

    /// Why it is no longer running (`exited with status 1`, `killed by signal 11 (SIGSEGV)`), or
    /// `None` while it runs.
    pub fn exit_reason(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok()??;
        use std::os::unix::process::ExitStatusExt;
        Some(match (status.code(), status.signal()) {
            (Some(code), _) => format!("the {} exited with status {code}", self.role),
            (_, Some(signal)) => format!(
                "the {} was killed by signal {signal} ({})",
                self.role,
                crate::measure::process::signal_name(signal)
            ),
            _ => format!("the {} ended", self.role),
        })
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&mut self) -> Option<String> {
        crate::measure::process::stderr_tail(&mut self.stderr)
    }

    /// CPU time the server's process has used so far (every thread, the exited ones included).
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(self.pid())
    }

    /// Its resident set size now, in bytes.
    pub fn rss(&self) -> Option<u64> {
        rss(self.pid())
    }

    /// Stops the server: SIGTERM to its group, SIGKILL after a grace period, and waits for it.
    /// Once: its group id is free for reuse afterwards.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let _ = killpg(Pid::from_raw(self.group), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = killpg(Pid::from_raw(self.group), Signal::SIGKILL);
        let _ = self.child.wait();
        unregister(self.group);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a server is not ready: it did not get there in time.
fn not_ready(spec: &ServerSpec) -> String {
    format!(
        "{} was not ready after {} (waited for {})",
        spec.program.display(),
        humantime::format_duration(spec.timeout),
        spec.ready.describe()
    )
}

/// CPU time a process has used so far: the sum of its threads' run times from
/// `/proc/PID/task/*/schedstat` (nanoseconds), else user + system time from `/proc/PID/stat`
/// (clock ticks, 10 ms apart).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let from_schedstat = || -> Option<Duration> {
        let mut total = 0u64;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
            let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(total))
    };
    from_schedstat().or_else(|| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces: fields count from after its closing parenthesis.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (utime, stime): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(1).max(1) as u64;
        Some(Duration::from_nanos((utime + stime) * 1_000_000_000 / ticks))
    })
}

/// Resident and proportional set size of a process in bytes (`Rss` and `Pss` of
/// `/proc/PID/smaps_rollup`): PSS shares each page among the processes that map it, so the PSS of
/// N workers adds up to what they cost together.
pub fn rss_pss(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let kb: u64 = text.lines().find_map(|l| l.strip_prefix(name))?.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// Memory available to new work, in bytes (`MemAvailable` of `/proc/meminfo`).
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 =
        text.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size of a process in bytes (`VmRSS` of `/proc/PID/status`).
pub fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// The process listening on a TCP port of this machine, from `/proc/net/tcp*` and the open
/// sockets of `/proc/*/fd`: `(pid, name)`.
pub fn listener_of(port: u16) -> Option<(u32, String)> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; inode is field 9.
            let listening = f.get(3) == Some(&"0A");
            let on_port = f.get(1).and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                == Some(port);
            if listening && on_port {
                inodes.extend(f.get(9).map(|i| i.to_string()));
            }
        }
    }
    owner_of_sockets(&inodes)
}

/// The process listening on a Unix socket path, from `/proc/net/unix`: `(pid, name)`.
pub fn unix_listener_of(path: &str) -> Option<(u32, String)> {
    let text = std::fs::read_to_string("/proc/net/unix").ok()?;
    let inodes: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is "accepting".
            let accepting =
                f.get(3).and_then(|flags| u32::from_str_radix(flags, 16).ok()).is_some_and(|x| x & 0x10000 != 0);
            (accepting && f.get(7) == Some(&path)).then(|| f.get(6).map(|i| i.to_string())).flatten()
        })
        .collect();
    owner_of_sockets(&inodes)
}

fn owner_of_sockets(inodes: &[String]) -> Option<(u32, String)> {
    if inodes.is_empty() {
        return None;
    }
    let links: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| links.iter().any(|i| l.to_string_lossy() == *i)) {
                let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default().trim().to_string();
                return Some((pid, name));
            }
        }
    }
    None
}

/// Fails when something already listens on `endpoint` (`tcp://HOST:PORT` or `ipc://PATH`), naming
/// the process when `/proc` tells.
pub fn check_free(endpoint: &str) -> Result<(), String> {
    let who = |found: Option<(u32, String)>| {
        found.map(|(pid, name)| format!(" by process {pid} ({name})")).unwrap_or_default()
    };
    let in_use = |by: String| {
        Err(format!("{endpoint} is already in use{by}: stop that process, or give the server another endpoint"))
    };
    if let Some(path) = endpoint.strip_prefix("ipc://") {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return in_use(who(unix_listener_of(path)));
        }
        return Ok(());
    }
    let Some((host, port)) = endpoint.strip_prefix("tcp://").and_then(|r| r.rsplit_once(':')) else { return Ok(()) };
    let Ok(port) = port.parse::<u16>() else { return Ok(()) };
    let ip: std::net::IpAddr =
        if host == "[::1]" { std::net::Ipv6Addr::LOCALHOST.into() } else { std::net::Ipv4Addr::LOCALHOST.into() };
    if std::net::TcpStream::connect_timeout(&(ip, port).into(), Duration::from_millis(200)).is_ok() {
        return in_use(who(listener_of(port)));
    }
    Ok(())
}

/// Whose server holds a fixed endpoint, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// The owner's server, running.
    Running,
    /// The owner's server, which has ended: why, and its stderr.
    Ended {
        /// `the server exited with status 1`.
        reason: String,
        /// The last lines of its stderr.
        stderr: Option<String>,
    },
    /// Nobody's, or another owner's.
    Elsewhere,
}

struct Fixed {
    endpoint: String,
    owner: u64,
    server: Server,
}

thread_local! {
    /// Servers on endpoints users named: one server per endpoint at a time.
    static FIXED: std::cell::RefCell<Vec<Fixed>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Starts `spec` on `endpoint` for `owner`, first stopping a server another owner started there
/// (the other side of a comparison); returns its pid.
pub fn hold(endpoint: &str, owner: u64, spec: &ServerSpec) -> Result<u32, String> {
    let previous = FIXED.with(|f| {
        let mut f = f.borrow_mut();
        f.iter().position(|h| h.endpoint == endpoint).map(|i| f.remove(i))
    });
    drop(previous);
    check_free(endpoint)?;
    let server = Server::start(spec).map_err(|e| format!("the server did not start: {e}"))?;
    let pid = server.pid();
    FIXED.with(|f| f.borrow_mut().push(Fixed { endpoint: endpoint.to_string(), owner, server }));
    Ok(pid)
}

/// The state of `owner`'s server on `endpoint`.
pub fn held(endpoint: &str, owner: u64) -> Held {
    FIXED.with(|f| {
        let mut f = f.borrow_mut();
        match f.iter_mut().find(|h| h.endpoint == endpoint && h.owner == owner) {
            Some(h) => match h.server.exit_reason() {
                Some(reason) => Held::Ended { reason, stderr: h.server.stderr_tail() },
                None => Held::Running,
            },
            None => Held::Elsewhere,
        }
    })
}

/// The pid of `owner`'s server on `endpoint`.
pub fn held_pid(endpoint: &str, owner: u64) -> Option<u32> {
    FIXED.with(|f| f.borrow().iter().find(|h| h.endpoint == endpoint && h.owner == owner).map(|h| h.server.pid()))
}

/// Stops `owner`'s server on `endpoint`, if it holds it.
pub fn release(endpoint: &str, owner: u64) {
    let mine = FIXED.with(|f| {
        let mut f = f.borrow_mut();
        f.iter().position(|h| h.endpoint == endpoint && h.owner == owner).map(|i| f.remove(i))
    });
    drop(mine);
}

/// Has the interrupt handler remove `dir` (and every `*.ipc` socket the built-in workers bind in
/// it: `echo.ipc`) should the run be interrupted while it exists.
pub fn remove_on_interrupt(dir: &std::path::Path) {
    // Files first: the handler unlinks every path, then removes the folders left empty.
    for path in [dir.join("echo.ipc"), dir.to_path_buf()] {
        signals::remove_on_interrupt(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str, ready: Readiness, timeout_ms: u64) -> ServerSpec {
        ServerSpec {
            program: which::which("sh").unwrap(),
            args: vec!["-c".into(), script.into()],
            env: BTreeMap::new(),
            cwd: std::env::temp_dir(),
            ready,
            timeout: Duration::from_millis(timeout_ms),
            pipes: false,
            role: "server",
        }
    }

    #[test]
    fn a_server_is_awaited_watched_and_stopped_with_its_group() {
        let ready = Readiness::Stdout { pattern: "^ready".into() };
        let mut server = Server::start(&spec("sleep 301.5 & echo ready tcp://x:1; sleep 300", ready, 5000)).unwrap();
        assert_eq!(server.announced, ["tcp://x:1"]);
        assert!(server.exit_reason().is_none());
        assert!(server.rss().unwrap() > 0 && server.cpu_time().is_some());
        server.stop();
        assert_eq!(crate::testing::left_after_kill(b"sleep\x00301.5\x00"), 0, "the server's child outlived it");
    }

    #[test]
    fn a_server_that_never_gets_ready_says_why_with_its_stderr() {
        let ready = Readiness::Stdout { pattern: "^ready".into() };
        let err = Server::start(&spec("echo starting up >&2; echo bind failed >&2; sleep 30", ready.clone(), 1500))
            .err()
            .unwrap();
        assert!(err.contains("was not ready after 1s 500ms") && err.contains("bind failed"), "{err}");
        let err = Server::start(&spec("echo no config >&2; exit 2", ready, 5000)).err().unwrap();
        assert!(err.contains("exited with status 2") && err.contains("no config"), "{err}");
    }

    #[test]
    fn the_listener_of_a_port_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (pid, _) = listener_of(port).unwrap();
        assert_eq!(pid, std::process::id());
    }
}
