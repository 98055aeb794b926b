//! `cargo coldbench env`: the host facts recorded with every result.

use anyhow::Result;

use crate::cli::Format;
use crate::host::{self, HostFacts};

/// Renders the facts as aligned `key: value` lines.
pub fn render(facts: &HostFacts) -> String {
    let unknown = || "unknown".to_string();
    let rows = [
        ("kernel", facts.kernel.clone()),
        ("os", facts.os.clone()),
        ("cpu", facts.cpu.clone()),
        ("cores", facts.cores.to_string()),
        ("governor", facts.governor.clone().unwrap_or_else(|| "not readable".into())),
        ("rustc", facts.rustc.clone().unwrap_or_else(unknown)),
        ("libzmq", facts.libzmq.clone()),
        ("curve", if facts.curve { "yes".into() } else { "no (this libzmq was built without CURVE)".into() }),
    ];
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{:>9}: {value}\n", console::style(key).bold()));
    }
    let torch = facts.torch.clone().unwrap_or_else(|| "not built in (build with `--features torch`)".into());
    out.push_str(&format!("{:>9}: {torch}\n", console::style("torch").bold()));
    if facts.gpus.is_empty() {
        let why = facts.gpu_note.as_deref().unwrap_or("none found");
        out.push_str(&format!("{:>9}: none ({why})\n", console::style("gpus").bold()));
    }
    for g in &facts.gpus {
        let free = g.free.map(|f| format!(", {} free", crate::units::format_size(f as f64))).unwrap_or_default();
        out.push_str(&format!(
            "{:>9}: {}, {}{free}, driver {}\n",
            console::style(format!("gpu {}", g.index)).bold(),
            g.name,
            crate::units::format_size(g.memory as f64),
            g.driver
        ));
    }
    out
}

/// `env`: prints the facts, as a table or JSON.
pub fn env(format: Format) -> Result<u8> {
    let facts = host::collect();
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&facts)? + "\n",
        _ => render(&facts),
    };
    super::write_stdout(text.as_bytes())?;
    Ok(0)
}
