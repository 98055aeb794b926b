//! `--measure profile`: a compare names the function that does more work, lists nothing in
//! identical code, and puts the loader first when a new dependency brings relocations; `report`
//! and `diff` render the profile from the files.

#![cfg(target_arch = "x86_64")]

mod common;

use common::{describe, GitProject};

/// Iterations of the named function's loop in the baseline: 200 000 instructions, about 40% of
/// the start.
const NAMED: u64 = 100_000;

/// A program whose own work is one function, `work::named`, running exactly two instructions
/// (`dec`, `jnz`) per iteration, so that the instructions a change adds are known from the source.
/// `prelude` and `call` add code before and inside `main`.
fn program(iterations: u64, prelude: &str, call: &str) -> String {
    format!(
        "{prelude}\n#[inline(never)]\nfn named(n: u64) {{\n    if n > 0 {{\n        // SAFETY: a counted loop on a \
         register.\n        unsafe {{ std::arch::asm!(\"2:\", \"dec {{n}}\", \"jnz 2b\", n = inout(reg) n => _, \
         options(nomem, nostack)) }}\n    }}\n}}\n\nfn main() {{\n    named(std::hint::black_box({iterations}u64));\n    \
         {call}\n}}\n"
    )
}

fn project(iterations: u64) -> GitProject {
    let p = GitProject::new(common::BASE_WORK);
    std::fs::write(p.path().join("src/main.rs"), program(iterations, "", "")).unwrap();
    p.commit_all("A: named work");
    p
}

fn compare(p: &GitProject) -> std::process::Output {
    let out = common::coldbench()
        .current_dir(p.path())
        .args(["--compare", "HEAD", "--measure", "profile", "--runs", "3", "--warmup", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    out
}

/// The lines of the differential under the comparison's table, after its heading.
fn listed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.contains("profile: self instructions that changed by more than"))
        .skip(1)
        .map(|l| l.trim().to_string())
        .take_while(|l| l.starts_with('+') || l.starts_with('−'))
        .collect()
}

/// The signed instruction count a differential line starts with (`+15 012`).
fn delta(line: &str) -> i64 {
    let field: String = line.split("  ").next().unwrap().chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if line.starts_with('−') { -1 } else { 1 };
    sign * field.parse::<i64>().unwrap()
}

#[test]
fn the_function_that_does_more_work_leads_and_identical_code_lists_nothing() {
    let p = project(NAMED);
    let results = p.path().join("target/coldbench");

    // A/A: the same commit on both sides.
    let same = compare(&p);
    let stdout = String::from_utf8_lossy(&same.stdout);
    assert!(stdout.contains("profile: no function changed by more than ±"), "{}", describe(&same));
    assert!(listed(&stdout).is_empty(), "{stdout}");
    let doc = common::latest(&results);
    let profile = &doc["benchmarks"][0]["facts"]["profile"];
    let total = profile["total"].as_u64().unwrap();
    let named = profile["functions"].as_array().unwrap().iter().find(|f| f["name"] == "work::named").unwrap();
    assert_eq!(
        (named["object"].as_str(), named["crate"].as_str(), named["group"].as_str()),
        (Some("work"), Some("work"), Some("program"))
    );
    assert!(named["self"].as_u64().unwrap().abs_diff(2 * NAMED) < 100, "{named:#}");
    let groups: Vec<&str> =
        profile["groups"].as_array().unwrap().iter().map(|g| g["group"].as_str().unwrap()).collect();
    for g in ["relocation", "symbol_lookup", "runtime", "program"] {
        assert!(groups.contains(&g), "{groups:?}");
    }
    assert!(!profile["tree"].as_array().unwrap().is_empty());
    let aa_file = std::fs::read_dir(results.join("runs")).unwrap().next().unwrap().unwrap().path();

    // About 3% of the start more in `named`, nothing else.
    let added = (total as f64 * 0.03 / 2.0) as u64;
    std::fs::write(p.path().join("src/main.rs"), program(NAMED + added, "", "")).unwrap();
    let more = compare(&p);
    let stdout = String::from_utf8_lossy(&more.stdout);
    let lines = listed(&stdout);
    assert!(lines.first().is_some_and(|l| l.contains("work::named [work, crate work] · program")), "{stdout}");
    let expected = 2 * added as i64;
    let got = delta(&lines[0]);
    assert!((got - expected).abs() * 100 <= expected * 3, "Δ {got} for {expected} added: {stdout}");
    assert!(
        stdout.contains("; biggest mover: +") && stdout.contains(" instructions in work::named [work, crate work] (+")
    );

    // `report` renders the differential from the saved file, and `diff` from two files.
    let md = common::coldbench().current_dir(p.path()).args(["report", "--format", "md"]).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("self instructions that changed by more than") && md.contains("| `work::named` |"), "{md}");
    assert!(md.contains("<details><summary>Profile of <code>start/work/work</code>"), "{md}");
    let latest = results.join("latest.json");
    let diff = common::coldbench().current_dir(p.path()).arg("diff").arg(&aa_file).arg(&latest).output().unwrap();
    let diff_out = String::from_utf8_lossy(&diff.stdout);
    assert!(listed(&diff_out).first().is_some_and(|l| l.contains("work::named")), "{}", describe(&diff));
}

/// Functions the C library exports and the candidate calls: each is a relocation the loader
/// resolves by looking the symbol up.
const EXPORTED: usize = 400;

#[test]
fn a_new_dependency_with_many_symbols_puts_the_loader_first_and_points_at_the_relocations() {
    let lib = tempfile::tempdir().unwrap();
    let c: String = (0..EXPORTED).map(|i| format!("int many_{i}(void) {{ return {i}; }}\n")).collect();
    std::fs::write(lib.path().join("many.c"), c).unwrap();
    let cc = std::process::Command::new("cc")
        .current_dir(lib.path())
        .args(["-shared", "-fPIC", "-O1", "-o", "libmany.so", "many.c"])
        .output()
        .unwrap();
    assert!(cc.status.success(), "{}", String::from_utf8_lossy(&cc.stderr));

    let p = project(NAMED);
    let dir = lib.path().display();
    std::fs::write(
        p.path().join("build.rs"),
        format!(
            "fn main() {{\n    println!(\"cargo:rustc-link-search=native={dir}\");\n    \
             println!(\"cargo:rustc-link-arg=-Wl,-rpath,{dir}\");\n}}\n"
        ),
    )
    .unwrap();
    let externs: String = (0..EXPORTED).map(|i| format!("    fn many_{i}() -> i32;\n")).collect();
    let calls: String = (0..EXPORTED).map(|i| format!("many_{i}()")).collect::<Vec<_>>().join(" + ");
    let prelude = format!("#[link(name = \"many\")]\nextern \"C\" {{\n{externs}}}\n");
    let call = format!(
        "// SAFETY: functions without arguments of the library.\n    std::hint::black_box(unsafe {{ {calls} }});"
    );
    std::fs::write(p.path().join("src/main.rs"), program(NAMED, &prelude, &call)).unwrap();

    let out = compare(&p);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = listed(&stdout);
    assert!(lines.len() >= 3, "{stdout}");
    for line in &lines[..3] {
        assert!(line.contains("ld-linux") && line.contains("· loader: "), "the loader leads: {stdout}");
    }
    assert!(lines.iter().any(|l| l.contains("· loader: symbol lookup")), "{stdout}");
    let summary = stdout.lines().find(|l| l.starts_with("start/work/work: instructions ")).unwrap();
    assert!(summary.contains("the loader's relocation and symbol lookup grew by +"), "{summary}");
    assert!(summary.contains("relocations in the file ") && summary.contains("new DT_NEEDED: libmany.so"), "{summary}");
    // The row it points at: the relocation count, which grew by at least a relocation a symbol.
    let doc = common::latest(&p.path().join("target/coldbench"));
    let rows = doc["comparison"]["rows"].as_array().unwrap();
    let relocations = rows.iter().find(|r| r["metric"] == "facts.relocations").unwrap();
    let grew = relocations["candidate"].as_f64().unwrap() - relocations["baseline"].as_f64().unwrap();
    assert!(grew >= EXPORTED as f64, "{relocations:#}");
}
