//! The one unsafe surface of the CUDA code: the driver API calls themselves (`cudarc`'s
//! bindings, `libcuda.so.1` loaded at run time). Everything here checks its arguments so that the
//! safe types in [`super`] cannot reach memory they do not own.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};

use cudarc::driver::sys;

use super::CudaError;

/// The functions called here are older than this driver version (CUDA 11.4): a driver that
/// supports it has them all, so that looking one up cannot fail (cudarc panics when it does).
pub const OLDEST_DRIVER: c_int = 11040;

fn check(call: &'static str, code: sys::CUresult) -> Result<(), CudaError> {
    match code {
        sys::CUresult::CUDA_SUCCESS => Ok(()),
        code => Err(CudaError { call, code }),
    }
}

/// Whether the driver library can be loaded, without loading anything else.
pub fn library_present() -> bool {
    // SAFETY: loads `libcuda` by its usual names (running its initialisers, as any program that
    // uses CUDA does) and unloads it; nothing is called in it.
    unsafe { sys::is_culib_present() }
}

/// The CUDA version the driver supports, as `major * 1000 + minor * 10`. Only after
/// [`library_present`].
pub fn driver_version() -> Result<c_int, CudaError> {
    let mut version: c_int = 0;
    // SAFETY: the library is present (checked by the caller); `version` is a valid out-pointer.
    check("cuDriverGetVersion", unsafe { sys::cuDriverGetVersion(&mut version) })?;
    Ok(version)
}

/// `cuInit` and the device count. Only after [`driver_version`] said [`OLDEST_DRIVER`] or newer.
pub fn init() -> Result<c_int, CudaError> {
    // SAFETY: `cuInit(0)` takes no pointers; it may be called more than once.
    check("cuInit", unsafe { sys::cuInit(0) })?;
    let mut count: c_int = 0;
    // SAFETY: a valid out-pointer, after a successful `cuInit`.
    check("cuDeviceGetCount", unsafe { sys::cuDeviceGetCount(&mut count) })?;
    Ok(count)
}

/// A device's primary context, retained (for the life of the process) and made current.
pub struct Context {
    device: sys::CUdevice,
    ctx: sys::CUcontext,
}

// SAFETY: a context handle may be used from any thread of the process once it is made current
// there, which every call below does first (`make_current`).
unsafe impl Send for Context {}
// SAFETY: as above; the driver API is thread-safe.
unsafe impl Sync for Context {}

impl Context {
    /// Retains the primary context of device `ordinal`. Only after a successful [`init`].
    pub fn retain(ordinal: c_int) -> Result<Context, CudaError> {
        let mut device: sys::CUdevice = 0;
        // SAFETY: a valid out-pointer; the ordinal is checked by the driver.
        check("cuDeviceGet", unsafe { sys::cuDeviceGet(&mut device, ordinal) })?;
        let mut ctx: sys::CUcontext = std::ptr::null_mut();
        // SAFETY: a valid out-pointer and a device handle from `cuDeviceGet`.
        check("cuDevicePrimaryCtxRetain", unsafe { sys::cuDevicePrimaryCtxRetain(&mut ctx, device) })?;
        let context = Context { device, ctx };
        context.make_current()?;
        Ok(context)
    }

    /// Makes the context current on the calling thread.
    pub fn make_current(&self) -> Result<(), CudaError> {
        // SAFETY: `ctx` is a retained primary context, never released.
        check("cuCtxSetCurrent", unsafe { sys::cuCtxSetCurrent(self.ctx) })
    }

    /// The device's name.
    pub fn name(&self) -> Result<String, CudaError> {
        let mut name = [0 as c_char; 256];
        // SAFETY: the buffer holds `len` bytes; the driver writes a NUL-terminated name into it.
        check("cuDeviceGetName", unsafe { sys::cuDeviceGetName(name.as_mut_ptr(), name.len() as c_int, self.device) })?;
        name[255] = 0;
        // SAFETY: the buffer ends with a NUL byte, so the string ends within it.
        Ok(unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned())
    }

    /// The device's UUID.
    pub fn uuid(&self) -> Result<[u8; 16], CudaError> {
        // SAFETY: `CUuuid` is plain bytes; zero is a valid value.
        let mut uuid: sys::CUuuid = unsafe { std::mem::zeroed() };
        // SAFETY: a valid out-pointer and device handle.
        check("cuDeviceGetUuid_v2", unsafe { sys::cuDeviceGetUuid_v2(&mut uuid, self.device) })?;
        Ok(uuid.bytes.map(|b| b as u8))
    }

    /// Free and total device memory.
    pub fn mem_info(&self) -> Result<(u64, u64), CudaError> {
        self.make_current()?;
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: valid out-pointers, with this context current.
        check("cuMemGetInfo", unsafe { sys::cuMemGetInfo_v2(&mut free, &mut total) })?;
        Ok((free as u64, total as u64))
    }

    /// Allocates `len` bytes of device memory (at least one byte, so that every buffer has an
    /// address of its own).
    pub fn alloc(&self, len: usize) -> Result<sys::CUdeviceptr, CudaError> {
        self.make_current()?;
        let mut ptr: sys::CUdeviceptr = 0;
        // SAFETY: a valid out-pointer, with this context current.
        check("cuMemAlloc", unsafe { sys::cuMemAlloc_v2(&mut ptr, len.max(1)) })?;
        Ok(ptr)
    }

    /// Frees what [`Context::alloc`] returned.
    pub fn free(&self, ptr: sys::CUdeviceptr) {
        if self.make_current().is_ok() {
            // SAFETY: `ptr` came from `alloc` and is freed once (by its owner's `Drop`).
            unsafe { sys::cuMemFree_v2(ptr) };
        }
    }

    /// Copies `src` to device memory at `dst` and waits until it is there. The caller owns
    /// `len >= src.len()` bytes at `dst`.
    pub fn upload(&self, dst: sys::CUdeviceptr, len: usize, src: &[u8]) -> Result<(), CudaError> {
        assert!(src.len() <= len, "an upload past the end of device memory");
        if src.is_empty() {
            return Ok(());
        }
        self.make_current()?;
        // SAFETY: `src` is readable for its length and the caller owns that much at `dst`.
        check("cuMemcpyHtoD", unsafe { sys::cuMemcpyHtoD_v2(dst, src.as_ptr().cast(), src.len()) })?;
        // From pageable memory the copy may return before the data is on the device.
        // SAFETY: no pointers.
        check("cuCtxSynchronize", unsafe { sys::cuCtxSynchronize() })
    }

    /// Copies `dst.len()` bytes from device memory at `src` to `dst`. The caller owns
    /// `len >= dst.len()` bytes at `src`.
    pub fn download(&self, src: sys::CUdeviceptr, len: usize, dst: &mut [u8]) -> Result<(), CudaError> {
        assert!(dst.len() <= len, "a download past the end of device memory");
        if dst.is_empty() {
            return Ok(());
        }
        self.make_current()?;
        // SAFETY: `dst` is writable for its length and the caller owns that much at `src`.
        check("cuMemcpyDtoH", unsafe { sys::cuMemcpyDtoH_v2(dst.as_mut_ptr().cast(), src, dst.len()) })
    }

    /// Copies `rows` rows of `width` bytes, `pitch` bytes apart in device memory from `src`
    /// (which the caller owns `len` bytes of), to `dst`, back to back: one strided copy.
    pub fn gather(
        &self,
        src: sys::CUdeviceptr,
        len: usize,
        pitch: usize,
        width: usize,
        dst: &mut [u8],
    ) -> Result<(), CudaError> {
        let rows = dst.len() / width.max(1);
        assert!(width > 0 && width <= pitch && dst.len() == rows * width, "a gather of whole rows");
        if rows == 0 {
            return Ok(());
        }
        assert!((rows - 1) * pitch + width <= len, "a gather past the end of device memory");
        self.make_current()?;
        // SAFETY: plain data; zero is a valid value for every field.
        let mut copy: sys::CUDA_MEMCPY2D = unsafe { std::mem::zeroed() };
        copy.srcMemoryType = sys::CUmemorytype::CU_MEMORYTYPE_DEVICE;
        copy.srcDevice = src;
        copy.srcPitch = pitch;
        copy.dstMemoryType = sys::CUmemorytype::CU_MEMORYTYPE_HOST;
        copy.dstHost = dst.as_mut_ptr().cast();
        copy.dstPitch = width;
        copy.WidthInBytes = width;
        copy.Height = rows;
        // SAFETY: the rows read lie within the `len` bytes at `src` (asserted above) and the
        // rows written fill `dst` exactly.
        check("cuMemcpy2D", unsafe { sys::cuMemcpy2D_v2(&copy) })
    }

    /// The IPC handle of device memory this process allocated at `ptr`.
    pub fn ipc_handle(&self, ptr: sys::CUdeviceptr) -> Result<[u8; 64], CudaError> {
        self.make_current()?;
        // SAFETY: plain bytes; zero is a valid value.
        let mut handle: sys::CUipcMemHandle = unsafe { std::mem::zeroed() };
        // SAFETY: a valid out-pointer; `ptr` is an allocation of this process.
        check("cuIpcGetMemHandle", unsafe { sys::cuIpcGetMemHandle(&mut handle, ptr) })?;
        Ok(handle.reserved.map(|b| b as u8))
    }

    /// Maps the device memory another process exported as `handle`: its address and length.
    pub fn ipc_open(&self, handle: &[u8; 64]) -> Result<(sys::CUdeviceptr, usize), CudaError> {
        self.make_current()?;
        let handle = sys::CUipcMemHandle { reserved: handle.map(|b| b as c_char) };
        let mut ptr: sys::CUdeviceptr = 0;
        let flags = sys::CUipcMem_flags::CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS as c_uint;
        // SAFETY: a valid out-pointer; the driver checks the handle.
        check("cuIpcOpenMemHandle", unsafe { sys::cuIpcOpenMemHandle_v2(&mut ptr, handle, flags) })?;
        let (mut base, mut len): (sys::CUdeviceptr, usize) = (0, 0);
        // SAFETY: valid out-pointers; `ptr` was just mapped.
        let range = check("cuMemGetAddressRange", unsafe { sys::cuMemGetAddressRange_v2(&mut base, &mut len, ptr) });
        if let Err(e) = range {
            self.ipc_close(ptr);
            return Err(e);
        }
        // The mapping starts where the allocation does; what lies before `ptr` is not ours.
        Ok((ptr, len - (ptr - base) as usize))
    }

    /// Unmaps what [`Context::ipc_open`] mapped.
    pub fn ipc_close(&self, ptr: sys::CUdeviceptr) {
        if self.make_current().is_ok() {
            // SAFETY: `ptr` came from `ipc_open` and is closed once (by its owner's `Drop`).
            unsafe { sys::cuIpcCloseMemHandle(ptr) };
        }
    }

    /// Allocates `len` bytes of page-locked host memory.
    pub fn alloc_pinned(&self, len: usize) -> Result<*mut u8, CudaError> {
        self.make_current()?;
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // SAFETY: a valid out-pointer, with this context current.
        check("cuMemAllocHost", unsafe { sys::cuMemAllocHost_v2(&mut ptr, len.max(1)) })?;
        Ok(ptr.cast())
    }

    /// Frees what [`Context::alloc_pinned`] returned.
    pub fn free_pinned(&self, ptr: *mut u8) {
        if self.make_current().is_ok() {
            // SAFETY: `ptr` came from `alloc_pinned` and is freed once (by its owner's `Drop`).
            unsafe { sys::cuMemFreeHost(ptr.cast()) };
        }
    }
}
