//! The host's tensor: a plain typed buffer in the default build, a `tch::Tensor` with the
//! feature `torch` (on the CPU, or on CUDA, where sending it means copying it to the host first).

use std::borrow::Cow;

use super::data::TensorSpec;
use crate::discover::config::tensor::Device;

/// What the suite's tensors are, for the facts.
#[cfg(not(feature = "torch"))]
pub const KIND_OF_TENSORS: &str = "plain typed buffers";
/// What the suite's tensors are, for the facts.
#[cfg(feature = "torch")]
pub const KIND_OF_TENSORS: &str = "tch::Tensor";

/// A tensor the host sends.
pub struct HostTensor {
    #[cfg(not(feature = "torch"))]
    bytes: Vec<u8>,
    #[cfg(feature = "torch")]
    tensor: tch::Tensor,
}

impl HostTensor {
    /// A tensor of this shape and type, filled with a pattern, on `device`.
    #[cfg(not(feature = "torch"))]
    pub fn new(spec: &TensorSpec, device: Device) -> Result<HostTensor, String> {
        if device == Device::Cuda {
            return Err("CUDA tensors need the `torch` feature".into());
        }
        let mut bytes = vec![0u8; spec.bytes() as usize];
        super::data::fill(&mut bytes);
        Ok(HostTensor { bytes })
    }

    /// A tensor of this shape and type, filled with a pattern, on `device`.
    #[cfg(feature = "torch")]
    pub fn new(spec: &TensorSpec, device: Device) -> Result<HostTensor, String> {
        Ok(HostTensor { tensor: super::torch::make(spec, device)? })
    }

    /// Its bytes in host memory: borrowed on the CPU, copied from the device on CUDA.
    #[cfg(not(feature = "torch"))]
    pub fn host_bytes(&self) -> Result<Cow<'_, [u8]>, String> {
        Ok(Cow::Borrowed(&self.bytes))
    }

    /// Its bytes in host memory: borrowed on the CPU, copied from the device on CUDA.
    #[cfg(feature = "torch")]
    pub fn host_bytes(&self) -> Result<Cow<'_, [u8]>, String> {
        super::torch::host_bytes(&self.tensor)
    }
}
