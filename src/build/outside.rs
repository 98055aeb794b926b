//! Path dependencies that leave the repository, anchored in a checkout of a ref.
//!
//! Why: a ref is checked out under `target/coldbench/worktrees/<sha>/`, so a manifest's
//! `path = "../sibling"` that reached a crate beside the repository would point into coldbench's
//! cache, where there is nothing, and the ref would fail to build. Such a crate is in no commit:
//! both sides of a comparison can only build it as it is on disk now. So in coldbench's own
//! checkout (never in the user's files) each such relative path is rewritten to the absolute path
//! it means from the repository, and the side is told which crates come from outside it.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// A path dependency (or workspace root) of a checked-out manifest that lies outside the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    /// The manifest that names it, relative to the repository's root.
    pub manifest: PathBuf,
    /// Where in the manifest: `dependencies.sibling`, `patch.crates-io.serde`, `package.workspace`.
    pub key: String,
    /// The absolute path it means.
    pub path: PathBuf,
}

/// Dependency tables of a manifest, at the top level and under `target.<cfg>`.
const DEPENDENCY_TABLES: [&str; 5] =
    ["dependencies", "dev-dependencies", "dev_dependencies", "build-dependencies", "build_dependencies"];

/// Finds every path dependency of the manifests in `checkout` (a checkout of the repository whose
/// working folder is `repo_root`) that lies outside the repository, and rewrites the relative ones
/// to absolute paths. Running it again on the same checkout changes nothing and finds the same
/// dependencies.
pub fn anchor(checkout: &Path, repo_root: &Path) -> Result<Vec<Outside>> {
    let repo_root = normalize(repo_root);
    let mut found = Vec::new();
    for manifest in manifests(checkout)? {
        let rel = manifest.strip_prefix(checkout).expect("found under the checkout").to_path_buf();
        let meant_dir = repo_root.join(rel.parent().unwrap_or(Path::new("")));
        let text =
            std::fs::read_to_string(&manifest).with_context(|| format!("could not read {}", manifest.display()))?;
        // A manifest that does not parse is cargo's to report, if cargo reads it at all.
        let Ok(mut doc) = text.parse::<toml_edit::DocumentMut>() else { continue };
        let mut outside = Vec::new();
        let changed = anchor_document(&mut doc, &meant_dir, &repo_root, &mut outside);
        if changed {
            std::fs::write(&manifest, doc.to_string())
                .with_context(|| format!("could not write {}", manifest.display()))?;
        }
        found.extend(outside.into_iter().map(|(key, path)| Outside { manifest: rel.clone(), key, path }));
    }
    Ok(found)
}

/// Rewrites the outside paths of one manifest, read as if it were in `dir`; returns whether
/// anything changed and adds what lies outside `root` to `found`.
fn anchor_document(
    doc: &mut toml_edit::DocumentMut,
    dir: &Path,
    root: &Path,
    found: &mut Vec<(String, PathBuf)>,
) -> bool {
    let mut changed = false;
    let mut visit = |table: &mut dyn toml_edit::TableLike, prefix: &str| {
        for (name, dep) in table.iter_mut() {
            let Some(dep) = dep.as_table_like_mut() else { continue };
            if let Some(meant) = anchor_path(dep, "path", dir, root) {
                changed |= meant.1;
                found.push((format!("{prefix}.{}", name.get()), meant.0));
            }
        }
    };
    let root_table = doc.as_table_mut();
    for table in DEPENDENCY_TABLES {
        if let Some(deps) = root_table.get_mut(table).and_then(|t| t.as_table_like_mut()) {
            visit(deps, table);
        }
    }
    if let Some(targets) = root_table.get_mut("target").and_then(|t| t.as_table_like_mut()) {
        for (cfg, target) in targets.iter_mut() {
            let Some(target) = target.as_table_like_mut() else { continue };
            for table in DEPENDENCY_TABLES {
                if let Some(deps) = target.get_mut(table).and_then(|t| t.as_table_like_mut()) {
                    visit(deps, &format!("target.{}.{table}", cfg.get()));
                }
            }
        }
    }
    if let Some(deps) =
        root_table.get_mut("workspace").and_then(|w| w.get_mut("dependencies")).and_then(|t| t.as_table_like_mut())
    {
        visit(deps, "workspace.dependencies");
    }
    if let Some(patches) = root_table.get_mut("patch").and_then(|t| t.as_table_like_mut()) {
        for (registry, deps) in patches.iter_mut() {
            if let Some(deps) = deps.as_table_like_mut() {
                visit(deps, &format!("patch.{}", registry.get()));
            }
        }
    }
    if let Some(deps) = root_table.get_mut("replace").and_then(|t| t.as_table_like_mut()) {
        visit(deps, "replace");
    }
    if let Some(package) = root_table.get_mut("package").and_then(|t| t.as_table_like_mut()) {
        if let Some((path, rewritten)) = anchor_path(package, "workspace", dir, root) {
            changed |= rewritten;
            found.push(("package.workspace".into(), path));
        }
    }
    changed
}

/// The absolute path `table.key` means from `dir` when it lies outside `root`, and whether it
/// was rewritten (a relative path) or already absolute.
fn anchor_path(table: &mut dyn toml_edit::TableLike, key: &str, dir: &Path, root: &Path) -> Option<(PathBuf, bool)> {
    let item = table.get_mut(key)?;
    let written = PathBuf::from(item.as_str()?);
    let meant = normalize(&dir.join(&written));
    if meant.starts_with(root) {
        return None;
    }
    if written.is_absolute() {
        return Some((meant, false));
    }
    let decor = item.as_value().map(|v| v.decor().clone());
    let mut value = toml_edit::Value::from(meant.display().to_string());
    if let Some(decor) = decor {
        *value.decor_mut() = decor;
    }
    *item = toml_edit::Item::Value(value);
    Some((meant, true))
}

/// Every `Cargo.toml` under `dir`, outside `.git` folders, in a stable order.
fn manifests(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder).with_context(|| format!("could not read {}", folder.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("could not read {}", folder.display()))?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() && entry.file_name() != ".git" {
                stack.push(path);
            } else if kind.is_file() && entry.file_name() == "Cargo.toml" {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `path` with `.` and `..` resolved without touching the file system, as cargo reads a
/// dependency's path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[package]
name = "app"
version = "0.1.0"
workspace = "../../../outer"

[dependencies]
inside = { path = "../lib" } # stays relative
sibling = { path = "../../../sibling", version = "1" } # beside the repository
pinned = { path = "/opt/vendored/pinned" }
serde = "1"

[target.'cfg(unix)'.dev-dependencies.unixy]
path = "../../../unixy"

[patch.crates-io]
log = { path = "../../../forks/log" }
"#;

    #[test]
    fn relative_paths_outside_the_repository_become_absolute_and_nothing_else_changes() {
        let checkout = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(checkout.path().join("crates/app")).unwrap();
        std::fs::create_dir_all(checkout.path().join(".git/x")).unwrap();
        std::fs::write(checkout.path().join(".git/x/Cargo.toml"), "path = \"../../..\"").unwrap();
        let manifest = checkout.path().join("crates/app/Cargo.toml");
        std::fs::write(&manifest, MANIFEST).unwrap();
        let repo = Path::new("/home/me/repo");

        let found = anchor(checkout.path(), repo).unwrap();
        let keys: Vec<(&str, &Path)> = found.iter().map(|o| (o.key.as_str(), o.path.as_path())).collect();
        assert_eq!(
            keys,
            [
                ("dependencies.sibling", Path::new("/home/me/sibling")),
                ("dependencies.pinned", Path::new("/opt/vendored/pinned")),
                ("target.cfg(unix).dev-dependencies.unixy", Path::new("/home/me/unixy")),
                ("patch.crates-io.log", Path::new("/home/me/forks/log")),
                ("package.workspace", Path::new("/home/me/outer")),
            ]
        );
        assert!(found.iter().all(|o| o.manifest == Path::new("crates/app/Cargo.toml")));
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains(r#"inside = { path = "../lib" } # stays relative"#), "{text}");
        assert!(
            text.contains(r#"sibling = { path = "/home/me/sibling", version = "1" } # beside the repository"#),
            "{text}"
        );
        assert!(text.contains("path = \"/home/me/unixy\"") && text.contains("{ path = \"/home/me/forks/log\" }"));
        assert!(text.contains("workspace = \"/home/me/outer\"") && text.contains("serde = \"1\""), "{text}");

        // Again on the rewritten checkout (a reused one): the same findings, the same text.
        let again = anchor(checkout.path(), repo).unwrap();
        assert_eq!(
            again.iter().map(|o| &o.path).collect::<Vec<_>>(),
            found.iter().map(|o| &o.path).collect::<Vec<_>>()
        );
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), text);
    }

    #[test]
    fn a_manifest_with_nothing_outside_is_left_byte_for_byte() {
        let checkout = tempfile::tempdir().unwrap();
        let text = "[package]\nname = \"a\"   # odd spacing kept\n\n[dependencies]\nb = { path = \"b\" }\n";
        std::fs::write(checkout.path().join("Cargo.toml"), text).unwrap();
        assert!(anchor(checkout.path(), Path::new("/r")).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(checkout.path().join("Cargo.toml")).unwrap(), text);
    }

    #[test]
    fn dot_dot_is_resolved_without_the_file_system() {
        assert_eq!(normalize(Path::new("/a/b/./../c/../../d")), Path::new("/d"));
        assert_eq!(normalize(Path::new("/a/../..")), Path::new("/"));
    }
}
