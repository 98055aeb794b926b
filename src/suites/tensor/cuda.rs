//! The tensor suite on CUDA through the driver API ([`crate::sys::cuda`]), in the default build: the
//! host's tensor in device memory, and what a worker does with one, each process on its own
//! context. Copy mode is device → host → transport → device: the host copies the tensor to host
//! memory and sends it, the worker copies what it received into its own device memory. Shared mode
//! sends a CUDA IPC handle, and the worker maps the host's device memory. Either way the worker
//! proves receipt with the checksum of what is on the device, from a sample copied back (the
//! words the checksum reads: one strided copy and the last bytes).
//!
//! Host memory is pageable on both sides, as `tensor.cpu()` and `tensor.cuda()` use it in
//! PyTorch; `__coldbench-worker cuda-memcpy` measures pageable and page-locked copies beside it.

use std::sync::Arc;

use super::data::{self, Sample, TensorSpec, CHECKSUM_STRIDE};
use super::tensors::host_buffer;
use crate::sys::cuda::{self, DeviceBuffer, DeviceBytes, Gpu, IpcHandle, IpcMapping, PinnedBuffer};

/// The host fills its tensor through a buffer of this size.
const FILL_CHUNK: usize = 64 << 20;

/// What the facts say about the CUDA rows.
pub const HOW: &str = "CUDA driver API (libcuda loaded at run time), one context per process; pageable host memory";

/// What the checksum on the device reads, for the facts.
pub const CHECKSUM: &str = "on the device: one 8-byte word per 4096 bytes and the last word, copied back to the host by one strided copy (cuMemcpy2D) and one plain copy";

/// The host's tensor on the first GPU.
pub struct CudaTensor {
    gpu: &'static Gpu,
    buffer: DeviceBuffer,
    /// Host buffers the tensor is copied into to be sent; one is in use while the transport
    /// holds its message.
    staging: Vec<Arc<Vec<u8>>>,
}

impl CudaTensor {
    /// A tensor of this shape, filled with the pattern, in device memory; and its checksum.
    pub fn new(spec: &TensorSpec) -> Result<(CudaTensor, u64), String> {
        let gpu = cuda::gpu()?;
        let len = spec.bytes() as usize;
        // Device memory first: a tensor that does not fit fails before any host memory is used.
        let buffer = gpu.alloc(len, "the host's tensor")?;
        let mut chunk = host_buffer(len.min(FILL_CHUNK), "filling the tensor")?;
        let mut at = 0;
        while at < len {
            let part = &mut chunk[..(len - at).min(FILL_CHUNK)];
            data::fill_at(part, at as u64);
            gpu.upload(buffer.bytes(), at, part).map_err(|e| format!("could not fill the tensor: {e}"))?;
            at += part.len();
        }
        Ok((CudaTensor { gpu, buffer, staging: Vec::new() }, data::pattern_checksum(len)))
    }

    /// The first leg of a copy: the tensor copied to host memory, to be sent from there (the
    /// buffer is reused once the transport has let go of it).
    pub fn to_host(&mut self) -> Result<Arc<Vec<u8>>, String> {
        let len = self.buffer.bytes().len();
        let free = self.staging.iter().position(|b| Arc::strong_count(b) == 1);
        let at = match free {
            Some(at) => at,
            None => {
                self.staging.push(Arc::new(host_buffer(len, "the tensor's copy in host memory")?));
                self.staging.len() - 1
            }
        };
        let buf = Arc::get_mut(&mut self.staging[at]).expect("not held by the transport");
        self.gpu
            .download(self.buffer.bytes(), 0, buf)
            .map_err(|e| format!("could not copy the tensor to the host: {e}"))?;
        Ok(Arc::clone(&self.staging[at]))
    }

    /// The CUDA IPC handle of its memory, as text.
    pub fn handle(&self) -> Result<String, String> {
        let handle =
            self.gpu.ipc_handle(&self.buffer).map_err(|e| format!("could not export the tensor for CUDA IPC: {e}"))?;
        Ok(handle.to_text())
    }
}

/// Where a worker reads samples back to: page-locked memory, reused, so that the strided copy goes
/// straight into host memory; pageable where page-locked memory cannot be had.
pub enum SampleBuffer {
    /// Nothing yet.
    None,
    /// Page-locked.
    Pinned(PinnedBuffer),
    /// Pageable.
    Pageable(Vec<u8>),
}

impl SampleBuffer {
    /// At least `len` bytes of it.
    fn at_least(&mut self, gpu: &'static Gpu, len: usize) -> &mut [u8] {
        let short = match self {
            SampleBuffer::None => true,
            SampleBuffer::Pinned(b) => b.as_mut_slice().len() < len,
            SampleBuffer::Pageable(b) => b.len() < len,
        };
        if short {
            *self = SampleBuffer::None;
            *self = match gpu.alloc_pinned(len) {
                Ok(pinned) => SampleBuffer::Pinned(pinned),
                Err(_) => SampleBuffer::Pageable(vec![0; len]),
            };
        }
        match self {
            SampleBuffer::Pinned(b) => &mut b.as_mut_slice()[..len],
            SampleBuffer::Pageable(b) => &mut b[..len],
            SampleBuffer::None => unreachable!("made above"),
        }
    }
}

/// The checksum of device memory, from its sample read back into `buffer`.
pub fn device_checksum(gpu: &'static Gpu, bytes: DeviceBytes, buffer: &mut SampleBuffer) -> Result<u64, String> {
    let sample = Sample::of(bytes.len());
    let tail_start = sample.tail_start();
    let (rows, tail) = buffer.at_least(gpu, sample.rows * 8 + sample.len - tail_start).split_at_mut(sample.rows * 8);
    let fail = |e: cuda::CudaError| format!("could not read the tensor's sample back from the GPU: {e}");
    gpu.gather(bytes, CHECKSUM_STRIDE, 8, rows).map_err(fail)?;
    gpu.download(bytes, tail_start, tail).map_err(fail)?;
    Ok(sample.checksum(rows, tail))
}

/// What a tensor worker holds on the GPU.
pub enum Held {
    /// A copy in its own device memory.
    Copy(DeviceBuffer),
    /// The host's device memory, mapped.
    Shared(IpcMapping),
}

/// A worker's side: its own context (opened with the first request, or `cuda-context`), the device
/// memory it copies tensors into, the last mapping it was handed, kept while tensors arrive in
/// it, and where it reads samples back to.
pub struct Receiver {
    buffer: Option<DeviceBuffer>,
    mapped: Option<(IpcHandle, IpcMapping)>,
    sample: SampleBuffer,
}

impl Default for Receiver {
    fn default() -> Receiver {
        Receiver { buffer: None, mapped: None, sample: SampleBuffer::None }
    }
}

impl Receiver {
    /// The last leg of a copy: `data` into device memory, and the checksum of what arrived there;
    /// with `keep`, in memory of its own, which is handed back.
    pub fn copy(&mut self, data: &[u8], keep: bool) -> Result<(u64, Option<Held>), String> {
        let gpu = cuda::gpu()?;
        let fresh = |what| gpu.alloc(data.len(), what);
        let buffer = if keep {
            fresh("a worker's copy held")?
        } else {
            match self.buffer.take() {
                Some(b) if b.bytes().len() == data.len() => b,
                old => {
                    // The old one goes before the new one is asked for.
                    drop(old);
                    fresh("the worker's copy")?
                }
            }
        };
        gpu.upload(buffer.bytes(), 0, data).map_err(|e| format!("could not copy the tensor to the GPU: {e}"))?;
        let sum = device_checksum(gpu, buffer.bytes(), &mut self.sample)?;
        if keep {
            return Ok((sum, Some(Held::Copy(buffer))));
        }
        self.buffer = Some(buffer);
        Ok((sum, None))
    }

    /// The host's device memory named by `handle`, mapped, and the checksum of what is there;
    /// with `keep`, in a mapping of its own, which is handed back.
    pub fn shared(&mut self, handle: &str, len: usize, keep: bool) -> Result<(u64, Option<Held>), String> {
        let gpu = cuda::gpu()?;
        let handle = IpcHandle::parse(handle)?;
        if keep {
            let map = gpu.open_ipc(&handle, len)?;
            return Ok((device_checksum(gpu, map.bytes(), &mut self.sample)?, Some(Held::Shared(map))));
        }
        if !matches!(&self.mapped, Some((h, m)) if *h == handle && m.bytes().len() == len) {
            self.mapped = None;
            self.mapped = Some((handle, gpu.open_ipc(&handle, len)?));
        }
        let (_, map) = self.mapped.as_ref().expect("just mapped");
        Ok((device_checksum(gpu, map.bytes(), &mut self.sample)?, None))
    }
}
