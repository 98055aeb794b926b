//! The facts behind a benchmark's number, as labelled lines for the console (`-v`) and the HTML
//! report.

use crate::results::BenchmarkResult;
use crate::units::format_bytes;

/// The facts of a result as `(label, value)` lines, in the order they explain a start.
pub fn lines(b: &BenchmarkResult) -> Vec<(String, String)> {
    let f = &b.facts;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |label: &str, value: String| out.push((label.to_string(), value));
    if let Some(p) = &f.program {
        push("program", p.clone());
    }
    if let Some(l) = &f.library {
        push("library", l.clone());
    }
    if let Some(objects) = &f.mapped_objects {
        let names: Vec<String> = objects.iter().map(|o| file_name(o)).collect();
        let plural = if objects.len() == 1 { "" } else { "s" };
        push("mapped", format!("{} shared object{plural} ({})", objects.len(), names.join(", ")));
    }
    if let Some(needed) = &f.needed {
        push("DT_NEEDED", if needed.is_empty() { "none".into() } else { needed.join(", ") });
    }
    if let Some(r) = &f.relocations {
        push("relocations", format!("{} relative, {} symbolic, {} PLT", r.relative, r.symbolic, r.plt));
    }
    if let Some(l) = &f.loader {
        push(
            "loader",
            format!(
                "{} cycles at startup, {:.1}% relocating ({} relocations, {} relative), {:.1}% loading objects",
                l.startup_cycles, l.relocation_percent, l.relocations, l.relative_relocations, l.load_objects_percent
            ),
        );
    }
    let mut misc = Vec::new();
    if let Some(bytes) = f.binary_bytes {
        misc.push(format!("file {}", format_bytes(bytes as f64)));
    }
    if let Some(stripped) = f.stripped {
        misc.push(if stripped { "stripped".to_string() } else { "not stripped".to_string() });
    }
    if let Some(t) = f.threads {
        misc.push(format!("{t} thread{} at the end", if t == 1 { "" } else { "s" }));
    }
    if let Some(n) = f.imported_modules {
        misc.push(format!("{n} modules imported"));
    }
    if !misc.is_empty() {
        push("file and process", misc.join(", "));
    }
    if let Some(r) = &f.residency {
        let parts: Vec<String> = r
            .iter()
            .map(|x| format!("{} {:.0}%", file_name(&x.file.display().to_string()), x.resident * 100.0))
            .collect();
        push("resident after eviction", parts.join(", "));
    }
    for p in &f.problems {
        push("facts", p.clone());
    }
    // Facts of other kinds: strings as they are, and numbers named `…_bytes` as sizes.
    for (key, value) in &f.other {
        match (key.strip_suffix("_bytes"), value) {
            (Some(stem), v) if v.is_number() => push(&stem.replace('_', " "), format_bytes(v.as_f64().unwrap_or(0.0))),
            (_, serde_json::Value::String(text)) => push(&key.replace('_', " "), text.clone()),
            (_, v) => push(&key.replace('_', " "), v.to_string()),
        }
    }
    out
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.into())
}
