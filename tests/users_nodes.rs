//! End-to-end tests of users, node states and machine states: the real `api` component served by
//! `cc-spin up`, users created with the `cc-admin` binary on the runner's database while it runs,
//! stored rows checked with rusqlite on the same file.

use std::process::Command;

use cc_spin_e2e::{
    assert_error, assert_error_prefix, binary, get, send, unix_now, usernames, workspace_root,
    Reply, RunnerConfig, TestApp, NOT_FOUND_BODY,
};
use rusqlite::Connection;
use serde_json::{json, Value};

/// The app with the users and node-state routes' helpers.
struct App {
    served: TestApp,
}

impl App {
    fn start(machine_state_enabled: bool) -> App {
        Self::start_in(tempfile::tempdir().unwrap(), machine_state_enabled)
    }

    fn start_in(state: tempfile::TempDir, machine_state_enabled: bool) -> App {
        let served = TestApp::start_in(state, |keys| {
            let config = RunnerConfig::app(keys);
            if machine_state_enabled {
                config.variable("machine_state_enabled", "true")
            } else {
                config
            }
        });
        App { served }
    }

    fn admin_token(&self) -> String {
        self.token("admin", &["admin", "api"])
    }

    fn api_token(&self) -> String {
        self.token("robot", &["api"])
    }

    fn as_admin(&self, method: &str, path: &str, body: &str) -> Reply {
        self.call(method, path, &self.admin_token(), body)
    }

    /// `cc-admin user <args> --db <state>/sqlite_db.db`, which must succeed.
    fn cc_admin(&self, args: &[&str]) {
        let output = Command::new(binary("cc-admin"))
            .arg("user")
            .args(args)
            .arg("--db")
            .arg(self.served.db_path())
            .output()
            .unwrap();
        assert!(output.status.success(), "cc-admin {args:?}: {output:?}");
    }
}

impl std::ops::Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.served
    }
}

/// A 405 whose `Allow` headers name only methods of `allowed`. The component emits one header per
/// method, but spin-sdk's response conversion keeps only the last of repeated headers, so the
/// complete list cannot be asserted through the runner.
fn assert_method_not_allowed(reply: &Reply, allowed: &[&str]) {
    assert_eq!((reply.status, reply.body.len()), (405, 0));
    let named: Vec<&str> = reply
        .header_values("allow")
        .into_iter()
        .flat_map(|value| value.split(", "))
        .collect();
    assert!(!named.is_empty());
    assert!(
        named.iter().all(|method| allowed.contains(method)),
        "{named:?}"
    );
}

fn create_sample_users(app: &App) {
    app.cc_admin(&[
        "add",
        "alice",
        "--roles",
        "admin,api",
        "--password",
        "pw",
        "--name",
        "Alice <A>",
        "--email",
        "alice@example.com",
    ]);
    app.cc_admin(&["add", "robot", "--roles", "api"]);
    app.cc_admin(&["add", "plain", "--roles", "user", "--password", "pw"]);
    app.cc_admin(&[
        "add",
        "boss",
        "--roles",
        "manager,user",
        "--password",
        "pw",
        "--project",
        "p1",
    ]);
}

#[test]
fn users_are_listed_for_admins_only() {
    let app = App::start(false);
    create_sample_users(&app);

    let all = app.as_admin("GET", "/api/users/", "");
    assert_eq!(all.status, 200);
    assert_eq!(all.header_values("content-type"), ["application/json"]);
    assert_eq!(
        all.text(),
        "[{\"username\":\"alice\",\"name\":\"Alice \\u003cA\\u003e\",\"email\":\"alice@example.com\",\
         \"roles\":[\"admin\",\"api\"],\"projects\":[],\"authType\":0,\"authSource\":0},\
         {\"username\":\"robot\",\"name\":\"\",\"email\":\"\",\"roles\":[\"api\"],\"projects\":[],\
         \"authType\":0,\"authSource\":0},\
         {\"username\":\"plain\",\"name\":\"\",\"email\":\"\",\"roles\":[\"user\"],\"projects\":[],\
         \"authType\":0,\"authSource\":0},\
         {\"username\":\"boss\",\"name\":\"\",\"email\":\"\",\"roles\":[\"manager\",\"user\"],\
         \"projects\":[\"p1\"],\"authType\":0,\"authSource\":0}]\n"
    );

    assert_eq!(
        usernames(&app.as_admin("GET", "/api/users/?not-just-user=true", "")),
        ["alice", "robot", "boss"]
    );
    assert_eq!(
        usernames(&app.as_admin("GET", "/api/users/?not-just-user=TRUE", "")).len(),
        4
    );
    assert_eq!(
        usernames(&app.as_admin("GET", "/api/users/?not-just-user=false", "")).len(),
        4
    );

    // A user whose roles cc-backend stored as a BLOB still counts as a plain user.
    app.db()
        .execute(
            "INSERT INTO hpc_user (username, roles, projects) VALUES ('legacy', CAST('[\"user\"]' AS BLOB), '[]')",
            [],
        )
        .unwrap();
    assert_eq!(
        usernames(&app.as_admin("GET", "/api/users/?not-just-user=true", "")),
        ["alice", "robot", "boss"]
    );

    assert_error(
        &app.call("GET", "/api/users/", &app.api_token(), ""),
        403,
        "only admins are allowed to fetch a list of users",
    );
    assert_error(
        &get(&app.runner.url("/api/users/"), &[]),
        401,
        "no user for secured check",
    );
    let wrong_method = app.as_admin("POST", "/api/users/", "");
    assert_eq!(
        (wrong_method.status, wrong_method.header_values("allow")),
        (405, vec!["GET"])
    );
    assert_eq!(app.as_admin("GET", "/api/users", "").text(), NOT_FOUND_BODY);
}

fn update(app: &App, user: &str, body: Value) -> Reply {
    app.as_admin("POST", &format!("/api/user/{user}"), &body.to_string())
}

fn stored_lists(app: &App, user: &str) -> (String, String, String) {
    app.db()
        .query_row(
            "SELECT roles, projects, typeof(roles) FROM hpc_user WHERE username = ?",
            [user],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap()
}

#[test]
fn roles_and_projects_are_updated_with_reference_messages() {
    let app = App::start(false);
    create_sample_users(&app);
    let ok = |reply: Reply, message: &str| {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header_values("content-type"), ["application/json"]);
        assert_eq!(reply.text(), format!("{{\"msg\":\"{message}\"}}\n"));
    };

    ok(
        update(&app, "plain", json!({"add-role": "API"})),
        "Add Role Success for user plain",
    );
    assert_eq!(
        stored_lists(&app, "plain"),
        (r#"["user","api"]"#.into(), "[]".into(), "text".into())
    );
    assert_error(
        &update(&app, "plain", json!({"add-role": "api"})),
        422,
        "adding role failed: user plain already has role api",
    );
    assert_error(
        &update(&app, "plain", json!({"add-role": "root"})),
        422,
        "adding role failed: supplied role is no valid option : root",
    );
    ok(
        update(&app, "plain", json!({"remove-role": "user"})),
        "Remove Role Success for user plain",
    );
    assert_error(
        &update(&app, "plain", json!({"remove-role": "user"})),
        422,
        "removing role failed: role already deleted for user 'plain': user",
    );
    ok(
        update(&app, "plain", json!({"remove-role": "api"})),
        "Remove Role Success for user plain",
    );
    assert_eq!(stored_lists(&app, "plain").0, "[]");

    // Only the first non-empty operation runs.
    ok(
        update(
            &app,
            "boss",
            json!({"add-role": "", "add-project": "p2", "remove-project": "p1"}),
        ),
        "Add Project Success for user boss",
    );
    assert_eq!(stored_lists(&app, "boss").1, r#"["p1","p2"]"#);
    assert_error(
        &update(&app, "boss", json!({"add-project": "p1"})),
        422,
        "adding project failed: user 'boss' already manages project 'p1'",
    );
    assert_error(
        &update(&app, "boss", json!({"remove-role": "manager"})),
        422,
        "removing role failed: cannot remove role 'manager' while user boss still has assigned project(s) : [p1 p2]",
    );
    assert_error(
        &update(&app, "boss", json!({"remove-project": "P1"})),
        422,
        r#"removing project failed: user "boss": Cannot remove project "P1" - Does not match"#,
    );
    ok(
        update(&app, "boss", json!({"remove-project": "p1"})),
        "Remove Project Success for user boss",
    );
    assert_error(
        &update(&app, "alice", json!({"add-project": "p1"})),
        422,
        "adding project failed: user 'alice' is not a manager",
    );
    assert_error(
        &update(&app, "alice", json!({"remove-project": "p1"})),
        422,
        r#"removing project failed: user "alice" is not a manager"#,
    );
    assert_error(
        &update(&app, "nobody", json!({"add-role": "api"})),
        422,
        "adding role failed: sql: no rows in result set",
    );

    assert_error(
        &update(&app, "plain", json!({})),
        400,
        "no operation specified: must provide add-role, remove-role, add-project, or remove-project",
    );
    assert_error(
        &update(&app, "plain", json!({"add-role": "api", "role": "x"})),
        400,
        r#"decoding request failed: json: unknown field "role""#,
    );
    assert_error(
        &update(&app, "plain", json!({"add-role": 5})),
        400,
        "decoding request failed: json: cannot unmarshal number into Go struct field \
         UserUpdateBody.add-role of type string",
    );
    assert_error(
        &update(&app, "plain", json!([])),
        400,
        "decoding request failed: json: cannot unmarshal array into Go value of type UserUpdateBody",
    );
    // Go matches keys case-insensitively.
    assert_eq!(
        update(&app, "plain", json!({"Add-Role": "support"})).status,
        200
    );
    assert_eq!(
        update(&app, "plain", json!({"remove-role": "support"})).status,
        200
    );
    assert_error(
        &app.as_admin("POST", "/api/user/plain", ""),
        400,
        "decoding request failed: EOF",
    );
    assert_error(
        &app.call(
            "POST",
            "/api/user/plain",
            &app.api_token(),
            r#"{"add-role":"admin"}"#,
        ),
        403,
        "only admins are allowed to update a user",
    );
    let wrong_method = app.as_admin("GET", "/api/user/plain", "");
    assert_eq!(
        (wrong_method.status, wrong_method.header_values("allow")),
        (405, vec!["POST"])
    );
    assert_eq!(
        stored_lists(&app, "plain").0,
        "[]",
        "refused requests change nothing"
    );
}

type StateRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    i64,
);

fn node_state_rows(app: &App) -> Vec<StateRow> {
    let conn = app.db();
    let mut statement = conn
        .prepare(
            "SELECT n.hostname, n.subcluster, s.node_state, s.health_state, s.health_metrics, \
             s.cpus_allocated, s.memory_allocated, s.gpus_allocated, s.jobs_running, s.time_stamp \
             FROM node_state s JOIN node n ON n.id = s.node_id ORDER BY s.id",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
                row.get(9)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn assert_empty_ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.body.is_empty(), "{}", reply.text());
    assert!(
        reply.header("content-type").is_none(),
        "{:?}",
        reply.headers
    );
}

#[test]
fn node_states_are_recorded_per_reported_node() {
    let app = App::start(false);
    let before = unix_now();
    let body = json!({"cluster": "fritz", "nodes": [
        {"hostname": "f0101", "states": ["ALLOCATED", "idle"], "cpusAllocated": 72,
         "memoryAllocated": 240000, "gpusAllocated": 0, "jobsRunning": 1},
        {"hostname": "f2157", "states": ["idle", "down"]},
        {"hostname": "x9999", "states": ["idle"]},
        {"hostname": "f0101", "states": ["mix"]},
    ]});
    assert_empty_ok(&app.call(
        "POST",
        "/api/nodestate/",
        &app.api_token(),
        &body.to_string(),
    ));
    let after = unix_now();

    let rows = node_state_rows(&app);
    let stamps: Vec<i64> = rows.iter().map(|row| row.9).collect();
    assert!(
        stamps.iter().all(|stamp| (before..=after).contains(stamp)),
        "{stamps:?}"
    );
    let row = |host: &str, sub: &str, state: &str, numbers: [i64; 4], stamp: i64| -> StateRow {
        (
            host.into(),
            sub.into(),
            state.into(),
            "failed".into(),
            Some(String::new()),
            numbers[0],
            numbers[1],
            numbers[2],
            numbers[3],
            stamp,
        )
    };
    assert_eq!(
        rows,
        [
            row("f0101", "main", "allocated", [72, 240_000, 0, 1], stamps[0]),
            row("f2157", "spr1tb", "down", [0; 4], stamps[1]),
            row("f0101", "main", "unknown", [0; 4], stamps[2]),
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM node"), 2);

    // PUT behaves the same; an unknown cluster registers nothing but is no error.
    let put = json!({"cluster": "fritz", "nodes": [{"hostname": "f0101", "states": ["reserved"]}]});
    assert_empty_ok(&app.call(
        "PUT",
        "/api/nodestate/",
        &app.admin_token(),
        &put.to_string(),
    ));
    let unknown =
        json!({"cluster": "nowhere", "nodes": [{"hostname": "f0101", "states": ["idle"]}]});
    assert_empty_ok(&app.as_admin("POST", "/api/nodestate/", &unknown.to_string()));
    assert_empty_ok(&app.as_admin(
        "POST",
        "/api/nodestate/",
        r#"{"cluster":"fritz","nodes":[]}"#,
    ));
    let rows = node_state_rows(&app);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3].2, "reserved");
}

#[test]
fn bad_node_state_bodies_are_rejected_and_store_nothing() {
    let app = App::start(false);
    // Creates the schema (bad bodies never reach the database) and shows the empty user list.
    assert_eq!(app.as_admin("GET", "/api/users/", "").text(), "[]\n");
    let post = |body: &str| app.as_admin("POST", "/api/nodestate/", body);
    assert_error(
        &post(r#"{"cluster":"fritz","nodes":[{"hostname":"f0101","cpus":1}]}"#),
        400,
        r#"parsing request body failed: json: unknown field "cpus""#,
    );
    assert_error(&post(""), 400, "parsing request body failed: EOF");
    assert_error(
        &post(r#"{"cluster":"fritz""#),
        400,
        "parsing request body failed: unexpected EOF",
    );
    for body in [
        r#"{"cluster":"fritz","nodes":"not an array"}"#,
        r#"{"cluster":"fritz","nodes":[{"hostname":"f0101","jobsRunning":99999999999999999999}]}"#,
        r#"{"cluster":"fritz","nodes":[{"hostname":"f0101","cpusAllocated":1.5}]}"#,
        r#"{"cluster":7}"#,
        "[1,2]",
        "[]",
    ] {
        assert_error_prefix(&post(body), 400, "parsing request body failed: json: ");
    }
    assert_error(
        &send("POST", &app.runner.url("/api/nodestate/"), &[], b"{}"),
        401,
        "no user for secured check",
    );
    let user_token = app.keys.token("someone", &["api", "user"], 3600);
    assert_error(
        &app.call("POST", "/api/nodestate/", &user_token, "{}"),
        401,
        "unauthorized",
    );
    let wrong_method = app.as_admin("DELETE", "/api/nodestate/", "");
    assert_method_not_allowed(&wrong_method, &["POST", "PUT"]);
    assert_eq!(app.count("SELECT count(*) FROM node_state"), 0);
    assert_eq!(app.count("SELECT count(*) FROM node"), 0);
}

#[test]
fn concurrent_updates_register_a_new_node_once() {
    let app = App::start(false);
    let token = app.api_token();
    let body = json!({"cluster": "emmy", "nodes": [{"hostname": "w1127", "states": ["idle"]}]})
        .to_string();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| app.call("POST", "/api/nodestate/", &token, &body)))
            .collect();
        for handle in handles {
            assert_empty_ok(&handle.join().unwrap());
        }
    });
    assert_eq!(app.count("SELECT count(*) FROM node"), 1);
    assert_eq!(app.count("SELECT count(*) FROM node_state"), 20);
    assert_eq!(
        app.count("SELECT count(DISTINCT node_id) FROM node_state WHERE node_state = 'idle'"),
        1
    );
}

#[test]
fn node_states_are_written_to_cc_backends_sample_database() {
    let state = tempfile::tempdir().unwrap();
    std::fs::copy(
        workspace_root().join("tests/fixtures/cc-backend-sample/job.db"),
        state.path().join("sqlite_db.db"),
    )
    .unwrap();
    let app = App::start_in(state, false);
    // host124 is already registered there (cluster testcluster, not mounted by the app); its
    // node_state table has no health_metrics column.
    let body = json!({"cluster": "testcluster", "nodes": [{"hostname": "host124", "states": ["idle"], "cpusAllocated": 2}]});
    assert_empty_ok(&app.as_admin("POST", "/api/nodestate/", &body.to_string()));
    let (state, health, cpus): (String, String, i64) = app
        .db()
        .query_row(
            "SELECT node_state, health_state, cpus_allocated FROM node_state ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (state.as_str(), health.as_str(), cpus),
        ("idle", "failed", 2)
    );
    assert_eq!(app.count("SELECT count(*) FROM node_state"), 2);
}

#[test]
fn machine_states_are_stored_and_served_when_enabled() {
    let app = App::start(true);
    let path = "/api/machine_state/fritz/f0101";
    let token = app.api_token();

    assert_error(
        &app.call("GET", path, &token, ""),
        404,
        "machine state not found",
    );
    let stored = app.call("PUT", path, &token, r#"{"cpu":"spr"}"#);
    assert_eq!((stored.status, stored.body.len()), (201, 0));
    assert!(stored.header("content-type").is_none());

    let read = app.call("GET", path, &token, "");
    assert_eq!((read.status, read.text()), (200, r#"{"cpu":"spr"}"#));
    assert_eq!(read.header_values("content-type"), ["application/json"]);
    let last_modified = read.header("last-modified").unwrap().to_owned();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");

    let conditional = |since: &str| {
        send(
            "GET",
            &app.runner.url(path),
            &[("X-Auth-Token", &token), ("If-Modified-Since", since)],
            b"",
        )
    };
    let unchanged = conditional(&last_modified);
    assert_eq!((unchanged.status, unchanged.body.len()), (304, 0));
    assert_eq!(
        unchanged.header("last-modified"),
        Some(last_modified.as_str())
    );
    assert_eq!(conditional("Thu, 01 Jan 1970 00:00:00 GMT").status, 200);
    assert_eq!(conditional("not a date").status, 200);

    // POST replaces the document; any bytes are accepted.
    let replaced = app.call("POST", path, &app.admin_token(), "not json");
    assert_eq!(replaced.status, 201);
    assert_eq!(app.call("GET", path, &token, "").text(), "not json");
    assert_error(
        &app.call("GET", "/api/machine_state/fritz/f0102", &token, ""),
        404,
        "machine state not found",
    );

    assert_error(
        &app.call("PUT", "/api/machine_state/fr..itz/f0101", &token, "{}"),
        400,
        "invalid cluster name",
    );
    assert_error(
        &app.call("GET", "/api/machine_state/fritz/f0..101", &token, ""),
        400,
        "invalid host name",
    );
    assert_error(
        &app.call("POST", "/api/machine_state/../..", &token, "{}"),
        400,
        "invalid cluster name",
    );
    assert_error(
        &get(&app.runner.url(path), &[]),
        401,
        "no user for secured check",
    );
    let wrong_method = app.call("DELETE", path, &token, "");
    assert_method_not_allowed(&wrong_method, &["GET", "PUT", "POST"]);
}

#[test]
fn machine_state_routes_are_absent_by_default() {
    let app = App::start(false);
    let token = app.api_token();
    for method in ["GET", "PUT", "POST"] {
        let reply = app.call(method, "/api/machine_state/fritz/f0101", &token, "{}");
        assert_eq!(
            (reply.status, reply.text()),
            (404, NOT_FOUND_BODY),
            "{method}"
        );
    }
    // Absent routes answer before authentication: no token still gets the 404, not a 401.
    let anonymous = get(&app.runner.url("/api/machine_state/c/h"), &[]);
    assert_eq!((anonymous.status, anonymous.text()), (404, NOT_FOUND_BODY));
    let kv = Connection::open(app.runner.state_dir.join("sqlite_key_value.db")).unwrap();
    let stored: i64 = kv
        .query_row("SELECT count(*) FROM spin_key_value", [], |row| row.get(0))
        .unwrap_or(0);
    assert_eq!(stored, 0);
}
