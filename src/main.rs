//! `cargo-coldbench`: see the library for everything; this only hands over the exit status.

fn main() -> std::process::ExitCode {
    coldbench::main_entry()
}
