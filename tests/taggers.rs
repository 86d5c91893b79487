//! End-to-end tests of the job taggers (docs/taggers.md): the application tagger at
//! `start_job` and the job-class tagger after archiving when `enable_job_taggers` is `true`,
//! and the `/config/taggers/` routes over stored jobs, served from the app's own spin.toml
//! (clusters/ and the shipped rules in taggers/).

use std::time::Duration;

use cc_spin_e2e::{assert_error, unix_now, wait_until, Reply, RunnerConfig, TestApp};
use serde_json::{json, Value};

const FORM: &str = "application/x-www-form-urlencoded";

/// The shipped excessive-load rule's hint for an average load of 100 on fritz (peak 72).
const EXCESSIVE_LOAD_HINT: &str = "This job was detected as having excessive CPU load: average \
    cpu load 100 exceeds the oversubscription threshold 86.39999999999999 (1.2 \u{d7} 72 peak \
    cores), indicating CPU contention.";

fn start_app(taggers_enabled: bool) -> (TestApp, String) {
    let app = TestApp::start(|keys| {
        RunnerConfig::app(keys).variable(
            "enable_job_taggers",
            if taggers_enabled { "true" } else { "false" },
        )
    });
    app.add_user("boss", "secret-pass", &["admin"], &[]);
    let cookie = app.login("boss", "secret-pass");
    (app, cookie)
}

/// A minute-aligned time an hour ago.
fn an_hour_ago() -> i64 {
    (unix_now() - 3600) / 60 * 60
}

/// A one-node fritz job on `host` running `script`; `extra` fields are merged in.
fn job(job_id: i64, start_time: i64, host: &str, script: &str, extra: Value) -> Value {
    let mut body = json!({
        "jobId": job_id, "user": "alice", "project": "p", "cluster": "fritz", "numNodes": 1,
        "resources": [{"hostname": host}], "startTime": start_time,
        "metaData": {"jobScript": script},
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

fn db_id(app: &TestApp, job_id: i64) -> i64 {
    app.db()
        .query_row("SELECT id FROM job WHERE job_id = ?1", [job_id], |row| {
            row.get(0)
        })
        .unwrap()
}

/// `type:name:scope` of the tags of job `id`.
fn tags_of(app: &TestApp, id: i64) -> Vec<String> {
    let db = app.db();
    let mut statement = db
        .prepare(
            "SELECT tag_type || ':' || tag_name || ':' || tag_scope FROM tag \
             JOIN jobtag ON tag.id = jobtag.tag_id WHERE job_id = ?1 ORDER BY tag.id",
        )
        .unwrap();
    statement
        .query_map([id], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn message_of(app: &TestApp, id: i64) -> Option<String> {
    app.db()
        .query_row(
            "SELECT json_extract(meta_data, '$.message') FROM job WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap()
}

fn monitoring_status(app: &TestApp, id: i64) -> i64 {
    app.db()
        .query_row(
            "SELECT monitoring_status FROM job WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .unwrap()
}

/// Writes a node-level `cpu_load` of `value` for `host`, once a minute over `minutes`.
fn write_cpu_load(app: &TestApp, host: &str, start: i64, minutes: i64, value: f64) {
    let lines: Vec<String> = (0..=minutes)
        .map(|minute| {
            let time = start + 60 * minute;
            format!("cpu_load,cluster=fritz,hostname={host},type=node value={value} {time}")
        })
        .collect();
    let reply = app.call("POST", "/api/write", &app.adapter(), &lines.join("\n"));
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// Stops a started job after 15 minutes and waits until it is archived.
fn stop_and_archive(app: &TestApp, job_id: i64, start: i64) -> i64 {
    let reply =
        app.stop_job(&json!({"jobId": job_id, "cluster": "fritz", "stopTime": start + 900}));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let id = db_id(app, job_id);
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || monitoring_status(app, id) == 3,
        || format!("archiving job {id}: status {}", monitoring_status(app, id)),
    );
    id
}

fn listing(app: &TestApp, cookie: &str) -> Value {
    let reply = app.call_with_cookie("GET", "/config/taggers/", cookie, FORM, "");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

fn running(app: &TestApp, cookie: &str) -> (bool, bool) {
    let listed = listing(app, cookie);
    (
        listed[0]["running"].as_bool().unwrap(),
        listed[1]["running"].as_bool().unwrap(),
    )
}

fn run(app: &TestApp, cookie: &str, form: &str) -> Reply {
    app.call_with_cookie("POST", "/config/taggers/run/", cookie, FORM, form)
}

#[test]
fn enabled_taggers_tag_started_and_archived_jobs() {
    let (app, _) = start_app(true);
    let start = an_hour_ago();
    for (job_id, script) in [
        (1, "#!/bin/bash\nmodule load GROMACS\nsrun gmx mdrun"),
        (2, "./a.out"),
    ] {
        let reply = app.start_job(&job(job_id, start, "f0101", script, json!({})));
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    assert_eq!(tags_of(&app, db_id(&app, 1)), ["app:gromacs:global"]);
    assert_eq!(tags_of(&app, db_id(&app, 2)), Vec::<String>::new());

    // Job 1 overloads its node: excessive load; job 2's node is busy but not overloaded.
    write_cpu_load(&app, "f0101", start, 15, 100.0);
    let overloaded = stop_and_archive(&app, 1, start);
    assert_eq!(
        tags_of(&app, overloaded),
        ["app:gromacs:global", "jobClass:excessiveload:global"]
    );
    assert_eq!(
        message_of(&app, overloaded).as_deref(),
        Some(EXCESSIVE_LOAD_HINT)
    );
    // The job's answer carries the tag and the hint too.
    let answer = app
        .get(&format!("/api/jobs/{overloaded}"), &app.admin())
        .json();
    assert_eq!(answer["Meta"]["metaData"]["message"], EXCESSIVE_LOAD_HINT);
    let tags = &answer["Meta"]["tags"];
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|tag| tag["type"] == "jobClass" && tag["name"] == "excessiveload"),
        "{tags}"
    );

    let reply = app.start_job(&job(3, start, "f0102", "python run.py", json!({})));
    assert_eq!(reply.status, 201, "{}", reply.text());
    write_cpu_load(&app, "f0102", start, 15, 70.0);
    let normal = stop_and_archive(&app, 3, start);
    assert_eq!(tags_of(&app, normal), ["app:python:global"]);
    assert_eq!(message_of(&app, normal), None);
}

#[test]
fn runs_over_stored_jobs_and_their_errors() {
    let (app, cookie) = start_app(false);
    assert_eq!(
        listing(&app, &cookie),
        json!([
            {"name": "AppTagger", "type": "start", "running": false},
            {"name": "JobClassTagger", "type": "stop", "running": false},
        ])
    );
    assert_error(
        &run(&app, &cookie, ""),
        400,
        "missing required parameter: name",
    );
    assert_error(
        &run(&app, &cookie, "name=NoTagger"),
        409,
        "unknown tagger: NoTagger",
    );

    // More stopped jobs than one batch (200), without archives; one running job.
    let start = an_hour_ago();
    let count = 230;
    for job_id in 1..=count {
        let body = job(
            job_id,
            start,
            "f0101",
            "srun vasp_std",
            json!({"monitoringStatus": 0}),
        );
        assert_eq!(app.start_job(&body).status, 201);
        let stop = json!({"jobId": job_id, "cluster": "fritz", "stopTime": start + 100});
        assert_eq!(app.stop_job(&stop).status, 200);
    }
    let body = job(
        1000,
        start,
        "f0101",
        "srun vasp_std",
        json!({"monitoringStatus": 0}),
    );
    assert_eq!(app.start_job(&body).status, 201);
    assert_eq!(tags_of(&app, db_id(&app, 1)), Vec::<String>::new());

    let reply = run(&app, &cookie, "name=AppTagger");
    assert_eq!(
        (reply.status, reply.text()),
        (200, "Tagger AppTagger started")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || running(&app, &cookie) == (false, false),
        || format!("the run to finish: {}", listing(&app, &cookie)),
    );
    let tagged: i64 = app.db().query_row(
        "SELECT count(*) FROM jobtag JOIN tag ON tag.id = jobtag.tag_id WHERE tag_type = 'app' AND tag_name = 'vasp'",
        [],
        |row| row.get(0),
    ).unwrap();
    assert_eq!(tagged, count, "every stopped job, not the running one");
    assert_eq!(tags_of(&app, db_id(&app, 1000)), Vec::<String>::new());

    // A run in progress elsewhere (fresh progress in the key-value store) refuses another.
    let kv = rusqlite::Connection::open(app.runner.state_dir.join("sqlite_key_value.db")).unwrap();
    let progress = |updated_at: i64| {
        kv.execute(
            "INSERT OR REPLACE INTO spin_key_value (store, key, value) VALUES ('default', 'tagger/JobClassTagger', ?1)",
            [json!({"last_id": 0, "updated_at": updated_at, "handled": 0}).to_string().into_bytes()],
        )
        .unwrap();
    };
    progress(unix_now());
    assert_eq!(running(&app, &cookie), (false, true));
    assert_error(
        &run(&app, &cookie, "name=JobClassTagger"),
        409,
        "tagger JobClassTagger is already running",
    );

    // Its instance died (no progress for a minute): the next request resumes the run, which
    // classifies the archived job.
    let reply = app.start_job(&job(2000, start, "f0102", "./a.out", json!({})));
    assert_eq!(reply.status, 201, "{}", reply.text());
    write_cpu_load(&app, "f0102", start, 15, 100.0);
    let overloaded = stop_and_archive(&app, 2000, start);
    assert_eq!(
        tags_of(&app, overloaded),
        Vec::<String>::new(),
        "taggers are disabled"
    );
    progress(unix_now() - 61);
    assert_eq!(running(&app, &cookie), (false, false));
    let reply = run(&app, &cookie, "name=JobClassTagger");
    assert_eq!(
        (reply.status, reply.text()),
        (200, "Tagger JobClassTagger started")
    );
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || running(&app, &cookie) == (false, false),
        || format!("the run to finish: {}", listing(&app, &cookie)),
    );
    assert_eq!(tags_of(&app, overloaded), ["jobClass:excessiveload:global"]);
    assert_eq!(
        message_of(&app, overloaded).as_deref(),
        Some(EXCESSIVE_LOAD_HINT)
    );
}

#[test]
fn tagger_routes_need_an_admin_session() {
    // The config group's authentication refuses everyone else before the handlers.
    let (app, _) = start_app(false);
    app.add_user("alice", "alice-pass", &["user"], &[]);
    let user = app.login("alice", "alice-pass");
    for (method, path) in [
        ("GET", "/config/taggers/"),
        ("POST", "/config/taggers/run/"),
    ] {
        let reply = app.call_with_cookie(method, path, &user, FORM, "name=AppTagger");
        assert_error(&reply, 401, "unauthorized");
        let anonymous = app.call_with_cookie(method, path, "", FORM, "name=AppTagger");
        assert_eq!(
            anonymous.status,
            401,
            "{method} {path}: {}",
            anonymous.text()
        );
    }
}
