//! Test harness: builds the real components and the runner once, starts `cc-spin up` on a free
//! loopback port with a private state directory and fresh keys, and speaks HTTP to it.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use cc_auth::{PrivateKey, PublicKey};

pub const COMPONENTS: [&str; 8] = [
    "cc-api",
    "cc-metricstore-api",
    "cc-userapi",
    "cc-config",
    "cc-frontend",
    "cc-session",
    "cc-swagger",
    "cc-store-probe",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn cargo(args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo {args:?} failed");
}

/// Builds the wasm components and the native binaries (release, like `./dev up`), once per test
/// binary; cargo makes this a no-op when nothing changed.
pub fn build_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut wasm = vec!["build", "--release", "--target", "wasm32-wasip2"];
        for component in COMPONENTS {
            wasm.extend(["-p", component]);
        }
        cargo(&wasm);
        cargo(&["build", "--release", "-p", "cc-spin", "-p", "cc-admin"]);
    });
}

pub fn binary(name: &str) -> PathBuf {
    workspace_root().join("target/release").join(name)
}

/// A fresh Ed25519 key pair in cc-backend's base64 formats.
pub struct Keys {
    pub public: String,
    pub private: String,
    /// The `session_key` variable: signs session cookies.
    pub session: String,
}

impl Keys {
    pub fn generate() -> Self {
        let (public, private) = cc_auth::generate_key_pair();
        let session = cc_auth::session::SessionKey::generate_base64().expect("random bytes");
        Self {
            public,
            private,
            session,
        }
    }

    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_base64(&self.private).expect("generated key parses")
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_base64(&self.public).expect("generated key parses")
    }

    /// A token for `user` with `roles`, expiring `ttl_seconds` from now (negative: already expired).
    pub fn token(&self, user: &str, roles: &[&str], ttl_seconds: i64) -> String {
        let now = unix_now();
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let issued = if ttl_seconds < 0 {
            now + ttl_seconds * 2
        } else {
            now
        };
        let ttl = Duration::from_secs(ttl_seconds.unsigned_abs());
        cc_auth::mint_token(&self.private_key(), user, &roles, Some(ttl), issued as u64)
    }
}

/// A keep-alive client for benchmarks: statuses are answers, not errors, and redirects are not
/// followed.
pub fn bench_agent() -> ureq::Agent {
    agent()
}

/// Waits until something accepts connections on the loopback `port`.
pub fn wait_for_port(port: u16, limit: Duration, what: &str) {
    wait_until(
        limit,
        Duration::from_millis(50),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        || format!("{what} accepts connections on port {port}"),
    );
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `spin up` (real Spin, when it is on PATH) on the repository's spin.toml, run in its own
/// process group and stopped with that group when dropped: `spin up` serves the app from a child
/// `spin trigger http` process, which a kill of `spin up` alone would leave running.
pub struct SpinUp {
    child: Child,
    pub base_url: String,
}

impl SpinUp {
    /// `None` when `spin` is not on PATH.
    pub fn start(keys: &Keys, state_dir: &Path) -> Option<SpinUp> {
        Self::start_with(keys, state_dir, &[])
    }

    /// Spin with the key-value store in the database file (docs/storage.md#one-file), written as
    /// a runtime-config file into `state_dir`.
    pub fn start_with_one_file(keys: &Keys, state_dir: &Path) -> Option<SpinUp> {
        let runtime_config = state_dir.join("runtime-config.toml");
        let database = state_dir.join("sqlite_db.db");
        std::fs::write(
            &runtime_config,
            format!(
                "[key_value_store.default]\ntype = \"spin\"\npath = {:?}\n",
                database.display().to_string()
            ),
        )
        .expect("runtime config is written");
        Self::start_with(
            keys,
            state_dir,
            &[
                OsStr::new("--runtime-config-file"),
                runtime_config.as_os_str(),
            ],
        )
    }

    fn start_with(keys: &Keys, state_dir: &Path, extra_args: &[&OsStr]) -> Option<SpinUp> {
        use std::os::unix::process::CommandExt;
        build_once();
        let port = free_port();
        let child = Command::new("spin")
            .args(["up", "-f"])
            .arg(workspace_root().join("spin.toml"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(state_dir)
            .args(extra_args)
            .env("SPIN_VARIABLE_JWT_PUBLIC_KEY", &keys.public)
            .env("SPIN_VARIABLE_JWT_PRIVATE_KEY", &keys.private)
            .env("SPIN_VARIABLE_SESSION_KEY", &keys.session)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .ok()?;
        let spin = SpinUp {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        // Spin compiles every component before it listens.
        wait_for_port(port, Duration::from_secs(300), "spin up");
        Some(spin)
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| {
            // A group that is already gone is the expected outcome, not worth a message.
            let _ = Command::new("kill")
                .args([name, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        signal("-TERM");
        let _ = self.child.wait();
        // The trigger process may outlive `spin up` by a moment; nothing of the group stays.
        std::thread::sleep(Duration::from_millis(500));
        signal("-KILL");
    }
}

/// A process's resident memory in KiB (Linux `VmRSS`), for benchmarks.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Polls `check` every `poll` until it holds; after `limit`, fails with what `context` says then.
pub fn wait_until(
    limit: Duration,
    poll: Duration,
    mut check: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let deadline = std::time::Instant::now() + limit;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: {}",
            context()
        );
        std::thread::sleep(poll);
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Compiled components shared by all runners of the tests: every test starts runners on fresh
/// state directories, and compiling the components again each time would dominate the suite.
fn shared_compile_cache() -> PathBuf {
    workspace_root().join("target/e2e-compile-cache")
}

/// Copies the files of `from` that `to` lacks (the runner's cache files are named by content hash).
fn copy_new_files(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).expect("cache directory can be created");
    for entry in entries.map_while(Result::ok) {
        let target = to.join(entry.file_name());
        if !target.exists() {
            // A concurrent test may be copying the same file: writing a private name and renaming
            // keeps every reader from seeing a half-written artefact.
            let partial = to.join(format!(
                ".{}.{}",
                entry.file_name().to_string_lossy(),
                std::process::id()
            ));
            if std::fs::copy(entry.path(), &partial).is_ok() {
                let _ = std::fs::rename(&partial, &target);
            }
        }
    }
}

pub struct RunnerConfig {
    pub manifest: PathBuf,
    pub variables: Vec<(String, String)>,
}

impl RunnerConfig {
    /// The app's own spin.toml with the given keys.
    pub fn app(keys: &Keys) -> Self {
        Self {
            manifest: workspace_root().join("spin.toml"),
            variables: vec![
                ("jwt_public_key".into(), keys.public.clone()),
                ("jwt_private_key".into(), keys.private.clone()),
                ("session_key".into(), keys.session.clone()),
            ],
        }
    }

    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }
}

/// A running `cc-spin up`; stopped when dropped. Its state directory outlives restarts.
pub struct Runner {
    child: Child,
    pub base_url: String,
    pub state_dir: PathBuf,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl Runner {
    pub fn start(config: &RunnerConfig, state_dir: &Path) -> Runner {
        Self::try_start(config, state_dir, "127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"))
    }

    /// Starts the runner with Spin's `--runtime-config-file`.
    pub fn start_with_runtime_config(
        config: &RunnerConfig,
        state_dir: &Path,
        runtime_config: &Path,
    ) -> Runner {
        Self::try_start_with(
            config,
            state_dir,
            "127.0.0.1:0",
            &[
                OsStr::new("--runtime-config-file"),
                runtime_config.as_os_str(),
            ],
        )
        .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Starts the runner and waits for its `Serving http://...` line; on failure returns the
    /// runner's stderr.
    pub fn try_start(
        config: &RunnerConfig,
        state_dir: &Path,
        listen: &str,
    ) -> Result<Runner, String> {
        Self::try_start_with(config, state_dir, listen, &[])
    }

    fn try_start_with(
        config: &RunnerConfig,
        state_dir: &Path,
        listen: &str,
        extra_args: &[&OsStr],
    ) -> Result<Runner, String> {
        build_once();
        let runner_cache = state_dir.join("cache");
        copy_new_files(&shared_compile_cache(), &runner_cache);
        let mut command = Command::new(binary("cc-spin"));
        command
            .args(["up", "--from"])
            .arg(&config.manifest)
            .args(["--listen", listen, "--state-dir"])
            .arg(state_dir)
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &config.variables {
            command.env(format!("SPIN_VARIABLE_{}", name.to_uppercase()), value);
        }
        let mut child = command.spawn().expect("cc-spin starts");
        let stderr = std::sync::Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err_pipe = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("Serving ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let status = child.wait().expect("runner exits");
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(format!(
                        "cc-spin exited ({status}) before serving:\n{}",
                        stderr.lock().unwrap()
                    ));
                }
            }
        };
        copy_new_files(&runner_cache, &shared_compile_cache());
        // Keep draining stdout so the runner never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Runner {
            child,
            base_url,
            state_dir: state_dir.to_path_buf(),
            stderr,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Stops the runner (SIGTERM, like Ctrl-C) and waits for it to exit.
    pub fn stop(mut self) {
        self.terminate();
    }

    /// The runner's resident memory in KiB, for benchmarks.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Kills the runner with SIGKILL, as a crash or the OOM killer would, and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The app served for one test by its own runner, with fresh keys and a private state directory
/// that goes with it: each test sees only its own rows, and no runner outlives its test.
pub struct TestApp {
    pub keys: Keys,
    pub runner: Runner,
    _state: tempfile::TempDir,
}

impl TestApp {
    /// Serves the configuration `config` makes for fresh keys.
    pub fn start(config: impl FnOnce(&Keys) -> RunnerConfig) -> TestApp {
        let state = tempfile::tempdir().expect("temporary state directory");
        Self::start_in(state, config)
    }

    /// Like [`TestApp::start`], on a state directory the test may have filled beforehand.
    pub fn start_in(
        state: tempfile::TempDir,
        config: impl FnOnce(&Keys) -> RunnerConfig,
    ) -> TestApp {
        let keys = Keys::generate();
        let runner = Runner::start(&config(&keys), state.path());
        TestApp {
            keys,
            runner,
            _state: state,
        }
    }

    /// The runner's SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.runner.state_dir.join("sqlite_db.db")
    }

    /// A connection to the runner's database that waits for the app's writers.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.db_path()).expect("database opens");
        conn.busy_timeout(Duration::from_secs(30))
            .expect("busy timeout set");
        conn
    }

    /// The single integer `sql` selects.
    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A token for `user` with `roles`, valid for an hour.
    pub fn token(&self, user: &str, roles: &[&str]) -> String {
        self.keys.token(user, roles, 3600)
    }

    /// The batch-system adapter and metric collector: roles exactly `[api]`.
    pub fn adapter(&self) -> String {
        self.token("adapter", &["api"])
    }

    pub fn admin(&self) -> String {
        self.token("root", &["admin", "api"])
    }

    /// One request with `token` as bearer token.
    pub fn call(&self, method: &str, path: &str, token: &str, body: &str) -> Reply {
        send(
            method,
            &self.runner.url(path),
            &[("Authorization", &format!("Bearer {token}"))],
            body.as_bytes(),
        )
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, token, "")
    }

    /// Creates a local user in the app's database (bcrypt password; empty for none).
    pub fn add_user(&self, username: &str, password: &str, roles: &[&str], projects: &[&str]) {
        Self::add_user_with_projects_to(&self.db_path(), username, password, roles, projects);
    }

    /// Creates a local user without projects in the database file `db`.
    pub fn add_user_to(db: &Path, username: &str, password: &str, roles: &[&str]) {
        Self::add_user_with_projects_to(db, username, password, roles, &[]);
    }

    fn add_user_with_projects_to(
        db: &Path,
        username: &str,
        password: &str,
        roles: &[&str],
        projects: &[&str],
    ) {
        let db = cc_store::native::NativeSql::open(db).expect("database opens");
        cc_store::migrate(&db).expect("database migrates");
        let owned = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        cc_users::add_user(
            &db,
            &cc_users::NewUser {
                username: username.into(),
                password: password.into(),
                roles: owned(roles),
                projects: owned(projects),
                name: String::new(),
                email: String::new(),
            },
        )
        .unwrap_or_else(|error| panic!("adding {username}: {error}"));
    }

    /// Logs in through `POST /login` and returns the `Cookie` header value of the new session.
    pub fn login(&self, username: &str, password: &str) -> String {
        let reply = self.login_attempt(username, password);
        assert_eq!(reply.status, 302, "login of {username}: {}", reply.text());
        session_cookie(&reply).unwrap_or_else(|| panic!("no session cookie: {:?}", reply.headers))
    }

    /// One `POST /login` with the form fields.
    pub fn login_attempt(&self, username: &str, password: &str) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", username)
            .append_pair("password", password)
            .finish();
        send(
            "POST",
            &self.runner.url("/login"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// One request carrying `cookie` (a `Cookie` header value, e.g. from [`TestApp::login`]) and
    /// a body of `content_type` (urlencoded forms for the config and frontend routes).
    pub fn call_with_cookie(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        content_type: &str,
        body: &str,
    ) -> Reply {
        send(
            method,
            &self.runner.url(path),
            &[("Cookie", cookie), ("Content-Type", content_type)],
            body.as_bytes(),
        )
    }

    /// `POST /api/jobs/start_job/` as the adapter.
    pub fn start_job(&self, body: &serde_json::Value) -> Reply {
        self.call(
            "POST",
            "/api/jobs/start_job/",
            &self.adapter(),
            &body.to_string(),
        )
    }

    /// `POST /api/jobs/stop_job/` as the adapter.
    pub fn stop_job(&self, body: &serde_json::Value) -> Reply {
        self.call(
            "POST",
            "/api/jobs/stop_job/",
            &self.adapter(),
            &body.to_string(),
        )
    }
}

/// The `username`s of a 200 answer listing users (`GET /api/users/`, `GET /config/users/`).
pub fn usernames(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
        .json()
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|user| user["username"].as_str().expect("a username").to_owned())
        .collect()
}

/// The `session=…` pair a response's `Set-Cookie` sets, ready for a `Cookie` header.
pub fn session_cookie(reply: &Reply) -> Option<String> {
    reply
        .header_values("set-cookie")
        .into_iter()
        .filter_map(|cookie| cookie.split(';').next())
        .find(|pair| pair.starts_with("session=") && pair.len() > "session=".len())
        .map(str::to_owned)
}

/// cc-backend's answer for a path under `/api/` (and the other API prefixes) that no route serves.
pub const NOT_FOUND_BODY: &str =
    "{\"status\":\"Resource not found\",\"error\":\"the requested endpoint does not exist\"}\n";

/// Asserts cc-backend's error JSON: `status` with its text, and `message` escaped as Go's encoder
/// does.
pub fn assert_error(reply: &Reply, status: u16, message: &str) {
    let status_text = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or_else(|| panic!("unexpected status {status}"));
    // Go's encoder escapes these three for HTML safety.
    let message = serde_json::to_string(message)
        .expect("a string encodes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    assert_eq!(
        (reply.status, reply.text()),
        (
            status,
            format!("{{\"status\":\"{status_text}\",\"error\":{message}}}\n").as_str()
        )
    );
    assert_eq!(reply.header_values("content-type"), ["application/json"]);
}

/// An error whose message starts with `prefix` (decoder texts are serde's, not Go's).
pub fn assert_error_prefix(reply: &Reply, status: u16, prefix: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let message = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(message.starts_with(prefix), "{message}");
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// Every value of a header (names compared case-insensitively).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }
}

fn agent() -> ureq::Agent {
    // Redirects are answers the tests check (login), not something to follow.
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends one request; `headers` are (name, value) pairs.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    try_send(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Sends one request; a transport failure (refused, reset, timed out) is an `Err`.
pub fn try_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Reply, String> {
    let request = http::Request::builder().method(method).uri(url);
    let request = headers.iter().fold(request, |request, (name, value)| {
        request.header(*name, *value)
    });
    let request = request.body(body.to_vec()).expect("valid request");
    let response = agent().run(request).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response
        .into_body()
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send("GET", url, headers, b"")
}

const HWTHREAD_METRICS: [&str; 7] = [
    "cpu_user",
    "flops_any",
    "flops_sp",
    "flops_dp",
    "clock",
    "ipc",
    "vectorization_ratio",
];
const SOCKET_METRICS: [&str; 3] = ["mem_bw", "cpu_power", "mem_power"];
/// The node-level metrics of a collector batch.
pub const NODE_METRICS: [&str; 9] = [
    "cpu_load",
    "mem_used",
    "ib_recv",
    "ib_xmit",
    "ib_recv_pkts",
    "ib_xmit_pkts",
    "nfs4_read",
    "nfs4_write",
    "nfs4_total",
];

/// The name of the `index`-th node of the fritz cluster (`f0101`, `f0102`, …).
pub fn fritz_host(index: usize) -> String {
    format!("f{:02}{:02}", 1 + index / 88, 1 + index % 88)
}

/// One cc-metric-collector batch: every metric at every level of a fritz node at one timestamp,
/// with the number of lines.
pub fn collector_batch(host: &str, time: i64, value: f64) -> (String, usize) {
    let mut body = String::with_capacity(64 * 1024);
    let mut lines = 0;
    let mut line = |metric: &str, level: Option<(&str, usize)>| {
        match level {
            Some((kind, id)) => writeln!(
                body,
                "{metric},cluster=fritz,hostname={host},type={kind},type-id={id} value={value} {time}"
            ),
            None => writeln!(body, "{metric},cluster=fritz,hostname={host} value={value} {time}"),
        }
        .unwrap();
        lines += 1;
    };
    for metric in HWTHREAD_METRICS {
        for id in 0..72 {
            line(metric, Some(("hwthread", id)));
        }
        for id in 0..36 {
            line(metric, Some(("core", id)));
        }
        for id in 0..8 {
            line(metric, Some(("memoryDomain", id)));
        }
    }
    for metric in HWTHREAD_METRICS.iter().chain(&SOCKET_METRICS) {
        for id in 0..2 {
            line(metric, Some(("socket", id)));
        }
    }
    for metric in NODE_METRICS {
        line(metric, None);
    }
    (body, lines)
}
