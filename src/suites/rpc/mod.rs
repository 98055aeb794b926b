//! The RPC suite (`[package.metadata.bench.rpc]`, README "The RPC suite"): what a call through a worker
//! process costs against the same function called in-process, how that grows with payload size
//! and call depth, and how much memory each worker process costs — against the built-in worker
//! and the user's own (a program using [`crate::worker`], or anything speaking
//! `docs/PROTOCOL.md`).

pub mod bench;
pub mod config;
pub mod host;
pub mod metrics;
mod plan;
pub mod rows;
pub mod scenarios;

pub use plan::Rpc;

/// The kind of the suite's results.
pub const KIND: &str = "rpc";
