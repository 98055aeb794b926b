//! Files and the page cache: how much of a file is cached (`mincore` on a mapping of it), which
//! `nix` leaves to `unsafe` code (its `mmap` is `unsafe`, and it has no `mincore`).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// How many of `file`'s pages are in the page cache, and how many pages it has (0 for an empty
/// file).
pub fn cached_pages(file: &File) -> io::Result<(usize, usize)> {
    let len = file.metadata()?.len() as usize;
    if len == 0 {
        return Ok((0, 0));
    }
    let pages = len.div_ceil(super::memory::page_size());
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
        Ok((vec.iter().filter(|b| **b & 1 == 1).count(), pages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_just_written_is_cached_and_an_empty_one_has_no_pages() {
        let mut f = tempfile::NamedTempFile::new_in(std::env::current_dir().unwrap()).unwrap();
        assert_eq!(cached_pages(f.as_file()).unwrap(), (0, 0));
        f.write_all(&[7u8; 10_000]).unwrap();
        let (cached, pages) = cached_pages(f.as_file()).unwrap();
        assert_eq!(pages, 10_000usize.div_ceil(super::super::memory::page_size()));
        assert!(cached <= pages);
    }
}
