//! Child processes where `nix` has no safe call: reaping with the child's own resource usage
//! (`wait4`), a pidfd for a child (`pidfd_open`), and what a `std::process::Command`'s child does
//! between fork and exec (`pre_exec` hooks: pinning, ptrace, a parent-death signal), which std
//! leaves to `unsafe` code because only async-signal-safe calls may run there.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Reaps child `pid` (waiting for it to end) with `wait4`: its wait status and its own resource
/// usage — never `getrusage(RUSAGE_CHILDREN)`, whose `ru_maxrss` is the maximum over every child so
/// far. Retries when a signal interrupts the wait.
pub fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers (and `timeval`s of integers): all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `ru` are live locals of the types `wait4` writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A pidfd for process `pid` (Linux 5.3+): readable once it has exited.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor (or -1), owned by nothing
    // else.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened by pidfd_open and checked for -1; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Has the child of `cmd` pin itself to the CPUs of `cpus` before it execs.
pub fn pin_in_child(cmd: &mut Command, cpus: CpuSet) {
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe calls
    // are allowed: it makes one system call (sched_setaffinity on its own copy of the set),
    // allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || sched_setaffinity(Pid::from_raw(0), &cpus).map_err(io::Error::from));
    }
}

/// Has the child of `cmd` ask to be traced by its parent (`PTRACE_TRACEME`) before it execs: it
/// then stops at the exec with SIGTRAP.
pub fn trace_in_child(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec: one system call (ptrace), no
    // allocation, no lock.
    unsafe {
        cmd.pre_exec(|| nix::sys::ptrace::traceme().map_err(io::Error::from));
    }
}

/// Has the child of `cmd` get `signal` when the thread that starts it ends (`PR_SET_PDEATHSIG`),
/// set before it execs; a failure is ignored.
pub fn signal_child_on_parent_death(cmd: &mut Command, signal: Signal) {
    // SAFETY: the closure runs in the forked child before exec: one system call (prctl, integers
    // only), no allocation, no lock.
    unsafe {
        cmd.pre_exec(move || {
            let _ = nix::sys::prctl::set_pdeathsig(signal);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait4_gives_the_status_and_usage_of_the_child_alone() {
        // Reaped by `wait4`, not by `Child::wait`.
        #[allow(clippy::zombie_processes)]
        let child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let (status, ru) = wait4(child.id() as libc::pid_t).unwrap();
        assert_eq!(libc::WEXITSTATUS(status), 3);
        assert!(ru.ru_maxrss > 0);
    }

    #[test]
    fn a_pinned_child_runs_on_its_cpu_only() {
        let mut cpus = CpuSet::new();
        cpus.set(0).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "grep Cpus_allowed_list /proc/self/status"]);
        pin_in_child(&mut cmd, cpus);
        let out = cmd.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1), Some("0"));
    }
}
