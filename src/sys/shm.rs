//! Shared-memory segments. The host makes an unnamed file (`O_TMPFILE`) in a tmpfs folder,
//! `/dev/shm` unless configured, and maps it; a worker maps the same file through
//! `/proc/<host pid>/fd/<fd>`. Having no name, a segment can never be left behind: it goes when
//! the last process that maps or holds it does, even after a crash or `kill -9`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

/// A mapping of a segment: read-write in the host, read-only in a worker.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    /// Whether it is mapped writable (the host's).
    write: bool,
    fd: OwnedFd,
}

fn os_error(what: String, e: impl Into<std::io::Error>) -> String {
    format!("{what}: {}", e.into())
}

impl Mapping {
    /// Makes a segment of `len` bytes in `dir` and maps it read-write.
    pub fn create(dir: &Path, len: usize) -> Result<Mapping, String> {
        let path = CString::new(dir.as_os_str().as_bytes()).map_err(|_| "the folder's name has a NUL byte")?;
        let flags = OFlag::O_TMPFILE | OFlag::O_RDWR | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(path.as_c_str(), flags, Mode::from_bits_truncate(0o600))
            .map_err(|e| os_error(format!("could not create a shared-memory segment in {}", dir.display()), e))?;
        nix::unistd::ftruncate(&fd, len as libc::off_t)
            .map_err(|e| os_error(format!("could not size a {len}-byte segment in {}", dir.display()), e))?;
        Mapping::map(fd, len, true)
    }

    /// Maps the segment a host named by `handle` read-only.
    pub fn open(handle: &str, len: usize) -> Result<Mapping, String> {
        Mapping::map(open_handle(handle)?, len, false)
    }

    /// Maps the segment named by `handle` read-only, or, when it is the one `last` already maps,
    /// keeps that mapping: a worker that receives tensor after tensor in the same segment maps it
    /// once, as a pool of segments is used (and as `torch.multiprocessing` caches the storages it
    /// received). The check is the file's identity, not the handle's text, which a host may reuse.
    pub fn open_reusing<'a>(handle: &str, len: usize, last: &'a mut Option<Mapping>) -> Result<&'a Mapping, String> {
        let fd = open_handle(handle)?;
        let same = match last.as_ref() {
            Some(m) => m.len == len && identity(&m.fd)? == identity(&fd)?,
            None => false,
        };
        if !same {
            *last = None;
            *last = Some(Mapping::map(fd, len, false)?);
        }
        Ok(last.as_ref().expect("just set"))
    }

    /// Maps `len` bytes of `fd`. The file is at least that long: the host sized it so, and a
    /// worker maps what the host says it wrote (a file shorter than its mapping would fault on
    /// the missing pages, as any shared mapping of a file that another process truncates).
    fn map(fd: OwnedFd, len: usize, write: bool) -> Result<Mapping, String> {
        if len == 0 {
            return Ok(Mapping { ptr: std::ptr::NonNull::dangling().as_ptr(), len, write, fd });
        }
        let prot = if write { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // A worker's mapping is populated at once: one pass in the kernel instead of a fault
        // per 4 KiB page when the tensor is first read. The host's stays lazy (it fills it once).
        let flags = if write { libc::MAP_SHARED } else { libc::MAP_SHARED | libc::MAP_POPULATE };
        // SAFETY: a fresh mapping (the kernel picks the address, so nothing of this process is
        // replaced) of an open file; the result is checked.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(os_error(format!("could not map a {len}-byte segment"), std::io::Error::last_os_error()));
        }
        Ok(Mapping { ptr: ptr.cast(), len, write, fd })
    }

    /// What a worker opens to map it.
    pub fn handle(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes (or is dangling, aligned and `len` is 0) for as
        // long as `self` lives; this process writes them only through `bytes_mut`, which needs
        // `self` borrowed mutably.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Its bytes, to write (a host's mapping; a worker's is read-only, and asking for it to
    /// write panics).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        assert!(self.write, "a worker's mapping of a segment is read-only");
        // SAFETY: as in `bytes`, and the mapping is writable; `self` is borrowed mutably, so no
        // other view of the bytes exists in this process. Only the host maps it writable, and
        // only it writes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// Opens the segment a host named by `handle`, read-only.
fn open_handle(handle: &str) -> Result<OwnedFd, String> {
    let path = CString::new(handle).map_err(|_| "bad handle")?;
    nix::fcntl::open(path.as_c_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| os_error(format!("could not open the segment {handle}"), e))
}

/// A file's device and inode.
fn identity(fd: &OwnedFd) -> Result<(u64, u64), String> {
    let st = nix::sys::stat::fstat(fd).map_err(|e| os_error("could not stat a segment".into(), e))?;
    Ok((st.st_dev as u64, st.st_ino as u64))
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps what `map` mapped; no borrow of the bytes outlives `self`.
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_sees_what_the_host_wrote_and_nothing_is_left_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = Mapping::create(dir.path(), 10_000).unwrap();
        host.bytes_mut()[9_999] = 7;
        let worker = Mapping::open(&host.handle(), 10_000).unwrap();
        assert_eq!(worker.bytes()[9_999], 7);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // The same segment again keeps the mapping; another segment replaces it.
        let mut last = None;
        let first = Mapping::open_reusing(&host.handle(), 10_000, &mut last).unwrap().ptr;
        assert_eq!(Mapping::open_reusing(&host.handle(), 10_000, &mut last).unwrap().ptr, first);
        let mut other = Mapping::create(dir.path(), 10_000).unwrap();
        other.bytes_mut()[9_999] = 9;
        assert_eq!(Mapping::open_reusing(&other.handle(), 10_000, &mut last).unwrap().bytes()[9_999], 9);
        let err = Mapping::create(Path::new("/nonexistent-coldbench"), 10).err().unwrap();
        assert!(err.contains("could not create a shared-memory segment in /nonexistent-coldbench"), "{err}");
    }
}
