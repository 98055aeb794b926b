//! Results: the schema of the files (`schema`, plain data) and their storage (`store`).

pub mod calibration;
pub mod schema;
pub mod store;

pub use schema::*;
pub use store::{read, write_atomic, Store, StoreLock, STAGE_DIR};
