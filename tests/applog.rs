//! The application log end to end (docs/applog.md): failures recorded by dispatch in the `api` and
//! `frontend` components, read back through `GET /frontend/logs/` with its filters and checks.

use cc_spin_e2e::{assert_error, send, unix_now, Reply, RunnerConfig, TestApp};
use serde_json::Value;

fn app() -> TestApp {
    let app = TestApp::start(RunnerConfig::app);
    app.add_user("boss", "b0ss-pass", &["admin"], &[]);
    app.add_user("alice", "al1ce-pass", &["user"], &[]);
    app
}

fn logs(app: &TestApp, cookie: &str, query: &str) -> Reply {
    app.call_with_cookie("GET", &format!("/frontend/logs/{query}"), cookie, "", "")
}

/// The entries a successful read returns.
fn entries(app: &TestApp, cookie: &str, query: &str) -> Vec<Value> {
    let reply = logs(app, cookie, query);
    assert_eq!(reply.status, 200, "{query}: {}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json().as_array().expect("a JSON array").clone()
}

fn messages(app: &TestApp, cookie: &str, query: &str) -> Vec<String> {
    entries(app, cookie, query)
        .iter()
        .map(|entry| entry["message"].as_str().unwrap().to_owned())
        .collect()
}

fn error_text(reply: &Reply) -> String {
    reply.json()["error"].as_str().unwrap().to_owned()
}

#[test]
fn refused_authentication_and_a_refused_start_are_logged_and_filtered() {
    let app = app();
    let boss = app.login("boss", "b0ss-pass");
    assert!(entries(&app, &boss, "").is_empty(), "nothing happened yet");

    let refused = app.get("/api/jobs/", "not-a-token");
    assert_eq!(refused.status, 401);
    let start = send(
        "POST",
        &app.runner.url("/api/jobs/start_job/"),
        &[
            ("Authorization", &format!("Bearer {}", app.adapter())),
            ("User-Agent", "cc-nats-bridge/9.9.9"),
        ],
        br#"{"jobId": 1, "user": "u", "project": "p", "cluster": "no-such-cluster", "startTime": 1}"#,
    );
    assert!(
        (400..500).contains(&start.status),
        "refused: {}",
        start.text()
    );
    // Neither successful requests nor failed reads are logged.
    assert_eq!(app.get("/api/jobs/", &app.admin()).status, 200);
    assert!(app.get("/api/jobs/999999", &app.admin()).status >= 400);

    let logged = entries(&app, &boss, "");
    assert_eq!(logged.len(), 2, "{logged:?}");
    let now_us = unix_now() * 1_000_000;
    for entry in &logged {
        let timestamp: i64 = entry["timestamp"].as_str().unwrap().parse().unwrap();
        assert!((now_us - 120_000_000..=now_us + 1_000_000).contains(&timestamp));
        assert_eq!(entry["unit"], "api");
        assert_eq!(entry.as_object().unwrap().len(), 4, "{entry}");
    }
    assert_eq!(logged[0]["priority"], 4);
    assert_eq!(
        logged[0]["message"],
        format!(
            "authentication failed: GET /api/jobs/ from 127.0.0.1: 401 {}",
            error_text(&refused)
        )
    );
    assert_eq!(logged[1]["priority"], 5);
    assert_eq!(
        logged[1]["message"],
        format!(
            "request failed: POST /api/jobs/start_job/ from 127.0.0.1 via cc-nats-bridge/9.9.9: {} {}",
            start.status,
            error_text(&start)
        )
    );
    assert!(
        !logged[1]["message"].as_str().unwrap().contains("eyJ"),
        "no token in the log"
    );

    let all = messages(&app, &boss, "");
    assert_eq!(messages(&app, &boss, "?level=4"), all[..1]);
    assert_eq!(messages(&app, &boss, "?level=5"), all);
    assert!(messages(&app, &boss, "?level=3").is_empty());
    assert_eq!(
        messages(&app, &boss, "?lines=1"),
        all[1..],
        "the newest line"
    );
    assert_eq!(messages(&app, &boss, "?lines=5000"), all);
    assert_eq!(messages(&app, &boss, "?search=cc-nats-bridge"), all[1..]);
    assert!(messages(&app, &boss, "?search=CC-NATS-BRIDGE").is_empty());
    assert_eq!(messages(&app, &boss, "?since=10+minutes+ago"), all);
    assert_eq!(messages(&app, &boss, "?since=today"), all);
    assert!(messages(&app, &boss, "?since=tomorrow").is_empty());
    assert!(messages(&app, &boss, "?since=now").is_empty());
    assert_eq!(messages(&app, &boss, "?since=2001-09-09+01:46:40"), all);
    assert_eq!(
        messages(&app, &boss, "?since=1h+ago&lines=1&level=4&search=GET"),
        all[..1]
    );
    assert_eq!(
        app.count("SELECT count(*) FROM app_log"),
        2,
        "reading the log writes nothing"
    );
}

#[test]
fn only_admins_read_the_log_and_bad_parameters_are_refused_in_order() {
    let app = app();
    let boss = app.login("boss", "b0ss-pass");
    let alice = app.login("alice", "al1ce-pass");

    assert_error(&logs(&app, "", ""), 401, "unauthorized");
    assert_error(
        &logs(&app, &alice, ""),
        403,
        "only admins are allowed to view logs",
    );
    assert_error(
        &logs(&app, &alice, "?since=x%7Cy"),
        403,
        "only admins are allowed to view logs",
    );
    for (query, message) in [
        ("?since=1+hour+ago%3B", "invalid 'since' parameter"),
        ("?since=last+week", "invalid 'since' parameter"),
        ("?since=2026-02-30", "invalid 'since' parameter"),
        (
            "?since=bad!&lines=x&level=9&search=%2A",
            "invalid 'since' parameter",
        ),
        ("?lines=0", "invalid 'lines' parameter"),
        ("?lines=-5", "invalid 'lines' parameter"),
        ("?lines=2.5", "invalid 'lines' parameter"),
        ("?lines=x&level=9&search=%2A", "invalid 'lines' parameter"),
        ("?level=8", "invalid 'level' parameter (must be 0-7)"),
        ("?level=-1", "invalid 'level' parameter (must be 0-7)"),
        (
            "?level=err&search=%2A",
            "invalid 'level' parameter (must be 0-7)",
        ),
        ("?search=a%7Cb", "invalid 'search' parameter"),
        ("?search=%2A", "invalid 'search' parameter"),
    ] {
        assert_error(&logs(&app, &boss, query), 400, message);
    }
    // Empty values count as absent, as in cc-backend.
    assert_eq!(
        logs(&app, &boss, "?since=&lines=&level=&search=").status,
        200
    );

    // Of all that, only the refused session reached the log; refused reads did not.
    let logged = entries(&app, &boss, "");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(
        (
            &logged[0]["priority"],
            &logged[0]["unit"],
            &logged[0]["message"]
        ),
        (
            &Value::from(4),
            &Value::from("frontend"),
            &Value::from(
                "authentication failed: GET /frontend/logs/ from 127.0.0.1: 401 unauthorized"
            )
        )
    );
}
