//! What the rows of the tensor suite measure, every metric by its mean (see
//! [`crate::suites::metric`]).

use crate::results::{Better, MetricDesc, OrderedMap, Stat, Unit};
use crate::suites::metric::{by_mean, column, gating};
use crate::suites::tensor::config::{Device, Mode};

/// The descriptors of a transfer row: one tensor sent to a worker and its checksum back.
pub fn transfer() -> OrderedMap<MetricDesc> {
    let mut m = OrderedMap::new();
    m.insert("round_trip", gating(by_mean(Unit::Seconds, Better::Lower, "round trip")));
    m.insert("throughput", column(by_mean(Unit::BytesPerSecond, Better::Higher, "bytes per second"), "bytes/s", true));
    m.insert("fastest", column(by_mean(Unit::Seconds, Better::Lower, "fastest round trip"), "fastest", false));
    m
}

/// The descriptors of a memory row: per mode, the PSS of each worker holding the tensor and of
/// all of them; with both modes first the share of memory that shared mode saves.
pub fn memory(modes: &[Mode]) -> OrderedMap<MetricDesc> {
    held(modes, Device::Cpu)
}

/// The descriptors of a memory row on the GPU: per mode, the device memory NVML lists for each
/// worker holding the tensor and for all of them, and what the GPU's used memory grew by; with
/// both modes first the share of device memory that shared mode saves.
pub fn vram(modes: &[Mode]) -> OrderedMap<MetricDesc> {
    held(modes, Device::Cuda)
}

/// The name of what holding the tensor added to a worker.
pub fn growth_name(mode: Mode, device: Device) -> String {
    match device {
        Device::Cpu => format!("{}_worker_growth", mode.as_str()),
        Device::Cuda => format!("{}_worker_vram_growth", mode.as_str()),
    }
}

fn held(modes: &[Mode], device: Device) -> OrderedMap<MetricDesc> {
    let (unit, what, saved) = match device {
        Device::Cpu => ("pss", "PSS", "memory saved with shared"),
        Device::Cuda => ("vram", "VRAM", "GPU memory saved with shared"),
    };
    let mut m = OrderedMap::new();
    let mem = |label: &str| MetricDesc { stat: Some(Stat::Mean), ..by_mean(Unit::Bytes, Better::Lower, label) };
    // With both modes the saving is the headline: the figure the row exists for.
    if modes.len() == 2 {
        let saved = by_mean(Unit::Fraction, Better::Higher, saved);
        m.insert("saved", MetricDesc { best: true, stat: Some(Stat::Mean), ..saved });
    }
    for mode in modes {
        let name = mode.as_str();
        m.insert(
            format!("{name}_total_{unit}").as_str(),
            gating(column(mem(&format!("{what} of all workers, {name}")), &format!("all ({name})"), true)),
        );
        // Drawn together against the worker count: copies grow with it, a shared tensor does not.
        let per_worker = column(mem(&format!("{what} per worker, {name}")), &format!("per worker ({name})"), true);
        m.insert(format!("{name}_worker_{unit}").as_str(), MetricDesc { chart: true, ..per_worker });
        // What holding the tensor added to a worker: its size for a copy, a share of it when the
        // pages are mapped from the host's segment (zero-copy), on the GPU what NVML counts for
        // a mapping of the host's device memory.
        m.insert(
            growth_name(*mode, device).as_str(),
            column(mem(&format!("{what} a worker gained by holding it, {name}")), &format!("held ({name})"), false),
        );
        if device == Device::Cuda {
            // The device's own count, whoever NVML attributes the memory to.
            m.insert(
                format!("{name}_device_growth").as_str(),
                column(mem(&format!("GPU memory the device gained, {name}")), &format!("device ({name})"), false),
            );
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_round_trip_gates_and_the_saving_is_higher_better() {
        let t = transfer();
        assert_eq!(t.iter().next().unwrap().0, "round_trip");
        assert_eq!(t.get("throughput").unwrap().better, Better::Higher);
        let both = memory(&[Mode::Copy, Mode::Shared]);
        assert_eq!(both.iter().next().unwrap().0, "saved");
        assert_eq!(both.get("saved").unwrap().better, Better::Higher);
        assert!(memory(&[Mode::Copy]).get("saved").is_none());
        let gpu = vram(&[Mode::Copy, Mode::Shared]);
        let names: Vec<&str> = gpu.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names[..5],
            ["saved", "copy_total_vram", "copy_worker_vram", "copy_worker_vram_growth", "copy_device_growth"]
        );
        assert!(gpu.get("copy_total_vram").unwrap().gates && gpu.get("shared_worker_vram").unwrap().chart);
    }
}
