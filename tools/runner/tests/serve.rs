//! Builds the fixture guest (tests/fixtures/guest, a spin-sdk 5.2 component) and serves it with
//! the runner in-process, then talks to it over HTTP/1.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cc_spin::{Runner, UpOptions};

struct TestApp {
    address: SocketAddr,
    dir: PathBuf,
    banner: String,
}

fn build_guest() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(crate_dir.join("tests/fixtures/guest/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the fixture guest failed");
    target_dir.join("wasm32-wasip2/release/cc_spin_fixture_guest.wasm")
}

fn manifest(wasm: &Path) -> String {
    format!(
        r#"spin_manifest_version = 2
[application]
name = "fixture"

[variables]
greeting = {{ default = "hello" }}

[[trigger.http]]
route = "/guest/..."
component = "guest"

[[trigger.http]]
route = "/exact"
component = "guest"

[[trigger.http]]
route = {{ private = true }}
component = "hidden"

[component.guest]
source = {wasm:?}
description = "the fixture guest"
key_value_stores = ["default", "other"]
sqlite_databases = ["default", "other"]
files = ["static/*.txt", {{ source = "assets", destination = "/data" }}]
environment = {{ FROM_MANIFEST = "manifest", OVERRIDDEN = "manifest" }}
allowed_outbound_hosts = ["http://127.0.0.1:1"]
[component.guest.variables]
message = "{{{{ greeting }}}}, world"

[component.hidden]
source = {wasm:?}
"#
    )
}

/// One runner for the whole test binary.
fn app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(|| {
        let wasm = build_guest();
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::fs::create_dir_all(dir.join("static")).unwrap();
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("static/hello.txt"), "static file").unwrap();
        std::fs::write(dir.join("static/skip.md"), "not mounted").unwrap();
        std::fs::write(dir.join("assets/data.json"), "{}").unwrap();
        std::fs::write(dir.join("spin.toml"), manifest(&wasm)).unwrap();
        let options = UpOptions {
            manifest: dir.join("spin.toml"),
            listen: "127.0.0.1:0".into(),
            state_dir: None,
            build: false,
            env: vec![("OVERRIDDEN".into(), "cli".into())],
            runtime_config_file: None,
        };
        let runner = Runner::start(&options).expect("runner starts");
        let address = runner.local_addr();
        let mut banner = Vec::new();
        runner.print_banner(&mut banner).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime
                .block_on(runner.serve(std::future::pending()))
                .unwrap();
        });
        TestApp {
            address,
            dir,
            banner: String::from_utf8(banner).unwrap(),
        }
    })
}

struct Reply {
    status: u16,
    body: String,
}

fn decode_chunked(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn send(method: &str, path: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(app().address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let payload = &raw[split + 4..];
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        decode_chunked(payload)
    } else {
        payload.to_vec()
    };
    Reply {
        status,
        body: String::from_utf8(body).unwrap(),
    }
}

fn get(path: &str) -> Reply {
    send("GET", path, "")
}

#[test]
fn banner_lists_routes_like_spin() {
    let app = app();
    let base = format!("http://{}", app.address);
    assert_ne!(app.address.port(), 0);
    let expected = [
        format!("Serving {base}"),
        "Available Routes:".to_owned(),
        format!("  guest: {base}/exact"),
        "    the fixture guest".to_owned(),
        format!("  guest: {base}/guest (wildcard)"),
        "    the fixture guest".to_owned(),
    ];
    assert_eq!(app.banner.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn spin_headers_and_full_uri_reach_the_guest() {
    let reply = get("/guest/headers/x/?q=1");
    assert_eq!(reply.status, 200);
    let lines: Vec<&str> = reply.body.lines().collect();
    assert!(
        lines.contains(&"spin-path-info=/headers/x/"),
        "{}",
        reply.body
    );
    assert!(lines.contains(&"spin-matched-route=/guest/..."));
    assert!(lines.contains(&"spin-component-route=/guest"));
    assert!(lines.contains(&"spin-raw-component-route=/guest/..."));
    assert!(lines.contains(&"spin-base-path=/"));
    assert!(lines.contains(&"spin-full-url=http://localhost/guest/headers/x/?q=1"));
    assert!(lines.contains(&"uri=http://localhost/guest/headers/x/?q=1"));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("spin-client-addr=127.0.0.1:")));
}

#[test]
fn exact_route_wildcard_route_and_not_found() {
    let exact = get("/exact");
    assert_eq!((exact.status, exact.body.as_str()), (200, "hello from "));
    let below_exact = get("/exact/more");
    assert_eq!((below_exact.status, below_exact.body.as_str()), (404, ""));
    assert_eq!(get("/elsewhere").status, 404);
    assert_eq!(get("/guest").status, 200);
    let health = get("/.well-known/spin/health");
    assert_eq!((health.status, health.body.as_str()), (200, "OK"));
}

#[test]
fn variables_environment_and_files() {
    assert_eq!(get("/guest/var/message").body, "hello, world");
    let undefined = get("/guest/var/other");
    assert_eq!(undefined.status, 404);
    assert!(
        undefined.body.starts_with("Error::Undefined("),
        "{}",
        undefined.body
    );
    assert!(get("/guest/var/Bad")
        .body
        .starts_with("Error::InvalidName("));
    assert_eq!(get("/guest/env/FROM_MANIFEST").body, "manifest");
    assert_eq!(get("/guest/env/OVERRIDDEN").body, "cli");
    assert_eq!(get("/guest/file/static/hello.txt").body, "static file");
    assert_eq!(get("/guest/file/data/data.json").body, "{}");
    assert_eq!(get("/guest/file/static/skip.md").status, 404);
}

#[test]
fn key_value_store_labels_and_persistence() {
    assert_eq!(send("PUT", "/guest/kv/default/colour", "blue").status, 201);
    assert_eq!(get("/guest/kv/default/colour").body, "blue");
    assert!(get("/guest/kv/default")
        .body
        .split(',')
        .any(|k| k == "colour"));
    assert_eq!(get("/guest/kv/default/missing").body, "exists=false");
    assert_eq!(
        send("DELETE", "/guest/kv/default/colour", "").body,
        "exists=false"
    );
    assert_eq!(get("/guest/kv/other/x").body, "Error::NoSuchStore");
    assert_eq!(get("/guest/kv/secret/x").body, "Error::AccessDenied");

    send("PUT", "/guest/kv/default/persisted", "on disk");
    let db = app().dir.join(".spin/sqlite_key_value.db");
    assert_eq!(read_state_key(&db, "persisted"), "on disk");
}

/// Reads a key through cc-store, i.e. Spin's table layout, not through the runner.
fn read_state_key(path: &Path, key: &str) -> String {
    use cc_store::Kv;
    let kv = cc_store::native::NativeKv::open(path, "default").unwrap();
    String::from_utf8(kv.get(key).unwrap().unwrap()).unwrap()
}

#[test]
fn sqlite_connection_keeps_transactions_across_calls() {
    let setup = send(
        "POST",
        "/guest/sql/default",
        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)",
    );
    assert_eq!(setup.status, 200, "{}", setup.body);
    let tx = send(
        "POST",
        "/guest/sql/default",
        "BEGIN IMMEDIATE; INSERT INTO items (name) VALUES ('a'); INSERT INTO items (name) VALUES ('b'); \
         COMMIT; SELECT name FROM items WHERE name IN ('a', 'b') ORDER BY id DESC LIMIT 2",
    );
    assert_eq!(tx.status, 200, "{}", tx.body);
    assert!(tx.body.starts_with("b\na\nchanges=1 rowid="), "{}", tx.body);
    let bad = send("POST", "/guest/sql/default", "SELECT * FROM nowhere");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("no such table: nowhere"), "{}", bad.body);
    assert!(app().dir.join(".spin/sqlite_db.db").is_file());
    assert_eq!(get("/guest/sql/other").body, "Error::NoSuchDatabase");
    assert_eq!(get("/guest/sql/secret").body, "Error::AccessDenied");
}

#[test]
fn traps_become_500_and_the_runner_keeps_serving() {
    let trap = get("/guest/trap");
    assert_eq!((trap.status, trap.body.as_str()), (500, ""));
    assert_eq!(get("/exact").status, 200);
}

#[test]
fn busy_guests_do_not_hold_up_other_requests() {
    use std::time::{Duration, Instant};
    // More busy guests than the runtime has worker threads (one per core).
    let busy: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(|| (get("/guest/busy/2000").status, Instant::now())))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let quick = get("/exact");
    let answered = Instant::now();
    assert_eq!(quick.status, 200);
    for handle in busy {
        let (status, finished) = handle.join().unwrap();
        assert_eq!(status, 200);
        assert!(
            finished > answered,
            "a busy guest finished before the quick request"
        );
    }
}

#[test]
fn outbound_http_is_limited_to_allowed_hosts() {
    let denied = get("/guest/outbound?url=http://example.com/");
    assert_eq!(denied.status, 502);
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
    // Allowed, but nothing listens on port 1: the request is attempted and fails to connect.
    let refused = get("/guest/outbound?url=http://127.0.0.1:1/");
    assert_eq!(refused.status, 502);
    assert!(
        !refused.body.contains("HttpRequestDenied"),
        "{}",
        refused.body
    );
}

#[test]
fn concurrent_requests_share_the_key_value_file() {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..10 {
                    let key = format!("/guest/kv/default/k{t}-{i}");
                    assert_eq!(send("PUT", &key, "v").status, 201);
                    assert_eq!(get(&key).body, "v");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
