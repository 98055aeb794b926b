//! The rows of the tensor suite, from `[package.metadata.bench.tensor]` and the command line: a
//! transfer row per device, shape and mode (shared measured against copy), then a memory row per
//! worker count.

use std::path::PathBuf;
use std::time::Duration;

use super::bench::{RowKind, TensorRow};
use super::data::TensorSpec;
use crate::discover::config::tensor::{DType, Device, Mode, TensorConfig};
use crate::measure::bench::{BenchId, Param, ParamValue, Settings};
use crate::results::Unit;
use crate::suites::Group;
use crate::units::format_bytes as format_size;

/// The command line's say over the suite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorArgs {
    /// `--mode`: only this mode; both when `None`.
    pub mode: Option<Mode>,
    /// `--devices`: replacing the configured ones.
    pub devices: Vec<Device>,
    /// `--no-gpu`: no CUDA rows.
    pub no_gpu: bool,
    /// `--large-tensors`: the large shapes and a 2 GiB memory tensor.
    pub large: bool,
}

/// Per-row timeout when the table does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default shapes: tiny to image-sized.
pub const DEFAULT_SHAPES: [&[u64]; 5] = [&[10, 10], &[100, 100], &[512, 512], &[1024, 1024], &[3, 8192, 8192]];

/// What the machine offers, read when the plan is made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    /// `MemAvailable`.
    pub mem_available: Option<u64>,
    /// Why CUDA rows cannot run here, when they cannot.
    pub no_cuda: Option<String>,
    /// Free memory of the first GPU.
    pub vram_free: Option<u64>,
}

/// What the rows are made from.
pub struct RowsInput<'a> {
    /// The package.
    pub package: &'a str,
    /// The table.
    pub cfg: &'a TensorConfig,
    /// The command line.
    pub args: &'a TensorArgs,
    /// `--quick`.
    pub quick: bool,
    /// `--scenario`: only these groups; all when empty.
    pub groups: &'a [Group],
    /// Run policy and thresholds.
    pub settings: Settings,
    /// The machine.
    pub machine: Machine,
}

fn text(name: &str, v: &str) -> Param {
    Param { name: name.into(), value: ParamValue::Text(v.into()), unit: None }
}

fn number(name: &str, v: f64, unit: Unit) -> Param {
    Param { name: name.into(), value: ParamValue::Number(v), unit: Some(unit) }
}

/// Why `need` bytes cannot be had from `available` (named `what`).
fn short(need: u64, available: Option<u64>, what: &str, why: &str) -> Option<String> {
    let available = available?;
    (need > available).then(|| {
        format!(
            "{why} needs about {} of {what}, and {} is free",
            format_size(need as f64),
            format_size(available as f64)
        )
    })
}

/// The rows, in report order.
pub fn rows(input: &RowsInput) -> Vec<TensorRow> {
    let cfg = input.cfg;
    let args = input.args;
    let wants = |g: Group| input.groups.is_empty() || input.groups.contains(&g);
    let dtype = cfg.dtype.unwrap_or(DType::F32);
    let modes: Vec<Mode> = match args.mode {
        Some(m) => vec![m],
        None => cfg.modes.clone().unwrap_or_else(|| vec![Mode::Copy, Mode::Shared]),
    };
    let mut devices = if args.devices.is_empty() {
        cfg.devices.clone().unwrap_or(vec![Device::Cpu, Device::Cuda])
    } else {
        args.devices.clone()
    };
    if args.no_gpu {
        devices.retain(|d| *d != Device::Cuda);
    }
    let mut shapes: Vec<Vec<u64>> =
        cfg.shapes.clone().unwrap_or_else(|| DEFAULT_SHAPES.iter().map(|s| s.to_vec()).collect());
    if args.large {
        shapes.extend(cfg.large_shapes.clone().unwrap_or_else(|| vec![vec![40132, 40132]]));
    }
    let count = cfg.count.unwrap_or(if input.quick { 20 } else { 100 });
    let round_bytes: u64 = if input.quick { 256 << 20 } else { 1 << 30 };
    let shm_dir = cfg.shm_dir.clone().unwrap_or_else(|| PathBuf::from("/dev/shm"));
    let make = |name: &str, params: Vec<Param>| {
        let mut id = BenchId::new(super::KIND, input.package, name);
        id.params = params;
        id
    };
    let row = |id: BenchId, kind: RowKind, count: u32| TensorRow {
        id,
        settings: input.settings.clone(),
        kind,
        count,
        shm_dir: shm_dir.clone(),
        skip: None,
        reference: None,
    };
    let mut out = Vec::new();
    if wants(Group::Transfer) {
        for &device in &devices {
            for shape in &shapes {
                let spec = TensorSpec { shape: shape.clone(), dtype };
                let bytes = spec.bytes();
                let mut copy_id = None;
                for &mode in &modes {
                    let id = make(
                        "transfer",
                        vec![
                            text("device", device.as_str()),
                            text("dtype", dtype.as_str()),
                            text("shape", &spec.shape_text()),
                            number("size", bytes as f64, Unit::Bytes),
                            text("mode", mode.as_str()),
                        ],
                    );
                    let rendered = id.render();
                    let mut r = row(
                        id,
                        RowKind::Transfer { spec: spec.clone(), mode, device },
                        crate::suites::per_round(count, bytes, round_bytes, 3),
                    );
                    // The host holds the tensor (sent from where it lies, without a copy); a
                    // copying worker up to two receive buffers (the first two messages land in
                    // fresh memory), a sharing one nothing of its own beside the host's segment.
                    let copies = if mode == Mode::Copy { 3 } else { 2 };
                    r.skip = match device {
                        Device::Cuda => input.machine.no_cuda.clone().or_else(|| {
                            if mode == Mode::Shared {
                                Some("shared mode on CUDA needs CUDA IPC handles, which tch does not offer".into())
                            } else {
                                short(
                                    bytes * 2,
                                    input.machine.vram_free,
                                    "GPU memory",
                                    &format!("a {} tensor", format_size(bytes as f64)),
                                )
                            }
                        }),
                        Device::Cpu => None,
                    }
                    .or_else(|| {
                        short(
                            bytes * copies,
                            input.machine.mem_available,
                            "memory",
                            &format!("a {} tensor in {} mode", format_size(bytes as f64), mode.as_str()),
                        )
                    });
                    match mode {
                        Mode::Copy => copy_id = Some(rendered),
                        Mode::Shared => r.reference = copy_id.clone(),
                    }
                    out.push(r);
                }
            }
        }
    }
    if wants(Group::Memory) {
        let size = cfg.memory_size.unwrap_or(if args.large { 2 << 30 } else { 256 << 20 });
        let mut workers = cfg.workers.clone().unwrap_or_else(|| vec![1, 5]);
        workers.sort_unstable();
        workers.dedup();
        for n in workers {
            let id = make(
                "memory",
                vec![number("size", size as f64, Unit::Bytes), number("workers", n as f64, Unit::Count)],
            );
            let mut r = row(id, RowKind::Memory { workers: n, bytes: size, modes: modes.clone() }, 1);
            // In copy mode each worker holds its own copy, and the host one more.
            let need = if modes.contains(&Mode::Copy) { size * (n as u64 + 2) } else { size * 2 };
            r.skip = short(
                need,
                input.machine.mem_available,
                "memory",
                &format!("{n} worker{} holding {}", if n == 1 { "" } else { "s" }, format_size(size as f64)),
            );
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::budget::Limit;
    use crate::measure::scheduler::{RunCount, RunPolicy};
    use crate::results::Thresholds;

    fn input<'a>(cfg: &'a TensorConfig, args: &'a TensorArgs, machine: Machine) -> RowsInput<'a> {
        RowsInput {
            package: "p",
            cfg,
            args,
            quick: true,
            groups: &[],
            settings: Settings {
                policy: RunPolicy { warmup: 0, runs: RunCount::Exactly(3) },
                thresholds: Thresholds::DEFAULT,
                limits: Vec::<Limit>::new(),
                timeout: DEFAULT_TIMEOUT,
                default_entry: false,
                precision: None,
                min_speedup: Vec::new(),
                processes: 2,
            },
            machine,
        }
    }

    #[test]
    fn every_shape_and_mode_is_a_row_and_shared_is_measured_against_copy() {
        let cfg = TensorConfig::default();
        let args = TensorArgs::default();
        let machine = Machine { mem_available: Some(1 << 40), no_cuda: Some("no GPU".into()), vram_free: None };
        let rows = rows(&input(&cfg, &args, machine));
        let ids: Vec<String> = rows.iter().map(|r| r.id.render()).collect();
        assert_eq!(ids.len(), 2 * 5 * 2 + 2);
        assert_eq!(ids[0], "tensor/p/transfer[device=cpu,dtype=f32,shape=10×10,size=400 B,mode=copy]");
        assert_eq!(rows[1].reference.as_deref(), Some(ids[0].as_str()));
        assert!(rows[..10].iter().all(|r| r.skip.is_none()));
        assert!(rows[10..20].iter().all(|r| r.skip.is_some()), "CUDA rows are skipped without a GPU");
        assert_eq!(ids[20], "tensor/p/memory[size=256 MiB,workers=1]");
        assert_eq!(rows[9].count, 3, "a 768 MiB tensor makes the fewest round trips");
    }

    #[test]
    fn the_command_line_narrows_and_large_tensors_that_do_not_fit_are_skipped_with_the_figures() {
        let cfg = TensorConfig::default();
        let args = TensorArgs { mode: Some(Mode::Shared), devices: vec![], no_gpu: true, large: true };
        let machine = Machine { mem_available: Some(4 << 30), no_cuda: None, vram_free: None };
        let rows = rows(&input(&cfg, &args, machine));
        assert_eq!(rows.len(), 6 + 2);
        let large = &rows[5];
        assert!(large.id.render().contains("shape=40132×40132"));
        let why = large.skip.as_deref().unwrap();
        assert!(why.contains("in shared mode needs about 12.0 GiB of memory, and 4.0 GiB is free"), "{why}");
        assert!(rows[6].id.render().contains("size=2 GiB"));
    }
}
