//! `cargo coldbench env`: the host facts recorded with every result; with `--check`, the
//! machine's state and whether it is fit to measure.

use anyhow::Result;

use crate::cli::Format;
use crate::host::{self, HostFacts};
use crate::results::MachineState;
use crate::ui::Ui;

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

/// The machine's state as aligned `key: value` lines (what `--check` read).
pub fn render_state(m: &MachineState) -> String {
    let percent = |v: f64| format!("{:.1}%", v * 100.0);
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut governors = m.governors.clone();
    governors.dedup();
    rows.push(("governors", if governors.is_empty() { "not readable".into() } else { governors.join(", ") }));
    rows.push(("boost", m.boost.map_or("not readable".into(), |b| if b { "on".into() } else { "off".into() })));
    let aslr = |v: u8| match v {
        0 => "off",
        1 => "partial",
        _ => "full",
    };
    rows.push(("aslr", m.aslr.map_or("not readable".into(), |v| aslr(v).to_string())));
    if let Some([a, b, c]) = m.load {
        rows.push(("load", format!("{a:.2} {b:.2} {c:.2} (1, 5, 15 min)")));
    }
    if let Some(r) = m.runnable {
        rows.push(("runnable", format!("{r} other threads")));
    }
    let busy: Vec<String> = m.busiest.iter().map(|p| format!("{} ({}) {}", p.name, p.pid, percent(p.cpu))).collect();
    rows.push(("busiest", if busy.is_empty() { "nothing else used the CPU".into() } else { busy.join(", ") }));
    let steal = [
        m.steal.map(|s| format!("{} now", percent(s))),
        m.steal_since_boot.map(|s| format!("{} since boot", percent(s))),
    ];
    let steal: Vec<String> = steal.into_iter().flatten().collect();
    rows.push(("steal", if steal.is_empty() { "not readable".into() } else { steal.join(", ") }));
    rows.push((
        "swap",
        m.swap_used.map_or("not readable".into(), |b| format!("{} in use", crate::units::format_bytes(b as f64))),
    ));
    rows.push(("throttled", m.throttled.map_or("not counted here".into(), |n| format!("{n} times since boot"))));
    rows.push((
        "battery",
        m.on_battery.map_or("none".into(), |b| if b { "discharging".into() } else { "on mains".into() }),
    ));
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{:>9}: {value}\n", console::style(key).bold()));
    }
    out
}

/// `env`: prints the facts, as a table or JSON; with `check`, watches the machine and exits 1
/// when something makes it unfit to measure.
pub fn env(format: Format, check: bool, ui: &Ui) -> Result<u8> {
    let mut facts = crate::plan::Registry::builtin().host_facts();
    if check {
        let state = host::check::check(&host::state::Source::from_env(), host::check::WINDOW, facts.cores);
        facts.machine = Some(state);
    }
    let mut text = match format {
        Format::Json => serde_json::to_string_pretty(&facts)? + "\n",
        _ => render(&facts),
    };
    if let (Some(state), false) = (&facts.machine, format == Format::Json) {
        text.push_str(&render_state(state));
    }
    super::write_stdout(text.as_bytes())?;
    let Some(state) = &facts.machine else { return Ok(0) };
    crate::pipeline::machine::warn_of(state, ui);
    if state.problems.is_empty() {
        ui.status("Checked", "this machine is fit to measure");
        Ok(0)
    } else {
        let n = state.problems.len();
        ui.status("Checked", format!("{n} problem{} make timings unsteady here", if n == 1 { "" } else { "s" }));
        Ok(1)
    }
}
