//! A row of the tensor suite as planned, and the memory it needs free when it starts. The rows are
//! made in `rows` and run by `bench`.

use std::path::PathBuf;

use super::data::TensorSpec;
use crate::measure::bench::{BenchId, Settings};
use crate::suites::tensor::config::{Device, Mode};
use crate::units::format_bytes as format_size;

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
        /// Where they hold it.
        device: Device,
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
    /// Why it cannot run here (known when the plan is made).
    pub skip: Option<String>,
    /// The memory it needs free when it starts.
    pub needs: Needs,
    /// Whether that is checked (not with `--no-memory-check`).
    pub check_memory: bool,
    /// The copy row a shared row is measured against.
    pub reference: Option<String>,
    /// The scenario group it was made for (`--scenario`), set when the rows are made.
    pub group: Option<super::scenarios::Group>,
}

impl TensorRow {
    /// Where the row's tensors live.
    pub fn device(&self) -> Device {
        match &self.kind {
            RowKind::Transfer { device, .. } | RowKind::Memory { device, .. } => *device,
        }
    }
}

/// What a row needs free when it starts: checked just before it runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// What needs it, for the message: "a 768 MiB tensor in copy mode".
    pub what: String,
    /// Host memory, in bytes.
    pub ram: u64,
    /// GPU memory, in bytes.
    pub vram: u64,
}

/// What is free now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Free {
    /// `MemAvailable`.
    pub ram: Option<u64>,
    /// The first GPU's free memory.
    pub vram: Option<u64>,
}

impl Free {
    /// What is free now; GPU memory only when `gpu` (opening this process's CUDA context).
    pub fn now(gpu: bool) -> Free {
        let vram =
            if gpu { crate::sys::cuda::gpu().ok().and_then(|g| g.mem_info().ok()).map(|(free, _)| free) } else { None };
        Free { ram: crate::suites::server::mem_available(), vram }
    }
}

impl Needs {
    /// Why the row cannot run with `free`, with the figures; `None` when it fits (or what is free
    /// is not known).
    pub fn short_of(&self, free: Free) -> Option<String> {
        short(self.ram, free.ram, "memory", &self.what)
            .or_else(|| short(self.vram, free.vram, "GPU memory", &self.what))
    }
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
