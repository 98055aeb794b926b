//! One row of the tensor suite as a [`Bench`]. A transfer row starts one worker in `prepare`,
//! makes the tensor (in a shared-memory segment for `shared`), and each run is a round of round
//! trips: the tensor sent, the worker's checksum back and checked. A memory row starts its
//! workers in `prepare`; each run has every worker hold the tensor in each mode, reads their PSS,
//! and lets go.

use std::path::PathBuf;
use std::time::Instant;

use super::data::{checksum, TensorSpec};
use super::host::{Body, TensorWorker};
use super::metrics;
use super::shm::Mapping;
use super::tensors::HostTensor;
use crate::discover::config::tensor::{Device, Mode};
use crate::measure::bench::{
    Bench, BenchId, FactsReport, MetricName, Observation, PrepareEnv, RunFailure, Settings, SideMap,
};
use crate::results::{MetricDesc, OrderedMap};
use crate::suites::server::rss_pss;

/// What a row measures.
#[derive(Debug, Clone, PartialEq)]
pub enum RowKind {
    /// Round trips of one tensor in one mode.
    Transfer {
        /// The tensor.
        spec: TensorSpec,
        /// How it crosses.
        mode: Mode,
        /// Where it lives.
        device: Device,
    },
    /// Workers each holding the same tensor, in each mode.
    Memory {
        /// Workers.
        workers: u32,
        /// The tensor's size.
        bytes: u64,
        /// The modes compared.
        modes: Vec<Mode>,
    },
}

/// A row of the suite, as planned.
#[derive(Debug, Clone)]
pub struct TensorRow {
    /// Its id.
    pub id: BenchId,
    /// How it runs and is judged.
    pub settings: Settings,
    /// What it measures.
    pub kind: RowKind,
    /// Round trips per round.
    pub count: u32,
    /// Where segments are made.
    pub shm_dir: PathBuf,
    /// Why it cannot run here.
    pub skip: Option<String>,
    /// The copy row a shared row is measured against.
    pub reference: Option<String>,
}

/// A row of the tensor suite.
pub struct TensorBench {
    row: TensorRow,
    ipc: Option<tempfile::TempDir>,
    workers: Vec<TensorWorker>,
    tensor: Option<HostTensor>,
    segment: Option<Mapping>,
    expected: u64,
    header: String,
    first_round_trip: Option<std::time::Duration>,
}

static SOCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl TensorBench {
    /// A bench for this row.
    pub fn new(row: TensorRow) -> TensorBench {
        TensorBench {
            row,
            ipc: None,
            workers: Vec::new(),
            tensor: None,
            segment: None,
            expected: 0,
            header: String::new(),
            first_round_trip: None,
        }
    }

    /// A segment holding the tensor's bytes.
    fn segment_with(&self, bytes: &[u8]) -> Result<Mapping, String> {
        let mut segment = Mapping::create(&self.row.shm_dir, bytes.len())?;
        segment.bytes_mut().copy_from_slice(bytes);
        Ok(segment)
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
                let data = self.tensor.as_ref().expect("prepared").payload().map_err(fail)?;
                self.workers[0].request("copy", Body::Bytes(&self.header, device.as_str(), data)).map_err(fail)?
            }
            Mode::Shared => {
                let handle = self.segment.as_ref().expect("prepared").handle();
                self.workers[0].request("shared", Body::Handle(&self.header, device.as_str(), &handle)).map_err(fail)?
            }
        };
        self.check(mode.as_str(), sum)
    }

    /// The PSS of each worker.
    fn pss(&self) -> Result<Vec<u64>, RunFailure> {
        self.workers
            .iter()
            .map(|w| rss_pss(w.pid()).map(|(_, pss)| pss))
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| RunFailure::new("could not read a worker's smaps_rollup"))
    }

    /// Every worker holds the tensor in `mode`; the PSS of all of them is read, and how much each
    /// grew by holding it; they let go.
    fn hold(&mut self, mode: Mode) -> Result<(u64, f64), RunFailure> {
        let fail = |e: String| RunFailure::new(e);
        let op = format!("hold-{}", mode.as_str());
        let before = self.pss()?;
        for i in 0..self.workers.len() {
            match mode {
                Mode::Copy => {
                    let data = self.tensor.as_ref().expect("prepared").payload().map_err(fail)?;
                    self.workers[i].send(&op, Body::Bytes(&self.header, "cpu", data)).map_err(fail)?;
                }
                Mode::Shared => {
                    let handle = self.segment.as_ref().expect("prepared").handle();
                    self.workers[i].send(&op, Body::Handle(&self.header, "cpu", &handle)).map_err(fail)?;
                }
            }
        }
        for i in 0..self.workers.len() {
            let sum = self.workers[i].answer(&op).map_err(fail)?;
            self.check(&op, sum)?;
        }
        let after = self.pss()?;
        for w in &mut self.workers {
            w.request("release", Body::None).map_err(fail)?;
        }
        let growth = after.iter().zip(&before).map(|(a, b)| *a as f64 - *b as f64).sum::<f64>();
        Ok((after.iter().sum(), growth / after.len().max(1) as f64))
    }
}

impl Bench for TensorBench {
    fn id(&self) -> &BenchId {
        &self.row.id
    }

    fn metrics(&self) -> OrderedMap<MetricDesc> {
        match &self.row.kind {
            RowKind::Transfer { .. } => metrics::transfer(),
            RowKind::Memory { modes, .. } => metrics::memory(modes),
        }
    }

    fn settings(&self) -> &Settings {
        &self.row.settings
    }

    fn skip(&self) -> Option<String> {
        self.row.skip.clone()
    }

    fn reference(&self) -> Option<String> {
        self.row.reference.clone()
    }

    fn rebind(&self, _other: &SideMap) -> Result<Box<dyn Bench>, String> {
        Ok(Box::new(TensorBench::new(self.row.clone())))
    }

    fn prepare(&mut self, env: &PrepareEnv) -> Result<(), String> {
        let dir = crate::suites::zmq::ipc_dir()?;
        let (spec, device, workers, modes) = match &self.row.kind {
            RowKind::Transfer { spec, mode, device } => (spec.clone(), *device, 1, vec![*mode]),
            RowKind::Memory { workers, bytes, modes } => (
                TensorSpec { shape: vec![*bytes], dtype: crate::discover::config::tensor::DType::U8 },
                Device::Cpu,
                *workers,
                modes.clone(),
            ),
        };
        self.header = spec.header();
        let tensor = HostTensor::new(&spec, device)?;
        let bytes = tensor.host_bytes()?;
        self.expected = checksum(&bytes);
        if modes.contains(&Mode::Shared) {
            self.segment = Some(self.segment_with(&bytes)?);
        }
        drop(bytes);
        self.tensor = Some(tensor);
        for _ in 0..workers {
            let n = SOCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.workers.push(TensorWorker::start(env.runner_exe, dir.path(), n, self.row.settings.timeout)?);
        }
        self.ipc = Some(dir);
        // Warm both ends: the first round trip connects, faults in the worker's receive buffer
        // (copy) or maps the segment (shared). What that costs is kept as a fact: it is what a
        // worker pays for a tensor in memory it has not seen yet. A second one, because the
        // second large message still lands in fresh pages (the allocator has split the first
        // buffer for small blocks); from the third on, every message reuses faulted-in memory.
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
        other.insert("transport".into(), "zmq ipc".into());
        other.insert("tensors".into(), super::tensors::KIND_OF_TENSORS.into());
        other.insert("checksum".into(), format!("one word per {} bytes", super::data::CHECKSUM_STRIDE).into());
        match &self.row.kind {
            RowKind::Transfer { mode, .. } => {
                other.insert("round_trips_per_round".into(), (self.row.count as u64).into());
                if let Some(first) = self.first_round_trip {
                    other.insert("first_round_trip_seconds".into(), first.as_secs_f64().into());
                }
                let receiver = match mode {
                    Mode::Copy => "the worker receives into memory freed by the last tensor (glibc tuned for reuse)",
                    Mode::Shared => "the worker maps a segment once and keeps the mapping while tensors arrive in it",
                };
                other.insert("receiver".into(), receiver.into());
                if *mode == Mode::Shared {
                    other.insert("shm_dir".into(), self.row.shm_dir.display().to_string().into());
                }
            }
            RowKind::Memory { .. } => {
                other.insert("shm_dir".into(), self.row.shm_dir.display().to_string().into());
            }
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
            RowKind::Memory { workers, modes, .. } => {
                let mut values = Vec::new();
                let mut totals = Vec::new();
                for mode in &modes {
                    let (total, growth) = self.hold(*mode)?;
                    totals.push(total);
                    values.push((format!("{}_total_pss", mode.as_str()).into(), total as f64));
                    values.push((format!("{}_worker_pss", mode.as_str()).into(), total as f64 / workers.max(1) as f64));
                    values.push((format!("{}_worker_growth", mode.as_str()).into(), growth));
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
        self.workers.clear();
        self.ipc = None;
        // Benches live until the run ends: what they hold would count in later rows' memory.
        self.tensor = None;
        self.segment = None;
    }
}
