//! `__coldbench-worker cuda-memcpy [--reps N] SIZE...`: the floor under the CUDA copy rows,
//! host ↔ device copies of the same sizes through the same driver API (what `cudaMemcpy` does),
//! from pageable and from page-locked host memory: each the median of N timed copies (11 unless
//! said) after one untimed. Prints one JSON document.

use std::time::Instant;

use serde_json::json;

use super::data::fill;
use super::tensors::host_buffer;
use crate::sys::cuda::{self, CudaError, Gpu};
use crate::units::Bytes;

/// Runs the baseline with the arguments after `cuda-memcpy`.
pub fn main(args: &[String]) -> Result<(), String> {
    let (reps, sizes) = parse(args)?;
    let driver = cuda::driver()?;
    let gpu = cuda::gpu()?;
    let rows = sizes.iter().map(|&len| measure(gpu, len, reps)).collect::<Result<Vec<_>, String>>()?;
    let doc = json!({
        "gpu": gpu.name,
        "uuid": gpu.uuid,
        "cuda_driver": format!("{}.{}", driver.cuda.0, driver.cuda.1),
        "reps": reps,
        "statistic": "median seconds per copy",
        "rows": rows,
    });
    println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
    Ok(())
}

fn parse(args: &[String]) -> Result<(usize, Vec<usize>), String> {
    let mut reps = 11;
    let mut sizes = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--reps" {
            let n = args.next().ok_or("--reps needs a count")?;
            reps = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| format!("--reps {n}: not a count"))?;
        } else {
            let size: Bytes = arg.parse().map_err(|e| format!("`{arg}` is not a size: {e}"))?;
            sizes.push(size.0 as usize);
        }
    }
    if sizes.is_empty() {
        return Err("name the sizes to copy, such as 400 4MiB 768MiB".into());
    }
    Ok((reps, sizes))
}

/// The median of `reps` runs of `copy` after one untimed.
fn median(reps: usize, mut copy: impl FnMut() -> Result<(), CudaError>) -> Result<f64, String> {
    copy().map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        copy().map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn measure(gpu: &'static Gpu, len: usize, reps: usize) -> Result<serde_json::Value, String> {
    let device = gpu.alloc(len, "the copies")?;
    let mut pageable = host_buffer(len, "the copies")?;
    fill(&mut pageable);
    let mut pinned = gpu.alloc_pinned(len)?;
    pinned.as_mut_slice().copy_from_slice(&pageable);
    let htod_pageable = median(reps, || gpu.upload(device.bytes(), 0, &pageable))?;
    let dtoh_pageable = median(reps, || gpu.download(device.bytes(), 0, &mut pageable))?;
    let htod_pinned = median(reps, || gpu.upload(device.bytes(), 0, pinned.as_mut_slice()))?;
    let dtoh_pinned = median(reps, || gpu.download(device.bytes(), 0, pinned.as_mut_slice()))?;
    Ok(json!({
        "bytes": len,
        "htod_pageable": htod_pageable,
        "dtoh_pageable": dtoh_pageable,
        "htod_pinned": htod_pinned,
        "dtoh_pinned": dtoh_pinned,
        "round_trip_pageable": htod_pageable + dtoh_pageable,
        "round_trip_pinned": htod_pinned + dtoh_pinned,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_and_reps_are_read_and_bad_ones_named() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(super::parse(&args(&["400", "--reps", "3", "4MiB"])).unwrap(), (3, vec![400, 4 << 20]));
        assert!(super::parse(&args(&[])).unwrap_err().contains("name the sizes"));
        assert!(super::parse(&args(&["--reps", "0", "1"])).unwrap_err().contains("--reps 0"));
        assert!(super::parse(&args(&["lots"])).unwrap_err().contains("`lots` is not a size"));
    }
}
