//! Reports: the HTML report in a real headless browser, Markdown snapshots, tracker exports,
//! `init` and completions.

mod common;

use common::*;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A saved result with a comparison, checked in so that renderings are deterministic.
fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results/compare.json")
}

fn report(args: &[&str]) -> std::process::Output {
    coldbench().arg("report").arg(sample()).args(args).output().unwrap()
}

fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|b| which::which(b).ok())
}

/// Hosts Chromium talks to by itself (time, updates, accounts) even with background networking
/// off; requests to them are the browser's, not the page's.
fn browser_own(request: &str) -> bool {
    ["google.com", "googleapis.com", "gstatic.com", "gvt1.com"].iter().any(|h| request.contains(h))
}

#[test]
fn the_html_report_renders_in_a_headless_browser_without_errors_or_network() {
    let Some(browser) = find_browser() else {
        assert!(std::env::var_os("COLDBENCH_REQUIRE_BROWSER").is_none(), "no chromium found, but CI requires one");
        eprintln!("skipping: no chromium (CI installs it and sets COLDBENCH_REQUIRE_BROWSER)");
        return;
    };
    // A real run with a comparison writes report.html next to its results.
    let out = tempfile::tempdir().unwrap();
    // pyimport's Python import adds its import tree (its forbidden import does not gate here).
    let args = ["-p", "apps", "-p", "pyimport", "--runs", "5", "--fail-on", "never"];
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

    // Every request the page could make goes through this "proxy", which only counts them.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen_by_proxy = seen.clone();
    proxy.set_nonblocking(true).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_proxy = stop.clone();
    let listener = std::thread::spawn(move || {
        while !stop_proxy.load(std::sync::atomic::Ordering::SeqCst) {
            match proxy.accept() {
                Ok((mut conn, _)) => {
                    conn.set_read_timeout(Some(std::time::Duration::from_millis(500))).ok();
                    let mut buf = [0u8; 512];
                    let n = conn.read(&mut buf).unwrap_or(0);
                    seen_by_proxy
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string());
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    let profile = tempfile::tempdir().unwrap();
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coldbench-report.png");
    let _ = std::fs::remove_file(&screenshot);
    let url = format!("file://{}", html_path.display());
    let run_browser = |extra: &[String]| {
        std::process::Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=3000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--proxy-server=http://127.0.0.1:{port}"))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = run_browser(&["--dump-dom".to_string()]);
    let shot = run_browser(&[format!("--screenshot={}", screenshot.display()), "--window-size=1280,2400".to_string()]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    listener.join().unwrap();

    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("data-ready=\"1\""),
        "the page's script ran to the end:\n{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(!dom_text.contains("data-errors"), "the page raised errors");
    for stderr in [&dom.stderr, &shot.stderr] {
        let console: Vec<&str> =
            std::str::from_utf8(stderr).unwrap_or("").lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(console.is_empty(), "console messages: {console:?}");
    }
    let requests: Vec<String> = seen.lock().unwrap().iter().filter(|r| !browser_own(r)).cloned().collect();
    assert!(requests.is_empty(), "the page made network requests: {requests:?}");
    // The charts are there: a strip plot per benchmark, the change chart of the comparison, and
    // the import tree of the Python import, from fixture_pkg down to json and what json imports.
    assert_eq!(dom_text.matches("<svg class=\"chart strip\"").count(), 3, "strip plots");
    assert_eq!(dom_text.matches("<svg class=\"chart imports\"").count(), 1, "import tree");
    assert!(dom_text.contains("aria-label=\"import tree of python/pyimport/fixture_pkg\""));
    assert!(dom_text.matches("<rect class=\"import").count() >= 3, "fixture_pkg, json and below");
    assert!(dom_text.contains(">json</text>") || dom_text.contains("<title>json: "));
    assert_eq!(dom_text.matches("<svg class=\"chart change\"").count(), 1, "change chart");
    assert!(dom_text.matches("<circle class=\"run\"").count() >= 10);
    assert!(
        std::fs::metadata(&screenshot).map(|m| m.len() > 10_000).unwrap_or(false),
        "no screenshot at {}",
        screenshot.display()
    );
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
    let cfg = coldbench::config::package_config(
        &bench,
        Path::new("/ws/app/Cargo.toml"),
        &["server".to_string()],
        &["mylib".to_string()],
        &Default::default(),
    );
    let cfg = cfg.unwrap_or_else(|e| panic!("the init example does not load: {e}"));
    assert_eq!(cfg.start.unwrap().len(), 2);
    assert_eq!(cfg.load.unwrap().len(), 1);
    assert_eq!(cfg.python.len(), 1);
    let zmq = cfg.zmq.expect("the example has a ZeroMQ table");
    assert_eq!(zmq.server.unwrap().program.name, "my-server");
    assert_eq!(zmq.iterations, Some(1));
    let rpc = cfg.rpc.expect("the example has an RPC table");
    assert_eq!((rpc.worker.unwrap().name.as_str(), rpc.calls.len()), ("my-worker", 1));
    let tensor = cfg.tensor.expect("the example has a tensor table");
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
