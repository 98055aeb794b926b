//! Shared-memory segments. The host makes an unnamed file (`O_TMPFILE`) in a tmpfs folder,
//! `/dev/shm` unless configured, and maps it; a worker maps the same file through
//! `/proc/<host pid>/fd/<fd>`. Having no name, a segment can never be left behind: it goes when
//! the last process that maps or holds it does, even after a crash or `kill -9`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A mapping of a segment: read-write in the host, read-only in a worker.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    fd: OwnedFd,
}

fn os_error(what: String) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

impl Mapping {
    /// Makes a segment of `len` bytes in `dir` and maps it read-write.
    pub fn create(dir: &Path, len: usize) -> Result<Mapping, String> {
        let path = CString::new(dir.as_os_str().as_bytes()).map_err(|_| "the folder's name has a NUL byte")?;
        // SAFETY: a valid C string; the result is checked.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC, 0o600) };
        if fd < 0 {
            return Err(os_error(format!("could not create a shared-memory segment in {}", dir.display())));
        }
        // SAFETY: `fd` was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `fd` is open.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) } != 0 {
            return Err(os_error(format!("could not size a {len}-byte segment in {}", dir.display())));
        }
        Mapping::map(fd, len, true)
    }

    /// Maps the segment a host named by `handle` read-only.
    pub fn open(handle: &str, len: usize) -> Result<Mapping, String> {
        let path = CString::new(handle).map_err(|_| "bad handle")?;
        // SAFETY: a valid C string; the result is checked.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(os_error(format!("could not open the segment {handle}")));
        }
        // SAFETY: `fd` was just opened and is owned here.
        Mapping::map(unsafe { OwnedFd::from_raw_fd(fd) }, len, false)
    }

    /// Maps the segment named by `handle` read-only, or, when it is the one `last` already maps,
    /// keeps that mapping: a worker that receives tensor after tensor in the same segment maps it
    /// once, as a pool of segments is used (and as `torch.multiprocessing` caches the storages it
    /// received). The check is the file's identity, not the handle's text, which a host may reuse.
    pub fn open_reusing<'a>(handle: &str, len: usize, last: &'a mut Option<Mapping>) -> Result<&'a Mapping, String> {
        let path = CString::new(handle).map_err(|_| "bad handle")?;
        // SAFETY: a valid C string; the result is checked.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(os_error(format!("could not open the segment {handle}")));
        }
        // SAFETY: `fd` was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
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

    fn map(fd: OwnedFd, len: usize, write: bool) -> Result<Mapping, String> {
        if len == 0 {
            return Ok(Mapping { ptr: std::ptr::NonNull::dangling().as_ptr(), len, fd });
        }
        let prot = if write { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // A worker's mapping is populated at once: one pass in the kernel instead of a fault
        // per 4 KiB page when the tensor is first read. The host's stays lazy (it fills it once).
        let flags = if write { libc::MAP_SHARED } else { libc::MAP_SHARED | libc::MAP_POPULATE };
        // SAFETY: a fresh mapping of an open file; the result is checked.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(os_error(format!("could not map a {len}-byte segment")));
        }
        Ok(Mapping { ptr: ptr.cast(), len, fd })
    }

    /// What a worker opens to map it.
    pub fn handle(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Its bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Its bytes, to write (a host's mapping).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; only the host maps it writable, and only it writes.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// A file's device and inode.
fn identity(fd: &OwnedFd) -> Result<(u64, u64), String> {
    // SAFETY: `stat` is plain data, filled by `fstat` on an open descriptor.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the result is checked.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(os_error("could not stat a segment".into()));
    }
    Ok((st.st_dev as u64, st.st_ino as u64))
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps what `map` mapped.
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
