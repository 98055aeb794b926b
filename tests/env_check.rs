//! `env --check` and the check before measuring, on machines faked through the test hook
//! (`COLDBENCH_HOST_ROOT`: a folder with the `proc/` and `sys/` the check reads, and `later/` for
//! the second reading).

mod common;

use std::path::Path;

use common::*;

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// A machine: CPU time with `steal` ticks stolen, one process `hog` with `hog_ticks`, and the rest.
fn machine(root: &Path, steal: u64, hog_ticks: u64, governor: &str, tuned: bool) {
    let total = 10_000 + steal * 10;
    write(
        root,
        "proc/stat",
        &format!("cpu  {} 0 1000 {} 0 0 0 {steal} 0 0\nprocs_running 1\n", total / 2, total / 2 - 1000 - steal),
    );
    write(root, "proc/loadavg", "0.30 0.20 0.10 1/200 4242\n");
    write(
        root,
        "proc/meminfo",
        if tuned { "SwapTotal: 1024 kB\nSwapFree: 1024 kB\n" } else { "SwapTotal: 4194304 kB\nSwapFree: 3145728 kB\n" },
    );
    write(root, "proc/sys/kernel/randomize_va_space", if tuned { "2\n" } else { "0\n" });
    write(
        root,
        "proc/3999999/stat",
        &format!("3999999 (hog (v2)) R 1 1 1 0 -1 0 0 0 0 0 {hog_ticks} 0 0 0 20 0 1 0 100 0 0\n"),
    );
    for cpu in ["cpu0", "cpu1"] {
        write(root, &format!("sys/devices/system/cpu/{cpu}/cpufreq/scaling_governor"), &format!("{governor}\n"));
    }
    write(root, "sys/devices/system/cpu/cpufreq/boost", if tuned { "0\n" } else { "1\n" });
    write(root, "sys/class/power_supply/BAT0/type", "Battery\n");
    write(root, "sys/class/power_supply/BAT0/status", if tuned { "Full\n" } else { "Discharging\n" });
}

#[test]
fn an_unfit_machine_fails_the_check_with_one_warning_and_fix_per_problem() {
    let root = tempfile::tempdir().unwrap();
    machine(root.path(), 10, 100, "powersave", false);
    // A moment later: 40 ticks stolen, and `hog (v2)` used 30 more ticks (at least 60% of a CPU
    // in the check's fifth of a second).
    machine(&root.path().join("later"), 50, 130, "powersave", false);
    let res = coldbench().args(["env", "--check"]).env("COLDBENCH_HOST_ROOT", root.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    for (problem, fix) in [
        ("governor is `powersave` on 2 of 2 CPUs", "sudo cpupower frequency-set -g performance"),
        ("turbo boost is on", "/sys/devices/system/cpu/cpufreq/boost"),
        ("ASLR is off", "sudo sysctl kernel.randomize_va_space=2"),
        ("`hog (v2)` (pid 3999999) used", "close `hog (v2)`"),
        ("the hypervisor took CPU time", "dedicated host"),
        ("1.0 GiB of swap in use", "sudo swapoff -a && sudo swapon -a"),
        ("runs on battery", "plug in the charger"),
    ] {
        assert!(stderr.contains(problem), "no {problem:?} in:\n{stderr}");
        assert!(stderr.contains(&format!("help: {fix}")) || stderr.contains(fix), "no fix {fix:?} in:\n{stderr}");
    }
    assert_eq!(stderr.matches("warning:").count(), 7, "one warning per problem:\n{stderr}");
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("aslr: off") && stdout.contains("hog (v2) (3999999)"), "{stdout}");

    // The same facts as JSON on stdout, problems and fixes included.
    let res = coldbench()
        .args(["env", "--check", "--format", "json"])
        .env("COLDBENCH_HOST_ROOT", root.path())
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1));
    let facts: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let machine = &facts["machine"];
    assert_eq!(machine["aslr"], 0);
    assert_eq!(machine["problems"].as_array().unwrap().len(), 7, "{machine:#}");
    assert_eq!(machine["busiest"][0]["name"], "hog (v2)");
}

#[test]
fn a_fit_machine_passes_and_plain_env_does_not_check() {
    let root = tempfile::tempdir().unwrap();
    machine(root.path(), 0, 100, "performance", true);
    let res = coldbench().args(["env", "--check"]).env("COLDBENCH_HOST_ROOT", root.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(!String::from_utf8_lossy(&res.stderr).contains("warning"), "{}", describe(&res));

    let unfit = tempfile::tempdir().unwrap();
    machine(unfit.path(), 10, 100, "powersave", false);
    let res = coldbench().args(["env", "--format", "json"]).env("COLDBENCH_HOST_ROOT", unfit.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "`env` alone reports, it does not judge");
    let facts: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert!(facts.get("machine").is_none(), "{facts:#}");
}

#[test]
fn a_run_warns_of_an_unfit_machine_records_it_and_measures_anyway() {
    let root = tempfile::tempdir().unwrap();
    machine(root.path(), 0, 100, "powersave", true);
    let out = tempfile::tempdir().unwrap();
    let mut cmd = coldbench();
    cmd.env("COLDBENCH_HOST_ROOT", root.path())
        .arg("--manifest-path")
        .arg(fixture_manifest())
        .arg("--target-dir")
        .arg(fixture_target_dir())
        .arg("--output-dir")
        .arg(out.path())
        .args(["-p", "apps", "--bin", "hello", "--runs", "3"]);
    let res = cmd.output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("warning: the CPU frequency governor is `powersave`"), "{stderr}");
    let doc = latest(out.path());
    assert_eq!(doc["host"]["machine"]["governors"][0], "powersave");
    assert_eq!(doc["host"]["machine"]["problems"][0]["fix"], "sudo cpupower frequency-set -g performance");
    assert_eq!(bench(&doc, "start/apps/hello")["status"], "ok");
}
