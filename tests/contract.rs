//! The served OpenAPI document against the running app: `/swagger/doc.json` is the checked-in
//! document, the Swagger UI page loads its vendored assets, and schemathesis (PyPI) sends
//! generated requests to every described operation with a valid token, checking that no answer
//! is a 5xx and none contradicts the document (status codes, content types, body schemas).
//! `./dev test` installs schemathesis into `target/py`; without it the schemathesis part is
//! skipped with a message (docs/testing.md#contract-tests).

use std::path::PathBuf;
use std::process::Command;

use cc_spin_e2e::{get, workspace_root, RunnerConfig, TestApp};
use serde_json::json;

fn app() -> TestApp {
    TestApp::start(|keys| {
        RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
            variables: vec![
                ("jwt_public_key".into(), keys.public.clone()),
                ("jwt_private_key".into(), keys.private.clone()),
                ("session_key".into(), keys.session.clone()),
            ],
        }
        .variable("machine_state_enabled", "true")
    })
}

/// A few jobs (database ids 1 to 3, one stopped, one tagged) and samples, so that generated
/// requests also reach stored data.
fn seed(app: &TestApp) {
    for job_id in 1..=3 {
        let started = app.start_job(&json!({
            "jobId": job_id, "user": "testuser", "project": "testproj", "cluster": "testcluster",
            "walltime": 3600, "numNodes": 1, "shared": "none", "monitoringStatus": 1,
            "resources": [{"hostname": "host123"}], "startTime": 1_700_000_000 + job_id,
            "tags": [{"type": "contract", "name": format!("tag{job_id}"), "scope": "global"}],
        }));
        assert_eq!(started.status, 201, "{}", started.text());
    }
    let stopped = app.stop_job(&json!({
        "jobId": 3, "cluster": "testcluster", "startTime": 1_700_000_003,
        "jobState": "completed", "stopTime": 1_700_000_603,
    }));
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    let written = app.call(
        "POST",
        "/api/write?cluster=testcluster",
        &app.adapter(),
        &format!(
            "load_one,hostname=host123 value=1 {}",
            cc_spin_e2e::unix_now()
        ),
    );
    assert_eq!(written.status, 200, "{}", written.text());
}

/// schemathesis's `st`: from `./dev test`'s virtual environment, else from PATH.
fn schemathesis() -> Option<PathBuf> {
    let venv = workspace_root().join("target/py/bin/st");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("st"))
            .find(|candidate| candidate.is_file())
    })
}

/// A knob for longer runs by hand: the environment variable `name`, else `default`.
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[test]
fn the_document_and_its_page_are_served() {
    let app = app();
    let document = get(&app.runner.url("/swagger/doc.json"), &[]);
    assert_eq!(document.status, 200);
    assert_eq!(document.header("content-type"), Some("application/json"));
    assert_eq!(document.text(), cc_openapi::document_json());

    let page = get(&app.runner.url("/swagger/"), &[]);
    assert_eq!(page.status, 200);
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        assert!(page.text().contains(asset), "{}", page.text());
        let served = get(&app.runner.url(&format!("/swagger/{asset}")), &[]);
        assert_eq!(served.status, 200, "{asset}");
        assert!(served.text().len() > 10_000, "{asset}");
    }
    let missing = get(&app.runner.url("/swagger/nothing.js"), &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["error"],
        "the requested endpoint does not exist"
    );
}

#[test]
fn generated_requests_get_answers_the_document_allows() {
    let Some(schemathesis) = schemathesis() else {
        eprintln!("schemathesis is not installed (./dev test installs it): contract run skipped");
        return;
    };
    let app = app();
    seed(&app);
    let token = app.token("contract", &["admin", "api"]);
    // The session groups see the cookie, the token groups the token.
    app.add_user("contract", "c0ntract-pass", &["admin", "api"], &[]);
    let cookie = app.login("contract", "c0ntract-pass");
    // schemathesis keeps a working directory of its own; not in the repository.
    let scratch = tempfile::tempdir().unwrap();
    let output = Command::new(schemathesis)
        .current_dir(scratch.path())
        .arg("run")
        .arg(app.runner.url("/swagger/doc.json"))
        .args(["--url", app.runner.base_url.trim_end_matches('/')])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--header", &format!("Cookie: {cookie}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &setting("CONTRACT_MAX_EXAMPLES", "25")])
        .args(["--seed", &setting("CONTRACT_SEED", "1"), "--workers", "2"])
        .args(["--generation-database", "none", "--request-timeout", "20"])
        .args(["--no-color", "--output-truncate", "false"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
}
