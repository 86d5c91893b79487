//! End-to-end tests of the NATS bridge: a real nats-server (JetStream enabled) started per test,
//! the real `cc-nats-bridge` binary, and the app served by the runner. Every case of the
//! reference's NATS tests is published as a NATS message and its effect checked over HTTP (and
//! in the database for node states, which have no read route).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cc_spin_e2e::{
    binary, free_port, get, wait_until, workspace_root, Keys, Reply, Runner, RunnerConfig,
};
use serde_json::{json, Value};

const JOB_SUBJECT: &str = "cc.job.event";
const NODE_SUBJECT: &str = "cc.node.state";
const METRIC_SUBJECT: &str = "cc.metrics.test";
/// A line-protocol timestamp (ns); its value is never used.
const TS: &str = "1234567890000000000";

// ---------------------------------------------------------------------------------------------
// nats-server

fn nats_server_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "nats-server is not on PATH: the NATS bridge tests need it \
             (apt-get install -y nats-server; .ci/run installs it)"
        )
    })
}

/// A nats-server with JetStream on a free loopback port and a private store directory.
struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    /// More command-line options (e.g. `--user`, `--pass`).
    options: Vec<String>,
}

impl NatsServer {
    fn start() -> NatsServer {
        NatsServer::start_with(&[])
    }

    fn start_with(options: &[&str]) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port: free_port(),
            store: tempfile::tempdir().expect("store directory"),
            options: options.iter().map(|option| option.to_string()).collect(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new(nats_server_binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        wait_until(
            Duration::from_secs(20),
            Duration::from_millis(50),
            || TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            || "nats-server did not listen".into(),
        );
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server and starts it again on the same port and store.
    fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal NATS publisher speaking the text protocol (PUB, PING/PONG), so the tests need no
/// NATS client library.
struct Publisher {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Publisher {
    fn connect(server: &NatsServer) -> Publisher {
        Publisher::connect_with(server, |_| json!({}))
    }

    /// Connects with more CONNECT options (e.g. `user` and `pass`), made from the server's INFO
    /// (which holds the nonce a credentials login signs).
    fn connect_with(server: &NatsServer, options: impl FnOnce(&Value) -> Value) -> Publisher {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("NATS connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut publisher = Publisher {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        let info = publisher.read_line();
        let info: Value = serde_json::from_str(info.strip_prefix("INFO ").expect("INFO first"))
            .expect("INFO holds JSON");
        let mut connect = json!({"verbose": false, "pedantic": false, "name": "e2e"});
        connect
            .as_object_mut()
            .unwrap()
            .extend(options(&info).as_object().unwrap().clone());
        publisher
            .stream
            .write_all(format!("CONNECT {connect}\r\n").as_bytes())
            .unwrap();
        publisher.flush();
        publisher
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("NATS answers");
        line
    }

    fn publish(&mut self, subject: &str, payload: &str) {
        let mut frame = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
        frame.extend_from_slice(payload.as_bytes());
        frame.extend_from_slice(b"\r\n");
        self.stream.write_all(&frame).unwrap();
    }

    /// Returns once the server has processed everything published so far.
    fn flush(&mut self) {
        self.stream.write_all(b"PING\r\n").unwrap();
        loop {
            let line = self.read_line();
            match line.trim_end() {
                "PONG" => return,
                "PING" => self.stream.write_all(b"PONG\r\n").unwrap(),
                other if other.starts_with("-ERR") => panic!("NATS: {other}"),
                _ => {}
            }
        }
    }
}

/// NATS's decentralised authentication, made up for one test: an operator, a system account and
/// an account, their JWTs signed the way `nsc` signs them, and one user of that account with its
/// credentials file (JWT and seed).
struct Credentials {
    operator_jwt: String,
    accounts: Vec<(String, String)>,
    system_account: String,
    user_jwt: String,
    user: nkeys::KeyPair,
}

impl Credentials {
    fn new() -> Credentials {
        let operator = nkeys::KeyPair::new_operator();
        let account = nkeys::KeyPair::new_account();
        let system = nkeys::KeyPair::new_account();
        let user = nkeys::KeyPair::new_user();
        let unlimited = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
                               "exports": -1, "wildcards": true, "conn": -1, "leaf": -1});
        let account_claims = |name: &str| {
            json!({"limits": unlimited, "default_permissions": {"pub": {}, "sub": {}},
                   "type": "account", "version": 2, "name": name})
        };
        Credentials {
            operator_jwt: nats_jwt(
                &operator,
                &operator.public_key(),
                json!({"type": "operator", "version": 2}),
            ),
            accounts: vec![
                (
                    account.public_key(),
                    nats_jwt(&operator, &account.public_key(), account_claims("bridge")),
                ),
                (
                    system.public_key(),
                    nats_jwt(&operator, &system.public_key(), account_claims("SYS")),
                ),
            ],
            system_account: system.public_key(),
            user_jwt: nats_jwt(
                &account,
                &user.public_key(),
                json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                       "type": "user", "version": 2}),
            ),
            user,
        }
    }

    /// A nats-server configuration trusting the operator, with the accounts preloaded.
    fn server_config(&self) -> String {
        let preload: Vec<String> = self
            .accounts
            .iter()
            .map(|(key, jwt)| format!("  {key}: \"{jwt}\""))
            .collect();
        format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n{}\n}}\n",
            self.operator_jwt,
            self.system_account,
            preload.join("\n")
        )
    }

    /// The user's credentials file, as `nsc` writes it.
    fn creds_file(&self) -> String {
        format!(
            "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            self.user_jwt,
            self.user.seed().unwrap()
        )
    }

    /// CONNECT options of the user, signing the server's nonce.
    fn connect_options(&self, info: &Value) -> Value {
        let nonce = info["nonce"].as_str().expect("the server sends a nonce");
        json!({"jwt": self.user_jwt, "sig": base64_url(&self.user.sign(nonce.as_bytes()).unwrap())})
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A NATS JWT: `subject`'s claims, signed by `issuer`.
fn nats_jwt(issuer: &nkeys::KeyPair, subject: &str, nats: Value) -> String {
    let header = base64_url(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims = json!({"jti": format!("JTI{}", cc_spin_e2e::unix_now()), "iat": cc_spin_e2e::unix_now(),
                        "iss": issuer.public_key(), "name": subject, "sub": subject, "nats": nats});
    let signed = format!("{header}.{}", base64_url(claims.to_string().as_bytes()));
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", base64_url(&signature))
}

// ---------------------------------------------------------------------------------------------
// the app and the bridge

fn build_bridge() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "cc-nats-bridge"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building cc-nats-bridge failed");
    });
}

/// The app (runner over the metric-store fixture) on a fixed port and a state directory that
/// outlives restarts, with one key pair throughout (the bridge's minted tokens stay valid).
struct App {
    keys: Keys,
    state: tempfile::TempDir,
    runner: Option<Runner>,
    listen: String,
}

impl App {
    fn config(&self) -> RunnerConfig {
        RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
            variables: vec![("jwt_public_key".into(), self.keys.public.clone())],
        }
    }

    fn start() -> App {
        let mut app = App {
            keys: Keys::generate(),
            state: tempfile::tempdir().expect("state directory"),
            runner: None,
            listen: String::new(),
        };
        let runner = Runner::start(&app.config(), app.state.path());
        app.listen = runner
            .base_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        app.runner = Some(runner);
        app
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.listen)
    }

    fn stop(&mut self) {
        if let Some(runner) = self.runner.take() {
            runner.stop();
        }
    }

    /// Serves again on the same address and state directory.
    fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match Runner::try_start(&self.config(), self.state.path(), &self.listen) {
                Ok(runner) => {
                    self.runner = Some(runner);
                    return;
                }
                Err(error) if Instant::now() < deadline => {
                    eprintln!("restart failed, retrying: {error}");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(error) => panic!("{error}"),
            }
        }
    }

    fn admin(&self) -> String {
        self.keys.token("root", &["admin", "api"], 3600)
    }

    fn get(&self, path: &str) -> Reply {
        let token = format!("Bearer {}", self.admin());
        get(
            &format!("{}{path}", self.base_url()),
            &[("Authorization", &token)],
        )
    }

    /// Every job of testcluster by jobId (a jobId may occur more than once).
    fn jobs(&self) -> BTreeMap<i64, Vec<Value>> {
        let reply = self.get("/api/jobs/?cluster=testcluster&items-per-page=10000");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let mut jobs: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
        for job in reply.json()["jobs"].as_array().unwrap() {
            jobs.entry(job["jobId"].as_i64().unwrap())
                .or_default()
                .push(job.clone());
        }
        jobs
    }

    fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.state.path().join("sqlite_db.db"))
            .expect("database opens");
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        conn
    }

    /// The single integer `sql` selects (0 before the app created its tables).
    fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |row| row.get(0)).unwrap_or(0)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `cc-nats-bridge` with a `/healthz` listener; stopped (SIGTERM) when dropped.
struct Bridge {
    child: Child,
    stderr: Arc<Mutex<String>>,
    health_url: String,
}

impl Bridge {
    /// Starts a bridge and waits until it has subscribed.
    fn start(nats: &NatsServer, app: &App, extra: &[&str]) -> Bridge {
        let mut bridge = Bridge::spawn(nats, app, extra);
        bridge.wait_for_log("bridge ready");
        bridge
    }

    fn spawn(nats: &NatsServer, app: &App, extra: &[&str]) -> Bridge {
        build_bridge();
        let health = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(binary("cc-nats-bridge"))
            .args(["--nats-url", &nats.url(), "--app-url", &app.base_url()])
            .args(["--health-listen", &health, "--stop-wait", "1s"])
            .args(["--metrics", &format!("{METRIC_SUBJECT}=testcluster")])
            .args(extra)
            .env("SPIN_VARIABLE_JWT_PRIVATE_KEY", &app.keys.private)
            .env_remove("CC_API_TOKEN")
            .env_remove("NATS_URL")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cc-nats-bridge starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Bridge {
            child,
            stderr,
            health_url: format!("http://{health}/healthz"),
        }
    }

    /// Waits until the log contains `text`; fails if the bridge exits first.
    fn wait_for_log(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.log().contains(text) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cc-nats-bridge exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The counters and the log, for failure messages.
    fn report(&self) -> String {
        format!("{}:\n{}", self.stats(), self.log())
    }

    fn stats(&self) -> Value {
        get(&self.health_url, &[]).json()
    }

    fn counter(&self, name: &str) -> i64 {
        self.stats()[name].as_i64().unwrap()
    }

    /// Waits until the counters reach `expected` (every name given), then checks they stay.
    fn wait_for_stats(&self, expected: &Value) {
        let reached = |stats: &Value| {
            expected
                .as_object()
                .unwrap()
                .iter()
                .all(|(name, value)| &stats[name] == value)
        };
        wait_until(
            Duration::from_secs(60),
            Duration::from_millis(100),
            || reached(&self.stats()),
            || format!("never reached {expected}: {}", self.report()),
        );
        std::thread::sleep(Duration::from_millis(300));
        let stats = self.stats();
        assert!(
            reached(&stats),
            "stats moved on to {stats}:\n{}",
            self.log()
        );
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("bridge exits");
        assert!(status.success(), "{status}:\n{}", self.log());
        self.log()
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// messages

/// `event` as a line-protocol string field: `\` and `"` escaped.
fn event_field(json: &str) -> String {
    format!(
        "event=\"{}\"",
        json.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn start_line(body: &Value) -> String {
    format!(
        "job,function=start_job {} {TS}",
        event_field(&body.to_string())
    )
}

fn stop_line(body: &Value) -> String {
    format!(
        "job,function=stop_job {} {TS}",
        event_field(&body.to_string())
    )
}

fn node_line(body: &Value) -> String {
    format!("nodestate {} {TS}", event_field(&body.to_string()))
}

/// The reference's "valid start body" on host123 with `hwthreads`.
fn start_body(job_id: i64, user: &str, start_time: i64, hwthreads: &[u32]) -> Value {
    json!({
        "jobId": job_id, "user": user, "project": "testproj", "cluster": "testcluster",
        "partition": "main", "walltime": 3600, "numNodes": 1,
        "numHwthreads": hwthreads.len(), "numAcc": 0, "shared": "none", "monitoringStatus": 1,
        "smt": 1, "resources": [{"hostname": "host123", "hwthreads": hwthreads}],
        "startTime": start_time
    })
}

const ALL_HWTHREADS: [u32; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

fn stop_body(job_id: i64, start_time: i64, state: &str, stop_time: i64) -> Value {
    json!({"jobId": job_id, "cluster": "testcluster", "startTime": start_time,
           "jobState": state, "stopTime": stop_time})
}

fn state_of(job: &Value) -> &str {
    job["jobState"].as_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// tests

/// The job-event cases cc-backend's own NATS tests cover (starts, stops, dispatch on `function`,
/// malformed lines, edge cases, duplicate starts), plus the bridge's own rules (a bad line
/// does not drop the next one, a missing timestamp is accepted, tags work with the bridge's
/// identity), in core NATS mode.
#[test]
fn job_events_follow_the_reference_cases() {
    let nats = NatsServer::start();
    let app = App::start();
    let bridge = Bridge::start(&nats, &app, &[]);
    let mut publisher = Publisher::connect(&nats);
    let mut publish = |payload: String| publisher.publish(JOB_SUBJECT, &payload);

    // Starts: valid, a mistyped jobId, missing fields, an unknown field, a global and a private tag.
    publish(start_line(&start_body(
        1001,
        "testuser1",
        1234567890,
        &ALL_HWTHREADS,
    )));
    publish(start_line(
        &json!({"jobId": "not a number", "user": "testuser2"}),
    ));
    publish(start_line(&json!({"jobId": 1002})));
    let mut unknown_field = start_body(1003, "testuser3", 1234567890, &ALL_HWTHREADS);
    unknown_field["unknownField"] = json!("should cause error");
    publish(start_line(&unknown_field));
    let mut global_tag = start_body(1004, "testuser4", 1234567910, &ALL_HWTHREADS);
    global_tag["tags"] = json!([{"type": "test", "name": "testtag", "scope": "global"}]);
    publish(start_line(&global_tag));
    // The reference's case: a private tag of testuser4. The bridge's identity may not write it,
    // so the start is refused as a whole (the reference creates the job without the tag).
    let mut private_tag = start_body(1005, "testuser4", 1234567910, &ALL_HWTHREADS);
    private_tag["tags"] = json!([{"type": "test", "name": "privatetag", "scope": "testuser4"}]);
    publish(start_line(&private_tag));

    // Stops: starts, then stops (the same job's events keep their order).
    for (job_id, start_time) in [
        (2001, 1234567890),
        (2002, 1234567900),
        (2003, 1234567910),
        (2004, 1234567920),
    ] {
        publish(start_line(&start_body(
            job_id,
            "testuser",
            start_time,
            &ALL_HWTHREADS,
        )));
    }
    publish(stop_line(&stop_body(
        2001,
        1234567890,
        "completed",
        1234571490,
    )));
    publish(stop_line(&stop_body(
        2002, 1234567900, "failed", 1234569900,
    )));
    publish(stop_line(&json!({"jobId": "not a number"})));
    publish(stop_line(
        &json!({"cluster": "testcluster", "jobState": "completed", "stopTime": 1234571490}),
    ));
    publish(stop_line(&stop_body(
        2003,
        1234567910,
        "invalid_state",
        1234571510,
    )));
    publish(stop_line(&stop_body(
        2004,
        1234567920,
        "completed",
        1234567900,
    )));
    publish(stop_line(&stop_body(
        99999,
        1234567890,
        "completed",
        1234571490,
    )));

    // Dispatch on the `function` tag.
    publish(start_line(&start_body(
        3001,
        "testuser",
        1234567890,
        &[0, 1, 2, 3],
    )));
    publish(format!("job event=\"{{}}\" {TS}"));
    publish(format!("job,function=unknown_function event=\"{{}}\" {TS}"));

    // A valid event among lines that do not decode and an empty message.
    publish(start_line(&start_body(
        4001,
        "testuser",
        1234567890,
        &[0, 1, 2, 3],
    )));
    publish("invalid line protocol format".into());
    publish(String::new());

    // Edge cases: no `event` field, a wrong measurement, several lines, escaped quotes.
    publish(format!("job,function=start_job value=123.45 {TS}"));
    publish(format!(
        "wrongmeasurement,function=start_job event=\"{{}}\" {TS}"
    ));
    publish(format!("job,function=start_job other_field=\"value\" {TS}"));
    publish(format!(
        "job,function=start_job event=\"{{}}\" {TS}\njob,function=stop_job event=\"{{}}\" {TS}"
    ));
    publish(format!(
        r#"job,function=start_job event="{{\"jobId\":6001,\"user\":\"test\\\"user\",\"cluster\":\"test\"}}" {TS}"#
    ));

    // Duplicate starts.
    publish(start_line(&start_body(
        5001,
        "testuser",
        1234567890,
        &ALL_HWTHREADS,
    )));
    publish(start_line(&start_body(
        5001,
        "testuser",
        1234567900,
        &ALL_HWTHREADS,
    )));

    // The bridge's rules: a bad line is skipped alone; no timestamp is fine; an empty event.
    publish(format!(
        "job,function=start_job event=\"{{\" oops\n{}",
        start_line(&start_body(7001, "testuser", 1234567890, &ALL_HWTHREADS))
    ));
    publish(format!(
        "job,function=start_job {}",
        event_field(&start_body(7002, "testuser", 1234567890, &ALL_HWTHREADS).to_string())
    ));
    publish(format!("job,function=start_job event=\"\" {TS}"));
    publisher.flush();

    bridge.wait_for_stats(&json!({
        "received": 33, "forwarded": 13, "rejected": 13, "dropped": 9, "abandoned": 0
    }));

    let jobs = app.jobs();
    let ids: Vec<i64> = jobs.keys().copied().collect();
    assert_eq!(
        ids,
        [1001, 1004, 2001, 2002, 2003, 2004, 3001, 4001, 5001, 7001, 7002],
        "{jobs:#?}"
    );
    let job = |id: i64| {
        assert_eq!(jobs[&id].len(), 1, "job {id}: {:?}", jobs[&id]);
        &jobs[&id][0]
    };
    assert_eq!(job(1001)["user"], "testuser1");
    assert_eq!(state_of(job(1001)), "running");
    assert_eq!(job(1001)["startTime"], 1234567890);
    let tags = job(1004)["tags"]
        .as_array()
        .expect("job 1004 has tags")
        .clone();
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert_eq!(
        (&tags[0]["name"], &tags[0]["scope"]),
        (&json!("testtag"), &json!("global"))
    );
    assert_eq!(state_of(job(2001)), "completed");
    assert_eq!(job(2001)["duration"], 3600);
    assert_eq!(state_of(job(2002)), "failed");
    assert_eq!(state_of(job(2003)), "running");
    assert_eq!(state_of(job(2004)), "running");
    assert_eq!(job(5001)["startTime"], 1234567890);

    // Every rejection is logged with the app's own error text.
    let log = bridge.stop();
    for text in [
        "no such cluster: test",
        "unknown field",
        "the field 'jobId' is required",
        "a job with that jobId, cluster and startTime already exists",
        "finding job failed",
        "invalid requested job state",
        "must be larger/equal than startTime",
        "cannot write tag scope with current authorization",
        "missing required tag 'function'",
        "unknown job event function 'unknown_function'",
        "received empty message",
        "payload is empty",
        r#"measurement "wrongmeasurement" is not "job""#,
    ] {
        assert!(log.contains(text), "log lacks {text:?}:\n{log}");
    }
}

fn node_state_rows(app: &App) -> Vec<(String, String, String)> {
    let conn = app.db();
    let mut statement = conn
        .prepare(
            "SELECT n.hostname, n.subcluster, s.node_state \
             FROM node_state s JOIN node n ON n.id = s.node_id ORDER BY s.id",
        )
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Node-state events (valid, malformed, unknown cluster, non-ASCII and unknown hosts), and metric
/// lines on a metric subject with its default cluster.
#[test]
fn node_states_and_metric_lines() {
    let nats = NatsServer::start();
    let app = App::start();
    let bridge = Bridge::start(&nats, &app, &[]);
    let mut publisher = Publisher::connect(&nats);
    let node = |hostname: &str, state: &str| {
        json!({"hostname": hostname, "states": [state], "cpusAllocated": 8,
               "memoryAllocated": 16384, "gpusAllocated": 0, "jobsRunning": 1})
    };
    let nodes = [
        // The cases cc-backend's own node-state tests cover.
        node_line(&json!({"cluster": "testcluster", "nodes": [node("host123", "allocated")]})),
        node_line(&json!({"cluster": "testcluster",
                          "nodes": [node("host123", "idle"), node("host124", "allocated")]})),
        node_line(&json!({"cluster": "testcluster", "nodes": "not an array"})),
        node_line(&json!({"cluster": "testcluster", "nodes": []})),
        "invalid line protocol format".to_owned(),
        String::new(),
        // Edge cases: no cluster, broken escaping, unknown hosts, a far-future timestamp.
        node_line(&json!({"nodes": []})),
        format!(r#"nodestate event="{{\"cluster\":\"test"cluster\",\"nodes\":[]}}" {TS}"#),
        node_line(&json!({"cluster": "testcluster", "nodes": [node("host-ñ123", "idle")]})),
        node_line(&json!({"cluster": "testcluster",
                          "nodes": [node("node1", "idle"), node("node2", "idle"), node("node3", "idle")]})),
        format!(
            "nodestate {} 1000000000000000000",
            event_field(&json!({"cluster": "testcluster", "nodes": []}).to_string())
        ),
    ];
    for payload in &nodes {
        publisher.publish(NODE_SUBJECT, payload);
    }

    // Metric lines without a cluster tag get the subject's default cluster; bad lines are
    // dropped alone (the app would refuse the whole body for one of them).
    let now = cc_spin_e2e::unix_now();
    publisher.publish(
        METRIC_SUBJECT,
        &format!(
            "load_one,hostname=host123 value=1 {now}\nload_one,hostname=host124 value=2 {now}"
        ),
    );
    publisher.publish(
        METRIC_SUBJECT,
        &format!("broken line\nload_one,hostname=host125 value=3 {now}"),
    );
    publisher.publish(
        METRIC_SUBJECT,
        &format!("load_one,hostname=host123 load=42 {now}"),
    );
    publisher.flush();

    // 8 node-state calls (answered 200 or 400), 3 metric lines; dropped: 3 node lines, 2 metric lines.
    wait_until(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || bridge.counter("forwarded") + bridge.counter("rejected") >= 8 + 3,
        || bridge.report(),
    );
    bridge.wait_for_stats(&json!({"received": 14, "dropped": 5, "abandoned": 0}));
    let stats = bridge.stats();
    assert!(stats["rejected"].as_i64().unwrap() >= 1, "{stats}");

    let rows = node_state_rows(&app);
    let expected = [
        ("host123", "sc1", "allocated"),
        ("host123", "sc1", "idle"),
        ("host124", "sc1", "allocated"),
    ]
    .map(|(host, sub, state)| (host.to_owned(), sub.to_owned(), state.to_owned()));
    assert_eq!(rows, expected);

    let debug = app.get("/api/debug?selector=testcluster");
    assert_eq!(debug.status, 200, "{}", debug.text());
    let hosts = debug.json()["data"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<&String> = hosts.keys().collect();
    names.sort();
    assert_eq!(names, ["host123", "host124", "host125"], "{hosts:?}");
    for host in hosts.values() {
        assert!(host.get("load_one").is_some(), "{host}");
    }

    let log = bridge.stop();
    for text in [
        "received empty message",
        "must be a number named 'value'",
        "line 1: at line 1:",
    ] {
        assert!(log.contains(text), "log lacks {text:?}:\n{log}");
    }
}

/// NATS with a user and password: the bridge logs in with `--nats-user`/`--nats-password`, and the
/// lines of a metric subject reach the data of a job started over NATS. A bridge with a wrong
/// password (in a queue group of its own, so it would get copies) receives nothing.
#[test]
fn metric_lines_reach_a_jobs_data_through_an_authenticated_nats() {
    let nats = NatsServer::start_with(&["--user", "collector", "--pass", "s3cret"]);
    let app = App::start();
    let login = |password: &'static str| ["--nats-user", "collector", "--nats-password", password];
    let mut intruder = Bridge::spawn(
        &nats,
        &app,
        &[&login("wrong")[..], &["--queue-group", "intruders"]].concat(),
    );
    intruder.wait_for_log("authorization violation");
    let bridge = Bridge::start(&nats, &app, &login("s3cret"));
    let mut publisher =
        Publisher::connect_with(&nats, |_| json!({"user": "collector", "pass": "s3cret"}));

    let now = cc_spin_e2e::unix_now();
    let start = now - now.rem_euclid(60) - 600;
    publisher.publish(
        JOB_SUBJECT,
        &start_line(&start_body(8001, "testuser", start, &ALL_HWTHREADS)),
    );
    let samples: String = (0..10)
        .map(|minute| {
            format!(
                "load_one,hostname=host123 value={} {}\n",
                minute + 1,
                start + 60 * minute
            )
        })
        .collect();
    publisher.publish(METRIC_SUBJECT, &samples);
    publisher.flush();
    bridge.wait_for_stats(&json!({"received": 2, "forwarded": 11, "dropped": 0, "rejected": 0}));

    let id = app.jobs()[&8001][0]["id"].as_i64().unwrap();
    let reply = app.get(&format!(
        "/api/jobs/metrics/{id}?metric=load_one&scope=node"
    ));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let series = &reply.json()["data"]["jobMetrics"][0]["metric"]["series"][0];
    assert_eq!(series["hostname"], "host123", "{}", reply.text());
    let minutes: Vec<f64> = series["data"].as_array().unwrap()[..10]
        .iter()
        .map(|value| value.as_f64().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(minutes, (1..=10).map(f64::from).collect::<Vec<_>>());

    assert_eq!(intruder.counter("received"), 0, "{}", intruder.report());
    intruder.stop();
    bridge.stop();
}

/// NATS with decentralised authentication: the bridge logs in with `--nats-creds` (a user JWT and
/// its seed) and forwards what an authenticated publisher sends.
#[test]
fn the_bridge_logs_in_with_a_credentials_file() {
    let credentials = Credentials::new();
    let files = tempfile::tempdir().unwrap();
    let config = files.path().join("server.conf");
    std::fs::write(&config, credentials.server_config()).unwrap();
    let creds = files.path().join("bridge.creds");
    std::fs::write(&creds, credentials.creds_file()).unwrap();
    let nats = NatsServer::start_with(&["-c", config.to_str().unwrap()]);
    let app = App::start();
    let bridge = Bridge::start(&nats, &app, &["--nats-creds", creds.to_str().unwrap()]);
    let mut publisher = Publisher::connect_with(&nats, |info| credentials.connect_options(info));
    publisher.publish(
        JOB_SUBJECT,
        &start_line(&start_body(9001, "testuser", 1_700_000_000, &ALL_HWTHREADS)),
    );
    publisher.flush();
    bridge.wait_for_stats(&json!({"received": 1, "forwarded": 1}));
    assert_eq!(state_of(&app.jobs()[&9001][0]), "running");
    bridge.stop();
}

/// Publishes start+stop events of jobs 1..=`pairs` (each stopped a minute after its start) and
/// flushes them; the open publisher is returned so its connection lives as long as the caller wants.
fn publish_pairs(nats: &NatsServer, pairs: i64) -> Publisher {
    let mut publisher = Publisher::connect(nats);
    for job_id in 1..=pairs {
        let start_time = 1_700_000_000 + job_id;
        publisher.publish(
            JOB_SUBJECT,
            &start_line(&start_body(job_id, "testuser", start_time, &ALL_HWTHREADS)),
        );
        publisher.publish(
            JOB_SUBJECT,
            &stop_line(&stop_body(job_id, start_time, "completed", start_time + 60)),
        );
    }
    publisher.flush();
    publisher
}

/// JetStream mode: the app is down while N start/stop pairs are published; once it is back on
/// the same state directory, every job arrives exactly once and is stopped.
#[test]
fn jetstream_survives_an_app_restart() {
    const PAIRS: i64 = 1000;
    let nats = NatsServer::start();
    let mut app = App::start();
    let bridge = Bridge::start(
        &nats,
        &app,
        &["--jetstream", "CCBRIDGE", "--ack-wait", "10s"],
    );
    app.stop();

    let started = Instant::now();
    let _publisher = publish_pairs(&nats, PAIRS);
    std::thread::sleep(Duration::from_secs(1));
    app.restart();

    wait_until(
        Duration::from_secs(120),
        Duration::from_millis(200),
        || app.count("SELECT count(*) FROM job WHERE job_state = 'completed'") >= PAIRS,
        || bridge.report(),
    );
    eprintln!(
        "{PAIRS} pairs through JetStream across an app restart in {:?}",
        started.elapsed()
    );
    bridge.wait_for_stats(&json!({"forwarded": 2 * PAIRS, "abandoned": 0}));
    let jobs = app.jobs();
    assert_eq!(jobs.len() as i64, PAIRS);
    for (job_id, copies) in &jobs {
        assert_eq!(copies.len(), 1, "job {job_id}: {copies:?}");
        assert_eq!(state_of(&copies[0]), "completed", "job {job_id}");
        assert_eq!(copies[0]["duration"], 60, "job {job_id}");
    }
    bridge.stop();
}

/// JetStream mode: the bridge is SIGKILLed with messages in flight and NATS is restarted; a new
/// bridge picks up what was not acknowledged, and nothing is stored twice.
#[test]
fn jetstream_survives_a_bridge_crash_and_a_nats_restart() {
    const PAIRS: i64 = 300;
    let mut nats = NatsServer::start();
    let mut app = App::start();
    let args = ["--jetstream", "CCBRIDGE", "--ack-wait", "2s"];
    let bridge = Bridge::start(&nats, &app, &args);
    // With the app down, the bridge holds messages it cannot deliver when it dies.
    app.stop();
    let publisher = publish_pairs(&nats, PAIRS);
    std::thread::sleep(Duration::from_millis(500));
    bridge.kill();
    drop(publisher);

    app.restart();
    // One worker, so that the work takes long enough to restart NATS in the middle of it.
    let bridge = Bridge::start(&nats, &app, &[&args[..], &["--concurrency", "1"]].concat());
    let completed = || app.count("SELECT count(*) FROM job WHERE job_state = 'completed'");
    wait_until(
        Duration::from_secs(90),
        Duration::from_millis(20),
        || completed() > 0,
        || bridge.report(),
    );
    // JetStream keeps the stream and the consumer's state on disk across a server restart.
    nats.restart();
    let at_restart = completed();
    wait_until(
        Duration::from_secs(90),
        Duration::from_millis(200),
        || completed() >= PAIRS,
        || bridge.report(),
    );
    eprintln!("{at_restart} of {PAIRS} jobs were stopped when NATS restarted");
    let jobs = app.jobs();
    assert_eq!(jobs.len() as i64, PAIRS);
    assert!(jobs
        .values()
        .all(|copies| copies.len() == 1 && state_of(&copies[0]) == "completed"));
    bridge.stop();
}

/// Core NATS mode: two bridges in one queue group share the messages, each handled once.
#[test]
fn two_bridges_in_a_queue_group_share_the_work() {
    const JOBS: i64 = 300;
    let nats = NatsServer::start();
    let app = App::start();
    let first = Bridge::start(&nats, &app, &[]);
    let second = Bridge::start(&nats, &app, &[]);
    let mut publisher = Publisher::connect(&nats);
    for job_id in 1..=JOBS {
        publisher.publish(
            JOB_SUBJECT,
            &start_line(&start_body(
                job_id,
                "testuser",
                1_700_000_000 + job_id,
                &ALL_HWTHREADS,
            )),
        );
    }
    publisher.flush();
    wait_until(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || first.counter("forwarded") + second.counter("forwarded") >= JOBS,
        || format!("{} {}", first.stats(), second.stats()),
    );
    let (one, two) = (first.stats(), second.stats());
    assert_eq!(
        one["received"].as_i64().unwrap() + two["received"].as_i64().unwrap(),
        JOBS,
        "{one} {two}"
    );
    assert!(
        one["received"].as_i64().unwrap() > 0 && two["received"].as_i64().unwrap() > 0,
        "{one} {two}"
    );
    assert_eq!(
        (one["rejected"].as_i64(), two["rejected"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(app.jobs().len() as i64, JOBS);
    first.stop();
    second.stop();
}

/// Help and refusal of a start without an API identity.
#[test]
fn the_command_line_documents_every_flag_and_needs_an_identity() {
    build_bridge();
    let help = Command::new(binary("cc-nats-bridge"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--nats-url",
        "--nats-user",
        "--nats-password",
        "--nats-creds",
        "--app-url",
        "--job-subject",
        "--node-subject",
        "--metrics",
        "--queue-group",
        "--jetstream",
        "--concurrency",
        "--token",
        "--token-user",
        "--health-listen",
        "NATS_URL",
        "CC_APP_URL",
        "CC_API_TOKEN",
        "SPIN_VARIABLE_JWT_PRIVATE_KEY",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
    let output = Command::new(binary("cc-nats-bridge"))
        .env_remove("CC_API_TOKEN")
        .env_remove("SPIN_VARIABLE_JWT_PRIVATE_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no API identity"), "{stderr}");

    let output = Command::new(binary("cc-nats-bridge"))
        .args([
            "--token",
            "unused",
            "--nats-creds",
            "/nonexistent/bridge.creds",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read NATS credentials /nonexistent/bridge.creds"),
        "{stderr}"
    );
}
