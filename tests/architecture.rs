//! The layering docs/ARCHITECTURE.md draws, checked on the source text so that it cannot drift
//! unseen: which top-level module may import which, no two files of a folder importing each other,
//! no file over 600 lines, no kind's name used outside its own folder, `unsafe` only where a system
//! call needs it.
//!
//! Each check starts from a list of what the code does today against that target ("Target
//! layering" in docs/ARCHITECTURE.md): the redesign empties the lists step by step. A violation not
//! on its list fails, and so does an entry that no longer happens, so that the lists only shrink.
//! Test code (`mod tests` blocks and `*_tests.rs` files) is not held to the layering.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The rank of each top-level module: a module imports only modules of its rank or a lower one.
const RANKS: &[(&str, u8)] = &[
    ("units", 0),
    ("exit", 0),
    ("error", 0),
    ("ui", 0),
    ("results", 0),
    ("self_report", 0),
    ("testing", 0),
    ("gpu", 0),
    ("host", 0),
    ("worker", 0),
    ("sys", 0),
    ("stats", 0),
    ("discover", 1),
    ("build", 2),
    ("measure", 3),
    ("suites", 4),
    ("analysis", 5),
    ("plan", 5),
    ("report", 6),
    ("pipeline", 7),
    ("cli", 8),
    ("commands", 9),
];

/// Imports against the ranks today: `file -> module`.
const ALLOWED_IMPORTS: &[&str] = &[];

/// Sibling files that import each other today: `a <-> b`, in name order.
const ALLOWED_CYCLES: &[&str] = &[];

/// Files over 600 lines today.
const ALLOWED_LONG: &[&str] = &[];

/// Files outside a kind's folder that name a kind today.
const ALLOWED_KIND_NAMES: &[&str] = &[];

/// Files with `unsafe` code outside `src/sys/` and the worker's transport today.
const ALLOWED_UNSAFE: &[&str] = &[];

/// The folders of the benchmark kinds, each the only place its name (`KIND`) may be used.
const KIND_FOLDERS: &[&str] = &[
    "src/measure/start/",
    "src/measure/load/",
    "src/measure/python/",
    "src/suites/zmq/",
    "src/suites/rpc/",
    "src/suites/tensor/",
];

/// Where `unsafe` belongs: the system-call layer, and the worker's shared memory and transport.
const UNSAFE_HOMES: &[&str] = &["src/sys/", "src/worker/"];

struct Source {
    /// `src/measure/scheduler.rs`.
    path: String,
    /// The module path: `["measure", "scheduler"]` (a `mod.rs` is its folder's module).
    module: Vec<String>,
    /// Every line.
    lines: usize,
    /// The code outside test modules, without comments.
    code: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code a file compiles into the library: up to its `#[cfg(test)] mod tests`, each line's
/// comment cut off (doc links name modules without importing them).
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]" {
            let next = lines.peek().map(|l| l.trim_start()).unwrap_or_default();
            if next.starts_with("mod tests") || next.starts_with("#[path") {
                break;
            }
        }
        if trimmed.starts_with("//") {
            continue;
        }
        // A `//` inside a string literal would cut the line short: harmless, as no import is in one.
        code.push_str(line.split(" //").next().unwrap_or_default());
        code.push('\n');
    }
    code
}

fn sources() -> Vec<Source> {
    let mut files = Vec::new();
    collect(&root().join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        // The crate roots (the library's, and the binaries' that only call into it) are no module.
        let root = rel == "src/main.rs" || rel == "src/lib.rs" || rel.starts_with("src/bin/");
        if name.ends_with("_tests") || name == "tests" || root {
            continue;
        }
        let mut module: Vec<String> =
            rel.trim_start_matches("src/").trim_end_matches(".rs").split('/').map(str::to_string).collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        out.push(Source { path: rel, module, lines: text.lines().count(), code: code_of(&text) });
    }
    out
}

fn rank(module: &str) -> u8 {
    RANKS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("src/{module} has no rank: add it to RANKS and to docs/ARCHITECTURE.md"))
}

/// `a::{b, c::{d, e}}` written out as `a::b a::c::d a::c::e`, so that every path in a grouped
/// `use` is seen whole.
fn expand_groups(code: &str) -> String {
    let mut code = code.to_string();
    while let Some(open) = code.find("::{") {
        let start = code[..open].rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map_or(0, |i| i + 1);
        let prefix = code[start..open].to_string();
        let (mut depth, mut close) = (0, code.len());
        for (i, c) in code[open + 2..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + 2 + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &code[open + 3..close.min(code.len())];
        let (mut items, mut depth, mut from) = (Vec::new(), 0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[from..i]);
                    from = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[from..]);
        let written: Vec<String> = items
            .iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
            .map(|item| if item == "self" { prefix.clone() } else { format!("{prefix}::{item}") })
            .collect();
        code.replace_range(start..(close + 1).min(code.len()), &written.join(" ; "));
    }
    code
}

/// Paths the code names — `crate::a::b`, `super::c`, `self::d` — each as a module path resolved
/// from `module`, the file's own (for a `mod.rs`, its folder's).
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = expand_groups(code);
    let mut out = Vec::new();
    for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        let parts: Vec<&str> = word.split("::").filter(|p| !p.is_empty()).collect();
        let Some(first) = parts.first() else { continue };
        let mut path: Vec<String> = match *first {
            "crate" => Vec::new(),
            "super" | "self" => module.to_vec(),
            _ => continue,
        };
        let mut rest = &parts[..];
        if *first == "crate" {
            rest = &rest[1..];
        }
        while let Some(&head) = rest.first() {
            match head {
                "self" => {}
                "super" => {
                    path.pop();
                }
                _ => break,
            }
            rest = &rest[1..];
        }
        path.extend(rest.iter().map(|s| s.to_string()));
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// Compares what was found with what is allowed: new violations and stale entries both fail.
fn check(what: &str, found: BTreeSet<String>, allowed: &[&str]) {
    let allowed: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
    let new: Vec<&String> = found.difference(&allowed).collect();
    let gone: Vec<&String> = allowed.difference(&found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "{what}:\n  new (fix them, see docs/ARCHITECTURE.md): {new:#?}\n  no longer found (delete them from the list): {gone:#?}"
    );
}

#[test]
fn imports_respect_the_ranks() {
    let mut found = BTreeSet::new();
    for s in sources() {
        let own = rank(&s.module[0]);
        for target in references(&s.code, &s.module) {
            let top = &target[0];
            if top == &s.module[0] || !RANKS.iter().any(|(m, _)| m == top) {
                continue;
            }
            if rank(top) > own {
                found.insert(format!("{} -> {top}", s.path));
            }
        }
    }
    check("imports from a later stage", found, ALLOWED_IMPORTS);
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let sources = sources();
    // Each file's module, and the sibling files (or folders) it names; the top-level modules are
    // the ranks' business.
    let mut edges = BTreeSet::new();
    for s in sources.iter().filter(|s| s.module.len() > 1) {
        let parent = &s.module[..s.module.len() - 1];
        for target in references(&s.code, &s.module) {
            if target.len() <= parent.len() || target[..parent.len()] != *parent {
                continue;
            }
            let sibling = &target[parent.len()];
            if *sibling == s.module[s.module.len() - 1] {
                continue;
            }
            let is_file = sources.iter().any(|o| {
                o.module.len() == s.module.len()
                    && o.module[..parent.len()] == *parent
                    && o.module.last() == Some(sibling)
            });
            if is_file {
                edges.insert((s.module.join("::"), format!("{}::{sibling}", parent.join("::"))));
            }
        }
    }
    let found: BTreeSet<String> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    check("sibling files that import each other", found, ALLOWED_CYCLES);
}

#[test]
fn no_file_is_over_600_lines() {
    let found = sources().into_iter().filter(|s| s.lines > 600).map(|s| s.path).collect();
    check("files over 600 lines (split them by what they do)", found, ALLOWED_LONG);
}

#[test]
fn a_kind_is_named_only_in_its_own_folder() {
    let found = sources()
        .into_iter()
        .filter(|s| !KIND_FOLDERS.iter().any(|f| s.path.starts_with(f)))
        .filter(|s| s.code.contains("::KIND"))
        .map(|s| s.path)
        .collect();
    check("files that name a kind outside its folder", found, ALLOWED_KIND_NAMES);
}

#[test]
fn unsafe_code_is_only_where_system_calls_are() {
    let found = sources()
        .into_iter()
        .filter(|s| !UNSAFE_HOMES.iter().any(|h| s.path.starts_with(h)))
        .filter(|s| ["unsafe {", "unsafe fn", "unsafe impl", "unsafe extern"].iter().any(|u| s.code.contains(u)))
        .map(|s| s.path)
        .collect();
    check("files with unsafe code outside src/sys/ and src/worker/", found, ALLOWED_UNSAFE);
}
