//! Presenting results: the console table (more formats come with the report command).

pub mod console;
