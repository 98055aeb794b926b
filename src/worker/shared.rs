//! Large call arguments through shared memory (docs/PROTOCOL.md, "Shared memory").
//!
//! Over a socket or a pipe, the kernel copies every byte twice (into its buffer, out of it) in
//! steps of the buffer, waking writer and reader for each step: a 50 MiB argument costs two to
//! three `memcpy`s before the method sees it. Through a segment both processes map, the host
//! copies it once (the least any RPC pays when the caller's data is in its own memory) and the
//! worker reads it where it lies. The host offers the segment, a worker that maps it says so in
//! its `HELLO`, and only then do large arguments go that way: a worker that knows nothing of it
//! gets every byte on the connection, as before.
//!
//! The system calls of the segment are here, in one place.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// The environment variable through which the host offers its segment: a path the worker opens
/// (`/proc/<host pid>/fd/<n>`, a memfd).
pub const SHARED_ENV: &str = "COLDBENCH_RPC_SHM";

/// The word a worker adds to the protocol frame of its `HELLO` when it has mapped the segment.
pub const FEATURE: &str = "shm";

/// From this size on, an argument goes through the segment: below it, the connection's own
/// copies cost less than the round of a reference.
pub const SHARED_FROM: usize = 1 << 20;

/// The bytes of a reference frame: offset and length, each a `u64`, little-endian.
pub const REFERENCE_LEN: usize = 16;

/// A range of memory mapped from the segment, unmapped when the last holder lets go.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory that lives until `Drop`; the host writes through it only
// while no call that reads it is outstanding (see `Segment::place`), so sharing its address
// between threads adds no race the protocol does not already rule out.
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: readers only read, and the one writer waits for the reply.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `fd`, shared, readable (and writable when `write`), with
    /// every page mapped at once: one fault per page on the first call would cost as much as
    /// the copy it saves.
    fn new(fd: &impl AsRawFd, len: usize, write: bool) -> io::Result<Mapping> {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        // SAFETY: a new mapping at an address the kernel chooses; it aliases no Rust object, and
        // `Drop` unmaps exactly what was mapped.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED | libc::MAP_POPULATE, fd.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr.cast(), len })
    }

    /// The bytes at `offset`, `len` long, which the caller has checked lie within the mapping.
    fn slice(&self, offset: usize, len: usize) -> &[u8] {
        debug_assert!(offset + len <= self.len);
        // SAFETY: the range lies within the mapping, which lives as long as `self`; while a
        // call is outstanding its range is not written (the host waits for the reply).
        unsafe { std::slice::from_raw_parts(self.ptr.add(offset), len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are what `mmap` returned and was given; nothing borrows the
        // memory any more (borrows live no longer than `self`).
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// The host's side: a memory file (memfd) it copies large arguments into.
pub struct Segment {
    file: File,
    map: Option<Mapping>,
    /// The call whose argument lies in the segment and has no reply yet.
    busy: Option<u64>,
    /// Whether the worker mapped it (its `HELLO` said so).
    accepted: bool,
}

impl Segment {
    /// A new, empty segment, closed in every child the host starts: the worker opens it by path.
    pub fn create() -> io::Result<Segment> {
        // SAFETY: `memfd_create` reads a NUL-terminated name and returns a new descriptor or -1.
        let fd = unsafe { libc::memfd_create(c"coldbench-rpc".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor just opened, owned by nothing else.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(Segment { file, map: None, busy: None, accepted: false })
    }

    /// Where a worker opens it.
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.file.as_raw_fd())
    }

    /// The worker said in its `HELLO` that it mapped the segment.
    pub fn accept(&mut self) {
        self.accepted = true;
    }

    /// Whether the worker said it mapped the segment.
    pub fn accepted(&self) -> bool {
        self.accepted
    }

    /// Whether an argument of `len` bytes should go through the segment now.
    pub fn takes(&self, len: usize) -> bool {
        self.accepted && self.busy.is_none() && len >= SHARED_FROM
    }

    /// Copies `bytes`, the argument of call `id`, into the segment (grown to fit) and returns the
    /// reference frame that tells the worker where it lies. The segment is not written again
    /// until the reply to `id` has come ([`Segment::replied`]).
    pub fn place(&mut self, id: u64, bytes: &[u8]) -> io::Result<[u8; REFERENCE_LEN]> {
        if self.map.as_ref().is_none_or(|m| m.len < bytes.len()) {
            // Whole MiBs, so that arguments a little larger than the last one reuse the mapping.
            let len = bytes.len().div_ceil(1 << 20) << 20;
            self.map = None;
            self.file.set_len(len as u64)?;
            self.map = Some(Mapping::new(&self.file, len, true)?);
        }
        let map = self.map.as_ref().expect("mapped above");
        // SAFETY: the mapping is writable and at least `bytes.len()` long; no reader holds a
        // range of it (`busy` is `None`, so the worker has answered every call that pointed
        // into it), and `bytes` is the host's own memory, not the mapping.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), map.ptr, bytes.len()) };
        self.busy = Some(id);
        let mut reference = [0u8; REFERENCE_LEN];
        reference[8..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        Ok(reference)
    }

    /// The reply to call `id` came: its argument's range may be written again.
    pub fn replied(&mut self, id: u64) {
        if self.busy == Some(id) {
            self.busy = None;
        }
    }
}

/// The worker's side: the host's segment, mapped read-only, remapped when it has grown.
pub struct View {
    file: File,
    map: Option<Arc<Mapping>>,
}

impl View {
    /// Opens the segment at `path` (what [`SHARED_ENV`] says).
    pub fn open(path: &str) -> io::Result<View> {
        Ok(View { file: File::open(path)?, map: None })
    }

    /// The argument that a reference frame points at, read where it lies.
    pub fn payload(&mut self, reference: &[u8]) -> Result<SharedBytes, BadReference> {
        let bad = |why: String| BadReference(format!("the shared-memory reference {why}"));
        let fields: [u8; REFERENCE_LEN] =
            reference.try_into().map_err(|_| bad(format!("has {} bytes, the protocol says 16", reference.len())))?;
        let word = |i: usize| u64::from_le_bytes(fields[i..i + 8].try_into().unwrap());
        let (offset, len) = (word(0), word(8));
        let end = offset.checked_add(len).ok_or_else(|| bad(format!("{offset} + {len} overflows")))?;
        if self.map.as_ref().is_none_or(|m| (m.len as u64) < end) {
            let size = self.file.metadata().map_err(|e| bad(format!("could not be read: {e}")))?.len();
            if size < end {
                return Err(bad(format!("ends at byte {end}, the segment has {size}")));
            }
            // An argument still held keeps the old mapping alive through its `Arc`.
            let map =
                Mapping::new(&self.file, size as usize, false).map_err(|e| bad(format!("could not be mapped: {e}")))?;
            self.map = Some(Arc::new(map));
        }
        let map = Arc::clone(self.map.as_ref().expect("mapped above"));
        Ok(SharedBytes { map, offset: offset as usize, len: len as usize })
    }
}

/// Why a reference frame points at nothing that can be read: the message says what it holds.
#[derive(Debug)]
pub struct BadReference(pub String);

/// An argument in the segment, as a frame's bytes.
pub struct SharedBytes {
    map: Arc<Mapping>,
    offset: usize,
    len: usize,
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.map.slice(self.offset, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_placed_by_the_host_reads_back_in_the_worker_s_view() {
        let mut seg = Segment::create().unwrap();
        let mut view = View::open(&seg.path()).unwrap();
        assert!(!seg.takes(SHARED_FROM), "not before the worker accepted");
        seg.accept();
        assert!(!seg.takes(SHARED_FROM - 1) && seg.takes(SHARED_FROM));
        let first: Vec<u8> = (0..SHARED_FROM as u32).map(|i| (i % 251) as u8).collect();
        let reference = seg.place(1, &first).unwrap();
        assert!(!seg.takes(SHARED_FROM), "busy until the reply");
        let got = view.payload(&reference).unwrap();
        assert_eq!(got.as_ref(), &first[..]);
        seg.replied(2);
        assert!(!seg.takes(SHARED_FROM), "another call's reply frees nothing");
        seg.replied(1);
        // A larger argument grows the segment; the view remaps, and the first argument, still
        // held, keeps its old mapping.
        let second = vec![7u8; 3 * SHARED_FROM + 5];
        let reference = seg.place(3, &second).unwrap();
        let got2 = view.payload(&reference).unwrap();
        assert_eq!(got2.as_ref(), &second[..]);
        assert_eq!(got.as_ref().len(), first.len());
    }

    #[test]
    fn a_reference_outside_the_segment_is_refused_with_where_it_ends() {
        let mut seg = Segment::create().unwrap();
        seg.accept();
        seg.place(1, &vec![1u8; SHARED_FROM]).unwrap();
        let mut view = View::open(&seg.path()).unwrap();
        let mut reference = [0u8; REFERENCE_LEN];
        reference[..8].copy_from_slice(&(5u64 << 20).to_le_bytes());
        reference[8..].copy_from_slice(&10u64.to_le_bytes());
        let err = view.payload(&reference).err().unwrap().0;
        assert_eq!(
            err,
            format!("the shared-memory reference ends at byte {}, the segment has {}", (5u64 << 20) + 10, 1u64 << 20)
        );
        assert!(view.payload(&[0; 3]).err().unwrap().0.contains("has 3 bytes"));
        reference[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(view.payload(&reference).err().unwrap().0.contains("overflows"));
    }
}
