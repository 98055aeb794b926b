//! Library load, Python import, the facts behind a start, and cold-cache starts.

mod common;

use common::*;
use std::path::Path;

fn median(bench: &serde_json::Value, metric: &str) -> f64 {
    bench["summary"][metric]["median"].as_f64().unwrap_or_else(|| panic!("no {metric} summary in {bench:#}"))
}

#[test]
fn libraries_load_with_their_init_timed_and_failures_are_rows() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["load", "-p", "plainlib", "-p", "worklib", "-p", "missinglib"]);
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    let doc = latest(out.path());
    assert!(doc["benchmarks"].as_array().unwrap().iter().all(|b| b["kind"] == "load"), "`load` runs only loads");

    let plain = bench(&doc, "load/plainlib/plainlib");
    assert_eq!(plain["status"], "ok", "{plain:#}");
    for metric in ["load", "init", "process", "process_minus_empty", "max_rss"] {
        assert_eq!(samples(plain, metric).len(), 5, "{metric}");
    }
    let work = bench(&doc, "load/worklib/worklib");
    assert_eq!(work["status"], "ok", "{work:#}");
    // worklib's init spins for milliseconds; plainlib's does nothing.
    assert!(
        median(work, "init") > 10.0 * median(plain, "init"),
        "{} vs {}",
        median(work, "init"),
        median(plain, "init")
    );
    assert!(median(work, "init") > 1e-3);
    assert!(work["facts"]["library"].as_str().unwrap().ends_with("libworklib.so"));
    // What loading mapped: the library itself at least (read while it is still loaded).
    let mapped = work["facts"]["mapped_objects"].as_array().unwrap();
    assert!(mapped.iter().any(|m| m.as_str().unwrap().ends_with("libworklib.so")), "{mapped:?}");

    let missing_symbol = bench(&doc, "load/plainlib/missing-symbol");
    assert_eq!(missing_symbol["status"], "failed");
    assert!(
        missing_symbol["reason"].as_str().unwrap().contains("symbol `no_such_symbol` is not exported"),
        "{missing_symbol:#}"
    );
    let missing_dep = bench(&doc, "load/missinglib/missinglib");
    assert_eq!(missing_dep["status"], "failed");
    let reason = missing_dep["reason"].as_str().unwrap();
    assert!(reason.contains("libcbmissing.so") && reason.contains("cannot open shared object file"), "{reason}");
    // The facts explain it: the dependency is in DT_NEEDED.
    assert!(missing_dep["facts"]["needed"].as_array().unwrap().iter().any(|n| n == "libcbmissing.so"));
}

#[test]
fn a_forbidden_shared_object_fails_the_gate_until_the_entry_is_removed() {
    let main_rs = std::fs::read_to_string(fixture_manifest().parent().unwrap().join("loader/src/main.rs")).unwrap();
    // The second entry reaches the same binary through a shell that execs it: the facts must be
    // the binary's, not the shell's.
    let forbid = "[[package.metadata.bench.start]]\nbin = \"demo\"\nforbid-loaded = [\"libz\"]\n\n\
                  [[package.metadata.bench.start]]\ncommand = [\"sh\", \"-c\", \"exec \\\"$0\\\"\", \"target/release/demo\"]\n\
                  name = \"wrapped\"\nforbid-loaded = [\"libz\"]\n\n[package.metadata.bench]\nruns = 2\n";
    let dir = temp_project(forbid, &main_rs);
    let res = coldbench().current_dir(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("forbidden shared object loaded:") && stdout.contains("libz.so"), "{stdout}");
    let doc = latest(&dir.path().join("target/coldbench"));
    let b = bench(&doc, "start/demo/demo");
    let found = b["facts"]["forbidden_loaded"].as_array().unwrap();
    assert!(found.iter().any(|p| p.as_str().unwrap().contains("libz.so")), "{b:#}");
    let wrapped = bench(&doc, "start/demo/wrapped");
    let found = wrapped["facts"]["forbidden_loaded"].as_array().unwrap_or_else(|| panic!("{wrapped:#}"));
    assert!(found.iter().any(|p| p.as_str().unwrap().contains("libz.so")), "{wrapped:#}");

    // Without the entry the same binary passes.
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("forbid-loaded = [\"libz\"]\n", "");
    std::fs::write(&manifest, text).unwrap();
    let res = coldbench().current_dir(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
}

#[test]
fn python_imports_are_timed_counted_and_checked() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "pyimport"]);
    assert_eq!(res.status.code(), Some(3), "json is forbidden: {}", describe(&res));
    let doc = latest(out.path());
    let b = bench(&doc, "python/pyimport/fixture_pkg");
    assert_eq!(b["kind"], "python");
    assert_eq!(b["status"], "ok");
    for metric in ["import", "import_self", "import_total", "modules"] {
        assert_eq!(samples(b, metric).len(), 3, "{metric}");
    }
    assert!(median(b, "modules") > 2.0, "fixture_pkg and json at least");
    // Of all those, one is the package's own: fixture_pkg (json and its submodules are not).
    assert!(samples(b, "own_modules").iter().all(|v| *v == 1.0), "{b:#}");
    assert!(b["facts"]["imported_modules"].as_u64().unwrap() > 2);
    assert!(b["facts"]["forbidden_imported"].as_array().unwrap().iter().any(|m| m == "json"), "{b:#}");
    assert!(String::from_utf8_lossy(&res.stdout).contains("forbidden module imported:"));

    let res = run_fixture(out.path(), &["-p", "pyraises"]);
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    let doc = latest(out.path());
    let b = bench(&doc, "python/pyraises/fixture_raises");
    assert_eq!(b["status"], "failed");
    assert_eq!(b["reason"], "import fixture_raises failed: ValueError: fixture_raises refuses to be imported");
}

#[test]
fn a_pyo3_module_built_by_the_tool_is_imported_and_timed() {
    let out = tempfile::tempdir().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyo3ws/Cargo.toml");
    let res = coldbench()
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyo3-target"))
        .arg("--output-dir")
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    let ids: Vec<&str> = doc["benchmarks"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    // The extension is not dlopened on its own: it only loads inside Python.
    assert_eq!(ids, ["python/pyo3mod/pyo3mod"]);
    let b = bench(&doc, "python/pyo3mod/pyo3mod");
    assert_eq!(b["status"], "ok", "{b:#}");
    assert!(median(b, "import") > 0.0);
    assert!(b["facts"]["library"].as_str().unwrap().ends_with("libpyo3mod.so"));
    let mapped = b["facts"]["mapped_objects"].as_array().unwrap();
    assert!(mapped.iter().any(|m| m.as_str().unwrap().ends_with("pyo3mod.so")), "the module was loaded: {mapped:?}");
}

#[test]
fn the_facts_of_a_binary_are_recorded() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "apps", "--bin", "greet", "--runs", "2", "-v"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    let facts = &bench(&doc, "start/apps/greet")["facts"];
    let mapped = facts["mapped_objects"].as_array().unwrap();
    assert!(mapped.iter().any(|m| m.as_str().unwrap().contains("libc.so")), "{facts:#}");
    assert_eq!(facts["mapped_libs"].as_u64().unwrap() as usize, mapped.len());
    assert!(facts["needed"].as_array().unwrap().iter().any(|n| n == "libc.so.6"), "{facts:#}");
    assert!(facts["relocations"]["relative"].as_u64().unwrap() > 0, "{facts:#}");
    assert!(facts["relocations"]["symbolic"].is_u64());
    assert!(facts["loader"]["startup_cycles"].as_u64().unwrap() > 0, "{facts:#}");
    assert!(facts["loader"]["relocations"].as_u64().unwrap() > 0, "{facts:#}");
    assert!(facts["threads"].is_null(), "threads are not counted at exit, when only one is left");
    assert_eq!(facts["stripped"], false);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("DT_NEEDED:") && stdout.contains("loader:"), "-v shows the facts: {stdout}");
}

#[test]
fn a_cold_cache_run_evicts_the_executable_first() {
    let out = tempfile::tempdir().unwrap();
    let res = run_fixture(out.path(), &["-p", "cachey", "--cache", "cold"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(out.path());
    let b = bench(&doc, "start/cachey/cachey");
    let program = b["facts"]["program"].as_str().unwrap();
    let residency = b["facts"]["residency"].as_array().expect("residency is recorded");
    let exe = residency.iter().find(|r| r["file"] == program).unwrap_or_else(|| panic!("{residency:?}"));
    let resident = exe["resident"].as_f64().unwrap();
    assert!(resident < 0.1, "{resident} of the executable stayed resident after eviction");
    // Its libraries were evicted too (or are named as kept).
    assert!(residency.len() > 1, "{residency:?}");
}

/// The package `mypkg` in `dir`: `mypkg` imports `first`, then `mypkg.sub` and `_mypkg` (both
/// empty).
fn write_mypkg(dir: &Path, first: &str) {
    let pkg = dir.join("mypkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), format!("{first}from . import sub\nimport _mypkg\n")).unwrap();
    std::fs::write(pkg.join("sub.py"), "").unwrap();
    std::fs::write(dir.join("_mypkg.py"), "").unwrap();
}

#[test]
fn a_budget_on_the_packages_own_modules_gates_and_passes_once_met() {
    let project = |limit: u32| {
        let dir = common::temp_project(
            &format!(
                "[package.metadata.bench]\nruns = 2\n\n[[package.metadata.bench.python]]\nmodule = \"mypkg\"\n\
                 own-prefix = [\"mypkg\", \"_mypkg\"]\nbudget = {{ own-modules = {limit} }}\n"
            ),
            "fn main() {}\n",
        );
        write_mypkg(dir.path(), "import json\n");
        dir
    };
    let run = |dir: &tempfile::TempDir| {
        common::coldbench().current_dir(dir.path()).args(["--fail-on", "budget"]).output().unwrap()
    };
    // mypkg, mypkg.sub and _mypkg: three of its own, json's modules not counted.
    let over = project(2);
    let res = run(&over);
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    // A failed budget lists the slowest imports under the row: the question it raises.
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("slowest imports (cumulative, own, imported by):"), "{stdout}");
    assert!(stdout.contains("mypkg.sub ") && stdout.contains(" ← mypkg"), "{stdout}");
    let doc = latest(&over.path().join("target/coldbench"));
    let b = bench(&doc, "python/demo/mypkg");
    assert!(samples(b, "own_modules").iter().all(|v| *v == 3.0), "{b:#}");
    assert!(median(b, "modules") > 3.0, "json's modules count among all: {b:#}");
    let met = project(3);
    let res = run(&met);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
}

#[test]
fn sys_modules_after_the_import_is_counted_beside_the_logged_modules_and_budgeted() {
    let dir = common::temp_project(
        "[package.metadata.bench]\nruns = 2\nwarmup = 0\n\n[[package.metadata.bench.python]]\nmodule = \"mypkg\"\n\
         budget = { modules-total = LIMIT }\n",
        "fn main() {}\n",
    );
    // The package adds exactly three modules to what the bare interpreter holds: mypkg,
    // mypkg.sub and _mypkg, importing nothing else.
    write_mypkg(dir.path(), "");
    let bare = std::process::Command::new("python3")
        .args(["-X", "importtime", "-c", "import sys; print(len(sys.modules))"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&bare.stdout).trim().parse::<usize>().unwrap() + 3;
    let manifest = dir.path().join("Cargo.toml");
    let template = std::fs::read_to_string(&manifest).unwrap();
    let run_with_limit = |limit: usize| {
        std::fs::write(&manifest, template.replace("LIMIT", &limit.to_string())).unwrap();
        common::coldbench().current_dir(dir.path()).output().unwrap()
    };

    let res = run_with_limit(expected - 1);
    assert_eq!(res.status.code(), Some(3), "one module over: {}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains(&format!("sys.modules {expected}")), "the table line: {stdout}");
    let doc = latest(&dir.path().join("target/coldbench"));
    let b = bench(&doc, "python/demo/mypkg");
    assert!(samples(b, "modules_total").iter().all(|v| *v == expected as f64), "{b:#}");
    assert_eq!(b["metrics"]["modules_total"]["unit"], "count");
    let over = b["budget"].as_array().unwrap().iter().find(|l| l["metric"] == "modules_total").unwrap();
    assert_eq!((over["value"].as_f64(), over["ok"].as_bool()), (Some(expected as f64), Some(false)), "{over:#}");

    let res = run_with_limit(expected);
    assert_eq!(res.status.code(), Some(0), "at the limit: {}", describe(&res));
    // Within budget, the slowest imports are listed when asked for, with -v or --top.
    assert!(!String::from_utf8_lossy(&res.stdout).contains("slowest imports"), "{}", describe(&res));
    for flags in [&["-v"][..], &["--top", "1"]] {
        let res = common::coldbench().current_dir(dir.path()).arg("report").args(flags).output().unwrap();
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(stdout.contains("slowest imports (cumulative, own, imported by):"), "{flags:?}: {stdout}");
        assert!(stdout.contains("mypkg.sub ") && stdout.contains("← mypkg"), "{flags:?}: {stdout}");
    }
}

#[test]
fn a_compare_names_the_module_that_became_lazy_and_the_own_module_count_drops() {
    let dir = common::temp_project(
        "[package.metadata.bench]\nruns = 3\n\n[[package.metadata.bench.python]]\nmodule = \"lazypkg\"\n\
         python-path = [\"py\"]\nwatch-imported = [\"lazypkg.heavy\", \"json\"]\n",
        "fn main() {}\n",
    );
    // A pure-Python package under py/, found through `python-path`: each side its own checkout's.
    let pkg = dir.path().join("py/lazypkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("heavy.py"), "import json\n").unwrap();
    std::fs::write(pkg.join("__init__.py"), "from . import heavy\n").unwrap();
    std::fs::write(dir.path().join(".gitignore"), "/target\n").unwrap();
    common::git_in(dir.path(), &["init", "-q", "-b", "main"]);
    common::git_in(dir.path(), &["add", "-A"]);
    common::git_in(dir.path(), &["commit", "-q", "-m", "eager"]);
    // The next version imports the heavy part only when it is used.
    std::fs::write(pkg.join("__init__.py"), "def load():\n    from . import heavy\n    return heavy\n").unwrap();
    let res = common::coldbench().current_dir(dir.path()).args(["--compare", "HEAD"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    for module in ["lazypkg.heavy", "json"] {
        let line = format!("python/demo/lazypkg: {module}: loaded → not loaded (now lazy)");
        assert!(stdout.contains(&line), "{line} in {stdout}");
    }
    let doc = latest(&dir.path().join("target/coldbench"));
    let row = doc["comparison"]["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "own_modules").unwrap();
    assert_eq!((row["baseline"].as_f64(), row["candidate"].as_f64()), (Some(2.0), Some(1.0)), "{row:#}");
    // The eager side's slowest imports name the heavy part and what pulled it in; the lazy side's do not.
    let slowest = |b: &serde_json::Value| -> Vec<(String, Vec<serde_json::Value>)> {
        b["facts"]["slowest_imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["module"].as_str().unwrap().to_string(), s["chain"].as_array().unwrap().clone()))
            .collect()
    };
    let baseline = doc["comparison"]["baseline_benchmarks"].as_array().unwrap();
    let eager = slowest(baseline.iter().find(|b| b["id"] == "python/demo/lazypkg").unwrap());
    assert!(eager.iter().any(|(m, chain)| m == "lazypkg.heavy" && chain == &["lazypkg"]), "{eager:?}");
    let lazy = slowest(bench(&doc, "python/demo/lazypkg"));
    assert!(!lazy.iter().any(|(m, _)| m == "lazypkg.heavy"), "{lazy:?}");
    assert!(bench(&doc, "python/demo/lazypkg")["facts"]["import_tree"].as_array().is_some_and(|t| !t.is_empty()));
    let md = std::fs::read_to_string(dir.path().join("target/coldbench/report.md")).unwrap();
    assert!(md.contains("- 🟢 `python/demo/lazypkg`: json: loaded → not loaded (now lazy)"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("target/coldbench/report.html")).unwrap();
    assert!(html.contains("<span class=\"improved\">lazypkg.heavy: loaded → not loaded (now lazy)</span>"), "{html}");
    for side in ["baseline", "candidate"] {
        assert!(html.contains(&format!("aria-label=\"import tree of python/demo/lazypkg ({side})\"")), "{side}");
    }
    assert!(!String::from_utf8_lossy(&res.stderr).contains("PYTHONPATH points into"), "{}", describe(&res));

    // An inherited PYTHONPATH into the working tree would make both sides import the lazy version.
    let res = common::coldbench()
        .current_dir(dir.path())
        .env("PYTHONPATH", dir.path().join("py"))
        .args(["--compare", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("PYTHONPATH points into the working tree (") && stderr.contains("`python-path`"),
        "{stderr}"
    );
}

#[test]
fn a_module_imported_by_some_runs_only_is_reported_by_name() {
    let dir = common::temp_project(
        "[package.metadata.bench]\nruns = 4\nwarmup = 0\n\n[[package.metadata.bench.python]]\nmodule = \"flaky\"\n",
        "fn main() {}\n",
    );
    // Every other import pulls in `json`, as a plugin scan or a race would now and then.
    std::fs::write(
        dir.path().join("flaky.py"),
        "import os\np = os.path.join(os.path.dirname(__file__), 'count')\n\
         n = int(open(p).read()) if os.path.exists(p) else 0\nopen(p, 'w').write(str(n + 1))\n\
         if n % 2:\n    import json\n",
    )
    .unwrap();
    let res = common::coldbench().current_dir(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(&dir.path().join("target/coldbench"));
    let b = bench(&doc, "python/demo/flaky");
    let unstable = b["facts"]["unstable_imports"].as_object().unwrap_or_else(|| panic!("{b:#}"));
    assert_eq!(unstable["json"], 2, "json in 2 of 4 runs: {b:#}");
    let warning = b["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).find(|w| w.contains("differ"));
    assert!(warning.is_some_and(|w| w.contains("`json` in 2 of 4")), "{b:#}");
    assert!(String::from_utf8_lossy(&res.stdout).contains("the modules imported differ from run to run"));
}

/// A wheel of the one-module distribution `name` (version 1.0) whose module is `body`, written
/// with `zipfile`: pip installs it from the path with no build backend and no network.
fn wheel(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}-1.0-py3-none-any.whl"));
    let script = r#"
import sys, zipfile
path, name, body = sys.argv[1:4]
info = name + "-1.0.dist-info"
files = {name + ".py": body,
         info + "/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n",
         info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: coldbench-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
files[info + "/RECORD"] = "".join(f + ",,\n" for f in list(files) + [info + "/RECORD"])
with zipfile.ZipFile(path, "w") as z:
    for f, text in files.items():
        z.writestr(f, text)
"#;
    let made = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).args([name, body]).status();
    assert!(made.is_ok_and(|s| s.success()), "could not write {}", path.display());
    path
}

#[test]
fn each_side_imports_from_its_own_environment_and_a_dropped_dependency_reads_now_lazy() {
    let wheels = tempfile::tempdir().unwrap();
    let heavy = wheel(wheels.path(), "heavydep", "import json\n");
    let dir = common::temp_project(
        "[package.metadata.bench]\nruns = 2\nwarmup = 0\nstart = []\n\n[[package.metadata.bench.python]]\nmodule = \"app\"\n\
         python-path = [\"py\"]\nwatch-imported = [\"heavydep\"]\n\
         install = [\"python\", \"-m\", \"pip\", \"install\", \"--no-index\", \"--disable-pip-version-check\", \"-r\", \
         \"requirements.txt\"]\n",
        "fn main() {}\n",
    );
    std::fs::create_dir_all(dir.path().join("py/app")).unwrap();
    std::fs::write(dir.path().join("py/app/__init__.py"), "import heavydep\n").unwrap();
    std::fs::write(dir.path().join("requirements.txt"), format!("{}\n", heavy.display())).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "/target\n").unwrap();
    common::git_in(dir.path(), &["init", "-q", "-b", "main"]);
    common::git_in(dir.path(), &["add", "-A"]);
    common::git_in(dir.path(), &["commit", "-q", "-m", "eager"]);
    // The candidate drops the dependency and imports it only when it is asked for.
    std::fs::write(dir.path().join("requirements.txt"), "").unwrap();
    std::fs::write(dir.path().join("py/app/__init__.py"), "def heavy():\n    import heavydep\n").unwrap();

    let compare = || common::coldbench().current_dir(dir.path()).args(["--compare", "HEAD", "-v"]).output().unwrap();
    let res = compare();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("python/demo/app: heavydep: loaded → not loaded (now lazy)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(stderr.matches("Installing python/demo/app: a Python environment with `python -m pip").count(), 2);
    let store = dir.path().join("target/coldbench");
    let doc = latest(&store);
    let baseline = &doc["comparison"]["baseline_benchmarks"].as_array().unwrap()[0];
    let candidate = bench(&doc, "python/demo/app");
    let program = |b: &serde_json::Value| std::path::PathBuf::from(b["facts"]["program"].as_str().unwrap());
    let (base_python, cand_python) = (program(baseline), program(candidate));
    assert_ne!(base_python, cand_python, "one environment per side");
    for python in [&base_python, &cand_python] {
        assert!(python.starts_with(store.join("venvs")) && python.ends_with("bin/python"), "{}", python.display());
    }
    assert_eq!(candidate["config"]["command"][0], cand_python.display().to_string(), "the command as run");
    // Each side's environment holds what its own requirements list.
    let imports = |python: &Path| {
        std::process::Command::new(python).args(["-c", "import heavydep"]).output().unwrap().status.success()
    };
    assert!(imports(&base_python) && !imports(&cand_python));
    for b in [baseline, candidate] {
        assert!(b["facts"]["python_env"].as_str().unwrap().contains("(made in "), "{b:#}");
    }

    // Nothing changed: both environments are reused, and nothing is installed.
    let res = compare();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!stderr.contains("Installing"), "{stderr}");
    assert_eq!(stderr.matches("python/demo/app: reusing the Python environment").count(), 2, "{stderr}");
    let doc = latest(&store);
    let baseline = &doc["comparison"]["baseline_benchmarks"].as_array().unwrap()[0];
    assert_eq!((program(baseline), program(bench(&doc, "python/demo/app"))), (base_python, cand_python));
    for b in [baseline, bench(&doc, "python/demo/app")] {
        assert!(b["facts"]["python_env"].as_str().unwrap().ends_with("(reused)"), "{b:#}");
    }
    assert_eq!(std::fs::read_dir(store.join("venvs")).unwrap().count(), 2);
}

#[test]
fn an_install_that_fails_is_a_failed_row_with_the_end_of_its_output() {
    let dir = common::temp_project(
        "[package.metadata.bench]\nruns = 2\nstart = []\n\n[[package.metadata.bench.python]]\nmodule = \"json\"\n\
         install = [\"sh\", \"-c\", \"echo resolving; echo 'no matching distribution for nope' >&2; exit 3\"]\n",
        "fn main() {}\n",
    );
    let res = common::coldbench().current_dir(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    let doc = latest(&dir.path().join("target/coldbench"));
    let b = bench(&doc, "python/demo/json");
    assert_eq!(b["status"], "failed");
    let reason = b["reason"].as_str().unwrap();
    assert!(reason.starts_with("the install command `sh -c \"echo resolving; "), "{reason}");
    assert!(reason.contains("failed in ") && reason.contains("(exit status: 3); its output is in "), "{reason}");
    assert!(b["detail"].as_str().unwrap().ends_with("resolving\nno matching distribution for nope"), "{b:#}");
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("│ no matching distribution for nope"), "{stdout}");
}
