//! Waiting for a child: its exit (on a pidfd), a stdout line, a port or a file; ending its
//! process group; reaping it with `wait4` for its own resource usage; and the guards that make
//! sure nothing is left running when a run errs or is interrupted.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use regex::Regex;

use super::spec::{Ending, Usage};
use crate::sys::signals::set_active_group;

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
    if nix::sys::prctl::set_child_subreaper(true).is_ok() {
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
        kill_group(pgid, Signal::SIGKILL);
        let children = if subreaper { own_children() } else { Vec::new() };
        for &child in &children {
            // A pid that has exited since is at worst ESRCH.
            let _ = kill(Pid::from_raw(child), Signal::SIGKILL);
        }
        if subreaper {
            // Only the runner reaps whatever exited: a library user's process has children of its own.
            reap_exited();
        }
        // No signal only checks that the group exists.
        let group_gone = killpg(Pid::from_raw(pgid), None).is_err();
        if (group_gone && children.is_empty()) || !subreaper || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reaps every child that has exited, without waiting for the others (`waitpid(-1, WNOHANG)`).
fn reap_exited() {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return,
            // EINVAL: a child was reaped whose signal nix has no name for (a real-time one).
            Ok(_) | Err(Errno::EINVAL) => {}
            // ECHILD (no child left) or EINTR.
            Err(_) => return,
        }
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

/// Owns a started child until it is reaped: an error on the way out (a failed poll, a read error)
/// still kills its process group and reaps it, so nothing is left running or unreaped. While it
/// lives, the child's group is the one an interrupt kills
/// ([`crate::sys::signals::set_active_group`]).
pub(super) struct ChildGuard {
    pid: libc::pid_t,
    armed: bool,
}

impl ChildGuard {
    pub(super) fn new(pid: libc::pid_t) -> Self {
        set_active_group(pid);
        ChildGuard { pid, armed: true }
    }

    pub(super) fn reaped(&mut self) {
        self.armed = false;
        set_active_group(0);
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.armed {
            kill_group(self.pid, Signal::SIGKILL);
            let _ = reap(self.pid);
            set_active_group(0);
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
        let fd = stdout.as_ref().map(|f| f.as_fd());
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
                    if let Ok(flags) = fcntl(&*reader, FcntlArg::F_GETFL) {
                        let _ = fcntl(&*reader, FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK));
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
    kill_group(pid, Signal::SIGTERM);
    if watcher.wait(None, Instant::now() + TERMINATION_GRACE)? != Event::Exited {
        kill_group(pid, Signal::SIGKILL);
    }
    Ok(())
}

pub(super) fn kill_group(pgid: libc::pid_t, signal: Signal) {
    // ESRCH (the group is already empty) is the common, harmless case.
    let _ = killpg(Pid::from_raw(pgid), signal);
}

/// Reaps `pid` with `wait4`: its status and its own resource usage.
pub(super) fn reap(pid: libc::pid_t) -> io::Result<(libc::c_int, Usage)> {
    let (status, ru) = crate::sys::process::wait4(pid)?;
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
    use nix::sys::memfd::{memfd_create, MFdFlags};
    match memfd_create(name, MFdFlags::MFD_CLOEXEC) {
        Ok(fd) => Ok(File::from(fd)),
        // Kernels without memfd: an unlinked temporary file serves the same purpose.
        Err(_) => tempfile::tempfile(),
    }
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
        let pidfd = pidfd.or_else(|| crate::sys::process::pidfd_open(pid).ok());
        ExitWatcher { pid, pidfd }
    }

    /// Returns `Exited` when the child has exited, `Ready` when `extra` is readable (or hung up),
    /// and `Deadline` once `until` has passed.
    pub(super) fn wait(&self, extra: Option<BorrowedFd<'_>>, until: Instant) -> io::Result<Event> {
        loop {
            let now = Instant::now();
            let remaining = until.saturating_duration_since(now);
            let mut fds = Vec::with_capacity(2);
            if let Some(pidfd) = &self.pidfd {
                fds.push(PollFd::new(pidfd.as_fd(), PollFlags::POLLIN));
            }
            if let Some(fd) = extra {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            let slice = if self.pidfd.is_some() { remaining } else { remaining.min(Duration::from_micros(200)) };
            // No signal mask: the mask is left alone.
            match ppoll(&mut fds, Some(slice.into()), None) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            // `None`: flags nix has no name for, which are still an event.
            let happened = |fd: &PollFd| fd.any() != Some(false);
            let mut idx = 0;
            if self.pidfd.is_some() {
                if happened(&fds[0]) {
                    return Ok(Event::Exited);
                }
                idx = 1;
            } else if self.exited_nowait() {
                return Ok(Event::Exited);
            }
            if extra.is_some() && happened(&fds[idx]) {
                return Ok(Event::Ready);
            }
            if Instant::now() >= until {
                return Ok(Event::Deadline);
            }
        }
    }

    fn exited_nowait(&self) -> bool {
        // WNOWAIT leaves the child unreaped.
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(Pid::from_raw(self.pid)), flags) {
            Ok(WaitStatus::StillAlive) => false,
            // EINVAL: it has exited, by a signal nix has no name for (a real-time one).
            Ok(_) | Err(Errno::EINVAL) => true,
            Err(_) => false,
        }
    }
}
