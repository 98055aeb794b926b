//! CUDA through the driver API, loaded at run time (`cudarc`'s bindings over `libcuda.so.1`): a
//! machine with an NVIDIA driver uses it without a CUDA toolkit, and one without a driver gets a
//! sentence that says why, never an error or a panic. The tensor suite's CUDA rows use it: device
//! memory, copies both ways, strided gathers, CUDA IPC handles and page-locked host memory, all on
//! the first device's primary context. Every call into the driver is in `driver`; the one
//! `unsafe` here views page-locked memory as a slice.

mod driver;
mod ipc;

use std::marker::PhantomData;
use std::sync::OnceLock;

use cudarc::driver::sys::{CUdeviceptr, CUresult};

pub use ipc::IpcHandle;

use crate::units::format_bytes;

/// A driver call that failed: which, and the driver's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CudaError {
    /// The function (`cuMemAlloc`).
    pub call: &'static str,
    /// What it returned.
    pub code: CUresult,
}

impl CudaError {
    /// Whether the device ran out of memory.
    pub fn is_out_of_memory(&self) -> bool {
        self.code == CUresult::CUDA_ERROR_OUT_OF_MEMORY
    }
}

impl std::fmt::Display for CudaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed with {:?}", self.call, self.code)
    }
}

/// What the driver offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Driver {
    /// The CUDA version it supports (major, minor).
    pub cuda: (u32, u32),
    /// Its CUDA devices.
    pub devices: u32,
}

/// The driver, or why CUDA cannot be used here: no driver, one too old, or no device. Asked once
/// per process.
pub fn driver() -> Result<Driver, String> {
    static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();
    DRIVER.get_or_init(find_driver).clone()
}

fn find_driver() -> Result<Driver, String> {
    if !driver::library_present() {
        return Err("no NVIDIA driver found (libcuda.so.1 could not be loaded)".into());
    }
    let version = driver::driver_version().map_err(|e| format!("the CUDA driver did not answer: {e}"))?;
    let cuda = ((version / 1000) as u32, ((version % 1000) / 10) as u32);
    if version < driver::OLDEST_DRIVER {
        return Err(format!(
            "the NVIDIA driver supports CUDA {}.{}; CUDA rows need a driver for CUDA 11.4 or newer",
            cuda.0, cuda.1
        ));
    }
    let devices = driver::init().map_err(|e| match e.code {
        CUresult::CUDA_ERROR_NO_DEVICE => format!("the NVIDIA driver found no CUDA device ({e})"),
        _ => format!("CUDA did not start: {e}"),
    })?;
    if devices < 1 {
        return Err("the NVIDIA driver found no CUDA device".into());
    }
    Ok(Driver { cuda, devices: devices as u32 })
}

/// The first CUDA device, with this process's context on it (its primary context).
pub struct Gpu {
    ctx: driver::Context,
    /// Its name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Its UUID as NVML writes it (`GPU-5c1b…`), to find it among NVML's devices.
    pub uuid: Option<String>,
}

/// The first CUDA device (as `CUDA_VISIBLE_DEVICES` orders them), opened once per process.
pub fn gpu() -> Result<&'static Gpu, String> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    GPU.get_or_init(|| {
        driver()?;
        let ctx = driver::Context::retain(0).map_err(|e| format!("could not open the first CUDA device: {e}"))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown".into());
        let uuid = ctx.uuid().ok().map(|u| uuid_text(&u));
        Ok(Gpu { ctx, name, uuid })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// A UUID as NVML writes it: `GPU-` and 8-4-4-4-12 hex digits.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("GPU-{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// What a failed allocation of `bytes` (for `what`) says: out of memory with the device's free and
/// total memory (`mem`), or the driver's error.
pub fn alloc_failure(e: &CudaError, what: &str, bytes: u64, mem: Option<(u64, u64)>) -> String {
    let size = format_bytes(bytes as f64);
    match (e.is_out_of_memory(), mem) {
        (true, Some((free, total))) => format!(
            "CUDA out of memory: {what} needs {size}, and {} of {} is free on the GPU ({e})",
            format_bytes(free as f64),
            format_bytes(total as f64)
        ),
        (true, None) => format!("CUDA out of memory: {what} needs {size} ({e})"),
        (false, _) => format!("could not allocate {size} of GPU memory for {what}: {e}"),
    }
}

/// Device memory a buffer owns (or maps), borrowed.
#[derive(Clone, Copy)]
pub struct DeviceBytes<'a> {
    ptr: CUdeviceptr,
    len: usize,
    _owner: PhantomData<&'a ()>,
}

impl DeviceBytes<'_> {
    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The part from `offset` on.
    fn from(&self, offset: usize) -> DeviceBytes<'_> {
        assert!(offset <= self.len, "an offset past the end of device memory");
        DeviceBytes { ptr: self.ptr + offset as u64, len: self.len - offset, _owner: PhantomData }
    }
}

impl Gpu {
    /// Free and total device memory.
    pub fn mem_info(&self) -> Result<(u64, u64), CudaError> {
        self.ctx.mem_info()
    }

    /// `len` bytes of device memory for `what`; running out says how much is free.
    pub fn alloc(&'static self, len: usize, what: &str) -> Result<DeviceBuffer, String> {
        match self.ctx.alloc(len) {
            Ok(ptr) => Ok(DeviceBuffer { gpu: self, ptr, len }),
            Err(e) => Err(alloc_failure(&e, what, len as u64, self.mem_info().ok())),
        }
    }

    /// `len` bytes of page-locked host memory.
    pub fn alloc_pinned(&'static self, len: usize) -> Result<PinnedBuffer, String> {
        let ptr = self
            .ctx
            .alloc_pinned(len)
            .map_err(|e| format!("could not allocate {} of page-locked host memory: {e}", format_bytes(len as f64)))?;
        Ok(PinnedBuffer { gpu: self, ptr, len })
    }

    /// Copies `src` to `dst` from `offset` on, and waits until it is there.
    pub fn upload(&self, dst: DeviceBytes, offset: usize, src: &[u8]) -> Result<(), CudaError> {
        let at = dst.from(offset);
        self.ctx.upload(at.ptr, at.len, src)
    }

    /// Copies `dst.len()` bytes of `src` from `offset` on to `dst`.
    pub fn download(&self, src: DeviceBytes, offset: usize, dst: &mut [u8]) -> Result<(), CudaError> {
        let at = src.from(offset);
        self.ctx.download(at.ptr, at.len, dst)
    }

    /// Copies rows of `width` bytes, `pitch` bytes apart in `src`, back to back into `dst`, in
    /// strided copies of at most 65 535 rows.
    pub fn gather(&self, src: DeviceBytes, pitch: usize, width: usize, dst: &mut [u8]) -> Result<(), CudaError> {
        const MAX_ROWS: usize = 65_535;
        for (i, chunk) in dst.chunks_mut(MAX_ROWS * width).enumerate() {
            let at = src.from(i * MAX_ROWS * pitch);
            self.ctx.gather(at.ptr, at.len, pitch, width, chunk)?;
        }
        Ok(())
    }

    /// The IPC handle another process maps `buffer` with.
    pub fn ipc_handle(&self, buffer: &DeviceBuffer) -> Result<IpcHandle, CudaError> {
        self.ctx.ipc_handle(buffer.ptr).map(IpcHandle)
    }

    /// Maps `len` bytes of the device memory another process exported as `handle`.
    pub fn open_ipc(&'static self, handle: &IpcHandle, len: usize) -> Result<IpcMapping, String> {
        let (ptr, mapped) =
            self.ctx.ipc_open(&handle.0).map_err(|e| format!("could not map the CUDA IPC handle: {e}"))?;
        // Unmapped when dropped, also on the way out below.
        let mut mapping = IpcMapping { gpu: self, ptr, len: mapped };
        if mapped < len {
            return Err(format!("the CUDA IPC handle maps {mapped} bytes, not the tensor's {len}"));
        }
        mapping.len = len;
        Ok(mapping)
    }
}

/// Device memory this process allocated, freed when dropped.
pub struct DeviceBuffer {
    gpu: &'static Gpu,
    ptr: CUdeviceptr,
    len: usize,
}

impl DeviceBuffer {
    /// Its bytes.
    pub fn bytes(&self) -> DeviceBytes<'_> {
        DeviceBytes { ptr: self.ptr, len: self.len, _owner: PhantomData }
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        self.gpu.ctx.free(self.ptr);
    }
}

/// Another process's device memory, mapped through its IPC handle; unmapped when dropped.
pub struct IpcMapping {
    gpu: &'static Gpu,
    ptr: CUdeviceptr,
    len: usize,
}

impl IpcMapping {
    /// Its bytes.
    pub fn bytes(&self) -> DeviceBytes<'_> {
        DeviceBytes { ptr: self.ptr, len: self.len, _owner: PhantomData }
    }
}

impl Drop for IpcMapping {
    fn drop(&mut self) {
        self.gpu.ctx.ipc_close(self.ptr);
    }
}

/// Page-locked host memory, freed when dropped.
pub struct PinnedBuffer {
    gpu: &'static Gpu,
    ptr: *mut u8,
    len: usize,
}

impl PinnedBuffer {
    /// Its bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` holds `len` bytes from `cuMemAllocHost`, owned by this buffer until it
        // is dropped; the `&mut self` borrow makes the slice the only way to reach them.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        self.gpu.ctx.free_pinned(self.ptr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_without_a_driver_says_why_and_never_panics() {
        match driver() {
            Ok(d) => assert!(d.devices >= 1 && d.cuda.0 >= 11, "{d:?}"),
            Err(why) => {
                assert!(!why.is_empty());
                assert!(gpu().is_err(), "no GPU opens without a driver");
            }
        }
    }

    #[test]
    fn uuids_are_written_as_nvml_writes_them() {
        let bytes = [0x5c, 0x1b, 0x2a, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9];
        assert_eq!(uuid_text(&bytes), "GPU-5c1b2a3d-4e5f-6071-8293-a4b5c6d7e8f9");
    }

    #[test]
    fn running_out_of_memory_gives_the_figures_and_other_errors_the_driver_s_code() {
        let oom = CudaError { call: "cuMemAlloc", code: CUresult::CUDA_ERROR_OUT_OF_MEMORY };
        let why = alloc_failure(&oom, "the worker's copy", 3 << 30, Some((1 << 30, 80 << 30)));
        assert_eq!(
            why,
            "CUDA out of memory: the worker's copy needs 3.0 GiB, and 1.0 GiB of 80.0 GiB is free on the GPU \
             (cuMemAlloc failed with CUDA_ERROR_OUT_OF_MEMORY)"
        );
        let other = CudaError { call: "cuMemAlloc", code: CUresult::CUDA_ERROR_INVALID_VALUE };
        assert!(!other.is_out_of_memory());
        let why = alloc_failure(&other, "the tensor", 1024, None);
        assert_eq!(
            why,
            "could not allocate 1.0 KiB of GPU memory for the tensor: cuMemAlloc failed with CUDA_ERROR_INVALID_VALUE"
        );
    }
}
