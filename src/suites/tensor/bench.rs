//! One row of the tensor suite as a [`Bench`]. A transfer row starts one worker in `prepare`,
//! makes the tensor (in a shared-memory segment for `shared`, or on the GPU), and each run is a
//! round of round trips: the tensor sent, the worker's checksum back and checked. A memory row
//! starts its workers in `prepare`; each run has every worker hold the tensor in each mode, reads
//! what they use (PSS, or on the GPU the device memory NVML lists), and lets go.

use std::time::Instant;

use super::data::TensorSpec;
use super::host::{Body, TensorWorker};
use super::metrics;
use super::row::{Free, RowKind, TensorRow};
use super::source::Source;
use crate::measure::bench::{
    Bench, BenchId, FactsReport, MetricName, Observation, PrepareEnv, ReferenceSpec, RunFailure, Settings, SideMap,
};
use crate::results::{MetricDesc, OrderedMap};
use crate::suites::server::rss_pss;
use crate::suites::tensor::config::{Device, Mode};

/// A row of the tensor suite.
pub struct TensorBench {
    row: TensorRow,
    ipc: Option<tempfile::TempDir>,
    workers: Vec<TensorWorker>,
    source: Option<Source>,
    /// What a worker maps the shared tensor by, taken once (as a framework caches it).
    handle: Option<String>,
    expected: u64,
    header: String,
    first_round_trip: Option<std::time::Duration>,
    vram: VramFacts,
}

/// What a memory row on the GPU learns about the device memory of its processes.
#[derive(Default)]
struct VramFacts {
    /// NVML's PIDs before the workers started.
    before: Vec<u32>,
    /// How the workers were found among them.
    mapping: Option<String>,
    /// A worker's device memory before it holds anything (its CUDA context), on average.
    context: Option<f64>,
    /// The host's own, when NVML lists it under its PID.
    host: Option<u64>,
}

/// What holding the tensor took, in one mode.
struct Held {
    /// All workers' memory while they held it.
    total: u64,
    /// What holding it added to a worker, on average.
    growth: f64,
    /// What the GPU's used memory grew by (on the GPU).
    device_growth: Option<f64>,
}

static SOCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl TensorBench {
    /// A bench for this row.
    pub fn new(row: TensorRow) -> TensorBench {
        TensorBench {
            row,
            ipc: None,
            workers: Vec::new(),
            source: None,
            handle: None,
            expected: 0,
            header: String::new(),
            first_round_trip: None,
            vram: VramFacts::default(),
        }
    }

    fn check(&self, what: &str, sum: u64) -> Result<(), RunFailure> {
        if sum == self.expected {
            return Ok(());
        }
        Err(RunFailure::new(format!(
            "the worker's checksum of `{what}` is {sum:#018x}, the tensor's is {:#018x}: the data did not arrive intact",
            self.expected
        )))
    }

    /// One round trip of the transfer row.
    fn round_trip(&mut self, mode: Mode, device: Device) -> Result<(), RunFailure> {
        let fail = |e: String| RunFailure::new(e);
        let sum = match mode {
            Mode::Copy => {
                let data = self.source.as_mut().expect("prepared").payload().map_err(fail)?;
                self.workers[0].request("copy", Body::Bytes(&self.header, device.as_str(), data)).map_err(fail)?
            }
            Mode::Shared => {
                let handle = self.handle.as_deref().expect("prepared");
                self.workers[0].request("shared", Body::Handle(&self.header, device.as_str(), handle)).map_err(fail)?
            }
        };
        self.check(mode.as_str(), sum)
    }

    /// What each worker uses: its PSS, or on the GPU its device memory.
    fn usage(&mut self, device: Device) -> Result<Vec<u64>, RunFailure> {
        match device {
            Device::Cpu => self
                .workers
                .iter()
                .map(|w| rss_pss(w.pid()).map(|(_, pss)| pss))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| RunFailure::new("could not read a worker's smaps_rollup")),
            Device::Cuda => {
                let now = crate::gpu::compute_processes(gpu_uuid()).map_err(RunFailure::new)?;
                let pids: Vec<u32> = self.workers.iter().map(|w| w.pid()).collect();
                let vram = super::vram::workers_vram(&pids, &self.vram.before, &now).map_err(RunFailure::new)?;
                self.vram.mapping = Some(vram.mapping.describe());
                if vram.mapping == super::vram::PidMapping::Direct {
                    self.vram.host = now.iter().find(|p| p.pid == std::process::id()).and_then(|p| p.used);
                }
                Ok(vram.per_worker)
            }
        }
    }

    /// Every worker holds the tensor in `mode`; what all of them use is read, and how much each
    /// grew by holding it; they let go.
    fn hold(&mut self, mode: Mode, device: Device) -> Result<Held, RunFailure> {
        let fail = |e: String| RunFailure::new(e);
        let op = format!("hold-{}", mode.as_str());
        let before = self.usage(device)?;
        let device_before = device_used(device);
        if device == Device::Cuda {
            self.vram.context.get_or_insert(before.iter().sum::<u64>() as f64 / before.len().max(1) as f64);
        }
        let n = self.workers.len();
        match mode {
            Mode::Copy => {
                let payloads = self.source.as_mut().expect("prepared").payloads(n).map_err(fail)?;
                for (w, data) in self.workers.iter_mut().zip(payloads) {
                    w.send(&op, Body::Bytes(&self.header, device.as_str(), data)).map_err(fail)?;
                }
            }
            Mode::Shared => {
                let handle = self.handle.as_deref().expect("prepared");
                for w in &mut self.workers {
                    w.send(&op, Body::Handle(&self.header, device.as_str(), handle)).map_err(fail)?;
                }
            }
        }
        for i in 0..n {
            let sum = self.workers[i].answer(&op).map_err(fail)?;
            self.check(&op, sum)?;
        }
        let after = self.usage(device)?;
        let device_growth = device_before.zip(device_used(device)).map(|(b, a)| a as f64 - b as f64);
        for w in &mut self.workers {
            w.request("release", Body::None).map_err(fail)?;
        }
        let growth = after.iter().zip(&before).map(|(a, b)| *a as f64 - *b as f64).sum::<f64>();
        Ok(Held { total: after.iter().sum(), growth: growth / after.len().max(1) as f64, device_growth })
    }
}

/// The UUID of the GPU the CUDA rows use, to find it in NVML.
fn gpu_uuid() -> Option<&'static str> {
    crate::sys::cuda::gpu().ok().and_then(|g| g.uuid.as_deref())
}

/// The GPU's used memory, on the GPU.
fn device_used(device: Device) -> Option<u64> {
    if device != Device::Cuda {
        return None;
    }
    crate::sys::cuda::gpu().ok()?.mem_info().ok().map(|(free, total)| total - free)
}

impl Bench for TensorBench {
    fn id(&self) -> &BenchId {
        &self.row.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        match &self.row.kind {
            RowKind::Transfer { .. } => metrics::transfer(),
            RowKind::Memory { modes, device: Device::Cpu, .. } => metrics::memory(modes),
            RowKind::Memory { modes, device: Device::Cuda, .. } => metrics::vram(modes),
        }
    }

    fn settings(&self) -> &Settings {
        &self.row.settings
    }

    fn skip(&self) -> Option<String> {
        if self.row.skip.is_some() || !self.row.check_memory {
            return self.row.skip.clone();
        }
        // What is free now: earlier rows have let go of theirs.
        self.row.needs.short_of(Free::now(self.row.needs.vram > 0))
    }

    fn reference(&self) -> Option<ReferenceSpec> {
        self.row.reference.clone().map(ReferenceSpec::explaining)
    }

    fn group(&self) -> Option<&'static str> {
        self.row.group.map(crate::suites::Scenarios::as_str)
    }

    fn rebind(&self, _other: &SideMap) -> Result<Box<dyn Bench>, RunFailure> {
        Ok(Box::new(TensorBench::new(self.row.clone())))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), RunFailure> {
        let dir = crate::suites::zmq::ipc_dir()?;
        let device = self.row.device();
        let (spec, workers, modes) = match &self.row.kind {
            RowKind::Transfer { spec, mode, .. } => (spec.clone(), 1, vec![*mode]),
            RowKind::Memory { workers, bytes, modes, .. } => (
                TensorSpec { shape: vec![*bytes], dtype: crate::suites::tensor::config::DType::U8 },
                *workers,
                modes.clone(),
            ),
        };
        self.header = spec.header();
        let shared = modes.contains(&Mode::Shared);
        let (source, expected) = Source::new(&spec, device, shared, &self.row.shm_dir)?;
        self.expected = expected;
        if shared {
            self.handle = Some(source.handle()?);
        }
        self.source = Some(source);
        let memory_on_gpu = matches!(self.row.kind, RowKind::Memory { device: Device::Cuda, .. });
        if memory_on_gpu {
            // Who is on the GPU before the workers start (this process among them, with the tensor).
            self.vram.before = crate::gpu::compute_processes(gpu_uuid())?.iter().map(|p| p.pid).collect();
        }
        for _ in 0..workers {
            let n = SOCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.workers.push(TensorWorker::start(env.self_exe, dir.path(), n, self.row.settings.timeout)?);
        }
        self.ipc = Some(dir);
        if memory_on_gpu {
            // Each worker's context first, so that what holding the tensor adds can be told apart.
            for w in &mut self.workers {
                w.request("cuda-context", Body::None)?;
            }
        }
        // Warm both ends: the first round trip connects, faults in the worker's receive buffer
        // (copy) or maps the segment (shared), and on the GPU opens the worker's context. What
        // that costs is kept as a fact: it is what a worker pays for a tensor in memory it has not
        // seen yet. A second one, because the second large message still lands in fresh pages
        // (the allocator has split the first buffer for small blocks); from the third on, every
        // message reuses faulted-in memory.
        if let RowKind::Transfer { mode, device, .. } = self.row.kind.clone() {
            let t = Instant::now();
            self.round_trip(mode, device).map_err(|f| f.reason)?;
            self.first_round_trip = Some(t.elapsed());
            self.round_trip(mode, device).map_err(|f| f.reason)?;
        }
        Ok(())
    }

    fn facts(&mut self) -> FactsReport {
        let mut report = FactsReport::default();
        let other = &mut report.facts.other;
        let device = self.row.device();
        // CUDA through the driver API (the default build), or tensors in host memory (and `tch`'s
        // CUDA tensors, which are copied to the host to be sent).
        let driver_api = device == Device::Cuda && !cfg!(feature = "torch");
        other.insert("transport".into(), "zmq ipc".into());
        if driver_api {
            other.insert("tensors".into(), super::cuda::HOW.into());
            other.insert("checksum".into(), super::cuda::CHECKSUM.into());
            if let Ok(gpu) = crate::sys::cuda::gpu() {
                other.insert("gpu".into(), gpu.name.clone().into());
            }
        } else {
            other.insert("tensors".into(), super::tensors::KIND_OF_TENSORS.into());
            other.insert("checksum".into(), format!("one word per {} bytes", super::data::CHECKSUM_STRIDE).into());
        }
        let shm_dir = self.row.shm_dir.display().to_string();
        match &self.row.kind {
            RowKind::Transfer { mode, .. } => {
                other.insert("round_trips_per_round".into(), (self.row.count as u64).into());
                if let Some(first) = self.first_round_trip {
                    other.insert("first_round_trip_seconds".into(), first.as_secs_f64().into());
                }
                let receiver = match (mode, driver_api) {
                    (Mode::Copy, false) => "the worker receives into memory freed by the last tensor (glibc tuned for reuse)",
                    (Mode::Shared, false) => "the worker maps a segment once and keeps the mapping while tensors arrive in it",
                    (Mode::Copy, true) => "the worker receives into memory freed by the last tensor and copies it into device memory it allocated once, on its own context",
                    (Mode::Shared, true) => "the worker maps the host's device memory by its CUDA IPC handle once and keeps the mapping while tensors arrive in it",
                };
                other.insert("receiver".into(), receiver.into());
                if *mode == Mode::Shared && !driver_api {
                    other.insert("shm_dir".into(), shm_dir.into());
                }
            }
            RowKind::Memory { .. } if device == Device::Cpu => {
                other.insert("shm_dir".into(), shm_dir.into());
            }
            RowKind::Memory { .. } => {}
        }
        report
    }

    fn run(&mut self) -> Result<Observation, RunFailure> {
        let start = Instant::now();
        let values: Vec<(MetricName, f64)> = match self.row.kind.clone() {
            RowKind::Transfer { spec, mode, device } => {
                let mut times = Vec::with_capacity(self.row.count as usize);
                for _ in 0..self.row.count {
                    let t = Instant::now();
                    self.round_trip(mode, device)?;
                    times.push(t.elapsed().as_secs_f64());
                }
                let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
                let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
                vec![
                    ("round_trip".into(), mean),
                    ("throughput".into(), spec.bytes() as f64 / mean),
                    ("fastest".into(), fastest),
                ]
            }
            RowKind::Memory { workers, modes, device, .. } => {
                let unit = match device {
                    Device::Cpu => "pss",
                    Device::Cuda => "vram",
                };
                let mut values = Vec::new();
                let mut totals = Vec::new();
                for mode in &modes {
                    let held = self.hold(*mode, device)?;
                    let m = mode.as_str();
                    totals.push(held.total);
                    values.push((format!("{m}_total_{unit}").into(), held.total as f64));
                    values.push((format!("{m}_worker_{unit}").into(), held.total as f64 / workers.max(1) as f64));
                    let growth = metrics::growth_name(*mode, device);
                    values.push((growth.into(), held.growth));
                    if let Some(grown) = held.device_growth {
                        values.push((format!("{m}_device_growth").into(), grown));
                    }
                }
                if let [copy, shared] = totals[..] {
                    values.push(("saved".into(), 1.0 - shared as f64 / copy.max(1) as f64));
                }
                values
            }
        };
        Ok(Observation { elapsed: start.elapsed(), values, ..Observation::default() })
    }

    fn teardown(&mut self, report: &mut FactsReport) {
        for w in &mut self.workers {
            if let Some(why) = w.exit_reason() {
                report.facts.problems.push(why);
            }
        }
        let other = &mut report.facts.other;
        if let Some(mapping) = self.vram.mapping.take() {
            other.insert("vram_pid_mapping".into(), mapping.into());
        }
        if let Some(context) = self.vram.context.take() {
            other.insert("vram_context_per_worker_bytes".into(), context.into());
        }
        if let Some(host) = self.vram.host.take() {
            other.insert("host_vram_bytes".into(), host.into());
        }
        self.workers.clear();
        self.ipc = None;
        // Benches live until the run ends: what they hold would count in later rows' memory.
        self.source = None;
        self.handle = None;
    }
}
