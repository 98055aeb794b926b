//! The heap, the page size, and the page tables of this process's file mappings: `malloc_trim` and
//! `madvise` have no safe wrapper, and dropping pages is sound only for mappings no one can have
//! written, which this module checks itself.

/// Hands the allocator's free memory back to the kernel (glibc's `malloc_trim`), so that a
/// process's resident size reflects what it holds, not what it once held.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap under its lock; any argument is valid.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The size of a memory page, in bytes (4096 where the system does not say).
pub fn page_size() -> usize {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(size)) if size > 0 => size as usize,
        _ => 4096,
    }
}

/// Drops from this process's page tables every file mapping that holds no anonymous (written)
/// page (`MADV_DONTNEED`): those pages are pure page-cache copies, so nothing is lost — a later
/// access faults the same bytes back in — and the resident size no longer counts them. Best
/// effort: where `/proc/self/smaps` cannot be read, nothing is dropped.
///
/// Private writable mappings are left alone even when unwritten (a write between the reading of
/// `smaps` and the `madvise` would be lost; a loaded program has none: relocation writes them).
/// And only in a single-threaded process; with more threads it does nothing: another thread could
/// unmap a mapping and map memory it then writes at the same address in between.
pub fn drop_unwritten_file_pages() {
    if !single_threaded() {
        return;
    }
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else { return };
    for (lo, hi) in unwritten_file_mappings(&smaps) {
        // SAFETY: a file mapping of this process without a single anonymous page (per `smaps`, read
        // just now), read-only or shared: its pages are the file's (a shared one's writes are in
        // the page cache), and dropping them only makes the next access fault. This is the only
        // thread, and nothing between the read and here unmaps a file mapping, so the range is
        // still that mapping.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED);
        }
    }
}

/// Whether this process has one thread (`Threads:` of `/proc/self/status`).
fn single_threaded() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return false };
    status.lines().find_map(|l| l.strip_prefix("Threads:")).is_some_and(|n| n.trim() == "1")
}

/// The address ranges of the file mappings in `smaps` whose `Anonymous` size is 0.
fn unwritten_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut current: Option<(usize, usize, bool)> = None;
    let mut droppable = Vec::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((lo, hi)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // A file mapping: an inode and an absolute path ([heap], [stack], [vdso] have none).
                // Not a private writable one: a first write to it (a static's page) would be lost.
                let private_writable = fields.get(1).is_some_and(|p| p.contains('w') && p.ends_with('p'));
                let file = fields.len() >= 6 && fields[4] != "0" && fields[5].starts_with('/') && !private_writable;
                current = Some((lo, hi, file));
                continue;
            }
        }
        if let (Some(kb), Some((lo, hi, true))) = (line.strip_prefix("Anonymous:"), current) {
            if kb.trim() == "0 kB" {
                droppable.push((lo, hi));
            }
        }
    }
    droppable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_mappings_without_written_pages_are_dropped() {
        let smaps = "\
7f0000000000-7f0000002000 r-xp 00000000 08:01 1234 /usr/lib/libc.so.6
Rss:                   8 kB
Anonymous:             0 kB
7f0000002000-7f0000003000 rw-p 00002000 08:01 1234 /usr/lib/libc.so.6
Anonymous:             4 kB
7f0000004000-7f0000005000 rw-p 00003000 08:01 1234 /usr/lib/libc.so.6
Anonymous:             0 kB
7f0000005000-7f0000006000 rw-s 00000000 08:01 99 /dev/shm/x
Anonymous:             0 kB
7f0000003000-7f0000004000 rw-p 00000000 00:00 0 
Anonymous:             0 kB
7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0 [stack]
Anonymous:             0 kB
";
        assert_eq!(
            unwritten_file_mappings(smaps),
            [(0x7f0000000000, 0x7f0000002000), (0x7f0000005000, 0x7f0000006000)]
        );
        assert!(page_size() >= 4096);
    }
}
