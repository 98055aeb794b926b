//! Fresh copies of the files that are measured.
//!
//! Why: the way a file was written decides how its pages sit in the page cache, and that changes
//! how fast it starts. rust-lld (the default linker on x86_64 Linux since Rust 1.90) writes its
//! output through a shared writable `mmap`, so the page cache holds the new binary in 4 KiB
//! (order-0) folios; a `write(2)` of the same bytes (`cp`, an install) gives large folios (up to
//! 128 KiB seen on ext4, Linux 6.18). Starting the program then takes fewer page faults and less
//! time from the copy: 5% more minor faults and 9% more time for a 10 MB binary as the linker
//! left it, 1.6× the time for a 13 MB one that reads its data (BENCHMARKS.md). A comparison of a
//! freshly linked candidate with a cached baseline copy would read identical code as a
//! regression. So every executable and library that is spawned, `dlopen`ed or evicted is first
//! written afresh here, the same way on both sides of a comparison and in a plain run — which is
//! also how users deploy a binary.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Executables;
pub use crate::results::STAGE_DIR;

/// The copies of one side's built files, removed when dropped.
#[derive(Debug)]
pub struct Staged {
    /// As cargo built them (or as the artifact cache holds them): what reports name.
    pub built: Executables,
    /// The fresh copies that are run, loaded and evicted.
    pub copies: Executables,
    /// The results folder (`target/coldbench`), where kinds also keep what they make for a side
    /// and reuse (Python environments).
    pub store_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Staged {
    /// Copies every file of `built` into a new folder under `<store>/stage/`. All copies of a
    /// side share one folder with the names cargo gave them, as in cargo's output folder, so a
    /// program that looks for a sibling binary beside `current_exe()` still finds it.
    pub fn new(store_dir: &Path, label: &str, built: Executables) -> Result<Staged> {
        if built.is_empty() {
            return Ok(Staged { built, copies: Executables::new(), store_dir: store_dir.to_path_buf(), _dir: None });
        }
        let parent = store_dir.join(STAGE_DIR);
        std::fs::create_dir_all(&parent).with_context(|| format!("could not create {}", parent.display()))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{label}-"))
            .tempdir_in(&parent)
            .with_context(|| format!("could not create a folder in {}", parent.display()))?;
        let mut copies = Executables::new();
        for (artifact, path) in &built {
            let dest = dir.path().join(artifact.file_name());
            fresh_copy(path, &dest)?;
            copies.insert(artifact.clone(), dest);
        }
        Ok(Staged { built, copies, store_dir: store_dir.to_path_buf(), _dir: Some(dir) })
    }

    /// The file as built for a copy's path (reports name files the user knows).
    pub fn built_path_of(&self, copy: &Path) -> Option<&PathBuf> {
        let artifact = self.copies.iter().find(|(_, p)| p.as_path() == copy).map(|(a, _)| a)?;
        self.built.get(artifact)
    }
}

/// Writes `src` to a new file `dest` with plain `write(2)` calls of 1 MiB, keeps its permission
/// bits, and syncs it, so that the copy's page-cache state is the same whatever wrote `src`, and
/// no writeback of it runs while it is measured.
///
/// Not `std::fs::copy`: `copy_file_range` may share extents (reflink) on some file systems, which
/// would carry the source's layout over.
pub fn fresh_copy(src: &Path, dest: &Path) -> Result<()> {
    let mut input = File::open(src).with_context(|| format!("could not read {}", src.display()))?;
    let mode = input.metadata().with_context(|| format!("could not read {}", src.display()))?.permissions().mode();
    let _ = std::fs::remove_file(dest);
    let mut output = File::options()
        .write(true)
        .create_new(true)
        .open(dest)
        .with_context(|| format!("could not create {}", dest.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("could not read {}", src.display())),
        };
        output.write_all(&buf[..n]).with_context(|| format!("could not write {}", dest.display()))?;
    }
    output.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
    output.sync_all().with_context(|| format!("could not write {}", dest.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::ArtifactRef;

    #[test]
    fn copies_keep_bytes_names_and_modes_and_go_away() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("built-app");
        std::fs::write(&exe, b"\x7fELF bytes").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = ArtifactRef::bin("pkg", "app");
        let staged = Staged::new(dir.path(), "candidate", [(bin.clone(), exe.clone())].into()).unwrap();
        let copy = staged.copies[&bin].clone();
        assert_eq!(copy.file_name().unwrap(), "app");
        assert!(copy.starts_with(dir.path().join(STAGE_DIR)));
        assert_eq!(std::fs::read(&copy).unwrap(), b"\x7fELF bytes");
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(staged.built_path_of(&copy), Some(&exe));
        drop(staged);
        assert!(!copy.exists(), "the copies are removed with the stage");
    }
}
