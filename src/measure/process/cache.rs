//! The page cache: evicting files before a cold run, and measuring how much of a file stayed.

use std::fs::File;
use std::io;
use std::path::Path;

use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};

pub use crate::discover::config::cache::CacheMode;

/// Asks the kernel to drop the file's clean pages from the page cache.
pub fn evict(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    // DONTNEED skips dirty pages, and a binary cargo has just written is dirty until writeback.
    file.sync_data()?;
    // Pages mapped by running processes stay; `residency` shows what did.
    posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)?;
    Ok(())
}

/// The fraction of the file's pages that are in the page cache (`mincore`), 0 for an empty file.
pub fn residency(path: &Path) -> io::Result<f64> {
    let file = File::open(path)?;
    let (cached, pages) = crate::sys::files::cached_pages(&file)?;
    if pages == 0 {
        return Ok(0.0);
    }
    Ok(cached as f64 / pages as f64)
}

/// Writes `3` to `/proc/sys/vm/drop_caches` after a sync: drops every clean cached page.
pub fn drop_all() -> io::Result<()> {
    nix::unistd::sync();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n")
}

/// Checks that `--cache drop` can work here, with a message that says why not.
pub fn check_drop_allowed() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
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
