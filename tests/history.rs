//! `history` and `bisect` on throwaway repositories: steps marked where the code changed, the
//! commit found within the binary search's builds, gaps, reuse, usage errors, Ctrl-C, and the
//! history chart in a headless browser.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Iterations of the spin loop of the 32-commit fixture: some 5–10 ms of CPU a run, so that 10%
/// of it stands well above the process start around it.
const WORK: u64 = 2 * BASE_WORK;

/// How the 32-commit fixture is measured. Its binaries spin and then report the CPU time they
/// used (`CLOCK_PROCESS_CPUTIME_ID`, exact to the nanosecond) as the metric `cpu`, and the series
/// is drawn from it: on a loaded 2-core runner (the other tests run beside this one) their wall
/// time mostly says how long they waited for a core — ±15% from run to run, which no run count
/// affordable here brings down to the 1% a 5% step needs — and the kernel's user time, sampled
/// at ticks, is as coarse for runs of a few milliseconds; the time they spent running varies by
/// about 1%. Changes below 3% are not steps: the fixture's are 10% and 5%.
const MEASURE: [&str; 8] = ["--runs", "8", "--warmup", "1", "--noise", "3%", "--metric", "cpu"];

/// A binary that spins for `iterations` and reports the CPU time it used to coldbench.
fn spin_reporting_cpu(iterations: u64) -> String {
    format!(
        r#"#[repr(C)]
struct Timespec {{
    sec: i64,
    nsec: i64,
}}

extern "C" {{
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}}

fn main() {{
    let mut x: u64 = 1;
    for i in 0..{iterations}u64 {{
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }}
    let mut t = Timespec {{ sec: 0, nsec: 0 }};
    // CLOCK_PROCESS_CPUTIME_ID is 2 on Linux.
    unsafe {{ clock_gettime(2, &mut t) }};
    if let Some(path) = std::env::var_os("COLDBENCH_METRICS") {{
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        writeln!(file, "cpu={{}} unit=seconds better=lower", t.sec as f64 + t.nsec as f64 * 1e-9).unwrap();
    }}
    if x == 42 {{
        println!("unlikely");
    }}
}}
"#
    )
}

/// A repository of 32 commits of a crate with two binaries that spin, `work` and `beta`: commit
/// 19 makes `work` spin 10% longer, commit 27 makes `beta` spin 5% less, the others change a
/// notes file. Returns it and the sha of each commit, numbered from 1.
fn thirty_two_commits() -> (GitProject, Vec<String>) {
    let p = GitProject::new(WORK);
    std::fs::create_dir_all(p.path().join("src/bin")).unwrap();
    std::fs::write(p.path().join("src/main.rs"), spin_reporting_cpu(WORK)).unwrap();
    std::fs::write(p.path().join("src/bin/beta.rs"), spin_reporting_cpu(WORK)).unwrap();
    p.git(&["add", "-A"]);
    p.git(&["commit", "-q", "--amend", "-m", "1: two binaries that spin"]);
    let mut shas = vec![String::new(), p.git(&["rev-parse", "HEAD"]).trim().to_string()];
    for i in 2..=32u64 {
        let subject = match i {
            19 => {
                std::fs::write(p.path().join("src/main.rs"), spin_reporting_cpu(WORK * 110 / 100)).unwrap();
                "19: work spins 10% longer".to_string()
            }
            27 => {
                std::fs::write(p.path().join("src/bin/beta.rs"), spin_reporting_cpu(WORK * 95 / 100)).unwrap();
                "27: beta spins 5% less".to_string()
            }
            _ => {
                std::fs::write(p.path().join("notes.txt"), format!("note {i}\n")).unwrap();
                format!("{i}: notes")
            }
        };
        shas.push(p.commit_all(&subject));
    }
    (p, shas)
}

fn history(p: &GitProject, args: &[&str]) -> std::process::Output {
    coldbench().current_dir(p.path()).arg("history").args(args).output().unwrap()
}

/// The steps of one series of a `history --format json`: (position, sign).
fn steps(doc: &serde_json::Value, id: &str) -> Vec<(u64, bool)> {
    let series = doc["series"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{doc:#}"));
    series["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["index"].as_u64().unwrap(), s["change"].as_f64().unwrap() > 0.0))
        .collect()
}

#[test]
fn history_marks_the_two_steps_and_bisect_finds_the_slower_commit_within_seven_builds() {
    let (p, shas) = thirty_two_commits();
    let before = p.state();
    let measure = MEASURE;
    let res = history(&p, &[&["--last", "32", "--format", "json"][..], &measure].concat());
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(doc["commits"].as_array().unwrap().len(), 32);
    assert_eq!(doc["anchor"]["sha"], shas[1].as_str(), "the range's first commit is the anchor");
    // Commit 19 is position 18, commit 27 position 26.
    assert_eq!(steps(&doc, "start/work/work"), [(18, true)], "{}", describe(&res));
    assert_eq!(steps(&doc, "start/work/beta"), [(26, false)], "{}", describe(&res));
    let work = doc["series"].as_array().unwrap().iter().find(|s| s["id"] == "start/work/work").unwrap();
    let change = work["steps"][0]["change"].as_f64().unwrap();
    assert!((0.05..0.15).contains(&change), "a 10% longer spin: {change}");
    assert_eq!(work["steps"][0]["sha"], shas[19].as_str());

    // One result per commit, of the usual schema, with the anchor's sha.
    let out = p.path().join("target/coldbench");
    for sha in &shas[1..] {
        let point: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("history").join(format!("{sha}.json"))).unwrap())
                .unwrap();
        assert_eq!(point["schema"], "coldbench/1");
        assert_eq!(point["history"]["anchor"], shas[1].as_str());
        assert_eq!(point["comparison"]["baseline"]["sha"], shas[1].as_str());
        assert_eq!(point["comparison"]["interleaved"], true);
        assert_eq!(point["git"]["sha"], sha.as_str());
    }
    let html = std::fs::read_to_string(out.join("history.html")).unwrap();
    assert_eq!(html.matches("<svg class=\"chart history\"").count(), 2);
    assert_eq!((html.matches("class=\"step up\"").count(), html.matches("class=\"step down\"").count()), (1, 1));
    let md = std::fs::read_to_string(out.join("history.md")).unwrap();
    assert!(md.contains("19: work spins 10% longer") && md.contains("27: beta spins 5% less"), "{md}");

    // Again: every commit is taken from the first run; nothing is built or measured.
    let res = history(&p, &[&["--last", "32"][..], &measure].concat());
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("Reused 32 commits"), "{stderr}");
    assert!(!stderr.contains("Building") && !stderr.contains("Commit "), "{stderr}");
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains(&format!("{} \"19: work spins 10% longer\"", &shas[19][..7])), "{stdout}");
    assert!(stdout.contains(&format!("{} \"27: beta spins 5% less\"", &shas[27][..7])), "{stdout}");
    // The exports carry one entry per commit.
    let res = history(&p, &[&["--last", "32", "--format", "bmf"][..], &measure].concat());
    let bmf: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(bmf.as_object().unwrap().len(), 32);
    assert!(bmf[&shas[19]]["start/work/work"]["wall"]["value"].as_f64().unwrap() > 1e6, "nanoseconds");

    // Bisect in a results folder of its own, so that nothing built or measured above is reused.
    let fresh = tempfile::tempdir().unwrap();
    let res = coldbench()
        .current_dir(p.path())
        .args(["bisect", "--good", &shas[1], "--bad", &shas[32], "--output-dir"])
        .arg(fresh.path())
        .args(measure)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains(&format!("start/work/work · cpu: first slower at {} \"19: work spins", &shas[19][..7])),
        "{}",
        describe(&res)
    );
    assert!(!stdout.contains("start/work/beta"), "beta got faster, not slower: {stdout}");
    let stderr = String::from_utf8_lossy(&res.stderr);
    let builds = stderr.lines().filter(|l| l.trim_start().starts_with("Building the")).count();
    assert!(
        (3..=7).contains(&builds),
        "⌈log₂ 32⌉ + 2 = 7 builds at most, and good, bad and a probe at least: {stderr}"
    );
    assert!(stderr.contains(&format!("{builds} built by cargo")), "{stderr}");
    assert_eq!(p.state(), before, "history and bisect changed the user's repository");
}

#[test]
fn a_commit_that_does_not_build_is_a_gap_and_identical_code_is_not_a_regression() {
    let p = GitProject::new(BASE_WORK / 10);
    std::fs::write(p.path().join("src/main.rs"), "fn main() { this does not compile }\n").unwrap();
    let broken = p.commit_all("2: broken");
    p.set_work(BASE_WORK / 10);
    p.commit_all("3: fixed");
    let quick = ["--runs", "3", "--warmup", "0"];
    let res = history(&p, &[&["--format", "json"][..], &quick].concat());
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let commits = doc["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 3, "the whole history of HEAD, fewer than 20 commits");
    assert!(commits[1]["gap"].as_str().unwrap().contains("does not build"), "{doc:#}");
    let points = doc["series"][0]["points"].as_array().unwrap();
    assert!(points[0]["ratio"].is_number() && points[2]["ratio"].is_number(), "the range goes on: {doc:#}");
    assert!(points[1]["gap"].as_str().unwrap().contains("does not build"));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains(&format!("warning: {} \"2: broken\": does not build", &broken[..7])), "{stderr}");

    // Identical code at good and bad: nothing to bisect (exit 1, saying why).
    let bisect =
        |args: &[&str]| coldbench().current_dir(p.path()).arg("bisect").args(args).args(quick).output().unwrap();
    let res = bisect(&["--good", "HEAD~2", "--bad", "HEAD"]);
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stdout).contains("is not slower than"), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("nothing regressed between good and bad"));
    // A probe of good against bad reused the history's points: nothing was built again.
    assert!(!String::from_utf8_lossy(&res.stderr).contains("Building the"), "{}", describe(&res));

    // Usage errors exit 2, naming the problem.
    for (args, says) in [
        (["--good", "HEAD", "--bad", "HEAD"], "are the same commit"),
        (["--good", "nosuchref", "--bad", "HEAD"], "unknown git ref `nosuchref`"),
        (["--good", "HEAD", "--bad", "HEAD~2"], "is not an ancestor of"),
    ] {
        let res = bisect(&args);
        assert_eq!(res.status.code(), Some(2), "{args:?}: {}", describe(&res));
        assert!(String::from_utf8_lossy(&res.stderr).contains(says), "{args:?}: {}", describe(&res));
    }
    let res = bisect(&["--good", "HEAD~2", "--bad", "HEAD", "--bench", "start/work/nope"]);
    assert_eq!(res.status.code(), Some(2), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("they are: start/work/work"), "{}", describe(&res));
    let res = coldbench().current_dir(p.path()).args(["bisect", "--good", "HEAD"]).output().unwrap();
    assert_eq!(res.status.code(), Some(2), "clap: --bad is required");
    let res = history(&p, &["a...b"]);
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("`a...b` is not a range of commits"));
}

#[test]
fn ctrl_c_leaves_no_half_made_checkout_and_the_repository_and_git_bisect_as_they_were() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;

    // Many files make a checkout take a while, so that the interrupt lands in one.
    let p = GitProject::new(BASE_WORK / 10);
    let many = p.path().join("data");
    std::fs::create_dir(&many).unwrap();
    for i in 0..6000 {
        std::fs::write(many.join(format!("{i}.txt")), format!("{i}\n")).unwrap();
    }
    let good = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    p.commit_all("2: data");
    p.set_work(BASE_WORK);
    let bad = p.commit_all("3: slower");
    // The user is in the middle of a `git bisect` of their own (which checked out commit 2).
    p.git(&["bisect", "start"]);
    p.git(&["bisect", "bad", &bad]);
    p.git(&["bisect", "good", &good]);
    let before = p.state();
    assert!(before.last().unwrap().contains("BISECT_START"), "{before:?}");

    let bin = assert_cmd::cargo::cargo_bin("cargo-coldbench");
    let mut child = std::process::Command::new(bin)
        .current_dir(p.path())
        .args(["coldbench", "bisect", "--good", &good, "--bad", &bad, "--runs", "3"])
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TARGET_DIR")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        // A group of its own, as a terminal's foreground job: Ctrl-C reaches it and its cargo.
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("Checking") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "ended early: {seen}");
        seen.push_str(&line);
    }
    // The bad commit is checked out first; interrupt once its folder is being written.
    let checkout = p.path().join("target/coldbench/worktrees").join(&bad);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !checkout.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    // SAFETY: kill(2) of the child's own process group.
    unsafe { libc::kill(-pid, libc::SIGINT) };
    let status = child.wait().unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut seen).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.code().or(status.signal().map(|s| 128 + s)), Some(130), "{seen}");

    assert_eq!(p.state(), before, "the repository or its git bisect changed");
    let worktrees = p.path().join("target/coldbench/worktrees");
    let folders: Vec<PathBuf> = std::fs::read_dir(&worktrees)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    for folder in &folders {
        let sha = folder.file_name().unwrap().to_string_lossy().into_owned();
        let marker = std::fs::read_to_string(folder.with_extension("complete"));
        assert_eq!(marker.ok().as_deref(), Some(sha.as_str()), "{} was left half-made", folder.display());
    }
    assert!(!folders.is_empty(), "the interrupt came before any checkout: the test proves nothing\n{seen}");
}

#[test]
fn the_history_chart_renders_in_a_headless_browser_with_whiskers_steps_and_commits() {
    use coldbench::results::*;
    let commit = |i: usize| CommitInfo {
        sha: format!("{i:02}{}", "ab".repeat(19)),
        subject: format!("commit <{i}>"),
        author: "A <a@example.invalid>".into(),
        time: "2025-01-01T00:00:00Z".into(),
    };
    let level = |i: usize| if i >= 6 { 1.10 } else { 1.0 };
    let points: Vec<SeriesPoint> = (0..10)
        .map(|i| SeriesPoint {
            sha: commit(i).sha,
            ratio: (i != 3).then(|| level(i)),
            ci95: (i != 3).then(|| [level(i) - 0.01, level(i) + 0.01]),
            value: (i != 3).then(|| 0.02 * level(i)),
            value_ci95: None,
            verdict: (i != 3).then_some(if i >= 6 { Verdict::Regressed } else { Verdict::NoChange }),
            gap: (i == 3).then(|| "does not build".to_string()),
        })
        .collect();
    let history = History {
        schema: HISTORY_SCHEMA.into(),
        tool_version: "0".into(),
        timestamp: "2025-01-02T00:00:00Z".into(),
        anchor: commit(0),
        commits: (0..10)
            .map(|i| HistoryCommit {
                commit: commit(i),
                gap: (i == 3).then(|| "does not build".to_string()),
                file: None,
                reused: false,
                left_out: 0,
            })
            .collect(),
        series: vec![HistorySeries {
            id: "start/app/app".into(),
            metric: "wall".into(),
            unit: Unit::Seconds,
            noise: 0.02,
            points,
            levels: vec![
                SeriesLevel { from: 0, to: 5, ratio: 1.0, ci95: [0.995, 1.005] },
                SeriesLevel { from: 6, to: 9, ratio: 1.1, ci95: [1.095, 1.105] },
            ],
            steps: vec![SeriesStep { sha: commit(6).sha, index: 6, after: 5, change: 0.1, ci95: [0.09, 0.11] }],
            drift: vec![],
        }],
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("history.html");
    std::fs::write(&page, coldbench::report::history::html::render(&history).unwrap()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [" src=", "href=\"http", "url(", "@import", "fetch(", "XMLHttpRequest", "<5>"] {
        assert!(!html.contains(needle), "the page contains `{needle}`");
    }
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coldbench-history.png");
    let Some(rendered) = browser::render(&page, Some(&shot)) else { return };
    assert!(rendered.console.is_empty(), "console messages: {:?}", rendered.console);
    assert!(rendered.requests.is_empty(), "network requests: {:?}", rendered.requests);
    let dom = rendered.dom;
    assert!(dom.contains("data-series=\"1\""), "the embedded history parsed");
    assert_eq!(dom.matches("<svg class=\"chart history\"").count(), 1);
    assert_eq!(dom.matches("<circle class=\"point").count(), 9, "a point per measured commit");
    assert_eq!(dom.matches("<line class=\"ci\"").count(), 9, "a whisker per point");
    assert_eq!(dom.matches("<text class=\"gap\"").count(), 1, "the commit that does not build");
    assert_eq!(dom.matches("<g class=\"step up\">").count(), 1);
    assert!(dom.contains("step at 06ababa \"commit &lt;6&gt;\": +10.0%"), "the step names its commit on hover: {dom}");
    assert!(
        dom.contains(&format!("{} \"commit &lt;7&gt;\" by A &lt;a@example.invalid&gt;", &commit(7).sha[..7])),
        "{dom}"
    );
    assert!(dom.contains("+10.0% (CI +9.0% … +11.0%) against the anchor"), "hover text of a point");
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false), "no screenshot");
}
