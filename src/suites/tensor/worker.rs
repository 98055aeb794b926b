//! The built-in tensor worker (`__coldbench-worker tensor`): a ZeroMQ DEALER that connects to the
//! host and answers each tensor with the checksum of what it received.
//!
//! Frames from the host: `copy HEADER DEVICE DATA` (the bytes cross), `shared HEADER DEVICE
//! HANDLE` (a segment to map, or on `cuda` a CUDA IPC handle), `hold-copy …`/`hold-shared …` (the
//! same, and keep the tensor until `release`), `release`, `cuda-context` (open this process's
//! context on the GPU now), `bye`. The worker answers `ok CHECKSUM` or `error TEXT`; it starts by
//! sending `ready`. On `cuda` (driver API, the default build) the checksum is of what is in
//! device memory.

use super::data::{checksum, TensorSpec};
use crate::suites::tensor::config::Device;
use crate::sys::shm::Mapping;

/// The environment variable that names the host's endpoint.
pub const ENDPOINT_ENV: &str = "COLDBENCH_TENSOR_ENDPOINT";

/// What a worker keeps for `hold-*`.
enum Held {
    Copy(#[allow(dead_code)] zmq::Message),
    Shared(#[allow(dead_code)] Mapping),
    #[cfg(feature = "torch")]
    Torch(#[allow(dead_code)] tch::Tensor),
    #[cfg(not(feature = "torch"))]
    Cuda(#[allow(dead_code)] super::cuda::Held),
}

/// What a worker keeps on the GPU between requests (nothing with `torch`, whose CUDA tensors are
/// made per request).
#[cfg(not(feature = "torch"))]
type OnGpu = super::cuda::Receiver;
#[cfg(feature = "torch")]
#[derive(Default)]
struct OnGpu;

/// Runs the worker until `bye` or until the host is gone.
pub fn serve() -> Result<(), String> {
    let endpoint = std::env::var(ENDPOINT_ENV).map_err(|_| format!("{ENDPOINT_ENV} is not set"))?;
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::DEALER).map_err(|e| e.to_string())?;
    socket.set_linger(0).map_err(|e| e.to_string())?;
    socket.connect(&endpoint).map_err(|e| format!("could not connect to {endpoint}: {e}"))?;
    socket.send("ready", 0).map_err(|e| e.to_string())?;
    let mut held: Vec<Held> = Vec::new();
    let mut last: Option<Mapping> = None;
    let mut gpu: OnGpu = Default::default();
    loop {
        let mut frames = Vec::new();
        loop {
            let mut m = zmq::Message::new();
            socket.recv(&mut m, 0).map_err(|e| e.to_string())?;
            let more = m.get_more();
            frames.push(m);
            if !more {
                break;
            }
        }
        let op = frames.first().and_then(|f| f.as_str()).unwrap_or("").to_string();
        let answer = match op.as_str() {
            "bye" => return Ok(()),
            "release" => {
                held.clear();
                last = None;
                give_back_freed_memory();
                Ok(0)
            }
            "cuda-context" => open_cuda().map(|()| 0),
            "copy" | "shared" | "hold-copy" | "hold-shared" => receive(&op, frames, &mut held, &mut last, &mut gpu),
            other => Err(format!("unknown request `{other}`")),
        };
        match answer {
            Ok(sum) => socket.send_multipart([&b"ok"[..], &sum.to_le_bytes()], 0),
            Err(e) => socket.send_multipart([b"error".as_slice(), e.as_bytes()], 0),
        }
        .map_err(|e| e.to_string())?;
    }
}

/// Opens this process's context on the GPU.
fn open_cuda() -> Result<(), String> {
    #[cfg(not(feature = "torch"))]
    return crate::sys::cuda::gpu().map(|_| ());
    #[cfg(feature = "torch")]
    Err("a `torch` build's worker has no CUDA context of its own".into())
}

fn receive(
    op: &str,
    mut frames: Vec<zmq::Message>,
    held: &mut Vec<Held>,
    last: &mut Option<Mapping>,
    #[cfg_attr(feature = "torch", allow(unused_variables))] gpu: &mut OnGpu,
) -> Result<u64, String> {
    if frames.len() != 4 {
        return Err(format!("`{op}` has {} frames, not 4", frames.len()));
    }
    let spec = TensorSpec::parse_header(frames[1].as_str().ok_or("the header is not text")?)?;
    let device = match frames[2].as_str() {
        Some("cuda") => Device::Cuda,
        _ => Device::Cpu,
    };
    let len = spec.bytes() as usize;
    let keep = op.starts_with("hold-");
    #[cfg(not(feature = "torch"))]
    if device == Device::Cuda {
        let (sum, kept) = if op.ends_with("copy") {
            let data = &frames[3];
            if data.len() != len {
                return Err(format!("{} bytes arrived for a {}-byte tensor", data.len(), len));
            }
            gpu.copy(data, keep)?
        } else {
            gpu.shared(frames[3].as_str().ok_or("the handle is not text")?, len, keep)?
        };
        held.extend(kept.map(Held::Cuda));
        return Ok(sum);
    }
    if op.ends_with("copy") {
        let data = frames.pop().expect("four frames");
        if data.len() != len {
            return Err(format!("{} bytes arrived for a {}-byte tensor", data.len(), len));
        }
        let (sum, tensor) = accept(&spec, device, &data)?;
        if keep {
            held.push(tensor.unwrap_or(Held::Copy(data)));
        }
        Ok(sum)
    } else {
        let handle = frames[3].as_str().ok_or("the handle is not text")?;
        if !keep {
            return Ok(accept(&spec, device, Mapping::open_reusing(handle, len, last)?.bytes())?.0);
        }
        // A held tensor gets a mapping of its own, so that each worker's memory shows it.
        let map = Mapping::open(handle, len)?;
        let (sum, tensor) = accept(&spec, device, map.bytes())?;
        // The mapping stays with the tensor that views it.
        held.push(Held::Shared(map));
        held.extend(tensor);
        Ok(sum)
    }
}

/// The checksum of a received tensor; with `tch`, the bytes become a tensor first (on CUDA: a
/// copy to the device, which the round trip includes).
#[cfg(not(feature = "torch"))]
fn accept(_spec: &TensorSpec, _device: Device, bytes: &[u8]) -> Result<(u64, Option<Held>), String> {
    Ok((checksum(bytes), None))
}

#[cfg(feature = "torch")]
fn accept(spec: &TensorSpec, device: Device, bytes: &[u8]) -> Result<(u64, Option<Held>), String> {
    let view = super::torch::view(spec, bytes)?;
    let sum = checksum(view.bytes());
    match device {
        Device::Cpu => Ok((sum, None)),
        Device::Cuda => Ok((sum, Some(Held::Torch(super::torch::to_cuda(&view)?)))),
    }
}

/// How the worker's allocator is set up: large blocks reused
/// ([`crate::suites::role::REUSE_LARGE_BLOCKS`]), and no thread cache or fast bins, whose small
/// blocks would otherwise keep a freed 1 GiB receive buffer from merging back and being reused
/// whole. Any tunables the user set come first; ours win where both name one.
pub fn allocator_tunables() -> String {
    let ours = format!("{}:glibc.malloc.tcache_count=0:glibc.malloc.mxfast=0", crate::suites::role::REUSE_LARGE_BLOCKS);
    crate::suites::role::tunables_after(&ours, std::env::var("GLIBC_TUNABLES").ok().as_deref())
}

/// Returns what the worker no longer holds to the system, so that a memory row reads only what
/// is held.
fn give_back_freed_memory() {
    crate::sys::memory::trim_heap();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_users_tunables_are_kept_and_ours_come_last() {
        let tunables_after = crate::suites::role::tunables_after;
        assert_eq!(tunables_after("a=1", None), "a=1");
        assert_eq!(tunables_after("a=1", Some("")), "a=1");
        assert_eq!(tunables_after("a=1", Some("glibc.pthread.rseq=0")), "glibc.pthread.rseq=0:a=1");
        let ours = super::allocator_tunables();
        assert!(
            ours.contains("glibc.malloc.mmap_max=0:") && ours.ends_with("tcache_count=0:glibc.malloc.mxfast=0"),
            "{ours}"
        );
    }
}
