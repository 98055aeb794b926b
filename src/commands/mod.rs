//! One module per subcommand; each wires the stages together and measures or prints nothing itself.

pub mod clean;
pub mod compare;
pub mod diff;
pub mod env;
pub mod hook;
pub mod run;
