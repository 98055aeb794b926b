//! Helpers shared by the unit tests.

use std::time::{Duration, Instant};

/// How many live processes have exactly `cmdline` (NUL-separated, as in `/proc/<pid>/cmdline`)
/// after giving killed ones up to 5 s to leave `/proc`: on a loaded machine a process killed with
/// its group dies a moment after the kill returns.
pub fn left_after_kill(cmdline: &[u8]) -> usize {
    let count = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == cmdline))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    count()
}
