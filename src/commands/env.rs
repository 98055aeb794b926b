//! `cargo coldbench env`: the host facts recorded with every result.

use crate::host::HostFacts;

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
    out
}
