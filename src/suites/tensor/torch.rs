//! `tch` tensors for the suite (feature `torch`): made on the CPU or CUDA, read as bytes, and
//! rebuilt in the worker over the received bytes without a copy.

use std::borrow::Cow;

use tch::{Kind, Tensor};

use super::data::TensorSpec;
use crate::suites::tensor::config::{DType, Device};
use crate::sys::torch::{HostBytes, View};
use crate::worker::transport::OwnedBytes;

fn kind(dtype: DType) -> Kind {
    match dtype {
        DType::F32 => Kind::Float,
        DType::F16 => Kind::Half,
        DType::Bf16 => Kind::BFloat16,
        DType::U8 => Kind::Uint8,
        DType::I64 => Kind::Int64,
    }
}

fn dims(spec: &TensorSpec) -> Vec<i64> {
    spec.shape.iter().map(|d| *d as i64).collect()
}

fn device(d: Device) -> tch::Device {
    match d {
        Device::Cpu => tch::Device::Cpu,
        Device::Cuda => tch::Device::Cuda(0),
    }
}

/// Catches libtorch's errors (a CUDA out-of-memory among them) as text.
fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, tch::TchError>) -> Result<T, String> {
    f().map_err(|e| format!("{what}: {}", e.to_string().lines().next().unwrap_or_default()))
}

/// A tensor filled with a pattern (`arange`, wrapping in its type) on `d`.
pub fn make(spec: &TensorSpec, d: Device) -> Result<Tensor, String> {
    if d == Device::Cuda && !tch::Cuda::is_available() {
        return Err("no CUDA device (tch::Cuda::is_available() is false)".into());
    }
    let n = spec.shape.iter().product::<u64>() as i64;
    guard("could not make the tensor", || {
        // When an op that takes a scalar (`arange`) cannot allocate, tch panics while dropping
        // that scalar instead of returning the error: the largest allocation is made first by an
        // op without one, so that a size this machine cannot hold is an error of the row.
        drop(Tensor::f_empty([n].as_slice(), (Kind::Int64, tch::Device::Cpu))?);
        Tensor::f_arange(n, (Kind::Int64, tch::Device::Cpu))?
            .f_remainder(251)?
            .f_to_kind(kind(spec.dtype))?
            .f_reshape(dims(spec))?
            .f_to_device(device(d))
    })
}

/// The bytes of a tensor in host memory (a CUDA tensor is copied to the host: the first leg of
/// device → host → transport → device).
pub fn host_bytes(t: &Tensor) -> Result<Cow<'_, [u8]>, String> {
    if t.device() == tch::Device::Cpu {
        return Ok(Cow::Borrowed(bytes_of(t)?));
    }
    let host = guard("could not copy the tensor to the host", || t.f_to_device(tch::Device::Cpu))?;
    Ok(Cow::Owned(bytes_of(&host)?.to_vec()))
}

/// A tensor's bytes for the transport: shared, not copied, on the CPU (a shallow clone shares the
/// storage, which lives while any clone does); copied to the host from a CUDA tensor.
pub fn payload(t: &Tensor) -> Result<OwnedBytes, String> {
    if t.device() == tch::Device::Cpu {
        let shared = HostBytes::new(t.shallow_clone()).ok_or(NOT_CONTIGUOUS)?;
        return Ok(OwnedBytes::new(shared));
    }
    let host = guard("could not copy the tensor to the host", || t.f_to_device(tch::Device::Cpu))?;
    Ok(OwnedBytes::from_vec(bytes_of(&host)?.to_vec()))
}

const NOT_CONTIGUOUS: &str = "the tensor's bytes are not one contiguous run in host memory";

/// The bytes of a contiguous CPU tensor.
fn bytes_of(t: &Tensor) -> Result<&[u8], String> {
    crate::sys::torch::bytes_of(t).ok_or_else(|| NOT_CONTIGUOUS.to_string())
}

/// A tensor over `bytes`, without a copy; it cannot outlive them.
pub fn view<'a>(spec: &TensorSpec, bytes: &'a [u8]) -> Result<View<'a>, String> {
    if bytes.len() as u64 != spec.bytes() {
        return Err(format!("{} bytes for a {}-byte tensor", bytes.len(), spec.bytes()));
    }
    guard("could not view the bytes as a tensor", || crate::sys::torch::view(bytes, &dims(spec), kind(spec.dtype)))
}

/// The last leg of a copy to CUDA: host → device, waited for.
pub fn to_cuda(t: &View<'_>) -> Result<Tensor, String> {
    let on = guard("could not copy the tensor to the GPU", || t.to_cuda(0))?;
    tch::Cuda::synchronize(0);
    Ok(on)
}

/// The libtorch this build uses, for the host facts.
pub fn facts() -> String {
    let cuda = if tch::Cuda::is_available() {
        format!("CUDA: {} device(s)", tch::Cuda::device_count())
    } else {
        "CUDA: none".to_string()
    };
    format!("tch with libtorch, {cuda}")
}
