//! Waiting for a child: its exit (on a pidfd), a stdout line, a port or a file; ending its
//! process group; reaping it with `wait4` for its own resource usage; and the guards that make
//! sure nothing is left running when a run errs or is interrupted.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use regex::Regex;

use super::spec::{Ending, Usage};

/// How often readiness by TCP connect or by file is checked.
pub(super) const READY_POLL_INTERVAL: Duration = Duration::from_micros(500);
/// Time a process gets to exit after SIGTERM before it is killed.
pub const TERMINATION_GRACE: Duration = Duration::from_millis(500);

/// Whether this process is the runner, a child subreaper: orphans of measured programs become its
/// children, and it collects them after each run.
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes this process a child subreaper (the runner): processes a run leaves behind — in its
/// group, or escaped from it with `setsid` — become its children instead of init's, so that
/// [`collect_leftovers`] can end them before the next run starts.
pub fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer and touches no memory of this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } == 0 {
        SUBREAPER.store(true, Ordering::SeqCst);
    }
}

/// After a run's leader is reaped: kills what is left of its process group and, in the runner,
/// every other child (orphans handed to the subreaper), and reaps them, until the group is empty
/// (at most a second): a run is over only when nothing it started is still running.
pub(super) fn collect_leftovers(pgid: libc::pid_t) {
    let subreaper = SUBREAPER.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        kill_group(pgid, libc::SIGKILL);
        let children = if subreaper { own_children() } else { Vec::new() };
        for &child in &children {
            // SAFETY: `kill` takes only integers; a pid that has exited since is at worst ESRCH.
            unsafe {
                libc::kill(child, libc::SIGKILL);
            }
        }
        if subreaper {
            // Only the runner reaps whatever exited: a library user's process has children of its own.
            // SAFETY: a null status pointer is allowed (the status is not stored); WNOHANG never blocks.
            while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        }
        // SAFETY: signal 0 only checks that the group exists; `killpg` takes only integers.
        let group_gone = unsafe { libc::killpg(pgid, 0) } != 0;
        if (group_gone && children.is_empty()) || !subreaper || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The pids of this process's children (`/proc/self/task/*/children`).
fn own_children() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<_>>())
        .collect()
}

/// Process group of the run in progress (0 when none), for the interrupt handler.
pub(super) static ACTIVE_GROUP: AtomicI32 = AtomicI32::new(0);

/// Makes SIGINT, SIGTERM and SIGHUP kill the process group of the run in progress before this
/// process exits, so that an interrupted benchmark leaves nothing running. Measured processes
/// have their own process groups, so the terminal's Ctrl-C does not reach them by itself.
pub fn kill_active_group_on_interrupt() {
    extern "C" fn handler(signal: libc::c_int) {
        let group = ACTIVE_GROUP.load(Ordering::SeqCst);
        // SAFETY: only async-signal-safe calls in a signal handler: killpg and _exit; `group` was
        // read from an atomic, not through a lock.
        unsafe {
            if group > 0 {
                libc::killpg(group, libc::SIGKILL);
            }
            libc::_exit(128 + signal);
        }
    }
    on_interrupt(handler);
}

/// Installs `handler` for SIGINT, SIGTERM and SIGHUP. It may only make async-signal-safe calls,
/// and should end the process with `_exit(128 + signal)`.
pub fn on_interrupt(handler: extern "C" fn(libc::c_int)) {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: an all-zero `sigaction` is valid (integers, a handler address, a mask); without
        // SA_SIGINFO the kernel calls `handler` with the one `c_int` its type takes, and the caller
        // promises it makes only async-signal-safe calls. `action` outlives both calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Owns a started child until it is reaped: an error on the way out (a failed poll, a read error)
/// still kills its process group and reaps it, so nothing is left running or unreaped.
pub(super) struct ChildGuard {
    pid: libc::pid_t,
    armed: bool,
}

impl ChildGuard {
    pub(super) fn new(pid: libc::pid_t) -> Self {
        ACTIVE_GROUP.store(pid, Ordering::SeqCst);
        ChildGuard { pid, armed: true }
    }

    pub(super) fn reaped(&mut self) {
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

pub(super) fn read_all(file: &mut File) -> Option<String> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    Exited,
    Ready,
    Deadline,
}

pub(super) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

pub(super) fn wait_for_line(
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
                    // SAFETY: `fd` is `reader`'s open descriptor, borrowed for the two calls; F_GETFL
                    // and F_SETFL only change its flags, not who owns it.
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

pub(super) fn wait_polling(
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

pub(super) fn tcp_accepts(addr: &SocketAddr) -> bool {
    TcpStream::connect_timeout(addr, Duration::from_millis(100)).is_ok()
}

/// Sends SIGTERM to the group, then SIGKILL if the leader is still there after the grace period.
pub(super) fn terminate_group(pid: libc::pid_t, watcher: &ExitWatcher) -> io::Result<()> {
    kill_group(pid, libc::SIGTERM);
    if watcher.wait(None, Instant::now() + TERMINATION_GRACE)? != Event::Exited {
        kill_group(pid, libc::SIGKILL);
    }
    Ok(())
}

pub(super) fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // ESRCH (the group is already empty) is the common, harmless case.
    // SAFETY: `killpg` takes only integers and touches no memory of this process.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

pub(super) fn reap(pid: libc::pid_t) -> io::Result<(libc::c_int, Usage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers (and `timeval`s of integers): all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `ru` are live locals of the types `wait4` writes.
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

pub(super) fn status_ending(status: libc::c_int) -> Ending {
    if libc::WIFSIGNALED(status) {
        Ending::Signaled { signal: libc::WTERMSIG(status) }
    } else {
        Ending::Exited { code: libc::WEXITSTATUS(status) }
    }
}

pub(super) fn memfd(name: &str) -> io::Result<File> {
    let cname = std::ffi::CString::new(name).expect("no NUL in name");
    // SAFETY: `cname` is a NUL-terminated string that lives across the call, which only reads it.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        // Kernels without memfd: an unlinked temporary file serves the same purpose.
        return tempfile::tempfile();
    }
    // SAFETY: `fd` was just returned by memfd_create and checked for -1; nothing else owns it.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Waits for a child's exit without reaping it, optionally together with a readable fd.
///
/// Uses a pidfd where the kernel has one (Linux 5.3+), which wakes exactly at exit; otherwise
/// it falls back to checking `waitid(WNOWAIT)` every 200 µs.
pub(super) struct ExitWatcher {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
}

impl ExitWatcher {
    /// Watches `pid`, through the pidfd the spawn returned, or one opened now.
    pub(super) fn with_pidfd(pid: libc::pid_t, pidfd: Option<OwnedFd>) -> Self {
        let pidfd = pidfd.or_else(|| {
            // SAFETY: pidfd_open returns a new descriptor (or -1), owned by nothing else.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            // SAFETY: `fd` was just opened by pidfd_open and checked for -1; nothing else owns it.
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
        });
        ExitWatcher { pid, pidfd }
    }

    /// Returns `Exited` when the child has exited, `Ready` when `extra` is readable (or hung up),
    /// and `Deadline` once `until` has passed.
    pub(super) fn wait(&self, extra: Option<RawFd>, until: Instant) -> io::Result<Event> {
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
            // SAFETY: `fds` is a live Vec of `fds.len()` pollfds and `ts` a live timespec; a null
            // signal mask leaves the mask alone.
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
        // SAFETY: `siginfo_t` is plain data: all-zero is a valid value (and `si_pid` 0).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live `siginfo_t` for `waitid` to fill; WNOWAIT leaves the child unreaped.
        let r = unsafe {
            libc::waitid(libc::P_PID, self.pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT)
        };
        // SAFETY: `info` is initialised (zeroed, then filled by `waitid` for a child-state event),
        // so reading its pid field reads an integer that was written.
        r == 0 && unsafe { info.si_pid() } != 0
    }
}
