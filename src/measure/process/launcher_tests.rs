use super::*;
use crate::results::Readiness;

fn spec(program: &str, args: &[&str], readiness: Readiness, timeout_ms: u64) -> ProcessSpec {
    ProcessSpec {
        program: which::which(program).unwrap(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: BTreeMap::new(),
        cwd: std::env::temp_dir(),
        readiness,
        timeout: Duration::from_millis(timeout_ms),
        capture_stdout: false,
        capture_stderr: false,
        cache: CacheMode::Warm,
        evict_first: None,
        cpu: None,
    }
}

#[test]
fn successful_exit_is_not_a_failure() {
    let mut l = Launcher::new(spec("true", &[], Readiness::Exit, 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.ending, Ending::Exited { code: 0 });
    assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)), None);
    assert!(rec.usage.max_rss > 0);
}

#[test]
fn exit_codes_signals_and_stderr_are_reported() {
    let mut l = Launcher::new(spec("sh", &["-c", "echo oops >&2; exit 3"], Readiness::Exit, 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)).unwrap(), "exited with status 3");
    assert_eq!(rec.stderr_tail.as_deref(), Some("oops"));

    let mut l = Launcher::new(spec("sh", &["-c", "kill -SEGV $$"], Readiness::Exit, 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.failure(&Readiness::Exit, Duration::from_secs(5)).unwrap(), "killed by signal 11 (SIGSEGV)");
}

#[test]
fn a_hanging_process_is_killed_at_the_timeout_with_its_group() {
    let mut l = Launcher::new(spec("sh", &["-c", "sleep 31.5 & sleep 30"], Readiness::Exit, 300)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.ending, Ending::TimedOut);
    assert_eq!(
        crate::testing::left_after_kill(b"sleep\x0031.5\x00"),
        0,
        "the background child of the timed-out process survived"
    );
    assert!(rec.wall >= Duration::from_millis(300));
    assert_eq!(rec.failure(&Readiness::Exit, Duration::from_millis(300)).unwrap(), "timed out after 300ms");
}

#[test]
fn stdout_readiness_ends_the_run_at_the_matching_line() {
    let ready = Readiness::Stdout { pattern: "^listening".into() };
    let mut l = Launcher::new(spec(
        "sh",
        &["-c", "echo starting; sleep 0.1; echo listening on 1; sleep 30"],
        ready.clone(),
        5000,
    ))
    .unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.ending, Ending::Ready);
    assert!(rec.wall >= Duration::from_millis(100), "{:?}", rec.wall);
    assert!(rec.wall < Duration::from_secs(5), "{:?}", rec.wall);
}

#[test]
fn children_start_with_no_blocked_signals() {
    let mut s = spec("sh", &["-c", "grep SigBlk /proc/self/status"], Readiness::Exit, 5000);
    s.capture_stdout = true;
    let rec = Launcher::new(s).unwrap().run().unwrap();
    let out = rec.stdout.unwrap();
    assert!(out.trim().ends_with("0000000000000000"), "interrupts blocked around spawn leaked into the child: {out}");
}

#[test]
fn a_ready_line_printed_just_before_exit_counts() {
    let ready = Readiness::Stdout { pattern: "^ready$".into() };
    let mut l = Launcher::new(spec("sh", &["-c", "echo ready"], ready.clone(), 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.ending, Ending::Ready, "{rec:?}");
}

#[test]
fn exiting_before_ready_is_a_failure() {
    let ready = Readiness::Stdout { pattern: "never".into() };
    let mut l = Launcher::new(spec("sh", &["-c", "echo hi"], ready.clone(), 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.failure(&ready, Duration::from_secs(5)).unwrap(), "exited with status 0 before it was ready");
}

#[test]
fn file_readiness_waits_for_the_file_and_removes_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ready.flag");
    std::fs::write(&marker, "stale").unwrap();
    let ready = Readiness::File { path: marker.clone() };
    let script = format!("sleep 0.05; touch {}; sleep 30", marker.display());
    let mut l = Launcher::new(spec("sh", &["-c", &script], ready, 5000)).unwrap();
    let rec = l.run().unwrap();
    assert_eq!(rec.ending, Ending::Ready);
    assert!(rec.wall >= Duration::from_millis(50), "stale file counted as ready: {:?}", rec.wall);
}

#[test]
fn tcp_readiness_connects_to_the_port() {
    // A free port is only free until someone takes it: another test or program may bind it between
    // this check and the script's bind, and the launcher then refuses to start (rightly). Such a
    // refusal is tried again on another port; any other ending is the readiness check's.
    for _ in 0..5 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let ready = Readiness::Tcp { addr };
        let script = format!(
            "sleep 0.05; exec python3 -c 'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\",{})); s.listen(); time.sleep(30)'",
            addr.port()
        );
        let mut l = Launcher::new(spec("sh", &["-c", &script], ready, 10_000)).unwrap();
        let rec = l.run().unwrap();
        if matches!(&rec.ending, Ending::Blocked { reason } if reason.contains("already accepts connections")) {
            continue;
        }
        assert_eq!(rec.ending, Ending::Ready, "{rec:?}");
        assert!(rec.wall >= Duration::from_millis(50));
        return;
    }
    panic!("five free ports in a row were taken before the script could bind them");
}
