//! Scale-out as Spin users run it (README "Scale-out"): two runner instances with their own state
//! directories share the key-value store on a real `redis-server` and one SQLite file, both named in
//! a Spin runtime-config file. A login on one instance is a session on the other, and a logout on
//! either ends it on both. Skipped, with a note, when `redis-server` is not installed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cc_spin_e2e::{
    assert_error, free_port, send, wait_for_port, Keys, Runner, RunnerConfig, TestApp,
};

const FORM: &str = "application/x-www-form-urlencoded";

/// A throw-away `redis-server` on a free port, stopped when dropped.
struct RedisServer {
    child: Child,
    url: String,
}

impl RedisServer {
    fn start(dir: &Path) -> Option<RedisServer> {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        wait_for_port(port, Duration::from_secs(10), "redis-server");
        Some(server)
    }

    fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("redis URL");
        let mut connection = client.get_connection().expect("redis connection");
        redis::cmd("KEYS")
            .arg("*")
            .query(&mut connection)
            .expect("KEYS")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_instances_share_sessions_through_redis_and_one_database_file() {
    let shared = tempfile::tempdir().unwrap();
    let Some(redis) = RedisServer::start(shared.path()) else {
        eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
        return;
    };
    let database = shared.path().join("cc-spin.db");
    let runtime_config = shared.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = \"{}\"\n",
            redis.url,
            database.display()
        ),
    )
    .unwrap();
    let keys = Keys::generate();
    let config = RunnerConfig::app(&keys);
    let (first_state, second_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Runner::start_with_runtime_config(&config, first_state.path(), &runtime_config);
    let second = Runner::start_with_runtime_config(&config, second_state.path(), &runtime_config);
    assert!(
        !first_state.path().join("sqlite_key_value.db").exists()
            && !first_state.path().join("sqlite_db.db").exists(),
        "nothing is kept in the state directory"
    );
    TestApp::add_user_to(&database, "boss", "b0ss-pass", &["admin"]);

    let login = send(
        "POST",
        &first.url("/login"),
        &[("Content-Type", FORM)],
        b"username=boss&password=b0ss-pass",
    );
    assert_eq!(login.status, 302, "{}", login.text());
    let cookie = cc_spin_e2e::session_cookie(&login).unwrap();
    assert!(
        redis.keys().iter().any(|key| key.starts_with("session/")),
        "the session is in Redis: {:?}",
        redis.keys()
    );

    let notice = |runner: &Runner, text: &str| {
        send(
            "POST",
            &runner.url("/config/notice/"),
            &[("Cookie", &cookie), ("Content-Type", FORM)],
            format!("new-content={text}").as_bytes(),
        )
    };
    assert_eq!(notice(&second, "from-the-second").status, 200);
    let page = send("GET", &first.url("/login"), &[], b"");
    assert!(
        page.text().contains("from-the-second"),
        "the notice is shared"
    );

    let logout = send("POST", &second.url("/logout"), &[("Cookie", &cookie)], b"");
    assert_eq!(logout.status, 200);
    assert_error(&notice(&first, "too-late"), 401, "unauthorized");
    assert!(!redis.keys().iter().any(|key| key.starts_with("session/")));
}

#[test]
fn an_unreachable_redis_stops_the_runner_at_start_up() {
    cc_spin_e2e::build_once();
    let dir = tempfile::tempdir().unwrap();
    let runtime_config = dir.path().join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}\"\n",
            free_port()
        ),
    )
    .unwrap();
    let output = Command::new(cc_spin_e2e::binary("cc-spin"))
        .args(["up", "--listen", "127.0.0.1:0", "--from"])
        .arg(cc_spin_e2e::workspace_root().join("spin.toml"))
        .arg("--state-dir")
        .arg(dir.path())
        .arg("--runtime-config-file")
        .arg(&runtime_config)
        .output()
        .expect("cc-spin runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("redis"), "{stderr}");
}
