//! A start's profile by function (`--measure profile`): plain data, as written under a start
//! row's facts, bounded in size so that result files stay small.

use serde::{Deserialize, Serialize};

/// Where a function's instructions belong, so that the loader's work and the program's own are
/// told apart at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionGroup {
    /// The dynamic loader applying relocations (and binding lazily).
    Relocation,
    /// The dynamic loader looking symbols up for relocations.
    SymbolLookup,
    /// The dynamic loader's other work: finding, mapping and initialising objects.
    Loading,
    /// libc's and the language runtime's start-up and exit around `main`.
    Runtime,
    /// The program's own code (in the executable).
    Program,
    /// Code of other shared objects the program calls (libc's `malloc`, a dependency's library).
    Libraries,
    /// Valgrind's own preloaded objects: not part of a start outside valgrind.
    Valgrind,
}

impl FunctionGroup {
    /// Every group, in the order reports list them.
    pub const ALL: [FunctionGroup; 7] = [
        FunctionGroup::Relocation,
        FunctionGroup::SymbolLookup,
        FunctionGroup::Loading,
        FunctionGroup::Runtime,
        FunctionGroup::Program,
        FunctionGroup::Libraries,
        FunctionGroup::Valgrind,
    ];

    /// The label reports show.
    pub fn label(self) -> &'static str {
        match self {
            FunctionGroup::Relocation => "loader: relocation",
            FunctionGroup::SymbolLookup => "loader: symbol lookup",
            FunctionGroup::Loading => "loader: other",
            FunctionGroup::Runtime => "runtime start-up/exit",
            FunctionGroup::Program => "program",
            FunctionGroup::Libraries => "libraries",
            FunctionGroup::Valgrind => "valgrind preload",
        }
    }

    /// Its name in files (`symbol_lookup`).
    pub fn key(self) -> &'static str {
        match self {
            FunctionGroup::Relocation => "relocation",
            FunctionGroup::SymbolLookup => "symbol_lookup",
            FunctionGroup::Loading => "loading",
            FunctionGroup::Runtime => "runtime",
            FunctionGroup::Program => "program",
            FunctionGroup::Libraries => "libraries",
            FunctionGroup::Valgrind => "valgrind",
        }
    }

    /// Whether it is the dynamic loader's work.
    pub fn is_loader(self) -> bool {
        matches!(self, FunctionGroup::Relocation | FunctionGroup::SymbolLookup | FunctionGroup::Loading)
    }
}

/// The profile of one run under callgrind: the run whose instruction count was the side's median.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Instructions of the run.
    pub total: u64,
    /// How many functions reports list (`--top`).
    pub top: usize,
    /// Functions whose own instructions reach `folded_below`, most first (at most a few hundred).
    pub functions: Vec<ProfiledFunction>,
    /// The functions below that, folded together.
    pub other: Folded,
    /// Self instructions under which functions are folded into `other`.
    pub folded_below: u64,
    /// Self instructions per object (the executable, `ld-linux-x86-64.so.2`, `libc.so.6`, …), of
    /// every function, most first.
    pub objects: Vec<Share>,
    /// Self instructions per Rust crate, of every Rust function, most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crates: Vec<Share>,
    /// Self instructions per group, of every function, in [`FunctionGroup::ALL`] order.
    pub groups: Vec<GroupShare>,
    /// The call tree by inclusive instructions, from the process's first function down; calls
    /// below a small share of the run are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tree: Vec<CallNode>,
}

/// A function of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfiledFunction {
    /// Its name, demangled, without Rust's hash.
    pub name: String,
    /// The file name of its object.
    pub object: String,
    /// For a Rust function, its crate.
    #[serde(rename = "crate", default, skip_serializing_if = "Option::is_none")]
    pub krate: Option<String>,
    /// Its group.
    pub group: FunctionGroup,
    /// Instructions it executed itself.
    #[serde(rename = "self")]
    pub self_instructions: u64,
    /// With everything it called.
    pub inclusive: u64,
    /// Calls into it.
    pub calls: u64,
}

impl ProfiledFunction {
    /// `name [object]`: what identifies a function on both sides of a comparison.
    pub fn key(&self) -> String {
        format!("{} [{}]", self.name, self.object)
    }
}

/// Functions folded together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folded {
    /// How many.
    pub functions: u64,
    /// Their self instructions together.
    pub instructions: u64,
}

/// Self instructions of an object or a crate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// The object's file name, or the crate.
    pub name: String,
    /// Self instructions of its functions.
    pub instructions: u64,
}

/// Self instructions of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupShare {
    /// The group.
    pub group: FunctionGroup,
    /// Self instructions of its functions.
    pub instructions: u64,
}

/// A function in a call path, with the instructions spent in it and below it on that path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallNode {
    /// The function's name, as in [`ProfiledFunction::name`].
    pub name: String,
    /// Its object's file name.
    pub object: String,
    /// Inclusive instructions on this path.
    pub instructions: u64,
    /// Its group.
    pub group: FunctionGroup,
    /// The calls it made on this path, most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<CallNode>,
}
