//! The host's tensor: a plain typed buffer in the default build, a `tch::Tensor` with the
//! feature `torch` (on the CPU, or on CUDA, where sending it means copying it to the host first).

use std::borrow::Cow;
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

/// A tensor's bytes in host memory, ready to be sent without a copy: `owner` keeps them alive
/// for as long as the transport holds the message, however long that is.
pub struct Payload {
    ptr: *const u8,
    len: usize,
    owner: Box<dyn Send>,
}

impl Payload {
    /// Bytes owned by a vector.
    pub fn from_vec(bytes: Vec<u8>) -> Payload {
        Payload { ptr: bytes.as_ptr(), len: bytes.len(), owner: Box::new(bytes) }
    }

    /// Bytes shared with their other owners.
    pub fn from_arc(bytes: Arc<Vec<u8>>) -> Payload {
        Payload { ptr: bytes.as_ptr(), len: bytes.len(), owner: Box::new(bytes) }
    }

    /// The bytes' address and length, and what must live until the transport lets go of them.
    pub fn into_parts(self) -> (*const u8, usize, Box<dyn Send>) {
        (self.ptr, self.len, self.owner)
    }
}

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
        match self.host_bytes()? {
            Cow::Owned(bytes) => Ok(Payload::from_vec(bytes)),
            Cow::Borrowed(bytes) => {
                // A shallow clone shares the storage, which lives while any clone does.
                let (ptr, len) = (bytes.as_ptr(), bytes.len());
                Ok(Payload { ptr, len, owner: Box::new(self.tensor.shallow_clone()) })
            }
        }
    }
}
