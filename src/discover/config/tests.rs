use super::*;
use crate::measure::python::config::PythonEntry;
use serde_json::json;

/// A package's table as every built-in kind reads it, each kind's configuration typed.
#[derive(Debug)]
struct Parsed {
    settings: PackageSettings,
    start: Option<Vec<StartEntry>>,
    load: Option<Vec<LoadEntry>>,
    python: Vec<PythonEntry>,
}

fn read(
    metadata: serde_json::Value,
    manifest: &str,
    bins: &[&str],
    libs: &[&str],
    defaults: &PackageSettings,
) -> Result<Parsed, UserError> {
    use crate::measure::kind::config_of;
    let member = crate::discover::workspace::Member {
        id: cargo_metadata::PackageId { repr: "app".into() },
        name: "app".into(),
        manifest: PathBuf::from(manifest),
        bins: bins.iter().map(|b| b.to_string()).collect(),
        libs: libs.iter().map(|l| l.to_string()).collect(),
        python_extension: false,
        metadata,
    };
    let cfg = crate::plan::package_config(&member, defaults, &crate::plan::Registry::builtin())?;
    Ok(Parsed {
        settings: cfg.table.settings.clone(),
        start: config_of::<Vec<StartEntry>>(cfg.get("start")).cloned(),
        load: config_of::<Vec<LoadEntry>>(cfg.get("load")).cloned(),
        python: config_of::<Vec<PythonEntry>>(cfg.get("python")).cloned().unwrap_or_default(),
    })
}

fn parse(value: serde_json::Value) -> Result<Parsed, UserError> {
    read(json!({ "bench": value }), "/ws/app/Cargo.toml", &["server", "cli"], &["fastlib"], &PackageSettings::default())
}

pub(crate) fn key_of(err: UserError) -> String {
    match err {
        UserError::Config { key, .. } => key,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn absent_table_means_defaults() {
    let cfg = read(serde_json::Value::Null, "/x/Cargo.toml", &[], &[], &PackageSettings::default()).unwrap();
    assert!(cfg.start.is_none());
    assert_eq!(cfg.settings, PackageSettings::default());
}

#[test]
fn unknown_keys_are_named_with_their_path() {
    let err = parse(json!({ "start": [{ "bin": "server", "ready": { "stdot": "x" } }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0].ready.stdot");
    let err = parse(json!({ "runz": 3 })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.runz");
}

#[test]
fn wrong_types_are_named_with_their_path() {
    let err = parse(json!({ "start": [{ "bin": "server" }, { "bin": "cli", "args": [1] }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[1].args[0]");
}

#[test]
fn durations_sizes_and_regexes_are_validated() {
    let err = parse(json!({ "timeout": "ten seconds" })).unwrap_err();
    assert!(err.to_string().contains("invalid duration"), "{err}");
    // Budget values are read against the kind's metrics when the plan is made (discover::limits).
    parse(json!({ "start": [{ "bin": "cli", "budget": { "max-rss": "huge" } }] })).unwrap();
    let err = parse(json!({ "start": [{ "bin": "cli", "ready": { "stdout": "(" } }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0].ready.stdout");
}

#[test]
fn package_overrides_workspace_key_by_key() {
    let defaults = PackageSettings {
        runs: Some(7),
        warmup: Some(2),
        timeout: Some(Duration::from_secs(4)),
        noise: Some(0.05),
        ..PackageSettings::default()
    };
    let cfg =
        read(json!({ "bench": { "warmup": 0, "fail": "30%" } }), "/ws/a/Cargo.toml", &[], &[], &defaults).unwrap();
    assert_eq!(cfg.settings.runs, Some(7));
    assert_eq!(cfg.settings.warmup, Some(0));
    assert_eq!(cfg.settings.timeout, Some(Duration::from_secs(4)));
    assert_eq!(cfg.settings.noise, Some(0.05));
    assert_eq!(cfg.settings.fail, Some(0.3));
}

#[test]
fn thresholds_are_percentages_in_order() {
    let err = parse(json!({ "noise": 2 })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.noise");
    let err = parse(json!({ "warn": "30%", "fail": "20%" })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.warn");
}

#[test]
fn start_entries_need_one_target_and_a_known_bin() {
    let err = parse(json!({ "start": [{ "name": "x" }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0]");
    let err = parse(json!({ "start": [{ "bin": "nope" }] })).unwrap_err();
    assert!(err.to_string().contains("its binaries: server, cli"), "{err}");
}

#[test]
fn commands_are_kept_as_written_and_empty_ones_refused() {
    // Finding the program on PATH happens when the plan is made, not while parsing.
    let cfg = parse(json!({ "start": [{ "command": ["no-such-program-xyz", "-c"], "name": "x" }] })).unwrap();
    let entry = &cfg.start.unwrap()[0];
    assert_eq!(entry.target, Target::Command { program: "no-such-program-xyz".into(), args: vec!["-c".into()] });
    let err = parse(json!({ "start": [{ "command": [], "name": "x" }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0].command");
}

#[test]
fn readiness_variants_are_exclusive() {
    let cfg = parse(json!({ "start": [{ "bin": "server", "ready": { "tcp": "127.0.0.1:7000" } }] })).unwrap();
    assert_eq!(cfg.start.unwrap()[0].ready, Ready::Tcp { addr: "127.0.0.1:7000".into() });
    let err = parse(json!({ "start": [{ "bin": "server", "ready": { "tcp": "localhost" } }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0].ready.tcp");
    let err =
        parse(json!({ "start": [{ "bin": "server", "ready": { "tcp": "127.0.0.1:1", "file": "x" } }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.start[0].ready");
}

#[test]
fn load_and_python_entries_are_validated() {
    let cfg = parse(json!({ "load": [{ "lib": "fastlib", "symbol": "init" }], "python": [{ "module": "pkg.sub" }] }))
        .unwrap();
    assert_eq!(cfg.load.unwrap()[0].name, "fastlib");
    assert_eq!(cfg.python[0].module, "pkg.sub");
    assert_eq!(cfg.python[0].python, "python3");
    let err = parse(json!({ "load": [{ "lib": "nolib" }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.load[0].lib");
    let err = parse(json!({ "python": [{ "module": "1bad" }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.python[0].module");
    // Source folders stay inside the package; own prefixes are module names.
    let cfg = parse(json!({ "python": [{ "module": "m", "python-path": ["py", "./src"], "own-prefix": ["m", "_m"] }]
    }))
    .unwrap();
    assert_eq!(cfg.python[0].python_path, [Path::new("py"), Path::new("./src")]);
    for bad in ["../elsewhere", "/abs", ""] {
        let err = parse(json!({ "python": [{ "module": "m", "python-path": ["py", bad] }] })).unwrap_err();
        assert_eq!(key_of(err), "package.metadata.bench.python[0].python-path[1]", "{bad}");
    }
    let err = parse(json!({ "python": [{ "module": "m", "own-prefix": ["m."] }] })).unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.python[0].own-prefix[0]");
}

#[test]
fn an_install_command_has_a_program_and_its_inputs_stay_in_the_package() {
    let cfg = parse(json!({ "python": [{ "module": "m", "install": ["uv", "sync"] }] })).unwrap();
    assert_eq!(cfg.python[0].install.as_deref(), Some(&["uv".to_string(), "sync".to_string()][..]));
    assert_eq!(cfg.python[0].install_inputs, None, "the usual files");
    let cfg = parse(json!({ "python": [{ "module": "m", "install": ["pip", "install", "-r", "req/dev.txt"],
        "install-inputs": ["req", "constraints.txt"] }] }))
    .unwrap();
    assert_eq!(cfg.python[0].install_inputs, Some(vec![PathBuf::from("req"), PathBuf::from("constraints.txt")]));
    for empty in [json!([]), json!([""])] {
        let err = parse(json!({ "python": [{ "module": "m", "install": empty }] })).unwrap_err();
        assert!(err.to_string().contains("the install command is empty"), "{err}");
        assert_eq!(key_of(err), "package.metadata.bench.python[0].install");
    }
    let err = parse(json!({ "python": [{ "module": "m", "install-inputs": ["requirements.txt"] }] })).unwrap_err();
    assert!(err.to_string().contains("has no `install`"), "{err}");
    assert_eq!(key_of(err), "package.metadata.bench.python[0].install-inputs");
    let err = parse(json!({ "python": [{ "module": "m", "install": ["pip"], "install-inputs": ["../x.txt"] }] }))
        .unwrap_err();
    assert_eq!(key_of(err), "package.metadata.bench.python[0].install-inputs[0]");
}

#[test]
fn near_miss_table_names_are_named_with_the_right_one() {
    let metadata = json!({ "coldbench": {}, "benchmark": {}, "bench": {}, "docs": {}, "release": {} });
    let warnings = near_misses(&metadata, "package.metadata", Path::new("/ws/Cargo.toml"));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("`[package.metadata.benchmark]`"), "{warnings:?}");
    assert!(
        warnings[1].contains("`[package.metadata.coldbench]`") && warnings[1].contains("`[package.metadata.bench]`")
    );
    let err = parse(json!({ "starts": [{ "bin": "server" }] })).unwrap_err();
    assert!(err.to_string().contains("did you mean `start`?"), "{err}");
}

#[test]
fn duplicate_names_are_rejected() {
    let err = parse(json!({ "start": [{ "bin": "server" }, { "bin": "server" }] })).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}
