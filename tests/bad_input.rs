//! Bad input: each case gets one clear `error:` line naming the problem, exit 1, nothing written.

mod common;

use common::*;

/// Runs coldbench in `dir` and checks the error contract; returns stderr.
fn fails_cleanly(dir: &std::path::Path, args: &[&str]) -> String {
    let res = coldbench().current_dir(dir).args(args).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(res.stdout.is_empty(), "nothing on stdout: {}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr).to_string();
    assert!(stderr.starts_with("error: ") || stderr.contains("\nerror: "), "{stderr}");
    assert!(!dir.join("target/coldbench").exists(), "nothing may be written on bad input");
    stderr
}

const HELLO: &str = "fn main() {}\n";

#[test]
fn not_a_cargo_project() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("error: could not find a cargo project"), "{stderr}");
    assert!(stderr.contains("help: run inside a cargo project or pass --manifest-path"), "{stderr}");
}

#[test]
fn unknown_key_names_its_path_and_manifest() {
    let dir = temp_project("[[package.metadata.bench.start]]\nbin = \"demo\"\nreadyy = { stdout = \"x\" }\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    let manifest = dir.path().join("Cargo.toml");
    assert!(
        stderr.contains(&format!("error: invalid `package.metadata.bench.start[0].readyy` in {}", manifest.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `readyy`"), "{stderr}");
}

#[test]
fn wrong_type_names_its_path() {
    let dir = temp_project("[[package.metadata.bench.start]]\nbin = \"demo\"\nready = \"yes\"\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("invalid `package.metadata.bench.start[0].ready`"), "{stderr}");
    assert!(stderr.contains("invalid type"), "{stderr}");
}

#[test]
fn unknown_bin_lists_the_binaries() {
    let dir = temp_project("", HELLO);
    let stderr = fails_cleanly(dir.path(), &["--bin", "nope"]);
    assert!(stderr.contains("error: no binary named `nope` in the selected packages"), "{stderr}");
    assert!(stderr.contains("help: available binaries: demo"), "{stderr}");
}

#[test]
fn bad_ready_regex() {
    let dir =
        temp_project("[[package.metadata.bench.start]]\nbin = \"demo\"\nready = { stdout = \"(unclosed\" }\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("invalid `package.metadata.bench.start[0].ready.stdout`"), "{stderr}");
    assert!(stderr.contains("invalid regular expression"), "{stderr}");
}

#[test]
fn bad_duration_string() {
    let dir = temp_project("[package.metadata.bench]\ntimeout = \"10 parsecs\"\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("invalid `package.metadata.bench.timeout`"), "{stderr}");
    assert!(stderr.contains("invalid duration `10 parsecs`"), "{stderr}");
}

#[test]
fn bad_size_string() {
    let dir =
        temp_project("[[package.metadata.bench.start]]\nbin = \"demo\"\nbudget = { max-rss = \"lots\" }\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("invalid `package.metadata.bench.start[0].budget.max-rss`"), "{stderr}");
    assert!(stderr.contains("invalid size `lots`"), "{stderr}");
}

#[test]
fn command_whose_program_does_not_exist() {
    let dir = temp_project(
        "[[package.metadata.bench.start]]\ncommand = [\"no-such-program-xyz\", \"--flag\"]\nname = \"x\"\n",
        HELLO,
    );
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(
        stderr.contains("error: program `no-such-program-xyz` of `package.metadata.bench.start[0].command`"),
        "{stderr}"
    );
    assert!(stderr.contains("was not found"), "{stderr}");
}

#[test]
fn unknown_package_lists_members() {
    let dir = temp_project("", HELLO);
    let stderr = fails_cleanly(dir.path(), &["-p", "other"]);
    assert!(stderr.contains("error: package `other` is not a member of the workspace"), "{stderr}");
    assert!(stderr.contains("help: workspace members: demo"), "{stderr}");
}

#[test]
fn build_errors_are_shown_as_cargo_printed_them() {
    let dir = temp_project("", "fn main() { let x: u32 = \"not a number\"; }\n");
    let res = coldbench().current_dir(dir.path()).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(stderr.contains("mismatched types"), "cargo's diagnostic is shown: {stderr}");
    assert!(stderr.contains("error: could not build the benchmarked targets"), "{stderr}");
    assert!(!dir.path().join("target/coldbench/latest.json").exists());
}

#[test]
fn usage_errors_exit_2() {
    let res = coldbench().args(["--runs", "1"]).output().unwrap();
    assert_eq!(res.status.code(), Some(2), "{}", describe(&res));
    let res = coldbench().args(["--no-such-flag"]).output().unwrap();
    assert_eq!(res.status.code(), Some(2), "{}", describe(&res));
}

#[test]
fn a_load_entry_naming_no_library() {
    let dir = temp_project("[[package.metadata.bench.load]]\nlib = \"nolib\"\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("invalid `package.metadata.bench.load[0].lib`"), "{stderr}");
    assert!(stderr.contains("no cdylib or dylib target named `nolib`"), "{stderr}");
}

#[test]
fn a_python_that_is_not_installed() {
    let dir = temp_project("[[package.metadata.bench.python]]\nmodule = \"json\"\npython = \"python9.9\"\n", HELLO);
    let stderr = fails_cleanly(dir.path(), &[]);
    assert!(stderr.contains("error: program `python9.9` of `package.metadata.bench.python[0].python`"), "{stderr}");
}

#[test]
fn unknown_lib_lists_the_libraries() {
    let dir = temp_project("", HELLO);
    let stderr = fails_cleanly(dir.path(), &["load", "--lib", "nope"]);
    assert!(stderr.contains("error: no cdylib or dylib named `nope`"), "{stderr}");
}

#[test]
fn zmq_request_and_reply_mistakes_name_the_key_and_the_manifest() {
    let server = |rest: &str| {
        format!(
            "[package.metadata.bench.zmq]\nserver = {{ command = [\"python3\", \"rpc.py\"], endpoint = \"tcp://127.0.0.1:5555\", \
             pattern = \"router\"{rest} }}\n"
        )
    };
    // (the table's extra keys, the key named, what the message says)
    let cases = [
        (
            ", request = [\"PING\", { file = \"frames/nope.bin\" }]",
            "server.request[1].file",
            "cannot read the frame file",
        ),
        (", request = [\"PING\", { hex = \"0xff\" }]", "server.request[1].hex", "is not hex"),
        (", request = [\"PING-{payload}\"]", "server.request[0]", "a frame of its own"),
        (
            ", request = [\"PING\"], reply = { check = [{ frame = 0, size = \"{payload}\" }] }",
            "server.reply.check[0].size",
            "the request has no \"{payload}\" frame",
        ),
        (
            ", request = [\"PING\"], reply = { frames = 1, check = [{ frame = 1, equals = \"PONG\" }] }",
            "server.reply.check[0].frame",
            "frame 1 cannot exist in a reply of 1 frame",
        ),
        (
            ", request = [\"PING\"], reply = { check = [{ frame = 0, matches = \"^(PONG\" }] }",
            "server.reply.check[0].matches",
            "invalid regular expression",
        ),
    ];
    for (rest, key, says) in cases {
        let dir = temp_project(&server(rest), HELLO);
        let stderr = fails_cleanly(dir.path(), &["suite", "zmq", "--list"]);
        let manifest = dir.path().join("Cargo.toml");
        assert!(
            stderr.contains(&format!("error: invalid `package.metadata.bench.zmq.{key}` in {}", manifest.display())),
            "{rest}: {stderr}"
        );
        assert!(stderr.contains(says) && stderr.contains("help: "), "{rest}: {stderr}");
    }
    // The missing frame file is named with its path.
    let dir = temp_project(&server(cases[0].0), HELLO);
    let stderr = fails_cleanly(dir.path(), &["suite", "zmq", "--list"]);
    assert!(stderr.contains(&dir.path().join("frames/nope.bin").display().to_string()), "{stderr}");
}
