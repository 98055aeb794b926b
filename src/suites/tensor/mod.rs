//! The tensor suite (`[package.metadata.bench.tensor]`, README "The tensor suite"): what it costs to hand a
//! tensor to another process by copying its bytes through ZeroMQ or by sharing memory, from tiny
//! to model-sized tensors, and how much memory workers holding the same tensor use in each mode.
//! Tensors are plain typed buffers, on CUDA device memory through the driver API (`cuda`); or
//! `tch` tensors with the feature `torch` (CPU and CUDA, copy mode).

pub mod bench;
pub mod config;
pub mod cuda;
pub mod data;
pub mod host;
pub mod memcpy;
pub mod metrics;
mod plan;
pub mod row;
pub mod rows;
pub mod scenarios;

pub use plan::Tensor;
pub mod source;
pub mod tensors;
#[cfg(feature = "torch")]
pub mod torch;
pub mod vram;
pub mod worker;

/// The kind of the suite's results.
pub const KIND: &str = "tensor";

/// The libtorch this build uses, for the host facts; `None` without the feature `torch`.
pub fn torch_facts() -> Option<String> {
    #[cfg(feature = "torch")]
    return Some(torch::facts());
    #[cfg(not(feature = "torch"))]
    None
}

/// Why CUDA rows cannot run here, or `None` when they can.
pub fn no_cuda() -> Option<String> {
    #[cfg(feature = "torch")]
    {
        if tch::Cuda::is_available() {
            return None;
        }
        let gpus = crate::gpu::list();
        let nvml = match (&gpus.gpus[..], gpus.note) {
            ([], Some(note)) => note,
            ([], None) => "NVML found no GPU".to_string(),
            (g, _) => format!("{} GPU(s) found by NVML", g.len()),
        };
        Some(format!("no CUDA device for libtorch ({nvml})"))
    }
    #[cfg(not(feature = "torch"))]
    crate::sys::cuda::driver().err().map(|why| format!("CUDA is not available: {why}"))
}
