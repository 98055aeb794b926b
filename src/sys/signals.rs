//! Signals: the one handler of SIGINT, SIGTERM and SIGHUP and what it undoes before the process
//! exits, the guard that holds an interrupt back while something must not be left half-made,
//! blocking every signal around a spawn, and the dispositions a child must reset. Every
//! `sigaction` of the tool for these signals is here, so that no two modules install handlers for
//! the same signal.
//!
//! The handler ([`exit_on_interrupt`]) kills the process group of the run in progress
//! ([`set_active_group`]: the runner's timed child) and every group registered with
//! [`kill_group_on_interrupt`] (servers), removes the paths registered with
//! [`remove_on_interrupt`] (ipc sockets and their folders), and exits with `128 + signal`. Measured
//! processes and servers have process groups of their own, so the terminal's Ctrl-C does not
//! reach them by itself. With [`defer_interrupts`], an interrupt that arrives while a [`Held`]
//! guard lives is only recorded, and the last guard to go delivers it.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

use nix::sys::signal::{
    killpg, pthread_sigmask, raise, sigaction, sigprocmask, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::unistd::Pid;

/// The signals an interrupt arrives by.
pub const INTERRUPTS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Process group of the run in progress (0 when none), for the handler.
static ACTIVE_GROUP: AtomicI32 = AtomicI32::new(0);
/// Process groups of the servers that are running, for the handler.
static GROUPS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];
/// Paths the handler removes: NUL-terminated strings leaked by [`remove_on_interrupt`], never
/// freed, so that the handler may read them at any time.
static CLEANUP: [AtomicPtr<libc::c_char>; 64] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 64];
/// Whether the handler is installed.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Whether an interrupt waits for the last [`Held`] guard ([`defer_interrupts`]).
static DEFER: AtomicBool = AtomicBool::new(false);
/// Live guards.
static HELD: AtomicUsize = AtomicUsize::new(0);
/// A signal that arrived while a guard lived (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Makes SIGINT, SIGTERM and SIGHUP end this process the way an interrupt must: kill the process
/// group of the run in progress and the registered ones, remove the registered paths, and exit
/// with `128 + signal` (no destructor runs). Installs the handler once; calling it again changes
/// nothing.
pub fn exit_on_interrupt() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    for signal in INTERRUPTS {
        install(signal, on_interrupt);
    }
}

/// Makes interrupts wait while a [`Held`] lives (and installs the handler, as
/// [`exit_on_interrupt`] does); calling it again changes nothing.
pub fn defer_interrupts() {
    DEFER.store(true, Ordering::SeqCst);
    exit_on_interrupt();
}

/// The process group the handler kills first: the run in progress (0: none). One atomic store,
/// made inside the timed window of a start.
#[inline]
pub fn set_active_group(pgid: libc::pid_t) {
    ACTIVE_GROUP.store(pgid, Ordering::SeqCst);
}

/// Has the handler kill process group `pgid` (a server's) until [`forget_group`]. With 64 groups
/// registered already, it is not.
pub fn kill_group_on_interrupt(pgid: libc::pid_t) {
    for slot in &GROUPS {
        if slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
    }
}

/// Undoes [`kill_group_on_interrupt`] for `pgid`.
pub fn forget_group(pgid: libc::pid_t) {
    for slot in &GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Has the handler remove `path` should the process be interrupted: every registered path is
/// first unlinked (a file, a socket), then removed as a folder (only an empty one goes), so that a
/// folder registered after the files in it is left empty and removed. The path is kept for the
/// life of the process; with 64 registered, the oldest slot is recycled (a folder long removed). A
/// path with a NUL byte cannot be removed and is not registered.
pub fn remove_on_interrupt(path: &Path) {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return };
    // Leaked on purpose: the handler may read it at any time, so it is never freed.
    let ptr = c.into_raw();
    if !CLEANUP
        .iter()
        .any(|slot| slot.compare_exchange(std::ptr::null_mut(), ptr, Ordering::SeqCst, Ordering::SeqCst).is_ok())
    {
        CLEANUP[0].store(ptr, Ordering::SeqCst);
    }
}

/// While it lives, an interrupt waits (with [`defer_interrupts`]).
#[must_use = "interrupts wait only while the guard lives"]
pub struct Held(());

/// Holds interrupts until the guard is dropped. Without [`defer_interrupts`], holds nothing.
pub fn hold() -> Held {
    HELD.fetch_add(1, Ordering::SeqCst);
    Held(())
}

impl Drop for Held {
    fn drop(&mut self) {
        if HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            let signal = PENDING.swap(0, Ordering::SeqCst);
            if let Ok(signal) = Signal::try_from(signal) {
                // To this thread: the handler then does what it held back.
                let _ = raise(signal);
            }
        }
    }
}

/// Installs `handler` for `signal`, without flags and with an empty mask.
fn install(signal: Signal, handler: extern "C" fn(libc::c_int)) {
    let action = SigAction::new(SigHandler::Handler(handler), SaFlags::empty(), SigSet::empty());
    // SAFETY: `handler` is one of this module's handlers (the function is private), which make only
    // async-signal-safe calls: atomics, `killpg`, `unlink`, `rmdir`, `_exit` (and, in the tests, an
    // atomic store); none takes a lock, allocates or unwinds.
    let _ = unsafe { sigaction(signal, &action) };
}

/// The installed handler.
extern "C" fn on_interrupt(signal: libc::c_int) {
    if !deferred(signal) {
        end(signal);
    }
}

/// Whether `signal` waits for the last [`Held`] guard (it is then recorded for it). Only atomics.
fn deferred(signal: libc::c_int) -> bool {
    if DEFER.load(Ordering::SeqCst) && HELD.load(Ordering::SeqCst) > 0 {
        PENDING.store(signal, Ordering::SeqCst);
        // The last guard may have gone between the check and the store: then deliver it here.
        if HELD.load(Ordering::SeqCst) > 0 || PENDING.swap(0, Ordering::SeqCst) == 0 {
            return true;
        }
    }
    false
}

/// Kills the registered process groups, removes the registered paths and exits with
/// `128 + signal`: only async-signal-safe calls, and every value read from an atomic, not through
/// a lock.
fn end(signal: libc::c_int) -> ! {
    let group = ACTIVE_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
    for slot in &GROUPS {
        let group = slot.load(Ordering::SeqCst);
        if group > 0 {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        }
    }
    // Files first, then their folders (rmdir only removes an empty one).
    for remove in [libc::unlink, libc::rmdir] {
        for slot in &CLEANUP {
            let path = slot.load(Ordering::SeqCst);
            if !path.is_null() {
                // SAFETY: async-signal-safe; a non-null slot holds a NUL-terminated string leaked by
                // `remove_on_interrupt`, never freed, so it is valid here.
                unsafe {
                    remove(path);
                }
            }
        }
    }
    // SAFETY: `_exit` is async-signal-safe and runs no Rust code after it (no destructors, no
    // unwinding); it never returns.
    unsafe { libc::_exit(128 + signal) }
}

/// Blocks every signal of this thread until dropped, so that no handler of this process runs in a
/// child before the child has reset it, and an interrupt between a spawn and the recording of the
/// child's group ([`set_active_group`]) is handled only once the group is recorded.
pub struct AllSignalsBlocked {
    old: SigSet,
}

impl AllSignalsBlocked {
    /// Blocks them all, keeping the mask this thread had.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let mut old = SigSet::empty();
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::all()), Some(&mut old));
        AllSignalsBlocked { old }
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

/// Has the child of `cmd` unblock every signal before it execs: a child forked while
/// [`AllSignalsBlocked`] lives inherits the full mask, and a program started with SIGTRAP blocked
/// is never stopped at its exec under ptrace.
pub fn unblock_all_in_child(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe calls
    // are allowed: it makes one system call (sigprocmask on a set on its own stack), allocates
    // nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None).map_err(io::Error::from));
    }
}

/// The signals whose disposition in this process is not the default: handled ones (a child
/// must not run this process's handlers in this process's memory) and ignored ones (an ignored
/// signal stays ignored across `execve`; Rust ignores SIGPIPE).
pub fn not_default() -> Vec<libc::c_int> {
    (1..=libc::SIGRTMAX())
        .filter(|&signal| signal != libc::SIGKILL && signal != libc::SIGSTOP)
        .filter(|&signal| {
            // SAFETY: `sigaction` is plain data (integers, a handler address, a mask): all-zero is valid.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: a query only: a null new action installs nothing, and `old` is a live
            // `sigaction` for the current one to be written into.
            let queried = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } == 0;
            queried && old.sa_sigaction != libc::SIG_DFL
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    static SEEN: AtomicI32 = AtomicI32::new(0);

    /// The installed handler, with a record of the signal instead of its ending.
    extern "C" fn record(signal: libc::c_int) {
        if !deferred(signal) {
            SEEN.store(signal, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_signal_waits_for_the_guard_and_then_reaches_the_handler() {
        // SIGUSR2 stands in for Ctrl-C, so that the test process is not interrupted.
        install(Signal::SIGUSR2, record);
        DEFER.store(true, Ordering::SeqCst);

        let guard = hold();
        raise(Signal::SIGUSR2).unwrap();
        assert_eq!(SEEN.load(Ordering::SeqCst), 0, "held back while the guard lives");
        drop(guard);
        assert_eq!(SEEN.load(Ordering::SeqCst), libc::SIGUSR2, "delivered when it goes");
        SEEN.store(0, Ordering::SeqCst);
        raise(Signal::SIGUSR2).unwrap();
        assert_eq!(SEEN.load(Ordering::SeqCst), libc::SIGUSR2, "without a guard it passes at once");
    }

    #[test]
    fn a_handled_signal_is_not_at_its_default_and_others_are() {
        install(Signal::SIGUSR1, record);
        let reset = not_default();
        assert!(reset.contains(&libc::SIGUSR1), "{reset:?}");
        assert!(!reset.contains(&libc::SIGKILL) && !reset.contains(&libc::SIGCHLD), "{reset:?}");
    }
}
