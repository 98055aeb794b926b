//! The page cache: evicting files before a cold run, and measuring how much of a file stayed.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

pub use crate::discover::config::cache::CacheMode;

/// Asks the kernel to drop the file's clean pages from the page cache.
pub fn evict(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    // DONTNEED skips dirty pages, and a binary cargo has just written is dirty until writeback.
    file.sync_data()?;
    // Pages mapped by running processes stay; `residency` shows what did.
    // SAFETY: `file` is open for the call; the advice only drops cached pages and touches no memory
    // of this process.
    let r = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// The fraction of the file's pages that are in the page cache (`mincore`), 0 for an empty file.
pub fn residency(path: &Path) -> io::Result<f64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len() as usize;
    if len == 0 {
        return Ok(0.0);
    }
    // SAFETY: `sysconf` takes and returns integers; on Linux the page size is always known.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let pages = len.div_ceil(page);
    // SAFETY: a new read-only mapping of `len` bytes of the open `file`, checked for MAP_FAILED;
    // `mincore` writes one byte per page of it into `vec`, which is `pages` (len rounded up to
    // pages) long; the mapping is never read through and is unmapped with the length it was given.
    unsafe {
        let addr = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0);
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut vec = vec![0u8; pages];
        let r = libc::mincore(addr, len, vec.as_mut_ptr());
        let err = io::Error::last_os_error();
        libc::munmap(addr, len);
        if r != 0 {
            return Err(err);
        }
        Ok(vec.iter().filter(|b| **b & 1 == 1).count() as f64 / pages as f64)
    }
}

/// Writes `3` to `/proc/sys/vm/drop_caches` after a sync: drops every clean cached page.
pub fn drop_all() -> io::Result<()> {
    // SAFETY: `sync` takes no arguments and touches no memory of this process.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3\n")
}

/// Checks that `--cache drop` can work here, with a message that says why not.
pub fn check_drop_allowed() -> Result<(), String> {
    // SAFETY: `geteuid` takes no arguments and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("--cache drop needs root: it writes /proc/sys/vm/drop_caches; use --cache cold instead".into());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/vm/drop_caches")
        .map(|_| ())
        .map_err(|e| format!("--cache drop cannot write /proc/sys/vm/drop_caches ({e}); use --cache cold instead"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn eviction_empties_the_cache_for_an_unmapped_file() {
        let mut f = tempfile::NamedTempFile::new_in(std::env::current_dir().unwrap()).unwrap();
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
        f.as_file().sync_all().unwrap();
        std::fs::read(f.path()).unwrap();
        assert!(residency(f.path()).unwrap() > 0.9, "just read: resident");
        evict(f.path()).unwrap();
        assert!(residency(f.path()).unwrap() < 0.1, "evicted");
    }
}
