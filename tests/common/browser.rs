//! HTML pages checked in a real headless browser: what the page built, what it logged, and every
//! request it tried to make (through a "proxy" that only counts them).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What a page did in the browser.
pub struct Rendered {
    /// The DOM after the page's script ran (`--dump-dom`).
    pub dom: String,
    /// Console messages of the page.
    pub console: Vec<String>,
    /// Requests the page made (the browser's own left out).
    pub requests: Vec<String>,
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

/// Opens `page` in headless Chromium (and takes a screenshot into `screenshot` when given).
/// `None` when there is no browser, which CI does not allow (`COLDBENCH_REQUIRE_BROWSER`).
pub fn render(page: &Path, screenshot: Option<&Path>) -> Option<Rendered> {
    let Some(browser) = find_browser() else {
        assert!(std::env::var_os("COLDBENCH_REQUIRE_BROWSER").is_none(), "no chromium found, but CI requires one");
        eprintln!("skipping: no chromium (CI installs it and sets COLDBENCH_REQUIRE_BROWSER)");
        return None;
    };
    // Every request the page could make goes through this "proxy", which only counts them.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen_by_proxy = seen.clone();
    proxy.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_proxy = stop.clone();
    let listener = std::thread::spawn(move || {
        // Once the browsers have exited, every connection they made is in the backlog: the proxy
        // drains it before it stops, so no request is missed however slow the machine is.
        loop {
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
                Err(_) if stop_proxy.load(Ordering::SeqCst) => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
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
    let mut outputs = vec![run_browser(&["--dump-dom".to_string()])];
    if let Some(shot) = screenshot {
        let _ = std::fs::remove_file(shot);
        outputs.push(run_browser(&[format!("--screenshot={}", shot.display()), "--window-size=1280,2400".into()]));
    }
    stop.store(true, Ordering::SeqCst);
    listener.join().unwrap();

    let console = outputs
        .iter()
        .flat_map(|o| String::from_utf8_lossy(&o.stderr).lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    // A connection that sent nothing before the proxy stopped reading (a speculative one, or a
    // browser slowed down by a loaded machine) asked for nothing.
    let requests = seen.lock().unwrap().iter().filter(|r| !r.is_empty() && !browser_own(r)).cloned().collect();
    let dom = String::from_utf8_lossy(&outputs[0].stdout).into_owned();
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script ran to the end:\n{}",
        String::from_utf8_lossy(&outputs[0].stderr)
    );
    assert!(!dom.contains("data-errors"), "the page raised errors");
    Some(Rendered { dom, console, requests })
}
