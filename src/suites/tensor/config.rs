//! `[package.metadata.bench.tensor]`: the tensor suite's shape. Every key is optional; an empty
//! table runs the default shapes in both modes and the memory rows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::discover::config::{check_count, check_duration, config_error, parse_value};
use crate::error::UserError;
use crate::units::{Bytes, UserDuration};

const PREFIX: &str = "package.metadata.bench.tensor";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTensor {
    shapes: Option<Vec<Vec<i64>>>,
    large_shapes: Option<Vec<Vec<i64>>>,
    dtype: Option<DType>,
    modes: Option<Vec<Mode>>,
    devices: Option<Vec<Device>>,
    workers: Option<Vec<u32>>,
    memory_size: Option<Bytes>,
    count: Option<u32>,
    iterations: Option<u32>,
    timeout: Option<UserDuration>,
    shm_dir: Option<PathBuf>,
}

/// An element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    Bf16,
    /// Byte.
    U8,
    /// 64-bit integer.
    I64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
            DType::U8 => 1,
            DType::I64 => 8,
        }
    }

    /// `f32`, `bf16`, …
    pub fn as_str(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::U8 => "u8",
            DType::I64 => "i64",
        }
    }

    /// The dtype named `name`.
    pub fn parse(name: &str) -> Option<DType> {
        [DType::F32, DType::F16, DType::Bf16, DType::U8, DType::I64].into_iter().find(|d| d.as_str() == name)
    }
}

/// How a tensor reaches the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Its bytes go through the transport.
    Copy,
    /// It lives in a shared-memory segment; only a handle crosses.
    Shared,
}

impl Mode {
    /// `copy`, `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Copy => "copy",
            Mode::Shared => "shared",
        }
    }
}

/// Where a tensor lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// Host memory.
    Cpu,
    /// The first CUDA device.
    Cuda,
}

impl Device {
    /// `cpu`, `cuda`.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

/// The validated table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorConfig {
    /// Shapes of the transfer rows.
    pub shapes: Option<Vec<Vec<u64>>>,
    /// Shapes added with `--large-tensors`.
    pub large_shapes: Option<Vec<Vec<u64>>>,
    /// The element type (`f32` when not given).
    pub dtype: Option<DType>,
    /// Modes, in order.
    pub modes: Option<Vec<Mode>>,
    /// Devices, in order.
    pub devices: Option<Vec<Device>>,
    /// Worker counts of the memory rows.
    pub workers: Option<Vec<u32>>,
    /// The tensor each worker of a memory row holds.
    pub memory_size: Option<u64>,
    /// Round trips per measured round (at most).
    pub count: Option<u32>,
    /// Measured rounds per row.
    pub iterations: Option<u32>,
    /// How long a round trip may wait for its reply (and a worker to start).
    pub timeout: Option<Duration>,
    /// The folder shared-memory segments are made in (`/dev/shm` when not given).
    pub shm_dir: Option<PathBuf>,
}

fn shapes(raw: Option<Vec<Vec<i64>>>, key: &str, manifest: &Path) -> Result<Option<Vec<Vec<u64>>>, UserError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut out = Vec::with_capacity(raw.len());
    for (i, shape) in raw.into_iter().enumerate() {
        if shape.is_empty() || shape.len() > 8 {
            return Err(config_error(
                format!("{PREFIX}.{key}[{i}]"),
                manifest,
                "a shape has 1 to 8 dimensions, such as [512, 512]",
            ));
        }
        let mut dims = Vec::with_capacity(shape.len());
        for (j, d) in shape.into_iter().enumerate() {
            if d <= 0 {
                return Err(config_error(
                    format!("{PREFIX}.{key}[{i}][{j}]"),
                    manifest,
                    format!("{d} is not a size: every dimension is 1 or more"),
                ));
            }
            dims.push(d as u64);
        }
        let elements = dims.iter().try_fold(1u64, |a, d| a.checked_mul(*d));
        if elements.is_none_or(|n| n > 1 << 40) {
            return Err(config_error(format!("{PREFIX}.{key}[{i}]"), manifest, "the shape has over 2^40 elements"));
        }
        out.push(dims);
    }
    Ok(Some(out))
}

/// Reads and validates `[package.metadata.bench.tensor]`.
pub fn parse(value: &serde_json::Value, manifest: &Path) -> Result<TensorConfig, UserError> {
    let raw: RawTensor = parse_value(value, PREFIX, manifest)?;
    let err = |key: &str, message: &str| config_error(format!("{PREFIX}.{key}"), manifest, message);
    let range =
        |key: &str, v: Option<u32>, min: u32, max: u32| check_count(&format!("{PREFIX}.{key}"), v, min, max, manifest);
    range("count", raw.count, 1, 1_000_000)?;
    range("iterations", raw.iterations, 1, 1000)?;
    for (i, n) in raw.workers.iter().flatten().enumerate() {
        range(&format!("workers[{i}]"), Some(*n), 1, 256)?;
    }
    check_duration(&format!("{PREFIX}.timeout"), raw.timeout.map(|t| t.0), Duration::from_secs(3600), manifest)?;
    if raw.modes.as_ref().is_some_and(Vec::is_empty) {
        return Err(err("modes", "the list is empty: name \"copy\", \"shared\" or both"));
    }
    if raw.devices.as_ref().is_some_and(Vec::is_empty) {
        return Err(err("devices", "the list is empty: name \"cpu\", \"cuda\" or both"));
    }
    if raw.memory_size.is_some_and(|b| b.0 == 0) {
        return Err(err("memory-size", "a tensor of 0 bytes holds nothing: give a size such as \"256MiB\""));
    }
    if raw.shm_dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
        return Err(err("shm-dir", "the folder is empty: leave it out for /dev/shm"));
    }
    Ok(TensorConfig {
        shapes: shapes(raw.shapes, "shapes", manifest)?,
        large_shapes: shapes(raw.large_shapes, "large-shapes", manifest)?,
        dtype: raw.dtype,
        modes: raw.modes,
        devices: raw.devices,
        workers: raw.workers,
        memory_size: raw.memory_size.map(|b| b.0),
        count: raw.count,
        iterations: raw.iterations,
        timeout: raw.timeout.map(|t| t.0),
        shm_dir: raw.shm_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::config::tests::key_of;
    use serde_json::json;

    fn parse_tensor(v: serde_json::Value) -> Result<TensorConfig, UserError> {
        parse(&v, Path::new("/ws/Cargo.toml"))
    }

    #[test]
    fn an_empty_table_is_every_default() {
        assert_eq!(parse_tensor(json!({})).unwrap(), TensorConfig::default());
    }

    #[test]
    fn shapes_dtypes_and_modes_are_checked_with_their_key() {
        let cfg = parse_tensor(json!({
            "shapes": [[10, 10], [3, 64, 64]], "dtype": "bf16", "modes": ["shared"],
            "memory-size": "64MiB", "workers": [2]
        }))
        .unwrap();
        assert_eq!(cfg.shapes, Some(vec![vec![10, 10], vec![3, 64, 64]]));
        assert_eq!((cfg.dtype, cfg.memory_size), (Some(DType::Bf16), Some(64 << 20)));
        let bad = |v| key_of(parse_tensor(v).unwrap_err());
        assert_eq!(bad(json!({ "shapes": [[10, 0]] })), "package.metadata.bench.tensor.shapes[0][1]");
        assert_eq!(bad(json!({ "shapes": [[4], [-2, 3]] })), "package.metadata.bench.tensor.shapes[1][0]");
        assert_eq!(bad(json!({ "large-shapes": [[]] })), "package.metadata.bench.tensor.large-shapes[0]");
        assert_eq!(bad(json!({ "dtype": "f64" })), "package.metadata.bench.tensor.dtype");
        assert_eq!(bad(json!({ "modes": [] })), "package.metadata.bench.tensor.modes");
        assert_eq!(bad(json!({ "workers": [0] })), "package.metadata.bench.tensor.workers[0]");
        assert_eq!(bad(json!({ "dtyp": "f32" })), "package.metadata.bench.tensor.dtyp");
    }
}
