//! Building what is measured: cargo (`cargo`), git refs and their checkouts (`git`), ranges of
//! commits (`range`), the cache of built files per commit (`artifacts`), path dependencies outside
//! the repository in a checkout (`outside`), the fresh copies that are measured (`stage`), and
//! interrupts that wait for a checkout to be whole (`interrupt`).

pub mod artifacts;
pub mod cargo;
pub mod git;
pub mod interrupt;
pub mod outside;
pub mod range;
pub mod stage;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What kind of file a built target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// An executable (`[[bin]]`).
    Bin,
    /// A shared library (`cdylib` or `dylib`).
    SharedLib,
}

/// A target to build: package, target name and kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ArtifactRef {
    /// Package name.
    pub package: String,
    /// Target name.
    pub target: String,
    /// Executable or shared library.
    pub kind: ArtifactKind,
}

impl ArtifactRef {
    /// A `[[bin]]` target.
    pub fn bin(package: &str, target: &str) -> Self {
        ArtifactRef { package: package.into(), target: target.into(), kind: ArtifactKind::Bin }
    }

    /// A `cdylib`/`dylib` target.
    pub fn lib(package: &str, target: &str) -> Self {
        ArtifactRef { package: package.into(), target: target.into(), kind: ArtifactKind::SharedLib }
    }

    /// The file name cargo gives the output (`app`, `libapp.so`).
    pub fn file_name(&self) -> String {
        match self.kind {
            ArtifactKind::Bin => self.target.clone(),
            ArtifactKind::SharedLib => format!("lib{}.so", self.target),
        }
    }
}

impl std::fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.package, self.target)
    }
}

/// Built executables and libraries by package and target.
pub type Executables = BTreeMap<ArtifactRef, PathBuf>;
