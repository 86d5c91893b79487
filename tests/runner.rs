//! End-to-end tests of the runner itself, through the probe component (tests/fixtures/store-probe):
//! Spin headers, variables, mounted files, traps, persistence of both stores, start-up errors.

use std::path::PathBuf;

use cc_spin_e2e::{get, send, workspace_root, Runner, RunnerConfig};

fn probe_config() -> RunnerConfig {
    RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/probe-spin.toml"),
        variables: vec![("probe_required".into(), "set".into())],
    }
}

#[test]
fn guest_sees_spin_headers_variables_and_mounted_files() {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&probe_config(), state.path());
    let env = get(&runner.url("/probe/env?x=1"), &[]).json();
    let headers = &env["headers"];
    assert_eq!(headers["spin-full-url"], runner.url("/probe/env?x=1"));
    assert_eq!(headers["spin-path-info"], "/env");
    assert_eq!(headers["spin-matched-route"], "/probe/...");
    assert_eq!(headers["spin-raw-component-route"], "/probe/...");
    assert_eq!(headers["spin-component-route"], "/probe");
    assert_eq!(headers["spin-base-path"], "/");
    let client = headers["spin-client-addr"].as_str().unwrap();
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    assert_eq!(
        env["uri"].as_str().unwrap().split_once("/probe").unwrap().1,
        "/env?x=1"
    );
    assert_eq!(env["variable"], "from-default");
    assert_eq!(env["undeclared_variable"], serde_json::Value::Null);
    assert_eq!(
        env["clusters"],
        serde_json::json!([
            "LICENSE-cc-backend",
            "richcluster",
            "synccluster",
            "testcluster",
            "version.txt"
        ])
    );

    let exact = get(&runner.url("/probe/exact"), &[]);
    assert_eq!(
        exact.status, 404,
        "the probe answers its own 404 for /probe/exact"
    );
    assert_eq!(get(&runner.url("/elsewhere"), &[]).status, 404);
}

#[test]
fn environment_overrides_variable_defaults() {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(
        &probe_config().variable("probe_value", "from-env"),
        state.path(),
    );
    let env = get(&runner.url("/probe/env"), &[]).json();
    assert_eq!(env["variable"], "from-env");
}

#[test]
fn a_trapping_request_gets_500_and_the_runner_keeps_serving() {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&probe_config(), state.path());
    let trap = get(&runner.url("/probe/trap"), &[]);
    assert_eq!(trap.status, 500);
    assert_eq!(get(&runner.url("/probe/env"), &[]).status, 200);
    assert!(
        runner.stderr().contains("probe"),
        "trap is logged with the component: {}",
        runner.stderr()
    );
}

#[test]
fn key_value_and_sqlite_data_survive_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&probe_config(), state.path());
    assert_eq!(
        send("PUT", &runner.url("/probe/kv/greeting"), &[], b"hello").status,
        200
    );
    assert_eq!(
        send("POST", &runner.url("/probe/notes"), &[], b"first note").status,
        200
    );
    runner.stop();

    let runner = Runner::start(&probe_config(), state.path());
    assert_eq!(get(&runner.url("/probe/kv/greeting"), &[]).body, b"hello");
    assert_eq!(get(&runner.url("/probe/kv/missing"), &[]).status, 404);
    let notes = get(&runner.url("/probe/notes"), &[]).json();
    assert_eq!(notes["notes"], serde_json::json!(["first note"]));
    let latest = cc_store_latest_version();
    assert_eq!(
        notes["schema_version"], latest,
        "migrations ran inside the component"
    );
    runner.stop();

    // Spin's file layout, readable by any SQLite client.
    let kv = rusqlite::Connection::open(state.path().join("sqlite_key_value.db")).unwrap();
    let value: Vec<u8> = kv
        .query_row(
            "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'greeting'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(value, b"hello");
    let db = rusqlite::Connection::open(state.path().join("sqlite_db.db")).unwrap();
    let jobs: i64 = db
        .query_row("SELECT count(*) FROM job", [], |row| row.get(0))
        .unwrap();
    assert_eq!(jobs, 0, "the cc-backend schema exists");
}

fn cc_store_latest_version() -> i64 {
    let dir = workspace_root().join("migrations");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.split_once('_')?.0.parse::<i64>().ok()
        })
        .max()
        .unwrap()
}

#[test]
fn concurrent_writers_through_many_instances_lose_nothing() {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&probe_config(), state.path());
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let runner = &runner;
            scope.spawn(move || {
                for note in 0..10 {
                    let body = format!("{writer}-{note}");
                    let reply = send("POST", &runner.url("/probe/notes"), &[], body.as_bytes());
                    assert_eq!(reply.status, 200, "{}", reply.text());
                }
            });
        }
    });
    let notes = get(&runner.url("/probe/notes"), &[]).json();
    assert_eq!(notes["notes"].as_array().unwrap().len(), 80);
}

fn start_error(config: &RunnerConfig, listen: &str) -> String {
    let state = tempfile::tempdir().unwrap();
    match Runner::try_start(config, state.path(), listen) {
        Ok(_) => panic!("runner started although it should not"),
        Err(stderr) => stderr,
    }
}

#[test]
fn start_up_errors_are_clear() {
    let missing_variable = RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/probe-spin.toml"),
        variables: Vec::new(),
    };
    let message = start_error(&missing_variable, "127.0.0.1:0");
    assert!(message.contains("probe_required"), "{message}");

    let state = tempfile::tempdir().unwrap();
    let first = Runner::start(&probe_config(), state.path());
    let taken = first.base_url.trim_start_matches("http://").to_owned();
    let message = start_error(&probe_config(), &taken);
    assert!(
        message.to_lowercase().contains("address") || message.contains("in use"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let manifest: PathBuf = dir.path().join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"gone\"\n[component.gone]\nsource = \"missing.wasm\"\n",
    )
    .unwrap();
    let message = start_error(
        &RunnerConfig {
            manifest: manifest.clone(),
            variables: Vec::new(),
        },
        "127.0.0.1:0",
    );
    assert!(message.contains("missing.wasm"), "{message}");

    std::fs::write(&manifest, "spin_manifest_version = 2\n[[trigger.http]\n").unwrap();
    let message = start_error(
        &RunnerConfig {
            manifest,
            variables: Vec::new(),
        },
        "127.0.0.1:0",
    );
    assert!(message.contains("spin.toml"), "{message}");
}
