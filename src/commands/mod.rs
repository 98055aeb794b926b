//! One module per subcommand; each wires the stages together and measures or prints nothing itself.

pub mod env;
pub mod run;
