//! The suites: benchmark kinds that measure what crosses a process boundary (ZeroMQ) rather than
//! a process start. Each is a folder with one `impl Bench`; they share the long-running servers
//! ([`server`]) and the built-in workers ([`worker`]).

pub mod server;
pub mod worker;
pub mod zmq;
