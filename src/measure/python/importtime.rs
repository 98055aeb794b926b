//! Reading `python -X importtime` output.

/// Import times of one `python -X importtime -c "import MODULE"` run.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportTimes {
    /// The module's own import time, in seconds.
    pub self_secs: f64,
    /// The module's cumulative import time (with everything it imported), in seconds.
    pub cumulative_secs: f64,
    /// The sum of every module's own time, in seconds (the whole import work of the process).
    pub total_secs: f64,
    /// Every module imported, in the order Python reported them.
    pub modules: Vec<String>,
}

/// Parses the `import time:` lines of stderr and finds `module` among them.
pub fn parse_importtime(stderr: &str, module: &str) -> Result<ImportTimes, String> {
    let mut modules = Vec::new();
    let mut total_us = 0u64;
    let mut found = None;
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("import time:") else { continue };
        if rest.contains("self [us]") {
            continue;
        }
        let fields: Vec<&str> = rest.split('|').collect();
        let [own, cumulative, name] = fields[..] else {
            return Err(format!("unexpected `-X importtime` line: {line}"));
        };
        let own: u64 = own.trim().parse().map_err(|_| format!("unexpected `-X importtime` line: {line}"))?;
        let cumulative: u64 =
            cumulative.trim().parse().map_err(|_| format!("unexpected `-X importtime` line: {line}"))?;
        let name = name.trim().to_string();
        total_us += own;
        if name == module {
            found = Some((own, cumulative));
        }
        modules.push(name);
    }
    if modules.is_empty() {
        return Err("Python printed no `-X importtime` lines (is it Python 3.7 or newer?)".into());
    }
    let (own, cumulative) = found.ok_or_else(|| {
        format!("`-X importtime` does not list `{module}`: it was imported before (by site?) or not at all")
    })?;
    Ok(ImportTimes {
        self_secs: own as f64 * 1e-6,
        cumulative_secs: cumulative as f64 * 1e-6,
        total_secs: total_us as f64 * 1e-6,
        modules,
    })
}

/// The modules among `imported` that `forbidden` names (a name also forbids its submodules).
pub fn forbidden_imports(imported: &[String], forbidden: &[String]) -> Vec<String> {
    let mut hits: Vec<String> = imported
        .iter()
        .filter(|m| forbidden.iter().any(|f| *m == f || m.starts_with(&format!("{f}."))))
        .cloned()
        .collect();
    hits.dedup();
    hits
}

/// How many of `imported` are under one of `prefixes` (a prefix names a package and covers its
/// submodules: `mypkg` counts `mypkg` and `mypkg.sub`, not `mypkg_extra`).
pub fn own_modules(imported: &[String], prefixes: &[String]) -> usize {
    imported
        .iter()
        .filter(|m| {
            prefixes.iter().any(|p| *m == p || m.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('.')))
        })
        .count()
}

/// The line that says why an import failed: the last stderr line that is not importtime output.
pub fn failure_line(stderr: &str) -> Option<String> {
    stderr.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("import time:")).map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:        30 |         30 |     marshal
import time:       800 |       1500 |   json.decoder
import time:       400 |       2100 | json
import time:        50 |       2300 | fixture_pkg
";

    #[test]
    fn finds_the_module_and_counts_every_import() {
        let t = parse_importtime(SAMPLE, "fixture_pkg").unwrap();
        assert_eq!(t.modules.len(), 5);
        assert!((t.self_secs - 50e-6).abs() < 1e-12);
        assert!((t.cumulative_secs - 2300e-6).abs() < 1e-12);
        assert!((t.total_secs - 1400e-6).abs() < 1e-12);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_importtime("", "x").is_err());
        assert!(parse_importtime("import time: a | b\n", "x").is_err());
        assert!(parse_importtime("import time: x | 1 | y\n", "y").is_err());
        assert!(parse_importtime(SAMPLE, "numpy").unwrap_err().contains("does not list `numpy`"));
    }

    #[test]
    fn own_modules_are_those_under_the_prefixes() {
        let imported: Vec<String> =
            ["mypkg", "mypkg.sub", "mypkg_extra", "_mypkg", "json", "_mypkg.core"].map(String::from).to_vec();
        assert_eq!(own_modules(&imported, &["mypkg".into()]), 2);
        assert_eq!(own_modules(&imported, &["mypkg".into(), "_mypkg".into()]), 4);
        assert_eq!(own_modules(&imported, &[]), 0);
    }

    #[test]
    fn forbidden_names_cover_submodules() {
        let t = parse_importtime(SAMPLE, "json").unwrap();
        assert_eq!(forbidden_imports(&t.modules, &["json".into()]), ["json.decoder", "json"]);
        assert!(forbidden_imports(&t.modules, &["jso".into()]).is_empty());
    }

    #[test]
    fn the_traceback_last_line_explains_a_failed_import() {
        let stderr = "import time: self [us] | cumulative | imported package\nTraceback (most recent call last):\n  File \"<string>\", line 1\nValueError: boom\nimport time:        10 |         10 | x\n";
        assert_eq!(failure_line(stderr).as_deref(), Some("ValueError: boom"));
    }
}
