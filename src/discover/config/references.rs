//! Head-to-head entries: the `reference` of a start entry (another entry of the same package that
//! it runs against) and the `min-speedup` budget it must keep over it.

use std::path::Path;

use super::{config_error, RawBudget, StartEntry};
use crate::error::UserError;
use crate::results::SpeedupLimit;

/// The budget key of the minimum speedup over the reference.
pub const MIN_SPEEDUP: &str = "min-speedup";

/// Why a reference must be in the same package, for messages.
const SAME_PACKAGE: &str = "a reference must be a start entry of the same package, so that both are built by the same \
                            cargo build from the same checkout, run with the same settings and interleaved run for \
                            run; add the other implementation to this package as a `command` entry (for example \
                            command = [\"python3\", \"bench/pipeline.py\"])";

/// Checks the `reference` of every start entry of a package: it names another entry of the same
/// package, and following references never comes back to where it started. `elsewhere` holds the
/// start entry names of the other packages, to say so when a reference names one of them.
pub fn check_references(
    entries: &[StartEntry],
    manifest: &Path,
    elsewhere: &[(String, Vec<String>)],
) -> Result<(), UserError> {
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for entry in entries {
        let Some(wanted) = &entry.reference else { continue };
        let key = format!("{}.reference", entry.key);
        if *wanted == entry.name {
            return Err(config_error(
                key,
                manifest,
                format!("`{wanted}` is this entry: an entry cannot be its own reference"),
            ));
        }
        if names.contains(&wanted.as_str()) {
            continue;
        }
        let other = elsewhere.iter().find(|(package, their)| {
            their.iter().any(|n| n == wanted) || wanted.split_once('/').is_some_and(|(p, _)| p == package)
        });
        let message = match other {
            Some((package, _)) => format!("`{wanted}` is an entry of package `{package}`: {SAME_PACKAGE}"),
            None if wanted.contains('/') => format!("`{wanted}` names an entry of another package: {SAME_PACKAGE}"),
            None => format!(
                "no start entry of this package is named `{wanted}` (its entries: {}); {SAME_PACKAGE}",
                names.join(", ")
            ),
        };
        return Err(config_error(key, manifest, message));
    }
    // Every entry has at most one reference: a walk that meets an entry twice has found a cycle.
    for start in entries.iter().filter(|e| e.reference.is_some()) {
        let mut path = vec![start.name.as_str()];
        let mut at = start;
        while let Some(next) = at.reference.as_deref() {
            if path.contains(&next) {
                path.push(next);
                return Err(config_error(
                    format!("{}.reference", start.key),
                    manifest,
                    format!(
                        "the references {} go round in a cycle: follow them and one entry must have no reference \
                         (the implementation the others are measured against)",
                        path.join(" → ")
                    ),
                ));
            }
            path.push(next);
            at = entries.iter().find(|e| e.name == next).expect("checked above");
        }
    }
    Ok(())
}

/// The names other packages give their start entries, as `check_references` wants them: the
/// configured names, or the binaries when a package configures none.
pub fn entry_names(start: Option<&[StartEntry]>, bins: &[String]) -> Vec<String> {
    match start {
        Some(entries) => entries.iter().map(|e| e.name.clone()).collect(),
        None => bins.to_vec(),
    }
}

/// The `min-speedup` of a start entry's budget: a number for its headline metric (the wall time),
/// or a table of numbers per metric (`{ wall = 5.0, items_per_second = 5.0 }`).
pub fn min_speedups(budget: &RawBudget, key: &str, manifest: &Path) -> Result<Vec<SpeedupLimit>, UserError> {
    let Some(value) = budget.get(MIN_SPEEDUP) else { return Ok(Vec::new()) };
    let path = format!("{key}.budget.{MIN_SPEEDUP}");
    let factor = |v: &serde_json::Value, path: &str| -> Result<f64, UserError> {
        v.as_f64().filter(|f| f.is_finite() && *f > 0.0).ok_or_else(|| {
            config_error(path, manifest, format!("expected a factor above 0, such as 2.0 (twice as fast), not {v}"))
        })
    };
    match value {
        serde_json::Value::Object(per_metric) if !per_metric.is_empty() => per_metric
            .iter()
            .map(|(metric, v)| {
                let min = factor(v, &format!("{path}.{metric}"))?;
                Ok(SpeedupLimit { metric: Some(metric.replace('-', "_")), min })
            })
            .collect(),
        serde_json::Value::Object(_) => {
            Err(config_error(path, manifest, "the table is empty: give a factor per metric, such as { wall = 2.0 }"))
        }
        v => Ok(vec![SpeedupLimit { metric: None, min: factor(v, &path)? }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::config::{Ready, Target};
    use serde_json::json;

    fn entry(i: usize, name: &str, reference: Option<&str>) -> StartEntry {
        StartEntry {
            key: format!("package.metadata.bench.start[{i}]"),
            target: Target::Bin(name.into()),
            name: name.into(),
            args: Vec::new(),
            env: Default::default(),
            ready: Ready::Exit,
            forbid_loaded: Vec::new(),
            reference: reference.map(str::to_string),
            budget: Default::default(),
        }
    }

    fn check(entries: &[StartEntry]) -> Result<(), String> {
        let elsewhere = vec![("pybase".to_string(), vec!["python-baseline".to_string()])];
        check_references(entries, Path::new("/ws/p/Cargo.toml"), &elsewhere).map_err(|e| match e {
            UserError::Config { key, message, .. } => format!("{key}: {message}"),
            other => other.to_string(),
        })
    }

    #[test]
    fn chains_are_fine_and_bad_references_name_their_key() {
        check(&[entry(0, "py", None), entry(1, "rust", Some("py")), entry(2, "rust-simd", Some("rust"))]).unwrap();
        let err = check(&[entry(0, "a", None), entry(1, "b", Some("nope"))]).unwrap_err();
        assert!(err.starts_with("package.metadata.bench.start[1].reference: no start entry of this package is named `nope` (its entries: a, b)"), "{err}");
        let err = check(&[entry(0, "a", Some("a"))]).unwrap_err();
        assert!(err.contains("cannot be its own reference"), "{err}");
        let err = check(&[entry(0, "a", Some("b")), entry(1, "b", Some("c")), entry(2, "c", Some("a"))]).unwrap_err();
        assert!(
            err.starts_with("package.metadata.bench.start[0].reference: the references a → b → c → a go round"),
            "{err}"
        );
        let err = check(&[entry(0, "a", Some("python-baseline"))]).unwrap_err();
        assert!(err.contains("`python-baseline` is an entry of package `pybase`: a reference must be a start entry of the same package"), "{err}");
        let err = check(&[entry(0, "a", Some("pybase/python-baseline"))]).unwrap_err();
        assert!(err.contains("is an entry of package `pybase`"), "{err}");
        let err = check(&[entry(0, "a", Some("other/x"))]).unwrap_err();
        assert!(err.contains("names an entry of another package"), "{err}");
    }

    #[test]
    fn min_speedup_is_a_factor_or_a_table_of_them() {
        let read = |v: serde_json::Value| {
            let budget: RawBudget = [(MIN_SPEEDUP.to_string(), v)].into_iter().collect();
            min_speedups(&budget, "package.metadata.bench.start[1]", Path::new("/ws/Cargo.toml"))
        };
        assert_eq!(read(json!(2.0)).unwrap(), vec![SpeedupLimit { metric: None, min: 2.0 }]);
        let per = read(json!({ "wall": 5.0, "items-per-second": 4 })).unwrap();
        assert!(per.contains(&SpeedupLimit { metric: Some("items_per_second".into()), min: 4.0 }), "{per:?}");
        for bad in [json!(0), json!("fast"), json!({}), json!({ "wall": -1 })] {
            let err = read(bad.clone()).unwrap_err();
            assert!(
                err.to_string().contains("min-speedup")
                    || matches!(&err, UserError::Config { key, .. } if key.contains("min-speedup")),
                "{bad}: {err}"
            );
        }
    }
}
