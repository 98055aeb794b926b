//! `cargo coldbench worker python`: the RPC suite's worker in another language, printed so that
//! it can be saved beside the program it measures (`> coldbench_worker.py`).

use anyhow::Result;

use crate::cli::WorkerLanguage;

/// Prints the worker's source.
pub fn print(language: WorkerLanguage) -> Result<u8> {
    let source = match language {
        WorkerLanguage::Python => crate::worker::PYTHON_WORKER,
    };
    super::write_stdout(source.as_bytes())?;
    Ok(0)
}
