//! The tensor suite, end to end: `cargo coldbench suite tensor` on copies of the fixture
//! workspace `tests/fixtures/tensorws`, each test writing the `[package.metadata.bench.tensor]`
//! table it needs. Built with `--features torch`, the same tests run on `tch` tensors.
//!
//! Every run checks that no worker and no ipc folder is left ([`SuiteFixture::run`]), and these
//! tests that no shared-memory segment is left in `/dev/shm`.

mod common;

use common::{describe, latest, SuiteFixture};

const MIB: f64 = 1024.0 * 1024.0;

fn fixture(table: &str) -> SuiteFixture {
    SuiteFixture::new("tensorws", |ws| {
        let manifest = ws.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("{text}\n[package.metadata.bench.tensor]\n{table}\n")).unwrap();
    })
}

fn benchmarks(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["benchmarks"].as_array().unwrap()
}

fn mean(b: &serde_json::Value, metric: &str) -> f64 {
    b["summary"][metric]["mean"].as_f64().unwrap_or_else(|| panic!("no {metric} in {b:#}"))
}

fn name_of(b: &serde_json::Value) -> &str {
    b["id"].as_str().unwrap().split('[').next().unwrap().rsplit('/').next().unwrap()
}

fn find<'a>(doc: &'a serde_json::Value, name: &str, params: &[(&str, serde_json::Value)]) -> &'a serde_json::Value {
    benchmarks(doc)
        .iter()
        .find(|b| name_of(b) == name && params.iter().all(|(k, v)| b["params"][*k] == *v))
        .unwrap_or_else(|| panic!("no {name} row with {params:?}"))
}

fn shm_entries() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/dev/shm")
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn the_quick_suite_measures_both_modes_for_every_default_shape_and_what_workers_hold() {
    let f = fixture("");
    let shm_before = shm_entries();
    let out = f.run(&["suite", "tensor", "--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(shm_entries(), shm_before, "a shared-memory segment was left behind");
    let doc = latest(&f.out());
    let all = benchmarks(&doc);
    assert!(all.iter().all(|b| b["kind"] == "tensor"), "{}", describe(&out));
    let tensors = if cfg!(feature = "torch") { "tch::Tensor" } else { "plain typed buffers" };
    for shape in ["10×10", "100×100", "512×512", "1024×1024", "3×8192×8192"] {
        let at = |mode: &str| {
            find(&doc, "transfer", &[("device", "cpu".into()), ("shape", shape.into()), ("mode", mode.into())])
        };
        let (copy, shared) = (at("copy"), at("shared"));
        for row in [copy, shared] {
            assert_eq!(row["status"], "ok", "{row:#}");
            assert_eq!(row["facts"]["tensors"], tensors);
            // The untimed first round trip, in which the worker meets the memory, is a fact.
            assert!(row["facts"]["first_round_trip_seconds"].as_f64().unwrap() > 0.0, "{row:#}");
            assert!(row["facts"]["receiver"].as_str().unwrap().starts_with("the worker "), "{row:#}");
            // Each round's rate is the tensor's size over that round's mean round trip.
            let bytes = row["params"]["size"].as_f64().unwrap();
            let samples =
                |m: &str| row["samples"][m].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>();
            assert_eq!(samples("round_trip").len(), 2, "1 round by default against each of the fixture's 2 workers");
            for (rt, rate) in samples("round_trip").iter().zip(samples("throughput")) {
                assert!((rate - bytes / rt).abs() <= 1e-6 * rate, "{row:#}");
            }
        }
        // The shared row is measured against the copy row, interleaved.
        assert_eq!(shared["reference"]["id"], copy["id"], "{shared:#}");
        assert_eq!(shared["reference"]["interleaved"], true);
    }
    // 768 MiB: copying it through a socket takes many times longer than handing over a handle.
    let big = |mode: &str| {
        mean(find(&doc, "transfer", &[("shape", "3×8192×8192".into()), ("mode", mode.into())]), "round_trip")
    };
    assert!(big("shared") * 3.0 < big("copy"), "shared {} s, copy {} s", big("shared"), big("copy"));
    // Without a GPU (CI has none), the CUDA rows are skipped with the reason, not failed: the
    // transfer rows and the VRAM rows (the memory rows on the GPU).
    let mut cuda: Vec<&serde_json::Value> = all.iter().filter(|b| b["params"]["device"] == "cuda").collect();
    assert_eq!(cuda.len(), 10);
    cuda.extend(all.iter().filter(|b| name_of(b) == "vram"));
    assert_eq!(cuda.len(), 12);
    if doc["host"]["gpus"].as_array().unwrap().is_empty() {
        for row in cuda {
            assert_eq!(row["status"], "skipped", "{row:#}");
            let why = row["reason"].as_str().unwrap_or_default();
            assert!(why.contains("CUDA") && why.contains("NVIDIA"), "{row:#}");
        }
        assert!(doc["host"]["gpu_note"].as_str().is_some(), "the host facts say why there is no GPU");
    }
    // Memory: a worker holding a copy has the whole tensor in its PSS; one mapping the shared
    // segment shares its pages with the host (and the other workers), so its PSS does not grow
    // by the tensor's size: the transfer was zero-copy.
    let one = find(&doc, "memory", &[("workers", 1.into())]);
    let five = find(&doc, "memory", &[("workers", 5.into())]);
    for row in [one, five] {
        assert_eq!(row["status"], "ok", "{row:#}");
        assert_eq!(row["params"]["size"], 256 * 1024 * 1024);
    }
    // (What a worker is before it holds anything differs by build: with libtorch it maps far more.)
    for row in [one, five] {
        assert!(mean(row, "copy_worker_growth") >= 0.95 * 256.0 * MIB, "{row:#}");
    }
    assert!(mean(one, "shared_worker_growth") < 0.6 * 256.0 * MIB, "shared with the host: {one:#}");
    assert!(mean(five, "shared_worker_growth") < 0.25 * 256.0 * MIB, "shared by six: {five:#}");
    assert!(mean(five, "copy_total_pss") >= 5.0 * 256.0 * MIB, "{five:#}");
    assert!(mean(five, "shared_total_pss") < mean(five, "copy_total_pss") - 4.0 * 200.0 * MIB, "{five:#}");
    assert!(mean(five, "saved") > 0.5 && mean(five, "saved") > mean(one, "saved"), "{five:#}");
    assert_eq!(five["metrics"]["saved"]["unit"], "fraction");
    assert_eq!(five["metrics"]["saved"]["better"], "higher");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("→ best memory saved with shared: size=256 MiB workers=5 at "), "{console}");
}

#[test]
fn a_segment_that_cannot_be_made_fails_the_shared_rows_and_the_copy_rows_still_run() {
    let f = fixture("shapes = [[64, 64]]\nworkers = [1]\nmemory-size = \"1MiB\"\nshm-dir = \"/nonexistent-coldbench\"");
    let out = f.run(&["suite", "tensor", "--quick", "--no-gpu"]);
    assert_eq!(out.status.code(), Some(4), "failed rows exit 4: {}", describe(&out));
    let doc = latest(&f.out());
    let copy = find(&doc, "transfer", &[("mode", "copy".into())]);
    assert_eq!(copy["status"], "ok", "{copy:#}");
    for row in [find(&doc, "transfer", &[("mode", "shared".into())]), find(&doc, "memory", &[])] {
        assert_eq!(row["status"], "failed", "{row:#}");
        let why = row["reason"].as_str().unwrap_or_default();
        assert!(why.contains("could not create a shared-memory segment in /nonexistent-coldbench"), "{row:#}");
    }
    assert!(benchmarks(&doc).iter().all(|b| b["params"]["device"] != "cuda"), "--no-gpu leaves out CUDA rows");
}

#[test]
fn options_pick_modes_and_large_tensors_that_do_not_fit_are_skipped_with_the_figures() {
    // 2^40 f32 elements: 4 TiB, more than any machine running this has.
    let f = fixture("shapes = [[8, 8]]\nlarge-shapes = [[1048576, 1048576]]\ndtype = \"bf16\"");
    let list = f.run(&["suite", "tensor", "--list", "--large-tensors", "--devices", "cpu"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("transfer (4 rows)") && text.contains("memory (2 rows)"), "{text}");
    assert!(text.contains("tensor/tensorws/memory[size=2 GiB,workers=5]"), "{text}");
    let out = f.run(&["suite", "tensor", "--quick", "--large-tensors", "--mode", "copy", "--scenario", "transfer"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let rows = benchmarks(&doc);
    assert!(rows.iter().all(|b| b["params"]["mode"] == "copy" && b["params"]["dtype"] == "bf16"), "{rows:#?}");
    let huge = find(&doc, "transfer", &[("device", "cpu".into()), ("shape", "1048576×1048576".into())]);
    assert_eq!(huge["status"], "skipped");
    let why = huge["reason"].as_str().unwrap();
    assert!(
        why.contains("a 2.0 TiB tensor in copy mode needs about 6.0 TiB of memory, and ") && why.contains(" is free"),
        "{why}"
    );
    assert_eq!(find(&doc, "transfer", &[("device", "cpu".into()), ("shape", "8×8".into())])["status"], "ok");
}

#[test]
fn without_the_memory_check_a_tensor_that_cannot_be_allocated_fails_alone() {
    // 2^40 bf16 elements, 2 TiB: the kernel refuses such an allocation outright, unless it is set
    // to grant any (vm.overcommit_memory = 1), where filling it would exhaust the machine.
    if std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(true, |m| m.trim() == "1") {
        eprintln!("skipped: this kernel grants any allocation (vm.overcommit_memory = 1)");
        return;
    }
    let f = fixture("shapes = [[8, 8], [1048576, 1048576]]\ndtype = \"bf16\"\nmodes = [\"copy\"]");
    let args = ["suite", "tensor", "--quick", "--devices", "cpu", "--scenario", "transfer", "--no-memory-check"];
    let out = f.run(&args);
    assert_eq!(out.status.code(), Some(4), "a failed row exits 4: {}", describe(&out));
    let doc = latest(&f.out());
    let huge = find(&doc, "transfer", &[("shape", "1048576×1048576".into())]);
    assert_eq!(huge["status"], "failed", "{huge:#}");
    let why = huge["reason"].as_str().unwrap_or_default();
    let expected = if cfg!(feature = "torch") {
        "could not make the tensor"
    } else {
        "could not allocate 2.0 TiB of host memory for the tensor"
    };
    assert!(why.contains(expected), "{why}");
    assert_eq!(find(&doc, "transfer", &[("shape", "8×8".into())])["status"], "ok", "the suite goes on");
}

#[test]
fn a_configuration_file_runs_the_suite_without_cargo_or_a_workspace() {
    // A machine with the binary and a file: no Cargo.toml, and no cargo or rustc to run.
    let dir = tempfile::tempdir().unwrap();
    let (here, tmp) = (dir.path().join("gpu-box"), dir.path().join("tmp"));
    std::fs::create_dir(&here).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    let table = "[tensor]\nshapes = [[64, 64]]\nworkers = [1]\nmemory-size = \"1MiB\"\n";
    std::fs::write(here.join("bench.toml"), table).unwrap();
    std::fs::write(here.join("bad.toml"), "[tensor]\ndtype = \"f64\"\n").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = common::coldbench();
        cmd.current_dir(&here).env("TMPDIR", &tmp).env("PATH", "/usr/bin:/bin");
        cmd.env("CARGO", "/nonexistent/cargo").env("RUSTC", "/nonexistent/rustc");
        cmd.args(["suite", "tensor"]).args(args).output().unwrap()
    };
    let list = run(&["--config", "bench.toml", "--list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("  tensor/bench/transfer[device=cpu,dtype=f32,shape=64×64,size=16 KiB,mode=shared]\n"),
        "{text}"
    );
    assert!(text.contains("  tensor/bench/vram[size=1 MiB,workers=1]"), "{text}");

    let out = run(&["--config", "bench.toml", "--quick", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Results are saved beside the file, as in a workspace's target folder.
    let doc = latest(&here.join("target/coldbench"));
    assert_eq!(printed["benchmarks"], doc["benchmarks"]);
    let rows = benchmarks(&doc);
    assert!(rows.iter().all(|b| b["id"].as_str().unwrap().starts_with("tensor/bench/")), "{rows:#?}");
    for mode in ["copy", "shared"] {
        let row = find(&doc, "transfer", &[("device", "cpu".into()), ("mode", mode.into())]);
        assert_eq!(row["status"], "ok", "{row:#}");
    }
    assert_eq!(find(&doc, "memory", &[("workers", 1.into())])["status"], "ok");
    if doc["host"]["gpus"].as_array().unwrap().is_empty() {
        let gpu_rows = rows.iter().filter(|b| b["params"]["device"] == "cuda" || name_of(b) == "vram");
        assert_eq!(gpu_rows.clone().count(), 3);
        assert!(gpu_rows.clone().all(|b| b["status"] == "skipped"), "{rows:#?}");
    }
    let left = common::left_after_kill(|| common::processes_with_env(&format!("TMPDIR={}", tmp.display())));
    assert!(left.is_empty(), "workers left: {left:?}");

    // A mistake is named by its key in the file; what needs a workspace is refused.
    let bad = run(&["--config", "bad.toml"]);
    assert_eq!(bad.status.code(), Some(1), "{}", describe(&bad));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&format!("invalid `tensor.dtype` in {}", here.join("bad.toml").display())), "{err}");
    let compare = run(&["--config", "bench.toml", "--compare", "main"]);
    assert_eq!(compare.status.code(), Some(1), "{}", describe(&compare));
    assert!(String::from_utf8_lossy(&compare.stderr).contains("--compare needs a cargo workspace"));
}

#[test]
fn bad_tables_name_the_key_and_env_says_what_gpus_there_are() {
    for (table, key) in [
        ("dtype = \"f64\"", "package.metadata.bench.tensor.dtype"),
        ("shapes = [[10, 0]]", "package.metadata.bench.tensor.shapes[0][1]"),
        ("shapes = [[-3, 4]]", "package.metadata.bench.tensor.shapes[0][0]"),
    ] {
        let f = fixture(table);
        let out = f.run(&["suite", "tensor", "--quick"]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{table}: {err}");
    }
    let f = fixture("");
    let env = f.run(&["env"]);
    let text = String::from_utf8_lossy(&env.stdout);
    assert!(text.contains("gpus: none (") || text.contains("gpu 0: "), "{text}");
    assert!(text.contains("torch: "), "{text}");
}

#[test]
fn reports_chart_time_against_size_per_mode_and_memory_against_workers() {
    let f = fixture("shapes = [[64, 64], [512, 512], [2048, 2048]]\nworkers = [1, 3]\nmemory-size = \"4MiB\"");
    let out = f.run(&["suite", "tensor", "--quick", "--no-gpu"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let html = std::fs::read_to_string(f.out().join("report.html")).unwrap();
    let chart = |label: &str| -> String {
        let at = html.find(&format!("aria-label=\"{label}\"")).unwrap_or_else(|| panic!("no chart {label}"));
        html[at..].split("</svg>").next().unwrap().to_string()
    };
    // 16 KiB to 16 MiB spans 1024×: the size axis is logarithmic, and each mode is a line. The
    // time axis is logarithmic exactly when the recorded round trips span more than 20× (which
    // depends on the machine: a shared 16 KiB round trip against a copied 16 MiB one).
    let time = chart("round trip of tensor/tensorws/transfer by size");
    assert!(time.contains("(log x)"), "{time}");
    let doc = latest(&f.out());
    let trips: Vec<f64> =
        benchmarks(&doc).iter().filter(|b| name_of(b) == "transfer").map(|b| mean(b, "round_trip")).collect();
    assert_eq!(trips.len(), 6, "3 sizes × 2 modes");
    let (lo, hi) = trips.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!(time.contains("(log y)"), lo > 0.0 && hi / lo > 20.0, "{trips:?} in {time}");
    for mode in ["mode=copy", "mode=shared"] {
        assert!(time.contains(&format!(">{mode}</text>")), "{mode} in {time}");
    }
    // The memory a worker holds against the worker count, a line per mode.
    let memory = chart("PSS per worker of tensor/tensorws/memory by workers");
    assert!(memory.contains(">copy</text>") && memory.contains(">shared</text>"), "{memory}");
    let row = find(&doc, "memory", &[("workers", 3.into())]);
    assert_eq!(row["metrics"]["copy_worker_pss"]["chart"], true, "{row:#}");
    let markdown = std::fs::read_to_string(f.out().join("report.md")).unwrap();
    assert!(markdown.contains("tensor/tensorws/transfer"), "{markdown}");
}

#[test]
fn compare_judges_tensor_rows_by_each_metric_s_direction() {
    let f = fixture("shapes = [[256, 256]]\nworkers = [1]\nmemory-size = \"1MiB\"");
    let ws = f.ws();
    std::fs::write(ws.join(".gitignore"), "/target\n").unwrap();
    common::git_in(&ws, &["init", "-q", "-b", "main"]);
    common::git_in(&ws, &["add", "-A"]);
    common::git_in(&ws, &["commit", "-q", "-m", "tensors"]);
    // Identical code on both sides, 2 workers of 1 round each: ±50% noise is wider than any
    // chance shift of the same worker, so no row may read as a change.
    let out = f.run(&["suite", "tensor", "--quick", "--no-gpu", "--compare", "HEAD", "--noise", "50%"]);
    // The built-in worker is the same on both sides: nothing can have failed.
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = latest(&f.out());
    let rows = doc["comparison"]["rows"].as_array().unwrap();
    let row = |id: &str, metric: &str| {
        rows.iter()
            .find(|r| r["id"] == id && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {id} {metric} in {rows:#?}"))
    };
    let copy = "tensor/tensorws/transfer[device=cpu,dtype=f32,shape=256×256,size=256 KiB,mode=copy]";
    let shared = "tensor/tensorws/transfer[device=cpu,dtype=f32,shape=256×256,size=256 KiB,mode=shared]";
    let memory = "tensor/tensorws/memory[size=1 MiB,workers=1]";
    let words = ["no_change", "within_noise"];
    for (id, metric) in [(copy, "round_trip"), (shared, "round_trip"), (memory, "copy_total_pss")] {
        let r = row(id, metric);
        assert!(words.contains(&r["verdict"].as_str().unwrap()), "{r:#}");
    }
    // Directions come from the descriptors: a rate is better higher, a time or memory lower.
    let doc_row = |id: &str| benchmarks(&doc).iter().find(|b| b["id"] == id).unwrap();
    assert_eq!(doc_row(copy)["metrics"]["throughput"]["better"], "higher");
    assert_eq!(doc_row(copy)["metrics"]["round_trip"]["better"], "lower");
    assert_eq!(doc_row(copy)["metrics"]["round_trip"]["gates"], true);
    assert_eq!(doc_row(memory)["metrics"]["saved"]["better"], "higher");
    // The console's comparison heads each row's metrics with its full id.
    let console = String::from_utf8_lossy(&out.stdout);
    for id in [copy, shared, memory] {
        assert!(console.contains(id), "{id} in {console}");
    }
}
