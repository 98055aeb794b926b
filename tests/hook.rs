//! The git pre-push hook, installed in a test repository with a bare "remote".

mod common;

use common::*;
use std::process::Command;

fn push(p: &GitProject, skip: bool) -> std::process::Output {
    let mut cmd = Command::new("git");
    cmd.current_dir(p.path()).args(["push", "origin", "main"]).env_remove("COLDBENCH_SKIP");
    if skip {
        cmd.env("COLDBENCH_SKIP", "1");
    }
    cmd.output().unwrap()
}

fn remote_main(remote: &std::path::Path) -> String {
    git_in(remote, &["rev-parse", "main"]).trim().to_string()
}

#[test]
fn the_hook_blocks_a_push_that_slows_start_up_and_lets_an_unchanged_one_through() {
    let p = GitProject::new(BASE_WORK);
    // The unchanged push below compares identical code with 10 runs a side: at the default ±2%
    // noise a chance shift can block it now and then on a loaded runner; three times the work
    // clears ±20% with room to spare.
    let manifest = std::fs::read_to_string(p.path().join("Cargo.toml")).unwrap();
    std::fs::write(p.path().join("Cargo.toml"), format!("{manifest}\n[package.metadata.bench]\nnoise = \"20%\"\n"))
        .unwrap();
    p.commit_all("A: noise band");
    let a = p.git(&["rev-parse", "HEAD"]).trim().to_string();
    let remote_dir = tempfile::tempdir().unwrap();
    let remote = remote_dir.path().join("remote.git");
    git_in(remote_dir.path(), &["init", "-q", "--bare", "-b", "main", "remote.git"]);
    p.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    p.git(&["push", "-q", "origin", "main"]);

    let res = coldbench().current_dir(p.path()).args(["hook", "install"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    let hook = p.path().join(".git/hooks/pre-push");
    use std::os::unix::fs::PermissionsExt;
    assert!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111 != 0, "the hook is executable");

    // Three times the work: blocked, and the remote keeps A.
    p.set_work(BASE_WORK * 3);
    p.commit_all("B: slower");
    let blocked = push(&p, false);
    assert!(!blocked.status.success(), "the slow push went through:\n{}", describe(&blocked));
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(stderr.contains("start-up regressed: push blocked"), "{stderr}");
    assert_eq!(remote_main(&remote), a);

    // Back to A's code with only a README change: allowed.
    p.git(&["reset", "-q", "--hard", &a]);
    std::fs::write(p.path().join("README.md"), "docs only\n").unwrap();
    let c = p.commit_all("C: docs");
    let allowed = push(&p, false);
    assert!(allowed.status.success(), "the unchanged push was blocked:\n{}", describe(&allowed));
    assert!(String::from_utf8_lossy(&allowed.stderr).contains("coldbench: comparing refs/heads/main"));
    assert_eq!(remote_main(&remote), c);

    // COLDBENCH_SKIP=1 pushes without measuring.
    p.set_work(BASE_WORK * 3);
    let d = p.commit_all("D: slower again");
    let skipped = push(&p, true);
    assert!(skipped.status.success(), "{}", describe(&skipped));
    assert!(!String::from_utf8_lossy(&skipped.stderr).contains("coldbench: comparing"));
    assert_eq!(remote_main(&remote), d);
}

#[test]
fn install_keeps_foreign_hooks_unless_forced_and_uninstall_restores_them() {
    let p = GitProject::new(10);
    let hook = p.path().join(".git/hooks/pre-push");
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();

    let res = coldbench().current_dir(p.path()).args(["hook", "install"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("was not written by cargo-coldbench; leaving it alone"));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\necho mine\n");

    let res = coldbench().current_dir(p.path()).args(["hook", "install", "--force"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert!(std::fs::read_to_string(&hook).unwrap().contains("# cargo-coldbench pre-push hook"));
    let backup = p.path().join(".git/hooks/pre-push.coldbench-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), "#!/bin/sh\necho mine\n");

    let res = coldbench().current_dir(p.path()).args(["hook", "uninstall"]).output().unwrap();
    assert_eq!(res.status.code(), Some(0), "{}", describe(&res));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\necho mine\n", "the user's hook is back");
    assert!(!backup.exists());

    // Uninstall never removes a hook it did not write.
    let res = coldbench().current_dir(p.path()).args(["hook", "uninstall"]).output().unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", describe(&res));
    assert!(hook.exists());
}
