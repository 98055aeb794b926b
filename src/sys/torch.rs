//! A `tch` tensor's bytes read in place, and a tensor over borrowed bytes (`from_blob`), without a
//! copy either way.

use std::marker::PhantomData;

use tch::{Kind, TchError, Tensor};

/// The bytes of `t` when it is a contiguous CPU tensor (`None` for one that is not: its bytes are
/// not one run of host memory).
pub fn bytes_of(t: &Tensor) -> Option<&[u8]> {
    if !t.defined() || t.device() != tch::Device::Cpu || !t.is_contiguous() {
        return None;
    }
    // SAFETY: `t` is a defined, contiguous CPU tensor.
    Some(unsafe { contiguous_cpu_bytes(t) })
}

/// The bytes of a contiguous CPU tensor: `numel × element size` at `data_ptr`.
///
/// # Safety
///
/// `t` is defined, on the CPU and contiguous.
unsafe fn contiguous_cpu_bytes(t: &Tensor) -> &[u8] {
    let len = t.numel() * t.kind().elt_size_in_bytes();
    if len == 0 {
        return &[];
    }
    // SAFETY: a contiguous CPU tensor's storage holds `numel × element size` bytes at
    // `data_ptr`, alive as long as `t`.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const u8, len) }
}

/// A contiguous CPU tensor that lends its bytes (`AsRef<[u8]>`) to a transport that holds them
/// after the tensor's owner has moved on: a shallow clone keeps the storage alive while any clone
/// lives. Where they lie is read once, when it is made.
pub struct HostBytes {
    _tensor: Tensor,
    ptr: *const u8,
    len: usize,
}

// SAFETY: a `Tensor` may move to another thread (tch says so); `ptr` points into its storage and
// is only read.
unsafe impl Send for HostBytes {}

impl HostBytes {
    /// `t`, when it is a contiguous CPU tensor.
    pub fn new(t: Tensor) -> Option<HostBytes> {
        let bytes = bytes_of(&t)?;
        let (ptr, len) = (bytes.as_ptr(), bytes.len());
        Some(HostBytes { _tensor: t, ptr, len })
    }
}

impl AsRef<[u8]> for HostBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` are the bytes of the contiguous CPU tensor that `self` holds
        // and never lets go of or changes; its storage stays where it is while it lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A CPU tensor over bytes it does not own (`Tensor::from_blob`), which it cannot outlive. It
/// lends no `Tensor`: a clone of one (`shallow_clone`, or any view) would share the bytes and
/// could outlive them, or write to them.
pub struct View<'a> {
    tensor: Tensor,
    _bytes: PhantomData<&'a [u8]>,
}

/// A tensor of `kind` and shape `dims` over `bytes`, without a copy; an error unless `bytes` holds
/// exactly `dims`' elements.
pub fn view<'a>(bytes: &'a [u8], dims: &[i64], kind: Kind) -> Result<View<'a>, TchError> {
    let elements = dims.iter().try_fold(1usize, |n, d| usize::try_from(*d).ok().and_then(|d| n.checked_mul(d)));
    if elements.and_then(|n| n.checked_mul(kind.elt_size_in_bytes())) != Some(bytes.len()) {
        return Err(TchError::Shape(format!("{} bytes for a {kind:?} tensor of shape {dims:?}", bytes.len())));
    }
    // SAFETY: `bytes` holds the tensor's data (checked above: as many bytes as `dims`' elements
    // take, with the default, contiguous strides), and it outlives the tensor, which the view
    // never lends out, so that it is dropped before the bytes.
    let tensor = unsafe { Tensor::f_from_blob(bytes.as_ptr(), dims, &[], kind, tch::Device::Cpu) }?;
    Ok(View { tensor, _bytes: PhantomData })
}

impl View<'_> {
    /// The tensor's bytes, read through it.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `from_blob` with default strides made a defined, contiguous CPU tensor.
        unsafe { contiguous_cpu_bytes(&self.tensor) }
    }

    /// A copy of the tensor on CUDA device `ordinal` (a copy to another device shares nothing
    /// with the bytes).
    pub fn to_cuda(&self, ordinal: usize) -> Result<Tensor, TchError> {
        self.tensor.f_to_device(tch::Device::Cuda(ordinal))
    }
}
