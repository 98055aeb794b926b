//! A configuration file in place of a workspace (`suite --config FILE`): the keys of
//! `[package.metadata.bench]` at the top level of a TOML file (`[tensor]`, `[zmq]`, `[rpc]`,
//! `runs`, …), for a copied binary on a machine without cargo, such as a GPU server. Its rows
//! belong to a package named after the file (`bench.toml`: `tensor/bench/…`); nothing is built,
//! and results go to `target/coldbench/` beside the file unless `--output-dir` or `--target-dir`
//! say otherwise.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use super::config::{self, PackageSettings};
use super::workspace::{Member, Workspace};
use crate::error::UserError;

/// Where the configuration of a package lives in a `Cargo.toml`, which a file's keys stand for.
const PACKAGE_PREFIX: &str = "package.metadata.bench";

/// The workspace a configuration file stands for: one package without targets, named after the
/// file, whose `[package.metadata.bench]` is the file. The file is read and its settings and keys
/// (`kinds` names the kinds' keys) checked here, so that a mistake is reported by its key in the
/// file; each kind checks its own key when the plan is made.
pub fn load(file: &Path, target_dir: Option<&Path>, kinds: &[&str]) -> Result<Workspace> {
    let path = std::path::absolute(file).with_context(|| format!("resolving {}", file.display()))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("could not read the configuration file {}", path.display()))?;
    let table: serde_json::Value = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|span| {
            let before = &text[..span.start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" (line {line}, column {column})")
        });
        UserError::Config {
            key: "(the file)".into(),
            manifest: path.clone(),
            message: format!("it is not valid TOML{}: {}", at.unwrap_or_default(), e.message().trim_end()),
        }
    })?;
    if let Some(cargo) = ["package", "workspace"].into_iter().find(|k| table.get(k).is_some()) {
        return Err(UserError::Config {
            key: cargo.into(),
            manifest: path,
            message: format!(
                "a configuration file holds what `[{PACKAGE_PREFIX}]` holds, at its top level (for example a \
                 `[tensor]` table), not a Cargo.toml's `[{cargo}]`"
            ),
        }
        .into());
    }
    let metadata = json!({ "bench": table });
    config::package_config(&metadata, &path, &PackageSettings::default(), kinds).map_err(|e| keys_in_file(e.into()))?;
    let root = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "config".into());
    let member = Member {
        id: cargo_metadata::PackageId { repr: format!("path+file://{}#{name}", root.display()) },
        name,
        manifest: path.clone(),
        bins: Vec::new(),
        libs: Vec::new(),
        python_extension: false,
        metadata,
    };
    let target_dir = match target_dir {
        Some(dir) => std::path::absolute(dir).context("resolving --target-dir")?,
        None => root.join("target"),
    };
    Ok(Workspace {
        root_manifest: path,
        root,
        target_dir,
        metadata: serde_json::Value::Null,
        members: vec![member.clone()],
        all_members: vec![member],
    })
}

/// An error about a configuration file, with its keys as the file has them (`tensor.dtype`, not
/// `package.metadata.bench.tensor.dtype`) and its tables named as the file names them.
pub fn keys_in_file(err: anyhow::Error) -> anyhow::Error {
    let relative = |key: String| match key.strip_prefix(PACKAGE_PREFIX) {
        Some(rest) => rest.trim_start_matches('.').to_string(),
        None => key,
    };
    match err.downcast::<UserError>() {
        Ok(UserError::Config { key, manifest, mut message }) => {
            if key.ends_with(".bin") {
                message.push_str(
                    "; a configuration file has no package to build binaries of: run the program with \
                     `command = [\"path/to/program\", …]` instead",
                );
            }
            UserError::Config { key: relative(key), manifest, message }.into()
        }
        Ok(UserError::ProgramNotFound { program, key, manifest }) => {
            UserError::ProgramNotFound { program, key: relative(key), manifest }.into()
        }
        Ok(UserError::NoSuite { suite }) => UserError::Invalid(format!(
            "nothing to benchmark: the configuration file has no `[{suite}]` table (an empty one runs every scenario \
             against the built-in worker)"
        ))
        .into(),
        Ok(other) => other.into(),
        Err(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the built-in kinds' keys.
    fn kinds() -> Vec<&'static str> {
        crate::plan::Registry::builtin().names()
    }

    /// The file read as `suite --config` reads it: loaded, then its package's keys read by every
    /// kind, errors named by their key in the file.
    fn check(path: &Path) -> Result<()> {
        let ws = load(path, None, &kinds())?;
        crate::plan::package_config(&ws.members[0], &PackageSettings::default(), &crate::plan::Registry::builtin())
            .map_err(|e| keys_in_file(e.into()))?;
        Ok(())
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gpu-box.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_is_a_package_named_after_it_with_its_table_as_the_configuration() {
        let (dir, path) = write("runs = 4\n[tensor]\ndevices = [\"cuda\"]\nworkers = [1, 5]\n");
        let ws = load(&path, None, &kinds()).unwrap();
        assert_eq!(ws.root, dir.path());
        assert_eq!(ws.target_dir, dir.path().join("target"));
        let [member] = &ws.members[..] else { panic!("one member") };
        assert_eq!(member.name, "gpu-box");
        assert!(member.bins.is_empty() && member.libs.is_empty());
        let cfg = crate::plan::package_config(member, &PackageSettings::default(), &crate::plan::Registry::builtin())
            .unwrap();
        assert_eq!(cfg.table.settings.runs, Some(4));
        let tensor = crate::measure::kind::config_of::<crate::suites::tensor::config::TensorConfig>(cfg.get("tensor"));
        assert_eq!(tensor.unwrap().workers, Some(vec![1, 5]));
        let elsewhere = load(&path, Some(Path::new("/tmp/elsewhere")), &kinds()).unwrap();
        assert_eq!(elsewhere.target_dir, Path::new("/tmp/elsewhere"));
    }

    #[test]
    fn mistakes_are_named_by_their_key_in_the_file() {
        let key = |text: &str| match check(&write(text).1).unwrap_err().downcast::<UserError>().unwrap() {
            UserError::Config { key, message, .. } => (key, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(key("[tensor]\ndtype = \"f64\"\n").0, "tensor.dtype");
        assert_eq!(key("[tensor]\nshapes = [[10, 0]]\n").0, "tensor.shapes[0][1]");
        let (k, message) = key("[tensr]\n");
        assert_eq!(k, "tensr");
        assert!(message.contains("did you mean `tensor`"), "{message}");
        let (k, message) = key("[tensor\n");
        assert_eq!(k, "(the file)");
        assert!(message.starts_with("it is not valid TOML"), "{message}");
        let (k, message) = key("[package.metadata.bench.tensor]\n");
        assert_eq!(k, "package");
        assert!(message.contains("at its top level (for example a `[tensor]` table)"), "{message}");
        let (k, message) = key("[zmq.server]\nbin = \"srv\"\nendpoint = \"tcp://127.0.0.1:5555\"\n");
        assert_eq!(k, "zmq.server.bin");
        assert!(message.contains("run the program with `command = ["), "{message}");
        let missing = load(Path::new("/nonexistent/bench.toml"), None, &kinds()).unwrap_err();
        assert!(format!("{missing:#}").contains("could not read the configuration file /nonexistent/bench.toml"));
    }
}
