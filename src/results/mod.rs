//! Results: the schema of the files (`schema`, plain data) and their storage (`store`; the points
//! of `history` and `bisect` in `history`).

pub mod calibration;
pub mod history;
pub mod schema;
pub mod store;

pub use schema::*;
pub use store::{read, write_atomic, Store, StoreLock, STAGE_DIR};
