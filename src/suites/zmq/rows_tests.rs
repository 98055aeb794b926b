use super::*;
use crate::measure::policy::{RunCount, RunPolicy};
use crate::results::{Readiness, Thresholds};

/// Settings of a small row, for tests of the suite's modules.
pub(in crate::suites::zmq) fn settings() -> Settings {
    Settings {
        policy: RunPolicy { warmup: 1, runs: RunCount::Exactly(3) },
        thresholds: Thresholds::DEFAULT,
        limits: vec![],
        timeout: Duration::from_secs(5),
        default_entry: false,
        precision: None,
        processes: 2,
    }
}

fn user() -> UserServer {
    UserServer {
        command: crate::suites::UserCommand {
            program: crate::measure::process::core::Program::Path("/bin/true".into()),
            args: vec![],
            env: Default::default(),
            cwd: "/".into(),
        },
        endpoint: "tcp://127.0.0.1:5555".into(),
        ready: Readiness::Exit,
        timeout: Duration::from_secs(1),
        request: None,
        reply: None,
    }
}

#[test]
fn every_scenario_has_rows_and_user_rows_point_at_the_floor() {
    let sizes = Sizes::new(&ZmqConfig::default(), true);
    let input = RowsInput {
        package: "svc",
        sizes,
        groups: &[],
        settings: settings(),
        users: vec![UserRows { name: "echo".into(), pattern: ServerPattern::Rep, server: user() }],
        no_curve: Some("libzmq has no CURVE".into()),
    };
    let rows = rows(&input);
    let ids: Vec<String> = rows.iter().map(|r| r.id.render()).collect();
    for name in ["throughput", "clients", "latency", "latency-payload", "tail", "compression", "handshake", "pipeline"]
    {
        assert!(rows.iter().any(|r| r.id.name == name), "no {name} row");
    }
    assert!(
        ids.contains(&"zmq/svc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]".to_string()),
        "{ids:#?}"
    );
    let mine = rows
        .iter()
        .find(|r| r.id.render() == "zmq/svc/throughput[server=echo,pattern=dealer-router,transport=tcp,payload=16 KiB]")
        .unwrap();
    assert_eq!(
        mine.reference.as_deref(),
        Some("zmq/svc/throughput[server=builtin,pattern=dealer-router,transport=tcp,payload=16 KiB]")
    );
    assert!(rows.iter().filter(|r| matches!(r.server, ServerDef::User(_))).all(|r| r.reference.is_some()));
    // CURVE rows are planned and skipped with the reason; plain ones are not.
    let curve: Vec<&ZmqRow> = rows.iter().filter(|r| r.id.render().contains("curve=on")).collect();
    assert!(!curve.is_empty() && curve.iter().all(|r| r.skip.as_deref() == Some("libzmq has no CURVE")));
    assert!(rows.iter().filter(|r| r.id.render().contains("curve=off")).all(|r| r.skip.is_none()));
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids repeat");
}

#[test]
fn groups_pick_their_rows() {
    let input = RowsInput {
        package: "svc",
        sizes: Sizes::new(&ZmqConfig::default(), true),
        groups: &[Group::Pipeline],
        settings: settings(),
        users: Vec::new(),
        no_curve: None,
    };
    let rows = rows(&input);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.group == Some(Group::Pipeline)));
}

#[test]
fn later_servers_run_against_the_first_and_a_request_without_payload_is_planned_once() {
    use crate::suites::zmq::config::message::{FrameOrigin, ReplyConfig};
    let cfg = ZmqConfig { payload_sizes: Some(vec![64, 1024]), clients: Some(vec![]), ..ZmqConfig::default() };
    let mut a = user();
    a.request = Some(std::sync::Arc::new(vec![RequestFrame::Payload]));
    a.reply = Some(std::sync::Arc::new(ReplyConfig { frames: Some(1), checks: Vec::new() }));
    let mut b = user();
    let ping = RequestFrame::Fixed { bytes: b"PING".to_vec(), origin: FrameOrigin::Text };
    b.request = Some(std::sync::Arc::new(vec![ping]));
    let input = RowsInput {
        package: "svc",
        sizes: Sizes::new(&cfg, true),
        groups: &[Group::Throughput],
        settings: settings(),
        users: vec![
            UserRows { name: "a".into(), pattern: ServerPattern::Rep, server: a },
            UserRows { name: "b".into(), pattern: ServerPattern::Rep, server: b },
        ],
        no_curve: None,
    };
    let rows = rows(&input);
    let of = |server: &str| -> Vec<(String, Option<String>)> {
        rows.iter()
            .filter(|r| r.id.params[0].display() == server)
            .map(|r| (r.id.render(), r.reference.clone()))
            .collect()
    };
    let a_rows = of("a");
    assert_eq!(a_rows.len(), 4, "{a_rows:#?}");
    assert_eq!(
        a_rows[0],
        (
            "zmq/svc/throughput[server=a,pattern=req-rep,transport=tcp,payload=64 B]".to_string(),
            Some("zmq/svc/throughput[server=builtin,pattern=req-rep,transport=tcp,payload=64 B]".to_string())
        )
    );
    // The same PING at every payload size: one row per pattern, measured against the first server.
    assert_eq!(
        of("b"),
        [
            (
                "zmq/svc/throughput[server=b,pattern=req-rep,transport=tcp]".to_string(),
                Some("zmq/svc/throughput[server=a,pattern=req-rep,transport=tcp,payload=64 B]".to_string())
            ),
            (
                "zmq/svc/throughput[server=b,pattern=dealer-router,transport=tcp]".to_string(),
                Some("zmq/svc/throughput[server=a,pattern=dealer-router,transport=tcp,payload=64 B]".to_string())
            ),
        ]
    );
    // Errors fail the gate where replies are checked, and only there.
    let errors_limit = |r: &ZmqRow| r.settings.limits.iter().any(|l| l.metric == "errors" && l.value == 0.0);
    assert!(rows.iter().filter(|r| r.id.params[0].display() == "a").all(errors_limit));
    assert!(!rows.iter().filter(|r| r.id.params[0].display() != "a").any(errors_limit));
}
