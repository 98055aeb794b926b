//! The runner process, driven through the library against the real binary.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use coldbench::measure::process::{ProcessSpec, Readiness};
use coldbench::measure::runner::Runner;
use common::*;

#[test]
fn peak_rss_is_each_childs_own_even_from_one_runner() {
    // Build the memory fixtures.
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "memory", "--runs", "2"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let release = fixture_target_dir().join("release");
    let spec = |bin: &str| ProcessSpec {
        program: release.join(bin),
        args: vec![],
        env: BTreeMap::new(),
        cwd: std::env::temp_dir(),
        readiness: Readiness::Exit,
        timeout: Duration::from_secs(10),
        capture_stdout: false,
        capture_stderr: false,
        cache: Default::default(),
        evict_first: None,
        cpu: None,
    };
    // One runner serves both: a harness that read getrusage(RUSAGE_CHILDREN) would report the
    // big child's 64 MiB again for the small one.
    let exe = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut runner = Runner::start(&exe, &[spec("alloc64"), spec("small")]).unwrap();
    const MIB: u64 = 1024 * 1024;
    for _ in 0..2 {
        let big = runner.run(0).unwrap();
        assert!(big.usage.max_rss >= 64 * MIB, "{:?}", big.usage);
        let small = runner.run(1).unwrap();
        assert!(small.usage.max_rss < 16 * MIB, "the small child reports {} bytes", small.usage.max_rss);
    }
}
