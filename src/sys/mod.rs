//! The system calls: every `unsafe` block of the tool is here (and in the worker library's
//! transport), each with the invariant it relies on in a `SAFETY:` comment, behind functions and
//! types that cannot be misused from safe code. Calls that `nix` wraps safely are made through
//! `nix` where they are used; what it does not cover is here (docs/ARCHITECTURE.md, "System
//! calls").

pub mod cuda;
pub mod dl;
pub mod files;
pub mod memory;
pub mod process;
pub mod shm;
pub mod signals;
pub mod spawn;
#[cfg(feature = "torch")]
pub mod torch;
pub mod zmq;
