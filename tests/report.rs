//! Reports: the HTML report in a real headless browser, Markdown snapshots, tracker exports,
//! `init` and completions.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A saved result with a comparison, checked in so that renderings are deterministic.
fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json")
}

fn report(args: &[&str]) -> std::process::Output {
    coldbench().arg("report").arg(sample()).args(args).output().unwrap()
}

#[test]
fn the_html_report_renders_in_a_headless_browser_without_errors_or_network() {
    // A real run with a comparison writes report.html next to its results.
    let out = tempfile::tempdir().unwrap();
    // pyimport's Python import adds its import tree (its forbidden import does not gate here), and
    // the profile of the two starts their call trees, coloured by change against the baseline.
    let args = ["-p", "apps", "-p", "pyimport", "--runs", "5", "--fail-on", "never", "--measure", "profile"];
    let res = run_fixture(out.path(), &[&args[..], &["--save-baseline", "before"]].concat());
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let res = run_fixture(out.path(), &[&args[..], &["--baseline", "before"]].concat());
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("Reports") && stderr.contains("report.html"), "the run says where: {stderr}");
    let html_path = out.path().join("report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(out.path().join("report.md").is_file());

    // Nothing in the file can fetch anything.
    for needle in [" src=", "href=\"http", "url(", "@import", "fetch(", "XMLHttpRequest"] {
        assert!(!html.contains(needle), "the report contains `{needle}`");
    }

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coldbench-report.png");
    let Some(page) = common::browser::render(&html_path, Some(&screenshot)) else { return };
    assert!(page.console.is_empty(), "console messages: {:?}", page.console);
    assert!(page.requests.is_empty(), "the page made network requests: {:?}", page.requests);
    let dom_text = page.dom;
    // The charts are there: a strip plot per benchmark, the change chart of the comparison, and
    // the import tree of the Python import, from fixture_pkg down to json and what json imports.
    assert_eq!(dom_text.matches("<svg class=\"chart strip\"").count(), 3, "strip plots");
    assert_eq!(dom_text.matches("<svg class=\"chart imports\"").count(), 2, "the import tree of each side");
    assert!(dom_text.contains("aria-label=\"import tree of python/pyimport/fixture_pkg (baseline)\""));
    assert!(dom_text.contains("aria-label=\"import tree of python/pyimport/fixture_pkg (candidate)\""));
    assert!(dom_text.matches("<rect class=\"import").count() >= 3, "fixture_pkg, json and below");
    assert!(dom_text.contains(">json</text>") || dom_text.contains("<title>json: "));
    assert_eq!(dom_text.matches("<svg class=\"chart change\"").count(), 1, "change chart");
    // The call tree of each start, from the loader's entry down to `main`, coloured by change
    // against the saved baseline (the same binaries: every box within the noise), with the
    // profile's tables.
    assert_eq!(dom_text.matches("<svg class=\"chart calls\"").count(), 2, "call trees");
    assert!(dom_text.contains("aria-label=\"call tree of start/apps/hello\""));
    assert!(dom_text.matches("<rect class=\"call same\"").count() >= 10, "boxes within the noise");
    for changed in ["call new", "call up", "call down"] {
        assert!(!dom_text.contains(&format!("<rect class=\"{changed}")), "identical code drawn as `{changed}`");
    }
    assert!(dom_text.contains("<title>std::rt::lang_start_internal [hello] · "), "the program's start in the tree");
    assert_eq!(dom_text.matches("<table class=\"sortable profile\"").count(), 2, "top functions per start");
    assert!(dom_text.contains("No function's self instructions changed by more than ±"));
    assert!(dom_text.matches("<circle class=\"run\"").count() >= 10);
    assert!(
        std::fs::metadata(&screenshot).map(|m| m.len() > 10_000).unwrap_or(false),
        "no screenshot at {}",
        screenshot.display()
    );
}

#[test]
fn strip_plot_labels_fit_left_of_their_strips_in_a_browser() {
    // Thousands of runs a side: each strip is a histogram labelled with its run count.
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(sample()).unwrap()).unwrap();
    let runs: Vec<f64> = (0..1436).map(|i| 0.001 + (i % 97) as f64 * 1e-6).collect();
    for list in ["/benchmarks", "/comparison/baseline_benchmarks"] {
        for b in doc.pointer_mut(list).and_then(|l| l.as_array_mut()).unwrap() {
            b["samples"]["wall"] = serde_json::json!(runs);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (result, page) = (dir.path().join("many.json"), dir.path().join("report.html"));
    std::fs::write(&result, doc.to_string()).unwrap();
    let res = coldbench().arg("report").arg(&result).arg("-o").arg(&page).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    // Where each label of a strip plot lies, as the browser lays it out with the report's fonts.
    let measure = "<script>const out = [];\
        for (const svg of document.querySelectorAll('svg.chart.strip')) {\
          const left = svg.querySelector('line.axis').x1.baseVal.value;\
          for (const t of svg.querySelectorAll('text.label')) {\
            const b = t.getBBox(); out.push([t.textContent, b.x, b.x + b.width, left]); } }\
        document.body.setAttribute('data-labels', JSON.stringify(out));</script></body>";
    let html = std::fs::read_to_string(&page).unwrap().replace("</body>", measure);
    std::fs::write(&page, html).unwrap();
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coldbench-strip-labels.png");
    let Some(rendered) = common::browser::render(&page, Some(&screenshot)) else { return };
    let dom = rendered.dom;
    let labels = dom.split("data-labels=\"").nth(1).and_then(|r| r.split('"').next()).expect("measured");
    let labels: Vec<(String, f64, f64, f64)> = serde_json::from_str(&labels.replace("&quot;", "\"")).unwrap();
    assert!(labels.iter().any(|(text, ..)| text.starts_with("baseline") && text.contains("1436 runs")), "{labels:?}");
    for (text, start, end, left) in &labels {
        assert!(*start >= 0.0 && *end <= *left, "`{text}` spans {start:.1} … {end:.1}; the strip starts at {left}");
    }
}

#[test]
fn the_ci_recipe_runs_commands_that_exist() {
    use clap::Parser;
    let recipe =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml")).unwrap();
    let commands: Vec<Vec<String>> = recipe
        .lines()
        // Commands, as steps run them or as comments offer them in their place.
        .map(|l| l.trim_start().trim_start_matches("# ").trim_start_matches("run: "))
        .filter_map(|l| l.strip_prefix("cargo coldbench "))
        .map(|rest| shlex::split(&rest.replace("$GITHUB_BASE_REF", "main")).unwrap())
        .collect();
    assert!(commands.len() >= 4, "{commands:?}");
    assert!(commands.iter().any(|c| c.starts_with(&["--compare".into(), "origin/main".into()])), "{commands:?}");
    for args in commands {
        let line = ["cargo".to_string(), "coldbench".to_string()].into_iter().chain(args);
        if let Err(e) = coldbench::cli::Cli::try_parse_from(line) {
            panic!("{e}");
        }
    }
}

#[test]
fn markdown_matches_its_snapshot() {
    let res = report(&["--format", "md"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let md = String::from_utf8(res.stdout).unwrap();
    insta::with_settings!({filters => vec![
        (r"\d+(\.\d+)? (ns|µs|ms|s)\b", "[duration]"),
    ]}, {
        insta::assert_snapshot!("markdown_report", md);
    });
}

#[test]
fn bmf_has_bencher_s_shape() {
    let res = report(&["--format", "bmf"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let bmf: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let benchmarks = bmf.as_object().expect("an object of benchmarks");
    assert!(benchmarks.contains_key("start/apps/hello"), "{bmf:#}");
    for (name, measures) in benchmarks {
        let measures = measures.as_object().unwrap_or_else(|| panic!("{name}: measures are an object"));
        assert!(measures.contains_key("wall") && measures.contains_key("max-rss"), "{name}: {measures:?}");
        for (measure, m) in measures {
            let m = m.as_object().unwrap();
            assert_eq!(m.len(), 3, "{name}/{measure}: value, lower_value, upper_value");
            let (v, lo, hi) =
                (m["value"].as_f64().unwrap(), m["lower_value"].as_f64().unwrap(), m["upper_value"].as_f64().unwrap());
            assert!(lo <= v && v <= hi, "{name}/{measure}: {lo} <= {v} <= {hi}");
        }
    }
    // Times are nanoseconds: a process start is at least a microsecond.
    assert!(bmf["start/apps/hello"]["wall"]["value"].as_f64().unwrap() > 1_000.0);
}

#[test]
fn gab_has_custom_smaller_is_better_shape() {
    let res = report(&["--format", "gab"]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let gab: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let entries = gab.as_array().expect("an array");
    assert!(!entries.is_empty());
    for e in entries {
        let e = e.as_object().unwrap();
        assert!(e["name"].is_string() && e["unit"].is_string() && e["value"].is_number());
        assert!(e["range"].is_string() && e["extra"].is_string());
        assert!(e.keys().all(|k| ["name", "unit", "value", "range", "extra"].contains(&k.as_str())), "{e:?}");
    }
    assert!(entries.iter().any(|e| e["name"] == "start/apps/hello - wall" && e["unit"] == "ms"));
}

#[test]
fn report_writes_files_and_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let res = report(&["--format", "html", "-o", out.to_str().unwrap()]);
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(std::fs::read_to_string(&out).unwrap().contains("<svg class=\"chart change\""));

    let res = report(&["--format", "md", "-o", "/no/such/folder/r.md"]);
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("the folder /no/such/folder does not exist"));

    let bad = dir.path().join("bad.html");
    std::fs::write(&bad, "<html>\n<body>\n{% for x in %}\n</body>\n").unwrap();
    let res = report(&["--format", "html", "--template", bad.to_str().unwrap()]);
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains(&format!("template {}, line 3", bad.display())), "{stderr}");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "[1, 2]").unwrap();
    let res = coldbench().args(["report", junk.to_str().unwrap(), "--format", "md"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&res.stderr).contains("is not a coldbench result"));
}

#[test]
fn init_prints_a_config_that_the_loader_accepts_with_every_documented_key() {
    let res = coldbench().arg("init").output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let text = String::from_utf8(res.stdout).unwrap();
    let manifest: toml::Value = toml::from_str(&text).expect("init prints TOML");
    let bench = serde_json::to_value(&manifest["package"]["metadata"]).unwrap();
    let member = coldbench::discover::workspace::Member {
        id: cargo_metadata::PackageId { repr: "app".into() },
        name: "app".into(),
        manifest: "/ws/app/Cargo.toml".into(),
        bins: vec!["server".to_string()],
        libs: vec!["mylib".to_string()],
        python_extension: false,
        metadata: bench,
    };
    let cfg = coldbench::plan::package_config(&member, &Default::default(), &coldbench::plan::Registry::builtin());
    let cfg = cfg.unwrap_or_else(|e| panic!("the init example does not load: {e}"));
    // Each kind's configuration, as its own parse made it.
    let of = |kind: &str| cfg.get(kind).unwrap_or_else(|| panic!("the example has a `{kind}` key"));
    let typed = |kind: &str| -> &dyn std::any::Any { of(kind).as_ref() };
    use coldbench::config::{LoadEntry, StartEntry};
    use coldbench::measure::python::config::PythonEntry;
    use coldbench::suites::{rpc::config::RpcConfig, tensor::config::TensorConfig, zmq::config::ZmqConfig};
    assert_eq!(typed("start").downcast_ref::<Vec<StartEntry>>().unwrap().len(), 2);
    assert_eq!(typed("load").downcast_ref::<Vec<LoadEntry>>().unwrap().len(), 1);
    assert_eq!(typed("python").downcast_ref::<Vec<PythonEntry>>().unwrap().len(), 1);
    let zmq = typed("zmq").downcast_ref::<ZmqConfig>().unwrap();
    assert_eq!(zmq.servers[0].program.name, "my-server");
    assert!(
        zmq.servers[0].request.is_some() && zmq.servers[0].reply.is_some(),
        "the example shows a server's own messages"
    );
    assert_eq!(zmq.iterations, Some(1));
    let rpc = typed("rpc").downcast_ref::<RpcConfig>().unwrap().clone();
    assert_eq!((rpc.worker.unwrap().name.as_str(), rpc.calls.len()), ("my-worker", 1));
    let tensor = typed("tensor").downcast_ref::<TensorConfig>().unwrap();
    assert_eq!(tensor.memory_size, Some(256 << 20));

    // Every key of the README's configuration references appears in the example.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## Configuration").nth(1).unwrap().split("\n## ").next().unwrap();
    let zmq_section = readme.split("## The ZeroMQ suite").nth(1).unwrap().split("\n## ").next().unwrap();
    let rpc_section = readme.split("## The RPC suite").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut keys = Vec::new();
    let tables = section.lines().chain(zmq_section.lines()).chain(rpc_section.lines());
    for line in tables.filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap();
        for key in first.split('`').skip(1).step_by(2) {
            keys.push(key.to_string());
        }
    }
    assert!(keys.len() > 20, "found the reference table: {keys:?}");
    // The tensor suite's keys are documented in its example block.
    let tensor_section = readme.split("## The tensor suite").nth(1).unwrap().split("\n## ").next().unwrap();
    let example = tensor_section.split("```toml").nth(1).unwrap().split("```").next().unwrap();
    let tensor_keys: Vec<&str> = example
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, _)| k.trim())
        .filter(|k| !k.starts_with('['))
        .collect();
    assert!(tensor_keys.len() >= 11, "{tensor_keys:?}");
    keys.extend(tensor_keys.into_iter().map(String::from));
    for key in keys {
        let leaf = key.rsplit(['.', ']']).next().unwrap().to_string();
        let present = if ["start", "load", "python"].contains(&leaf.as_str()) && !key.contains('.') {
            text.contains(&format!("[[package.metadata.bench.{leaf}]]"))
        } else {
            text.contains(&format!("{leaf} ="))
        };
        assert!(present, "README documents `{key}` but `cargo coldbench init` does not show `{leaf}`");
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let res = coldbench().args(["completions", shell]).output().unwrap();
        assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
        let text = String::from_utf8_lossy(&res.stdout);
        assert!(text.contains("coldbench") && text.contains("--compare"), "{shell}");
    }
}
