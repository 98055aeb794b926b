//! Where the host sends a tensor from: its tensor in host memory (a `tch` tensor with the feature
//! `torch`, on the CPU or on CUDA), with a shared-memory segment for shared mode; or, in the
//! default build, a tensor in GPU memory through the driver API, shared through a CUDA IPC handle.

use std::path::Path;

use super::data::{checksum, TensorSpec};
use super::tensors::{HostTensor, Payload};
use crate::suites::tensor::config::Device;
use crate::sys::shm::Mapping;

/// The host's tensor, ready to be sent or shared.
pub enum Source {
    /// In host memory (with `torch`, possibly a CUDA tensor that is copied to the host to be sent),
    /// and the segment a shared tensor lives in.
    Host {
        /// The tensor.
        tensor: HostTensor,
        /// Its bytes in a segment, for shared mode.
        segment: Option<Mapping>,
    },
    /// In GPU memory (driver API).
    #[cfg(not(feature = "torch"))]
    Cuda(super::cuda::CudaTensor),
}

impl Source {
    /// The tensor on `device`, also in a segment in `shm_dir` when it is to be `shared` from host
    /// memory; and its checksum.
    pub fn new(spec: &TensorSpec, device: Device, shared: bool, shm_dir: &Path) -> Result<(Source, u64), String> {
        #[cfg(not(feature = "torch"))]
        if device == Device::Cuda {
            let (tensor, sum) = super::cuda::CudaTensor::new(spec)?;
            return Ok((Source::Cuda(tensor), sum));
        }
        let tensor = HostTensor::new(spec, device)?;
        let bytes = tensor.host_bytes()?;
        let sum = checksum(&bytes);
        let segment = if shared {
            let mut segment = Mapping::create(shm_dir, bytes.len())?;
            segment.bytes_mut().copy_from_slice(&bytes);
            Some(segment)
        } else {
            None
        };
        drop(bytes);
        Ok((Source::Host { tensor, segment }, sum))
    }

    /// Its bytes for the transport (for a tensor on a GPU, copied to host memory first).
    pub fn payload(&mut self) -> Result<Payload, String> {
        Ok(self.payloads(1)?.remove(0))
    }

    /// Its bytes for `n` workers: a tensor on a GPU is copied to host memory once for all.
    pub fn payloads(&mut self, n: usize) -> Result<Vec<Payload>, String> {
        match self {
            Source::Host { tensor, .. } => (0..n).map(|_| tensor.payload()).collect(),
            #[cfg(not(feature = "torch"))]
            Source::Cuda(tensor) => {
                let bytes = tensor.to_host()?;
                Ok((0..n).map(|_| Payload::from_arc(std::sync::Arc::clone(&bytes))).collect())
            }
        }
    }

    /// What a worker maps it by: a segment's path, or a CUDA IPC handle.
    pub fn handle(&self) -> Result<String, String> {
        match self {
            Source::Host { segment: Some(segment), .. } => Ok(segment.handle()),
            Source::Host { segment: None, .. } => Err("the tensor was not made for shared mode".into()),
            #[cfg(not(feature = "torch"))]
            Source::Cuda(tensor) => tensor.handle(),
        }
    }
}
