//! Report metrics about a program's own work to `cargo coldbench`: items per second through a
//! pipeline, the time it took to initialise, bytes processed — what cannot be seen from outside
//! the process. Each becomes a metric of the program's start benchmark, with statistics, verdicts
//! under `--compare`, references, budgets and exports like the metrics coldbench measures itself.
//!
//! ```no_run
//! use coldbench::self_report::{report, Better, Unit};
//!
//! let started = std::time::Instant::now();
//! // ... initialise ...
//! report("init", started.elapsed().as_secs_f64(), Unit::Seconds, Better::Lower).ok();
//! // ... process 1000 items in `secs` seconds ...
//! # let secs = 1.0;
//! report("items_per_second", 1000.0 / secs, Unit::PerSecond, Better::Higher).ok();
//! ```
//!
//! The metrics go to the file named by the environment variable [`ENV`], one line per metric per
//! run: `name=value unit=per_second better=higher`. Outside coldbench the variable is not set and
//! [`report`] does nothing. This module has no dependencies: add the library without its command
//! line (`cargo-coldbench = { version = "…", default-features = false }`).

use std::fmt;
use std::io::Write;

/// The environment variable naming the file a measured program appends its metric lines to.
pub const ENV: &str = "COLDBENCH_METRICS";

/// The unit of a reported value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// A count of things.
    Count,
    /// Things per second (items, requests, messages).
    PerSecond,
    /// Bytes per second.
    BytesPerSecond,
    /// A plain ratio.
    Ratio,
    /// A share of a whole, from 0 to 1.
    Fraction,
}

impl Unit {
    /// Every unit, in the order the format documents them.
    pub const ALL: [Unit; 7] =
        [Unit::Seconds, Unit::Bytes, Unit::Count, Unit::PerSecond, Unit::BytesPerSecond, Unit::Ratio, Unit::Fraction];

    /// The unit a metric line's `unit=` word names.
    pub fn from_word(word: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == word)
    }

    /// The unit as written in a metric line: `seconds`, `per_second`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
            Unit::Count => "count",
            Unit::PerSecond => "per_second",
            Unit::BytesPerSecond => "bytes_per_second",
            Unit::Ratio => "ratio",
            Unit::Fraction => "fraction",
        }
    }
}

/// Which way is better for a reported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Higher is better: a throughput.
    Higher,
    /// Lower is better: a time, a size.
    Lower,
}

impl Better {
    /// `higher` or `lower`, as written in a metric line.
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
        }
    }
}

/// One metric line: `name=value unit=… better=…`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line<'a> {
    /// The metric's name: a letter, then letters, digits and `_`.
    pub name: &'a str,
    /// Its value in `unit`.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` writes every digit a float needs to read back the same.
        write!(f, "{}={:?} unit={} better={}", self.name, self.value, self.unit.as_str(), self.better.as_str())
    }
}

/// Appends one metric to the file named by [`ENV`]. Returns `Ok(false)` without doing anything
/// when the program does not run under `cargo coldbench`; an error when the name is not usable
/// (a letter, then letters, digits and `_`), the value is not finite, or the file cannot be
/// written.
pub fn report(name: &str, value: f64, unit: Unit, better: Better) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os(ENV) else { return Ok(false) };
    if !valid_name(name) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{name}` is not a metric name: use a letter, then letters, digits and `_`"),
        ));
    }
    if !value.is_finite() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{name} = {value} is not finite")));
    }
    let line = Line { name, value, unit, better };
    // One write of the whole line, in append mode: lines from threads do not interleave.
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    Ok(true)
}

/// Whether `name` can name a metric: an ASCII letter, then ASCII letters, digits and `_`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_exactly() {
        let line = Line { name: "items_per_second", value: 0.1 + 0.2, unit: Unit::PerSecond, better: Better::Higher };
        assert_eq!(line.to_string(), "items_per_second=0.30000000000000004 unit=per_second better=higher");
        let whole = Line { name: "init", value: 2.0, unit: Unit::Seconds, better: Better::Lower };
        assert_eq!(whole.to_string(), "init=2.0 unit=seconds better=lower");
    }

    #[test]
    fn names_start_with_a_letter() {
        assert!(valid_name("items_per_second") && valid_name("p99"));
        assert!(!valid_name("") && !valid_name("9lives") && !valid_name("items/s") && !valid_name("a b"));
    }
}
