//! The rows of the tensor suite, from `[package.metadata.bench.tensor]` and the command line: a
//! transfer row per device, shape and mode (shared measured against copy), then a memory row per
//! worker count.

use std::path::PathBuf;
use std::time::Duration;

use super::data::TensorSpec;
use super::row::{Needs, RowKind, TensorRow};
use super::scenarios::Group;
use crate::measure::bench::{BenchId, Param, ParamValue, Settings};
use crate::results::Unit;
use crate::suites::tensor::config::{DType, Device, Mode, TensorConfig};
use crate::units::format_bytes as format_size;

/// The command line's say over the suite (`suite`'s options for tensor; each field's doc comment
/// is its help).
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct TensorArgs {
    /// tensor: only this mode (`copy`: bytes through ZeroMQ; `shared`: shared memory).
    #[arg(long, value_enum, value_name = "MODE", default_value = "both")]
    pub mode: ModeChoice,
    /// tensor: the devices (`cpu`, `cuda`), replacing the configured ones.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "DEVICE,...")]
    pub devices: Vec<Device>,
    /// tensor: no CUDA rows.
    #[arg(long)]
    pub no_gpu: bool,
    /// tensor: add the model-sized shapes and hold a 2 GiB tensor in the memory rows (each
    /// skipped when the memory is not free).
    #[arg(id = "large_tensors", long = "large-tensors")]
    pub large: bool,
    /// tensor: run rows even when the memory they need (host or GPU) is not free: they fail
    /// with the figures where allocation fails, and the suite goes on.
    #[arg(long)]
    pub no_memory_check: bool,
}

/// `--mode`: one mode, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeChoice {
    /// The bytes go through the transport.
    Copy,
    /// A shared-memory segment; only a handle crosses.
    Shared,
    /// Both, shared measured against copy.
    #[default]
    Both,
}

impl ModeChoice {
    /// The one mode chosen; `None` for both (or the configured ones).
    pub fn mode(self) -> Option<Mode> {
        match self {
            ModeChoice::Copy => Some(Mode::Copy),
            ModeChoice::Shared => Some(Mode::Shared),
            ModeChoice::Both => None,
        }
    }
}

/// Per-row timeout when the table does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default shapes: tiny to image-sized.
pub const DEFAULT_SHAPES: [&[u64]; 5] = [&[10, 10], &[100, 100], &[512, 512], &[1024, 1024], &[3, 8192, 8192]];

/// About what a process's CUDA context takes of the GPU's memory (a worker's, in the estimates).
pub const CUDA_CONTEXT: u64 = 512 << 20;

/// What the machine offers, read when the plan is made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    /// Why CUDA rows cannot run here, when they cannot.
    pub no_cuda: Option<String>,
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

/// Why a row on CUDA cannot run in this build, before what the machine offers.
fn cuda_unsupported(mode: Option<Mode>) -> Option<String> {
    if !cfg!(feature = "torch") {
        return None;
    }
    let why = match mode {
        Some(Mode::Shared) => "shared mode on CUDA needs CUDA IPC handles, which tch does not offer",
        Some(Mode::Copy) => return None,
        None => "VRAM per worker is measured through the CUDA driver API, which a `torch` build leaves to tch",
    };
    Some(format!("{why}; the default build (without `torch`) measures it"))
}

/// What a transfer row needs: the host's tensor, and up to two receive buffers in a copying
/// worker (the first two messages land in fresh memory) or nothing of its own beside the host's
/// segment in a sharing one. On CUDA (driver API), the host's tensor and the worker's copy are on
/// the GPU, with the worker's context, and in host memory the copy's staging buffer.
fn transfer_needs(bytes: u64, mode: Mode, device: Device) -> Needs {
    let what = format!("a {} tensor in {} mode", format_size(bytes as f64), mode.as_str());
    let (ram, vram) = match (device, mode, cfg!(feature = "torch")) {
        (Device::Cpu, Mode::Copy, _) => (3 * bytes, 0),
        (Device::Cpu, Mode::Shared, _) => (2 * bytes, 0),
        (Device::Cuda, Mode::Copy, true) => (3 * bytes, 2 * bytes),
        (Device::Cuda, Mode::Copy, false) => (3 * bytes, 2 * bytes + CUDA_CONTEXT),
        (Device::Cuda, Mode::Shared, _) => (0, bytes + CUDA_CONTEXT),
    };
    Needs { what, ram, vram }
}

/// What a memory row needs: in copy mode each worker holds its own copy, and the host one more
/// (on CUDA, the copies are on the GPU, and host memory holds the host's staging buffer and each
/// worker's receive buffer).
fn memory_needs(size: u64, workers: u32, modes: &[Mode], device: Device) -> Needs {
    let n = workers as u64;
    let what = format!("{n} worker{} holding {}", if n == 1 { "" } else { "s" }, format_size(size as f64));
    let copy = modes.contains(&Mode::Copy);
    let (ram, vram) = match (device, copy) {
        (Device::Cpu, true) => (size * (n + 2), 0),
        (Device::Cpu, false) => (size * 2, 0),
        (Device::Cuda, true) => (size * (n + 1), size * (n + 1) + n * CUDA_CONTEXT),
        (Device::Cuda, false) => (0, size + n * CUDA_CONTEXT),
    };
    Needs { what, ram, vram }
}

/// The rows, in report order.
pub fn rows(input: &RowsInput) -> Vec<TensorRow> {
    let maker = Maker::new(input);
    let wants = |g: Group| input.groups.is_empty() || input.groups.contains(&g);
    let mut out = Vec::new();
    if wants(Group::Transfer) {
        out.extend(transfer_rows(&maker));
    }
    if wants(Group::Memory) {
        out.extend(memory_rows(&maker));
    }
    out
}

/// What every row is made from: the configuration and the command line resolved once.
struct Maker<'a> {
    input: &'a RowsInput<'a>,
    dtype: DType,
    modes: Vec<Mode>,
    devices: Vec<Device>,
    shapes: Vec<Vec<u64>>,
    count: u32,
    round_bytes: u64,
    shm_dir: PathBuf,
}

impl<'a> Maker<'a> {
    fn new(input: &'a RowsInput<'a>) -> Maker<'a> {
        let (cfg, args) = (input.cfg, input.args);
        let modes: Vec<Mode> = match args.mode.mode() {
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
        Maker {
            input,
            dtype: cfg.dtype.unwrap_or(DType::F32),
            modes,
            devices,
            shapes,
            count: cfg.count.unwrap_or(if input.quick { 20 } else { 100 }),
            round_bytes: if input.quick { 256 << 20 } else { 1 << 30 },
            shm_dir: cfg.shm_dir.clone().unwrap_or_else(|| PathBuf::from("/dev/shm")),
        }
    }

    fn id(&self, name: &str, params: Vec<Param>) -> BenchId {
        let mut id = BenchId::new(super::KIND, self.input.package, name);
        id.params = params;
        id
    }

    fn row(&self, id: BenchId, kind: RowKind, count: u32, device: Device, needs: Needs, group: Group) -> TensorRow {
        TensorRow {
            id,
            settings: self.input.settings.clone(),
            kind,
            count,
            shm_dir: self.shm_dir.clone(),
            skip: match device {
                Device::Cuda => self.input.machine.no_cuda.clone(),
                Device::Cpu => None,
            },
            needs,
            check_memory: !self.input.args.no_memory_check,
            reference: None,
            group: Some(group),
        }
    }
}

/// One tensor handed to a worker and back, per device, shape and mode; a shared row is measured
/// against the copy row of its shape.
fn transfer_rows(m: &Maker) -> Vec<TensorRow> {
    let mut out = Vec::new();
    for &device in &m.devices {
        for shape in &m.shapes {
            let spec = TensorSpec { shape: shape.clone(), dtype: m.dtype };
            let bytes = spec.bytes();
            let mut copy_id = None;
            for &mode in &m.modes {
                let id = m.id(
                    "transfer",
                    vec![
                        text("device", device.as_str()),
                        text("dtype", m.dtype.as_str()),
                        text("shape", &spec.shape_text()),
                        number("size", bytes as f64, Unit::Bytes),
                        text("mode", mode.as_str()),
                    ],
                );
                let rendered = id.render();
                let kind = RowKind::Transfer { spec: spec.clone(), mode, device };
                let per_round = crate::suites::per_round(m.count, bytes, m.round_bytes, 3);
                let needs = transfer_needs(bytes, mode, device);
                let mut r = m.row(id, kind, per_round, device, needs, Group::Transfer);
                if device == Device::Cuda {
                    r.skip = r.skip.or_else(|| cuda_unsupported(Some(mode)));
                }
                match mode {
                    Mode::Copy => copy_id = Some(rendered),
                    Mode::Shared => r.reference = copy_id.clone(),
                }
                out.push(r);
            }
        }
    }
    out
}

/// The memory one tensor takes with each count of workers, per device (on the GPU: `vram`).
fn memory_rows(m: &Maker) -> Vec<TensorRow> {
    let (cfg, args) = (m.input.cfg, m.input.args);
    let size = cfg.memory_size.unwrap_or(if args.large { 2 << 30 } else { 256 << 20 });
    let mut workers = cfg.workers.clone().unwrap_or_else(|| vec![1, 5]);
    workers.sort_unstable();
    workers.dedup();
    let mut out = Vec::new();
    for &device in &m.devices {
        // The same rows on the GPU hold the tensor in device memory and read NVML.
        let name = match device {
            Device::Cpu => "memory",
            Device::Cuda => "vram",
        };
        for &n in &workers {
            let id =
                m.id(name, vec![number("size", size as f64, Unit::Bytes), number("workers", n as f64, Unit::Count)]);
            let kind = RowKind::Memory { workers: n, bytes: size, modes: m.modes.clone(), device };
            let mut r = m.row(id, kind, 1, device, memory_needs(size, n, &m.modes, device), Group::Memory);
            if device == Device::Cuda {
                r.skip = r.skip.or_else(|| cuda_unsupported(None));
            }
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::policy::{RunCount, RunPolicy};
    use crate::results::{Limit, Thresholds};
    use crate::suites::tensor::row::Free;

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
                processes: 2,
            },
            machine,
        }
    }

    #[test]
    fn every_shape_and_mode_is_a_row_and_shared_is_measured_against_copy() {
        let cfg = TensorConfig::default();
        let args = TensorArgs::default();
        let rows = rows(&input(&cfg, &args, Machine { no_cuda: Some("no GPU".into()) }));
        let ids: Vec<String> = rows.iter().map(|r| r.id.render()).collect();
        assert_eq!(ids.len(), 2 * 5 * 2 + 2 * 2);
        assert_eq!(ids[0], "tensor/p/transfer[device=cpu,dtype=f32,shape=10×10,size=400 B,mode=copy]");
        assert_eq!(rows[1].reference.as_deref(), Some(ids[0].as_str()));
        assert!(rows[..10].iter().all(|r| r.skip.is_none()));
        assert!(
            rows[10..20].iter().all(|r| r.skip.as_deref() == Some("no GPU")),
            "CUDA rows are skipped without a GPU"
        );
        assert_eq!(ids[20], "tensor/p/memory[size=256 MiB,workers=1]");
        assert_eq!(ids[23], "tensor/p/vram[size=256 MiB,workers=5]");
        assert!(rows[20..22].iter().all(|r| r.skip.is_none()));
        assert!(rows[22..].iter().all(|r| r.skip.as_deref() == Some("no GPU")), "and so are the VRAM rows");
        assert_eq!(rows[9].count, 3, "a 768 MiB tensor makes the fewest round trips");
        assert!(rows.iter().all(|r| r.check_memory));
    }

    #[test]
    fn the_command_line_narrows_and_large_tensors_that_do_not_fit_are_skipped_with_the_figures() {
        let cfg = TensorConfig::default();
        let args =
            TensorArgs { mode: ModeChoice::Shared, devices: vec![], no_gpu: true, large: true, no_memory_check: false };
        let rows = rows(&input(&cfg, &args, Machine { no_cuda: None }));
        assert_eq!(rows.len(), 6 + 2);
        let large = &rows[5];
        assert!(large.id.render().contains("shape=40132×40132"));
        let why = large.needs.short_of(Free { ram: Some(4 << 30), vram: None }).unwrap();
        assert_eq!(why, "a 6.0 GiB tensor in shared mode needs about 12.0 GiB of memory, and 4.0 GiB is free");
        assert_eq!(large.needs.short_of(Free { ram: Some(16 << 30), vram: Some(0) }), None, "a CPU row needs no GPU");
        assert_eq!(large.needs.short_of(Free::default()), None, "what is free is not known");
        assert!(rows[6].id.render().contains("size=2 GiB"));
    }

    #[test]
    fn cuda_rows_need_gpu_memory_for_the_tensor_the_worker_s_copy_and_its_context() {
        let cfg =
            TensorConfig { shapes: Some(vec![vec![256, 1024, 1024]]), workers: Some(vec![4]), ..Default::default() };
        let args = TensorArgs { devices: vec![Device::Cuda], no_memory_check: true, ..Default::default() };
        let rows = rows(&input(&cfg, &args, Machine { no_cuda: None }));
        let ids: Vec<String> = rows.iter().map(|r| r.id.render()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(ids[0].contains("device=cuda") && ids[0].ends_with("mode=copy]"), "{ids:?}");
        assert_eq!(ids[2], "tensor/p/vram[size=256 MiB,workers=4]");
        assert!(rows.iter().all(|r| !r.check_memory), "--no-memory-check");
        let (gib, ctx) = (1u64 << 30, CUDA_CONTEXT);
        let (copy, shared, vram) = (&rows[0].needs, &rows[1].needs, &rows[2].needs);
        if cfg!(feature = "torch") {
            assert_eq!((copy.ram, copy.vram), (3 * gib, 2 * gib));
            assert!(rows[1].skip.as_deref().unwrap().contains("tch does not offer"), "{:?}", rows[1].skip);
            assert!(rows[2].skip.as_deref().unwrap().contains("CUDA driver API"), "{:?}", rows[2].skip);
        } else {
            assert!(rows.iter().all(|r| r.skip.is_none()));
            assert_eq!((copy.ram, copy.vram), (3 * gib, 2 * gib + ctx));
            assert_eq!((shared.ram, shared.vram), (0, gib + ctx), "a shared tensor stays on the GPU, once");
            // Copy mode: the host's tensor and four copies; shared: the host's tensor alone.
            assert_eq!((vram.ram, vram.vram), (5 * (256 << 20), 5 * (256 << 20) + 4 * ctx));
        }
        let why = copy.short_of(Free { ram: Some(64 * gib), vram: Some(gib) }).unwrap();
        assert!(why.starts_with("a 1.0 GiB tensor in copy mode needs about 2."), "{why}");
        assert!(why.ends_with(" GiB of GPU memory, and 1.0 GiB is free"), "{why}");
    }
}
