//! The timed spawn: everything a start needs is prepared before the clock starts, and the clock
//! window holds one `clone` and the child's own few system calls before `execve`. It is here, in
//! the system-call layer, because the child runs on a stack this process mapped, in this
//! process's memory, which no safe call can express.
//!
//! `std::process::Command::spawn` (glibc's `posix_spawn` underneath) does in the window what can
//! be done once: it copies the whole environment into a map and builds C strings of it, opens
//! `/dev/null` for each stream, maps and unmaps a stack for the child (the unmapping flushes the
//! TLB of every CPU the child ran on), and its child queries and resets every one of the 64 signal
//! dispositions before it execs; a `pidfd_open` then follows. Here the program, argv, envp and
//! working directory are C strings built once per command ([`Exec`]), `/dev/null` is opened once,
//! the child's stack is mapped once ([`Spawner`]), and `clone(CLONE_VM | CLONE_VFORK |
//! CLONE_PIDFD)` hands back the pidfd with the pid. The child runs on that stack in the parent's
//! memory (the parent is suspended until it execs, as with `vfork`): it joins a process group of
//! its own, puts its streams in place, changes directory, optionally pins itself to a CPU, resets
//! only the signals this process does not leave at their default, unblocks signals and execs.
//! BENCHMARKS.md ("Harness floor") says what each of these steps gave.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The child's stack: it runs a few system calls and `execve`.
const STACK_BYTES: usize = 64 * 1024;

/// A program, its arguments, environment and working directory as the C strings `execve` takes.
pub struct Exec {
    program: CString,
    cwd: CString,
    // The pointer arrays point into these; kept alive with them.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

fn c_string(bytes: impl Into<Vec<u8>>, what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{what} contains a NUL byte")))
}

impl Exec {
    /// `program` (also its `argv[0]`) with `args`, the whole environment `env` (in its order) and
    /// the working directory `cwd`. An error names what holds a NUL byte.
    pub fn new(
        program: &Path,
        args: impl IntoIterator<Item = impl AsRef<OsStr>>,
        env: BTreeMap<OsString, OsString>,
        cwd: &Path,
    ) -> io::Result<Exec> {
        let program = c_string(program.as_os_str().as_bytes(), "the program's path")?;
        let mut argv = vec![program.clone()];
        for arg in args {
            argv.push(c_string(arg.as_ref().as_bytes(), "an argument")?);
        }
        let envp = env
            .into_iter()
            .map(|(k, v)| {
                let mut pair = k.into_vec();
                pair.push(b'=');
                pair.extend_from_slice(v.as_bytes());
                c_string(pair, "an environment variable")
            })
            .collect::<io::Result<Vec<CString>>>()?;
        let pointers = |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        Ok(Exec {
            program,
            cwd: c_string(cwd.as_os_str().as_bytes(), "the working directory")?,
            argv_ptrs: pointers(&argv),
            envp_ptrs: pointers(&envp),
            _argv: argv,
            _envp: envp,
        })
    }
}

/// What the parent prepared once for every spawn: the child's stack, `/dev/null`, and the
/// signals to reset in the child.
pub struct Spawner {
    stack: *mut libc::c_void,
    null: OwnedFd,
    reset: Vec<libc::c_int>,
}

/// A spawned child: its pid and, where the kernel gave one, its pidfd.
pub struct Spawned {
    pub pid: libc::pid_t,
    pub pidfd: Option<OwnedFd>,
}

/// What the child reads, in the parent's memory.
struct ChildArgs<'a> {
    exec: &'a Exec,
    fds: [RawFd; 3],
    reset: &'a [libc::c_int],
    cpu: Option<&'a CpuSet>,
    /// The errno of the step that failed, for the parent (0: the exec happened).
    errno: AtomicI32,
}

/// The child: system calls only (no allocation, no lock, nothing that can unwind), on the stack
/// the parent mapped, in the parent's memory, while the parent waits.
extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` the parent passed to `clone`; it outlives the child's use
    // of it, because CLONE_VFORK suspends the parent until the child execs or exits. Every call
    // below is a thin system call wrapper (`sched_setaffinity` is nix's, which only checks the
    // result), async-signal-safe, and none returns into Rust code that could allocate or unwind.
    unsafe {
        let args = &*(arg as *const ChildArgs);
        if libc::setpgid(0, 0) != 0 {
            fail(args);
        }
        for (target, fd) in (0..).zip(args.fds) {
            if libc::dup2(fd, target) < 0 {
                fail(args);
            }
        }
        if libc::chdir(args.exec.cwd.as_ptr()) != 0 {
            fail(args);
        }
        if let Some(set) = args.cpu {
            if sched_setaffinity(Pid::from_raw(0), set).is_err() {
                fail(args);
            }
        }
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for &signal in args.reset {
            libc::sigaction(signal, &default, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::execve(args.exec.program.as_ptr(), args.exec.argv_ptrs.as_ptr(), args.exec.envp_ptrs.as_ptr());
        fail(args)
    }
}

/// Tells the parent why the child could not exec, and ends the child.
///
/// # Safety
/// Only in the child, right after the failed call whose errno it reports.
unsafe fn fail(args: &ChildArgs) -> ! {
    args.errno.store(*libc::__errno_location(), Ordering::SeqCst);
    libc::_exit(127)
}

impl Spawner {
    /// Maps the child's stack (with a guard page below it), opens `/dev/null`, and notes which
    /// signals this process handles or ignores: the child resets just those.
    pub fn new() -> io::Result<Spawner> {
        let page = 4096;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let stack = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STACK_BYTES + page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if stack == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the first page of the mapping just made; a stack overflow faults there instead
        // of writing below the mapping.
        unsafe {
            libc::mprotect(stack, page, libc::PROT_NONE);
        }
        let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
        Ok(Spawner { stack, null: null.into(), reset: super::signals::not_default() })
    }

    /// `/dev/null`, for a stream nobody reads.
    pub fn null(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.null.as_fd()
    }

    /// Starts `exec` with `stdin`, `stdout` and `stderr` on these descriptors, in a new process
    /// group, optionally on the CPUs of `cpu`. Call with every signal blocked (see
    /// [`super::signals::AllSignalsBlocked`]): the child unblocks them once its handlers are
    /// reset. An `Err` means it could not be started (the exec failed: no such file, not
    /// executable, a bad directory).
    pub fn spawn(&self, exec: &Exec, fds: [BorrowedFd<'_>; 3], cpu: Option<&CpuSet>) -> io::Result<Spawned> {
        let fds = fds.map(|fd| fd.as_raw_fd());
        let args = ChildArgs { exec, fds, reset: &self.reset, cpu, errno: AtomicI32::new(0) };
        // SAFETY: the mapping is `STACK_BYTES + 4096` bytes long (see `new`), so this is one past
        // its end, which `add` allows; the stack grows down from there.
        let top = unsafe { (self.stack as *mut u8).add(STACK_BYTES + 4096) } as *mut libc::c_void;
        let mut pidfd: libc::c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        // SAFETY: `child` only makes system calls on the stack given, and reads `args`, which
        // lives until `clone` returns — after the child has exec'd or exited (CLONE_VFORK). With
        // CLONE_PIDFD the kernel writes the pidfd into `pidfd`.
        let mut pid = unsafe {
            libc::clone(
                child,
                top,
                flags | libc::CLONE_PIDFD,
                &args as *const ChildArgs as *mut libc::c_void,
                &mut pidfd as *mut libc::c_int,
            )
        };
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            // A kernel before 5.2 has no CLONE_PIDFD: the caller watches the pid instead.
            pidfd = -1;
            // SAFETY: as above, without the pidfd.
            pid = unsafe { libc::clone(child, top, flags, &args as *const ChildArgs as *mut libc::c_void) };
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just opened for this process, owned by nothing else.
        let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
        match args.errno.load(Ordering::SeqCst) {
            0 => Ok(Spawned { pid, pidfd }),
            errno => {
                // The child exited with 127 before exec: collect it, and say why.
                super::process::wait4(pid).ok();
                Err(io::Error::from_raw_os_error(errno))
            }
        }
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer used: no child runs on it once `spawn`
        // has returned.
        unsafe {
            libc::munmap(self.stack, STACK_BYTES + 4096);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn exec(program: &str, args: &[&str]) -> Exec {
        let env = std::env::vars_os().collect();
        Exec::new(Path::new(program), args, env, &std::env::temp_dir()).unwrap()
    }

    #[test]
    fn a_spawned_child_runs_in_its_own_group_with_its_streams() {
        let spawner = Spawner::new().unwrap();
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let exec = exec("/bin/sh", &["-c", "read -r _ _ _ _ pgid _ < /proc/$$/stat; [ \"$pgid\" = $$ ] && echo 1"]);
        let blocked = super::super::signals::AllSignalsBlocked::new();
        let spawned = spawner.spawn(&exec, [spawner.null(), write.as_fd(), spawner.null()], None).unwrap();
        drop(blocked);
        drop(write);
        let (status, _) = super::super::process::wait4(spawned.pid).unwrap();
        assert_eq!(libc::WEXITSTATUS(status), 0);
        let out = std::io::read_to_string(std::fs::File::from(read)).unwrap();
        assert_eq!(out.trim(), "1", "the child leads its own process group");
    }

    #[test]
    fn a_program_that_cannot_be_executed_is_an_error() {
        let spawner = Spawner::new().unwrap();
        let exec = exec("/nonexistent/prog", &[]);
        let err = spawner.spawn(&exec, [spawner.null(), spawner.null(), spawner.null()], None).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_nul_byte_is_named() {
        let err = Exec::new(Path::new("/bin/true"), ["a\0b"], BTreeMap::new(), Path::new("/")).err().unwrap();
        assert!(err.to_string().contains("an argument contains a NUL byte"), "{err}");
    }
}
