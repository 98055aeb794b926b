//! NVIDIA GPUs through NVML (`nvml-wrapper`), loaded at run time: a machine without the driver
//! has no GPUs and a sentence that says why, never an error.

use nvml_wrapper::Nvml;

pub use crate::results::GpuFacts;

/// The GPUs NVML sees, or why none can be seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpus {
    /// Each GPU.
    pub gpus: Vec<GpuFacts>,
    /// Why the list is empty: no driver, or NVML's error.
    pub note: Option<String>,
}

fn nvml() -> Result<Nvml, String> {
    Nvml::init().map_err(|e| match e {
        nvml_wrapper::error::NvmlError::LibloadingError(_) => {
            "no NVIDIA driver found (libnvidia-ml.so could not be loaded)".to_string()
        }
        nvml_wrapper::error::NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded".to_string(),
        other => format!("NVML did not start: {other}"),
    })
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

/// Free memory of GPU `index`, when NVML can tell.
pub fn free_memory(index: u32) -> Option<u64> {
    let nvml = nvml().ok()?;
    let d = nvml.device_by_index(index).ok()?;
    d.memory_info().ok().map(|m| m.free)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_machine_without_a_driver_says_so_and_lists_nothing() {
        let gpus = super::list();
        // Either NVML works here and lists GPUs, or it says why not: never both empty and silent.
        assert!(!gpus.gpus.is_empty() || gpus.note.is_some(), "{gpus:?}");
    }
}
