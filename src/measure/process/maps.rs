//! Facts about a process observed once per benchmark, outside the timed runs: the shared objects
//! mapped at the end event, the thread count, and glibc's loader statistics.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::results::LoaderStats;

/// What one untimed facts run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessFacts {
    /// Shared objects mapped at the end event, in mapping order, without repeats.
    pub mapped_objects: Vec<String>,
    /// Threads alive at the end event (for exit: when the main thread exits).
    pub threads: Option<u64>,
    /// glibc's `LD_DEBUG=statistics` figures for the startup.
    pub loader: Option<LoaderStats>,
    /// Why facts could not be collected, when they could not.
    pub problem: Option<String>,
}

/// Shared objects named in a `/proc/PID/maps` text (files whose name contains `.so`), in order.
pub fn mapped_objects(maps: &str, executable: Option<&Path>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode pathname
        let Some(path) = line.splitn(6, char::is_whitespace).nth(5).map(str::trim) else { continue };
        if !path.starts_with('/') {
            continue;
        }
        let name = Path::new(path).file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let is_object = name.ends_with(".so") || name.contains(".so.");
        if !is_object || executable.is_some_and(|e| Path::new(path) == e) {
            continue;
        }
        if !out.iter().any(|p| p == path) {
            out.push(path.to_string());
        }
    }
    out
}

/// `Threads:` of a `/proc/PID/status` text.
pub fn threads(status: &str) -> Option<u64> {
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

/// Parses the first "runtime linker statistics" block of `LD_DEBUG=statistics` output.
///
/// glibc writes it to stderr (checked on this project's machines: Debian 12, glibc 2.36); coldbench
/// sends it to a file of its own with `LD_DEBUG_OUTPUT` so that the program's stderr stays clean.
pub fn loader_stats(text: &str) -> Option<LoaderStats> {
    let mut stats = LoaderStats::default();
    let mut seen = false;
    for line in text.lines() {
        // "  12345:\t  total startup time in dynamic loader: 162470 cycles"
        let body = line.split_once(':').map(|(_, rest)| rest.trim()).unwrap_or("");
        let (key, value) = match body.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => continue,
        };
        let number = || value.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
        let percent = || {
            value
                .split_once('(')
                .and_then(|(_, p)| p.trim_end_matches([')', '%']).trim_end_matches('%').parse::<f64>().ok())
        };
        match key {
            "total startup time in dynamic loader" => {
                if seen {
                    break;
                }
                stats.startup_cycles = number()?;
                seen = true;
            }
            "time needed for relocation" => {
                stats.relocation_cycles = number().unwrap_or(0);
                stats.relocation_percent = percent().unwrap_or(0.0);
            }
            "number of relocations" => stats.relocations = number().unwrap_or(0),
            "number of relative relocations" => stats.relative_relocations = number().unwrap_or(0),
            "time needed to load objects" => stats.load_objects_percent = percent().unwrap_or(0.0),
            _ => {}
        }
    }
    seen.then_some(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_give_each_shared_object_once_without_the_executable() {
        let maps = "\
5555-5556 r--p 00000000 08:01 123 /usr/bin/app
5556-5557 r-xp 00001000 08:01 123 /usr/bin/app
7f00-7f01 r--p 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f01-7f02 r-xp 00001000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f02-7f03 rw-p 00000000 00:00 0 
7f03-7f04 r--p 00000000 08:01 789 /opt/my lib/libfoo.so
7ffd-7ffe r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(
            mapped_objects(maps, Some(Path::new("/usr/bin/app"))),
            ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/opt/my lib/libfoo.so"]
        );
    }

    #[test]
    fn loader_statistics_are_parsed_from_glibc_output() {
        let text = "     27849:\t\n     27849:\truntime linker statistics:\n     27849:\t  total startup time in dynamic loader: 162470 cycles\n     27849:\t            time needed for relocation: 37530 cycles (23.1%)\n     27849:\t                 number of relocations: 87\n     27849:\t      number of relocations from cache: 7\n     27849:\t        number of relative relocations: 16\n     27849:\t           time needed to load objects: 51746 cycles (31.8%)\n     27849:\t\n     27849:\truntime linker statistics:\n     27849:\t           final number of relocations: 88\n";
        let s = loader_stats(text).unwrap();
        assert_eq!(s.startup_cycles, 162470);
        assert_eq!(s.relocation_cycles, 37530);
        assert_eq!(s.relocation_percent, 23.1);
        assert_eq!(s.relocations, 87);
        assert_eq!(s.relative_relocations, 16);
        assert_eq!(s.load_objects_percent, 31.8);
        assert_eq!(loader_stats("garbage"), None);
    }

    #[test]
    fn thread_count_from_status() {
        assert_eq!(threads("Name:\tapp\nThreads:\t4\nSigQ:\t0/1"), Some(4));
        assert_eq!(threads("nothing"), None);
    }
}
