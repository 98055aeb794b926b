//! `--compare`: two refs built side by side, run interleaved, judged; the user's repository untouched.

mod common;

use common::*;

fn wall_rows(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    doc["comparison"]["rows"].as_array().unwrap().iter().filter(|r| r["metric"] == "wall").cloned().collect()
}

#[test]
fn a_three_times_slower_binary_fails_and_an_unchanged_one_passes_without_touching_the_repo() {
    let p = GitProject::new(BASE_WORK);
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    p.set_work(BASE_WORK * 3);
    p.commit_all("B: three times the work");
    // Work in progress that the comparison must not disturb.
    std::fs::write(p.path().join("README.md"), "edited, not committed\n").unwrap();
    std::fs::write(p.path().join("notes.txt"), "untracked\n").unwrap();
    let before = p.state();

    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", &a, "--fail-on", "regression", "--runs", "15"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    let rows = wall_rows(&doc);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], "start/work/work");
    assert_eq!(rows[0]["verdict"], "failure", "{:#}", rows[0]);
    // Start-up costs the same on both sides, so three times the work reads as some 2.2–2.6×.
    assert!(rows[0]["ratio"].as_f64().unwrap() > 1.5, "{:#}", rows[0]);
    assert_eq!(doc["comparison"]["interleaved"], true);
    assert_eq!(doc["comparison"]["baseline"]["sha"], a.as_str());
    assert_eq!(doc["comparison"]["candidate"]["label"], "working tree");
    assert_eq!(doc["comparison"]["candidate"]["dirty"], true);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("start/work/work: ") && stdout.contains("slower"), "{stdout}");
    assert_eq!(p.state(), before, "the comparison changed the user's repository");

    // The same code on both sides: no regression of any degree on the gating rows. Changes within
    // ±20% count as noise: at the default ±2% an A/A compare on a loaded runner reads as
    // "regressed" now and then by chance (the 5% significance level), and the bug this guards
    // against, two sides measured differently, is far larger.
    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", "HEAD", "--fail-on", "regression", "--runs", "15", "--noise", "20%"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    for row in doc["comparison"]["rows"].as_array().unwrap().iter().filter(|r| r["gating"] == true) {
        let verdict = row["verdict"].as_str().unwrap();
        assert!(!["regressed", "warning", "failure"].contains(&verdict), "A/A compare gave {row:#}");
    }
    assert_eq!(p.state(), before, "the comparison changed the user's repository");
}

#[test]
fn a_second_compare_against_the_same_commit_builds_no_baseline() {
    let p = GitProject::new(BASE_WORK / 10);
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    let args = ["--compare", "main", "--runs", "3", "--warmup", "0", "-v"];
    let first = coldbench().current_dir(p.path()).args(args).output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let first_err = String::from_utf8_lossy(&first.stderr);
    assert!(first_err.contains("Building the baseline side (main"), "{first_err}");
    let cached = p.path().join("target/coldbench/artifacts").join(&a).join("work/work");
    let mtime = std::fs::metadata(&cached).unwrap().modified().unwrap();

    let second = coldbench().current_dir(p.path()).args(args).output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!err.contains("Building the baseline side"), "the baseline was built again:\n{err}");
    assert!(err.contains(&format!("baseline: reusing the executables built for {}", &a[..7])), "{err}");
    assert_eq!(std::fs::metadata(&cached).unwrap().modified().unwrap(), mtime);
}

#[test]
fn against_compares_two_refs_and_an_interrupted_checkout_is_made_again() {
    let p = GitProject::new(BASE_WORK / 10);
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(p.path().join("README.md"), "second commit\n").unwrap();
    let b = p.commit_all("B");
    // A checkout left half-written by an interrupted run: a folder without its completion marker.
    let broken = p.path().join("target/coldbench/worktrees").join(&a);
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("Cargo.toml"), "garbage").unwrap();

    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", &a, "--against", "main", "--runs", "3", "--warmup", "0"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("was incomplete"), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    assert_eq!(doc["comparison"]["baseline"]["sha"], a.as_str());
    assert_eq!(doc["comparison"]["candidate"]["sha"], b.as_str());
    assert_eq!(doc["git"]["sha"], b.as_str());
    assert_eq!(wall_rows(&doc).len(), 1);
}

#[test]
fn benchmarks_on_one_side_only_are_added_or_removed() {
    let p = GitProject::new(BASE_WORK / 10);
    // The candidate gains a second binary; each side is planned with its own configuration.
    std::fs::create_dir_all(p.path().join("src/bin")).unwrap();
    std::fs::write(p.path().join("src/bin/extra.rs"), "fn main() {}\n").unwrap();
    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", "main", "--config-from", "each", "--runs", "3", "--warmup", "0"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    assert_eq!(doc["comparison"]["added"], serde_json::json!(["start/work/extra"]));
    assert!(String::from_utf8_lossy(&res.stdout).contains("added (not compared): start/work/extra"));
}

#[test]
fn a_baseline_that_crashes_leaves_the_candidate_measured() {
    let p = GitProject::new(10);
    std::fs::write(p.path().join("src/main.rs"), "fn main() { std::process::abort(); }\n").unwrap();
    let broken = p.commit_all("crashes");
    p.set_work(10);
    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", &broken, "--fail-on", "regression", "--runs", "3"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(0), "the candidate is fine: {}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    let cand = bench(&doc, "start/work/work");
    assert_eq!(cand["status"], "ok");
    assert_eq!(samples(cand, "wall").len(), 3);
    let base = &doc["comparison"]["baseline_benchmarks"][0];
    assert_eq!(base["status"], "failed");
    let row = &doc["comparison"]["rows"][0];
    assert_eq!(row["metric"], "status");
    assert_eq!(row["verdict"], "improved");

    // The other way round: the candidate crashes, and that fails the run.
    p.commit_all("fixed");
    std::fs::write(p.path().join("src/main.rs"), "fn main() { std::process::abort(); }\n").unwrap();
    let res = coldbench().current_dir(p.path()).args(["--compare", "HEAD", "--runs", "3"]).output().unwrap();
    assert_eq!(res.status.code(), Some(4), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    assert_eq!(bench(&doc, "start/work/work")["status"], "failed");
    assert_eq!(doc["comparison"]["baseline_benchmarks"][0]["status"], "skipped");
    assert_eq!(doc["comparison"]["rows"][0]["verdict"], "failure");
}

#[test]
fn a_change_in_a_workspace_library_is_measured_not_reused() {
    // The binary's work lives in a path dependency that is a workspace member of its own.
    let p = GitProject::new(10);
    std::fs::write(
        p.path().join("Cargo.toml"),
        "[package]\nname = \"work\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nspin = { path = \"spin\" }\n\n[workspace]\nmembers = [\"spin\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.path().join("spin/src")).unwrap();
    std::fs::write(
        p.path().join("spin/Cargo.toml"),
        "[package]\nname = \"spin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let spin = |n: u64| {
        format!(
            "pub fn spin() -> u64 {{\n    let mut x: u64 = 1;\n    for i in 0..{n}u64 {{\n        \
             x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));\n    }}\n    x\n}}\n"
        )
    };
    std::fs::write(p.path().join("spin/src/lib.rs"), spin(BASE_WORK)).unwrap();
    std::fs::write(p.path().join("src/main.rs"), "fn main() { if spin::spin() == 42 { println!(\"unlikely\"); } }\n")
        .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    assert!(std::process::Command::new(cargo)
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(p.path())
        .status()
        .unwrap()
        .success());
    p.commit_all("work in a member library");
    std::fs::write(p.path().join("spin/src/lib.rs"), spin(BASE_WORK * 3)).unwrap();
    let res = coldbench()
        .current_dir(p.path())
        .args(["-p", "work", "--compare", "HEAD", "--fail-on", "regression", "--runs", "10"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    assert_eq!(wall_rows(&doc)[0]["verdict"], "failure");
}

#[test]
fn unknown_refs_suggest_close_branch_names() {
    let p = GitProject::new(10);
    p.git(&["branch", "feature-login"]);
    let res = coldbench().current_dir(p.path()).args(["--compare", "feature-logn"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("error: unknown git ref `feature-logn`"), "{stderr}");
    assert!(stderr.contains("did you mean `feature-login`"), "{stderr}");
    assert!(!p.path().join("target/coldbench").exists(), "nothing is written on bad input");
}

#[test]
fn not_a_git_repository() {
    let dir = temp_project("", "fn main() {}\n");
    let res = coldbench().current_dir(dir.path()).args(["--compare", "main"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("is not in a git repository"), "{stderr}");
}

#[test]
fn a_commit_missing_from_a_shallow_clone_is_explained() {
    let p = GitProject::new(10);
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(p.path().join("README.md"), "two\n").unwrap();
    p.commit_all("B");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", p.path().display());
    git_in(clone.path(), &["clone", "-q", "--depth", "1", &url, "shallow"]);
    let res = coldbench().current_dir(clone.path().join("shallow")).args(["--compare", &a]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("shallow"), "{stderr}");
    assert!(stderr.contains("git fetch --unshallow"), "{stderr}");
}

#[test]
fn a_baseline_that_fails_to_build_is_named() {
    let p = GitProject::new(10);
    std::fs::write(p.path().join("src/main.rs"), "fn main() { let x: u32 = \"text\"; }\n").unwrap();
    let broken = p.commit_all("broken");
    p.set_work(10);
    p.commit_all("fixed");
    let res = coldbench().current_dir(p.path()).args(["--compare", &broken]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("mismatched types"), "cargo's errors are shown: {stderr}");
    assert!(stderr.contains(&format!("the baseline side ({} {}) failed to build", broken, &broken[..7])), "{stderr}");
}

/// A crate beside the repository, `../sibling`, padding its user's binary with `pad` bytes.
fn write_sibling(dir: &std::path::Path, pad: usize) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"sibling\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        .unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        format!(
            "pub static PAD: [u8; {pad}] = [7; {pad}];\npub fn pad() -> usize {{ std::hint::black_box(&PAD).len() }}\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_path_dependency_outside_the_repository_is_built_as_on_disk_on_both_sides() {
    let parent = tempfile::tempdir().unwrap();
    let (repo, sibling) = (parent.path().join("repo"), parent.path().join("sibling"));
    write_sibling(&sibling, 1000);
    std::fs::create_dir_all(repo.join("src")).unwrap();
    let manifest = "[package]\nname = \"work\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
                    [dependencies]\nsibling = { path = \"../sibling\" }\n";
    std::fs::write(repo.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(repo.join(".gitignore"), "/target\n").unwrap();
    std::fs::write(repo.join("src/main.rs"), "fn main() {\n    assert!(sibling::pad() > 0);\n}\n").unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let lock = std::process::Command::new(cargo)
        .args(["generate-lockfile", "--offline", "--quiet"])
        .current_dir(&repo)
        .status();
    assert!(lock.unwrap().success());
    git_in(&repo, &["init", "-q", "-b", "main"]);
    git_in(&repo, &["add", "-A"]);
    git_in(&repo, &["commit", "-q", "-m", "A"]);
    let compare = || coldbench().current_dir(&repo).args(["--compare", "HEAD", "--runs", "3"]).output().unwrap();
    let binary_bytes = |doc: &serde_json::Value| {
        let base = doc["comparison"]["baseline_benchmarks"][0]["facts"]["binary_bytes"].as_u64().unwrap();
        let cand = bench(doc, "start/work/work")["facts"]["binary_bytes"].as_u64().unwrap();
        (base, cand)
    };

    // Without the rewrite the checkout under target/ would look for ../sibling in coldbench's cache.
    let res = compare();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("warning: the baseline (HEAD) has 1 path dependency outside the repository (")
            && stderr.contains(&format!("{})", sibling.display()))
            && stderr.contains("both sides build it as on disk now"),
        "{stderr}"
    );
    let (base, cand) = binary_bytes(&latest(&repo.join("target/coldbench")));
    assert_eq!(base, cand, "the same code on both sides");
    // The user's manifest still says ../sibling, and nothing in the repository changed.
    assert_eq!(std::fs::read_to_string(repo.join("Cargo.toml")).unwrap(), manifest);
    assert_eq!(git_in(&repo, &["status", "--porcelain"]), "");

    // The sibling grows: the baseline, whose commit is the same, is built again with it rather
    // than taken from the cache of that commit's executables.
    write_sibling(&sibling, 400_000);
    let res = compare();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(!stderr.contains("reusing the executables built for"), "{stderr}");
    let (base2, cand2) = binary_bytes(&latest(&repo.join("target/coldbench")));
    assert!(base2 >= base + 390_000 && cand2 == base2, "both sides have the sibling as it is now: {base2} {cand2}");
}

/// Rewrites the binary to sleep `ms` milliseconds: a start whose length the load of a shared
/// machine barely changes, so a 10% longer one reads as slower with few runs.
fn set_sleep(p: &GitProject, ms: u64) {
    std::fs::write(
        p.path().join("src/main.rs"),
        format!("fn main() {{\n    std::thread::sleep(std::time::Duration::from_millis({ms}));\n}}\n"),
    )
    .unwrap();
}

#[test]
fn several_candidates_run_in_turn_with_one_baseline_and_the_gate_fails_on_any() {
    let p = GitProject::new(10);
    // Thresholds under which a 10% slower start fails: changes within ±2% are noise, past 5% fail.
    let manifest = std::fs::read_to_string(p.path().join("Cargo.toml")).unwrap();
    std::fs::write(
        p.path().join("Cargo.toml"),
        format!("{manifest}\n[package.metadata.bench]\nnoise = \"2%\"\nwarn = \"3%\"\nfail = \"5%\"\n"),
    )
    .unwrap();
    set_sleep(&p, 20);
    p.commit_all("sleeps 20 ms");
    p.git(&["checkout", "-q", "-b", "feature-slow"]);
    // With the process start on both (1–3 ms on a loaded machine), 23 ms against 20 ms is some 10%
    // slower.
    set_sleep(&p, 23);
    p.commit_all("sleeps 23 ms");
    p.git(&["checkout", "-q", "main"]);
    std::fs::write(p.path().join("README.md"), "edited, not committed\n").unwrap();

    // The working tree (unchanged code) first, the slower branch second: the gate must see both.
    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", "main", "--against", ".", "--against", "feature-slow"])
        .args(["--fail-on", "regression", "--runs", "40", "--warmup", "1"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(3), "{}", describe(&res));
    let doc = latest(&p.path().join("target/coldbench"));
    let same = &doc["comparison"];
    assert_eq!(same["candidate"]["label"], "working tree");
    let same_wall = &wall_rows(&doc)[0];
    assert!(
        !["regressed", "warning", "failure"].contains(&same_wall["verdict"].as_str().unwrap()),
        "unchanged code: {same_wall:#}"
    );
    let others = doc["other_candidates"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    let slow = &others[0]["comparison"];
    assert_eq!(slow["candidate"]["label"], "feature-slow");
    assert_eq!(slow["interleaved"], true);
    let slow_wall = slow["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "wall").unwrap();
    assert_eq!(slow_wall["verdict"], "failure", "{slow_wall:#}");
    let ratio = slow_wall["ratio"].as_f64().unwrap();
    assert!((1.03..1.3).contains(&ratio), "about 10% slower: {slow_wall:#}");
    // One baseline, measured once for both, with as many runs as each candidate.
    assert_eq!(same["baseline_benchmarks"].as_array().unwrap().len(), 1);
    assert_eq!(slow["baseline_benchmarks"], serde_json::json!([]));
    let base_runs = samples(&same["baseline_benchmarks"][0], "wall").len();
    assert_eq!(base_runs, 40);
    assert_eq!(samples(bench(&doc, "start/work/work"), "wall").len(), 40);
    assert_eq!(samples(&others[0]["benchmarks"][0], "wall").len(), 40);

    // One table: the benchmark once, a column group per candidate, and the best one named.
    let stdout = String::from_utf8_lossy(&res.stdout);
    let table = stdout.split("Comparison:").nth(1).expect("a comparison");
    assert_eq!(table.matches("start/work/work\n").count(), 1, "{stdout}");
    assert!(table.contains("working tree") && table.contains("feature-slow"), "{stdout}");
    // Start times are judged by the shift (or the medians): the line names the location it ranks.
    let best = table.lines().find(|l| l.contains("start/work/work wall (") && l.contains("): ")).expect("a best line");
    let ranked = best.split("): ").nth(1).unwrap_or_default();
    assert!(ranked.starts_with("working tree"), "{stdout}");
    let md = std::fs::read_to_string(p.path().join("target/coldbench/report.md")).unwrap();
    assert!(
        md.contains("| Baseline | working tree | Δ% | 95% CI | Verdict | feature-slow | Δ% | 95% CI | Verdict |"),
        "{md}"
    );
    let html = std::fs::read_to_string(p.path().join("target/coldbench/report.html")).unwrap();
    assert!(html.contains("<th>feature-slow</th>") && html.contains("Best candidate per gating metric"), "{html}");

    // The same candidate named twice is a usage mistake, said before anything is built.
    let res = coldbench()
        .current_dir(p.path())
        .args(["--compare", "main", "--against", "feature-slow", "--against", "feature-slow"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(
        String::from_utf8_lossy(&res.stderr).contains("--against names `feature-slow` twice"),
        "{}",
        describe(&res)
    );
}
