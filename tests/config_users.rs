//! User administration in the `/config` group and the `/frontend` token and settings routes, end
//! to end through the runner with real browser sessions (docs/nodes-users.md#users).

use base64::Engine;
use cc_spin_e2e::{assert_error, usernames, Reply, RunnerConfig, TestApp};
use serde_json::{json, Value};

const FORM: &str = "application/x-www-form-urlencoded";

/// The app with an admin `boss` logged in.
struct App {
    served: TestApp,
    admin: String,
}

impl App {
    fn start() -> App {
        let served = TestApp::start(RunnerConfig::app);
        served.add_user("boss", "b0ss-pass", &["admin"], &[]);
        let admin = served.login("boss", "b0ss-pass");
        App { served, admin }
    }

    /// A form request with the admin's session.
    fn as_admin(&self, method: &str, path: &str, form: &str) -> Reply {
        self.as_user(&self.admin, method, path, form)
    }

    fn as_user(&self, cookie: &str, method: &str, path: &str, form: &str) -> Reply {
        self.served
            .call_with_cookie(method, path, cookie, FORM, form)
    }

    fn create_user(&self, form: &str) -> Reply {
        self.as_admin("POST", "/config/users/", form)
    }

    /// The stored `roles` and `projects` texts of a user.
    fn lists(&self, username: &str) -> (String, String) {
        self.served
            .db()
            .query_row(
                "SELECT roles, projects FROM hpc_user WHERE username = ?",
                [username],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three segments");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

#[test]
fn an_admin_creates_a_user_who_logs_in_and_uses_the_user_api_with_a_token_of_their_own() {
    let app = App::start();
    let created = app.create_user("username=alice&password=al1ce-pass&role=user&name=Alice+A.");
    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(created.text(), "User alice successfully created!\n");
    assert_eq!(
        created.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let added = app.as_admin("POST", "/config/user/alice", "add-role=api");
    assert_eq!(added.json(), json!({"msg": "Add Role Success"}));

    let alice = app.served.login("alice", "al1ce-pass");
    let issued = app.as_user(&alice, "GET", "/frontend/jwt/?username=alice", "");
    assert_eq!(issued.status, 200, "{}", issued.text());
    assert_eq!(
        issued.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let token = issued.text();
    let issued_claims = claims(token);
    assert_eq!(issued_claims["sub"], "alice");
    assert_eq!(issued_claims["roles"], json!(["user", "api"]));
    let lifetime = issued_claims["exp"].as_i64().unwrap() - issued_claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 2000 * 3600, "spin.toml's jwt_max_age");

    let jobs = app.served.get("/userapi/jobs/", token);
    assert_eq!(jobs.status, 200, "{}", jobs.text());
    assert_eq!(jobs.json()["jobs"], json!([]));

    assert_error(
        &app.as_user(&alice, "GET", "/frontend/jwt/?username=boss", ""),
        403,
        "only admins are allowed to sign JWTs not for themselves",
    );
    let for_alice = app.as_admin("GET", "/frontend/jwt/?username=alice", "");
    assert_eq!(claims(for_alice.text())["sub"], "alice");
    assert_error(
        &app.as_admin("GET", "/frontend/jwt/?username=nobody", ""),
        404,
        "getting user failed: sql: no rows in result set",
    );
    assert_error(
        &app.as_user(&alice, "GET", "/config/users/", ""),
        401,
        "unauthorized",
    );
}

#[test]
fn tokens_without_a_lifetime_never_expire_and_a_bad_lifetime_is_a_server_error() {
    for (max_age, expected) in [
        ("", None),
        ("3 days", Some("cannot parse max-age config key")),
    ] {
        let served =
            TestApp::start(|keys| RunnerConfig::app(keys).variable("jwt_max_age", max_age));
        served.add_user("boss", "b0ss-pass", &["admin"], &[]);
        let admin = served.login("boss", "b0ss-pass");
        let reply =
            served.call_with_cookie("GET", "/frontend/jwt/?username=boss", &admin, FORM, "");
        match expected {
            None => {
                assert_eq!(reply.status, 200, "{}", reply.text());
                let claims = claims(reply.text());
                assert!(claims.get("exp").is_none(), "{claims}");
                assert_eq!(claims["roles"], json!(["admin"]));
            }
            Some(message) => assert_error(&reply, 500, &format!("providing JWT failed: {message}")),
        }
    }
}

#[test]
fn creating_users_checks_every_rule_and_stores_one_role_and_no_empty_project() {
    let app = App::start();
    let too_long = format!("username={}&password=pw&role=user", "x".repeat(101));
    for (form, message) in [
        (
            "password=pw&role=user",
            "username must be between 1 and 100 characters",
        ),
        (
            too_long.as_str(),
            "username must be between 1 and 100 characters",
        ),
        (
            "username=carol&password=pw",
            "a user needs at least one role",
        ),
        (
            "username=carol&password=pw&role=root",
            "supplied role is no valid option : root",
        ),
        (
            "username=carol&password=pw&role=Admin",
            "supplied role is no valid option : Admin",
        ),
        (
            "username=carol&role=user",
            "only API users are allowed to have a blank password (login will be impossible)",
        ),
        (
            "username=carol&password=pw&role=user&project=p1",
            "only managers require a project (can be changed later)",
        ),
        (
            "username=carol&password=pw&role=manager",
            "managers require a project to manage (can be changed later)",
        ),
    ] {
        let refused = app.create_user(form);
        assert_error(&refused, 400, message);
        assert_eq!(
            refused.header_values("content-type"),
            ["application/json"],
            "{form}"
        );
    }

    assert_eq!(
        app.create_user("username=carol&password=pw&role=user")
            .status,
        200
    );
    assert_eq!(app.lists("carol"), (r#"["user"]"#.into(), "[]".into()));
    let by_put = app.as_admin(
        "PUT",
        "/config/users/",
        "username=mia&password=pw&role=manager&project=p1",
    );
    assert_eq!(by_put.status, 200, "{}", by_put.text());
    assert_eq!(
        app.lists("mia"),
        (r#"["manager"]"#.into(), r#"["p1"]"#.into())
    );
    assert_eq!(app.create_user("username=robot&role=api").status, 200);
    let password: Option<String> = app
        .served
        .db()
        .query_row(
            "SELECT password FROM hpc_user WHERE username = 'robot'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(password, None);
    assert_error(
        &app.create_user("username=carol&password=pw&role=api"),
        422,
        "adding user failed: UNIQUE constraint failed: hpc_user.username",
    );

    let roles = app.as_admin("GET", "/config/roles/", "");
    assert_eq!(
        roles.json(),
        json!(["api", "user", "manager", "support", "admin"])
    );
    assert_eq!(
        usernames(&app.as_admin("GET", "/config/users/", "")),
        ["boss", "carol", "mia", "robot"]
    );
    assert_eq!(
        usernames(&app.as_admin("GET", "/config/users/?not-just-user=true", "")),
        ["boss", "mia", "robot"]
    );
}

#[test]
fn users_are_deleted_by_body_or_query_and_a_missing_one_is_not_found() {
    let app = App::start();
    for username in ["alice", "bob"] {
        let form = format!("username={username}&password=pw&role=user");
        assert_eq!(app.create_user(&form).status, 200);
    }
    let alice = app.served.login("alice", "pw");
    let stored = app.as_user(&alice, "POST", "/frontend/configuration/", "key=k&value=1");
    assert_eq!(stored.status, 200);

    let deleted = app.as_admin("DELETE", "/config/users/", "username=alice");
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    assert_eq!(
        app.served.count("SELECT COUNT(*) FROM configuration"),
        0,
        "cascaded"
    );
    let by_query = app.as_admin("DELETE", "/config/users/?username=bob", "");
    assert_eq!(by_query.status, 200, "{}", by_query.text());
    assert_error(
        &app.as_admin("DELETE", "/config/users/", "username=alice"),
        404,
        "deleting user failed: sql: no rows in result set",
    );
    assert_eq!(app.served.count("SELECT COUNT(*) FROM hpc_user"), 1);
}

#[test]
fn roles_and_projects_change_through_form_fields() {
    let app = App::start();
    assert_eq!(
        app.create_user("username=alice&password=pw&role=user")
            .status,
        200
    );
    let update = |form: &str| app.as_admin("POST", "/config/user/alice", form);
    for (form, message) in [
        ("add-role=Manager", "Add Role Success"),
        ("add-project=p1&remove-project=p1", "Add Project Success"),
        ("add-project=p2", "Add Project Success"),
        ("remove-project=p1", "Remove Project Success"),
        ("remove-role=user", "Remove Role Success"),
    ] {
        let reply = update(form);
        assert_eq!(reply.status, 200, "{form}: {}", reply.text());
        assert_eq!(reply.json(), json!({"msg": message}), "{form}");
        assert_eq!(reply.header_values("content-type"), ["application/json"]);
    }
    assert_eq!(
        app.lists("alice"),
        (r#"["manager"]"#.into(), r#"["p2"]"#.into())
    );

    assert_error(
        &update("remove-role=manager"),
        422,
        "removing role failed: cannot remove role 'manager' while user alice still has assigned project(s) : [p2]",
    );
    assert_error(
        &update("add-role=root"),
        422,
        "adding role failed: supplied role is no valid option : root",
    );
    assert_error(
        &update("role=api"),
        400,
        "no operation specified: must provide add-role, remove-role, add-project, or remove-project",
    );
    assert_error(
        &app.as_admin("POST", "/config/user/nobody", "add-project=p1"),
        422,
        "adding project failed: sql: no rows in result set",
    );
}

#[test]
fn ui_settings_are_upserted_for_the_session_user() {
    let app = App::start();
    assert_eq!(
        app.create_user("username=alice&password=pw&role=user")
            .status,
        200
    );
    let alice = app.served.login("alice", "pw");
    for value in ["10", "%5B50%5D"] {
        let form = format!("key=plot_list_jobsPerPage&value={value}");
        let stored = app.as_user(&alice, "POST", "/frontend/configuration/", &form);
        assert_eq!(stored.status, 200, "{}", stored.text());
        assert_eq!(stored.text(), "success");
    }
    let rows: Vec<(String, String, String)> = app
        .served
        .db()
        .prepare("SELECT username, confkey, value FROM configuration")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [(
            "alice".into(),
            "plot_list_jobsPerPage".into(),
            "[50]".into()
        )]
    );
}
