//! Reading `python -X importtime` output.

use crate::results::{ImportNode, SlowImport};

/// What the measured command prints to stderr after the import, before `len(sys.modules)`.
const MODULES_TOTAL: &str = "coldbench: len(sys.modules) =";

/// The code run with `-c`: the import, then the number of modules the interpreter holds, on
/// stderr with the import-time log. `sys` is always loaded already: importing it adds nothing.
pub fn import_code(module: &str) -> String {
    format!("import {module}; import sys; print({MODULES_TOTAL:?}, len(sys.modules), file=sys.stderr)")
}

/// The module a command made by [`import_code`] (or by versions before it, `import MODULE`) imports.
pub fn imported_by(code: &str) -> Option<&str> {
    let rest = code.strip_prefix("import ")?;
    Some(rest.split(';').next().unwrap_or(rest).trim())
}

/// Import times of one `python -X importtime -c "import MODULE; ..."` run.
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
    /// `len(sys.modules)` after the import.
    pub modules_total: usize,
}

/// Parses the `import time:` lines of stderr and finds `module` among them.
pub fn parse_importtime(stderr: &str, module: &str) -> Result<ImportTimes, String> {
    let mut modules = Vec::new();
    let mut total_us = 0u64;
    let mut found = None;
    let mut modules_total = None;
    for line in stderr.lines() {
        if let Some((_, count)) = line.split_once(MODULES_TOTAL) {
            let count = count.trim().parse().map_err(|_| format!("unexpected module count line: {line}"))?;
            modules_total = Some(count);
            continue;
        }
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
    let modules_total = modules_total.ok_or_else(|| {
        format!("no `{MODULES_TOTAL} N` line after the import (did the module end the interpreter or close stderr?)")
    })?;
    Ok(ImportTimes {
        self_secs: own as f64 * 1e-6,
        cumulative_secs: cumulative as f64 * 1e-6,
        total_secs: total_us as f64 * 1e-6,
        modules,
        modules_total,
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

/// The import tree of a run: `-X importtime` prints each module after the modules it imported,
/// indented two spaces per level, so a module's children are the deeper lines since the last
/// line at its level or above.
pub fn import_tree(stderr: &str) -> Vec<ImportNode> {
    let mut pending: Vec<Vec<ImportNode>> = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("import time:") else { continue };
        let fields: Vec<&str> = rest.split('|').collect();
        let [own, cumulative, name] = fields[..] else { continue };
        let (Ok(own), Ok(cumulative)) = (own.trim().parse::<u64>(), cumulative.trim().parse::<u64>()) else {
            continue;
        };
        let depth = (name.len() - name.trim_start().len()).saturating_sub(1) / 2;
        while pending.len() <= depth + 1 {
            pending.push(Vec::new());
        }
        let children = std::mem::take(&mut pending[depth + 1]);
        let node = ImportNode {
            module: name.trim().to_string(),
            own: own as f64 * 1e-6,
            cumulative: cumulative as f64 * 1e-6,
            children,
        };
        pending[depth].push(node);
    }
    // Lines cut short (an import that raised) leave orphans deeper down: they become roots.
    pending.into_iter().flatten().collect()
}

/// The `top` slowest imports that importing `module` caused, by cumulative time, each with the
/// chain that pulled it in (from `module` down). The interpreter's own start-up imports (`site`
/// and what `.pth` files load) are not `module`'s doing and are left out; so is `module` itself,
/// whose time is the row's headline. Without `module` in the tree, the whole tree counts.
pub fn slowest(tree: &[ImportNode], module: &str, top: usize) -> Vec<SlowImport> {
    fn walk(nodes: &[ImportNode], chain: &mut Vec<String>, out: &mut Vec<SlowImport>) {
        for n in nodes {
            out.push(SlowImport {
                module: n.module.clone(),
                cumulative: n.cumulative,
                own: n.own,
                chain: chain.clone(),
            });
            chain.push(n.module.clone());
            walk(&n.children, chain, out);
            chain.pop();
        }
    }
    fn find<'a>(nodes: &'a [ImportNode], module: &str) -> Option<&'a ImportNode> {
        nodes.iter().rev().find(|n| n.module == module).or_else(|| nodes.iter().find_map(|n| find(&n.children, module)))
    }
    let mut all = Vec::new();
    match find(tree, module) {
        Some(node) => walk(&node.children, &mut vec![node.module.clone()], &mut all),
        None => walk(tree, &mut Vec::new(), &mut all),
    }
    all.retain(|s| s.module != module);
    all.sort_by(|a, b| b.cumulative.total_cmp(&a.cumulative).then_with(|| a.module.cmp(&b.module)));
    all.truncate(top);
    all
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
coldbench: len(sys.modules) = 41
";

    #[test]
    fn finds_the_module_and_counts_every_import() {
        let t = parse_importtime(SAMPLE, "fixture_pkg").unwrap();
        assert_eq!(t.modules.len(), 5);
        assert!((t.self_secs - 50e-6).abs() < 1e-12);
        assert!((t.cumulative_secs - 2300e-6).abs() < 1e-12);
        assert!((t.total_secs - 1400e-6).abs() < 1e-12);
        assert_eq!(t.modules_total, 41);
    }

    #[test]
    fn the_command_prints_the_module_count_and_names_the_module() {
        let code = import_code("pkg.sub");
        assert_eq!(
            code,
            r#"import pkg.sub; import sys; print("coldbench: len(sys.modules) =", len(sys.modules), file=sys.stderr)"#
        );
        assert_eq!(imported_by(&code), Some("pkg.sub"));
        assert_eq!(imported_by("import pkg"), Some("pkg"), "files written before the count");
        let without = SAMPLE.replace("coldbench: len(sys.modules) = 41\n", "");
        assert!(parse_importtime(&without, "json").unwrap_err().contains("no `coldbench: len(sys.modules) = N` line"));
        let garbled = SAMPLE.replace("= 41", "= many");
        assert!(parse_importtime(&garbled, "json").unwrap_err().contains("unexpected module count line"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_importtime("", "x").is_err());
        assert!(parse_importtime("import time: a | b\n", "x").is_err());
        assert!(parse_importtime("import time: x | 1 | y\n", "y").is_err());
        assert!(parse_importtime(SAMPLE, "numpy").unwrap_err().contains("does not list `numpy`"));
    }

    #[test]
    fn the_tree_follows_the_indentation_and_the_slowest_carry_their_chain() {
        let tree = import_tree(SAMPLE);
        // Each module comes after what it imported: json imported _io and json.decoder, which
        // imported marshal; fixture_pkg stands beside json.
        let names: Vec<&str> = tree.iter().map(|n| n.module.as_str()).collect();
        assert_eq!(names, ["json", "fixture_pkg"], "{tree:#?}");
        let under_json: Vec<&str> = tree[0].children.iter().map(|n| n.module.as_str()).collect();
        assert_eq!(under_json, ["_io", "json.decoder"]);
        assert_eq!(tree[0].children[1].children[0].module, "marshal");
        assert!((tree[0].cumulative - 2100e-6).abs() < 1e-12);
        // What importing json caused, from json down; fixture_pkg's import caused nothing.
        let slow = slowest(&tree, "json", 2);
        assert_eq!(slow.iter().map(|s| s.module.as_str()).collect::<Vec<_>>(), ["json.decoder", "_io"]);
        assert_eq!(slow[0].chain, ["json"]);
        assert!((slow[0].own - 800e-6).abs() < 1e-12);
        assert_eq!(slow.iter().filter(|s| s.chain == ["json", "json.decoder"]).count(), 0, "top 2 only");
        assert!(slowest(&tree, "fixture_pkg", 10).is_empty());
        assert_eq!(slowest(&tree, "absent", 1)[0].module, "fixture_pkg", "the whole tree without the module");
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
