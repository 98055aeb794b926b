//! The host's tensor: a plain typed buffer in the default build, a `tch::Tensor` with the
//! feature `torch` (on the CPU, or on CUDA, where sending it means copying it to the host first).

use std::borrow::Cow;
#[cfg(not(feature = "torch"))]
use std::sync::Arc;

use super::data::TensorSpec;
use crate::suites::tensor::config::Device;

/// What the suite's tensors are, for the facts.
#[cfg(not(feature = "torch"))]
pub const KIND_OF_TENSORS: &str = "plain typed buffers";
/// What the suite's tensors are, for the facts.
#[cfg(feature = "torch")]
pub const KIND_OF_TENSORS: &str = "tch::Tensor";

/// A tensor the host sends.
pub struct HostTensor {
    #[cfg(not(feature = "torch"))]
    bytes: Arc<Vec<u8>>,
    #[cfg(feature = "torch")]
    tensor: tch::Tensor,
}

impl HostTensor {
    /// A tensor of this shape and type, filled with a pattern, on `device`.
    #[cfg(not(feature = "torch"))]
    pub fn new(spec: &TensorSpec, device: Device) -> Result<HostTensor, String> {
        if device == Device::Cuda {
            return Err("a CUDA tensor of this build is made in device memory through the CUDA driver, not here".into());
        }
        let mut bytes = host_buffer(spec.bytes() as usize, "the tensor")?;
        super::data::fill(&mut bytes);
        Ok(HostTensor { bytes: Arc::new(bytes) })
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

/// Host memory of `len` bytes, zeroed, or why it cannot be had (instead of aborting the process).
pub fn host_buffer(len: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len).map_err(|_| {
        format!("could not allocate {} of host memory for {what}", crate::units::format_bytes(len as f64))
    })?;
    buf.resize(len, 0);
    Ok(buf)
}

/// A tensor's bytes in host memory, ready to be sent without a copy: what owns them keeps them
/// alive for as long as the transport holds the message, however long that is.
pub use crate::worker::transport::OwnedBytes as Payload;

impl HostTensor {
    /// Its bytes for the transport: shared, not copied, on the CPU (the first leg of device →
    /// host → transport → device on CUDA).
    #[cfg(not(feature = "torch"))]
    pub fn payload(&self) -> Result<Payload, String> {
        Ok(Payload::from_arc(Arc::clone(&self.bytes)))
    }

    /// Its bytes for the transport: shared, not copied, on the CPU (the first leg of device →
    /// host → transport → device on CUDA).
    #[cfg(feature = "torch")]
    pub fn payload(&self) -> Result<Payload, String> {
        super::torch::payload(&self.tensor)
    }
}
