//! NVIDIA GPUs through NVML (`nvml-wrapper`), loaded at run time: a machine without the driver
//! has no GPUs and a sentence that says why, never an error. Besides the host facts: a GPU's free
//! memory, and the processes that hold memory on it.

use std::sync::OnceLock;

use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::{Device, Nvml};

pub use crate::results::GpuFacts;

/// The GPUs NVML sees, or why none can be seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpus {
    /// Each GPU.
    pub gpus: Vec<GpuFacts>,
    /// Why the list is empty: no driver, or NVML's error.
    pub note: Option<String>,
}

/// NVML, started once per process.
fn nvml() -> Result<&'static Nvml, String> {
    static NVML: OnceLock<Result<Nvml, String>> = OnceLock::new();
    NVML.get_or_init(|| {
        Nvml::init().map_err(|e| match e {
            nvml_wrapper::error::NvmlError::LibloadingError(_) => {
                "no NVIDIA driver found (libnvidia-ml.so could not be loaded)".to_string()
            }
            nvml_wrapper::error::NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded".to_string(),
            other => format!("NVML did not start: {other}"),
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Which GPU: the one with this UUID (as CUDA names it, so that `CUDA_VISIBLE_DEVICES` is
/// honoured), else NVML's first.
fn device(uuid: Option<&str>) -> Result<Device<'static>, String> {
    let nvml = nvml()?;
    match uuid {
        Some(uuid) => nvml.device_by_uuid(uuid).map_err(|e| format!("NVML does not know the GPU {uuid}: {e}")),
        None => nvml.device_by_index(0).map_err(|e| format!("NVML has no GPU 0: {e}")),
    }
}

/// Lists the GPUs: name, memory, driver.
pub fn list() -> Gpus {
    let nvml = match nvml() {
        Ok(n) => n,
        Err(note) => return Gpus { gpus: Vec::new(), note: Some(note) },
    };
    let driver = nvml.sys_driver_version().unwrap_or_else(|_| "unknown".into());
    let count = match nvml.device_count() {
        Ok(n) => n,
        Err(e) => return Gpus { gpus: Vec::new(), note: Some(format!("NVML could not count GPUs: {e}")) },
    };
    let gpus: Vec<GpuFacts> = (0..count)
        .filter_map(|i| {
            let d = nvml.device_by_index(i).ok()?;
            let memory = d.memory_info().ok();
            Some(GpuFacts {
                index: i,
                name: d.name().unwrap_or_else(|_| "unknown".into()),
                memory: memory.as_ref().map_or(0, |m| m.total),
                free: memory.map(|m| m.free),
                driver: driver.clone(),
            })
        })
        .collect();
    let note = gpus.is_empty().then(|| "NVML found no GPU".to_string());
    Gpus { gpus, note }
}

/// Free and used memory of a GPU (by CUDA's UUID, else the first), when NVML can tell.
pub fn memory(uuid: Option<&str>) -> Option<(u64, u64)> {
    device(uuid).ok()?.memory_info().ok().map(|m| (m.free, m.used))
}

/// A process with a compute context on a GPU, as NVML lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuProcess {
    /// Its PID in the driver's PID namespace: the host's, when this process runs in a container.
    pub pid: u32,
    /// The device memory it uses; `None` where NVML cannot tell (MIG, no permission).
    pub used: Option<u64>,
}

/// The processes with a compute context on a GPU (by CUDA's UUID, else the first).
pub fn compute_processes(uuid: Option<&str>) -> Result<Vec<GpuProcess>, String> {
    let list = device(uuid)?
        .running_compute_processes()
        .map_err(|e| format!("NVML could not list the GPU's processes: {e}"))?;
    Ok(list
        .into_iter()
        .map(|p| GpuProcess {
            pid: p.pid,
            used: match p.used_gpu_memory {
                UsedGpuMemory::Used(bytes) => Some(bytes),
                UsedGpuMemory::Unavailable => None,
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_machine_without_a_driver_says_so_and_lists_nothing() {
        let gpus = super::list();
        // Either NVML works here and lists GPUs, or it says why not: never both empty and silent.
        assert!(!gpus.gpus.is_empty() || gpus.note.is_some(), "{gpus:?}");
        if gpus.gpus.is_empty() {
            assert!(super::memory(None).is_none());
            assert!(super::compute_processes(None).is_err());
        }
    }
}
