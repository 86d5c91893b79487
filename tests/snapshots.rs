//! Snapshots of representative answers of every route family, byte for byte (status, content
//! type, body): compatibility with cc-backend is reviewed as data in `tests/snapshots/` rather
//! than as string asserts. After an intended change, `INSTA_UPDATE=always cargo test --release
//! -p cc-spin-e2e --test snapshots` rewrites them; review the diff.

use cc_spin_e2e::{workspace_root, Reply, RunnerConfig, TestApp};
use serde_json::json;

fn app() -> TestApp {
    TestApp::start(|keys| RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
        variables: vec![("jwt_public_key".into(), keys.public.clone())],
    })
}

/// The reply as one reviewable text: status, content type, then the body as sent.
fn answer(reply: &Reply) -> String {
    format!(
        "{} {}\n{}",
        reply.status,
        reply.header("content-type").unwrap_or("(no content type)"),
        reply.text()
    )
}

/// A job whose archiving is disabled, so every answer about it is the same on every run.
fn job(job_id: i64, start_time: i64) -> serde_json::Value {
    json!({
        "jobId": job_id, "user": "testuser", "project": "snapshots", "cluster": "testcluster",
        "partition": "default", "walltime": 3600, "arrayJobId": 0, "numNodes": 1,
        "numHwthreads": 8, "numAcc": 0, "shared": "none", "monitoringStatus": 0, "smt": 1,
        "resources": [{"hostname": "host123", "hwthreads": [0, 1, 2, 3, 4, 5, 6, 7]}],
        "metaData": {"jobScript": "#!/bin/sh\nsrun ./a.out"}, "startTime": start_time,
        "tags": [{"type": "app", "name": "a.out"}]
    })
}

#[test]
fn clusters_routes() {
    let app = app();
    let token = app.adapter();
    insta::assert_snapshot!(
        "clusters_one",
        answer(&app.get("/api/clusters/?cluster=testcluster", &token))
    );
    insta::assert_snapshot!(
        "clusters_unknown",
        answer(&app.get("/api/clusters/?cluster=nope", &token))
    );
}

#[test]
fn job_routes() {
    let app = app();
    let (adapter, admin) = (app.adapter(), app.admin());
    insta::assert_snapshot!("jobs_start", answer(&app.start_job(&job(7, 1_000_000_000))));
    insta::assert_snapshot!(
        "jobs_start_duplicate",
        answer(&app.start_job(&job(7, 1_000_000_000)))
    );
    insta::assert_snapshot!(
        "jobs_start_bad_body",
        answer(&app.call("POST", "/api/jobs/start_job/", &adapter, r#"{"jobId":"x"}"#))
    );
    insta::assert_snapshot!(
        "jobs_stop",
        answer(&app.stop_job(&json!({"jobId": 7, "cluster": "testcluster",
            "startTime": 1_000_000_000, "jobState": "completed", "stopTime": 1_000_003_600})))
    );
    insta::assert_snapshot!(
        "jobs_list",
        answer(&app.get("/api/jobs/?project=snapshots", &admin))
    );
    insta::assert_snapshot!("jobs_by_id", answer(&app.get("/api/jobs/1", &admin)));
    insta::assert_snapshot!(
        "jobs_tag",
        answer(&app.call(
            "POST",
            "/api/jobs/tag_job/1",
            &admin,
            r#"[{"type":"review","name":"checked","scope":"global"}]"#
        ))
    );
    insta::assert_snapshot!(
        "jobs_edit_meta",
        answer(&app.call(
            "PATCH",
            "/api/jobs/edit_meta/1",
            &admin,
            r#"{"key":"note","value":"seen"}"#
        ))
    );
    insta::assert_snapshot!(
        "jobs_used_nodes",
        answer(&app.get("/api/jobs/used_nodes?ts=1000000001", &adapter))
    );
    insta::assert_snapshot!(
        "userapi_list_foreign_user",
        answer(&app.get(
            "/userapi/jobs/?project=snapshots",
            &app.token("someone", &["api", "user"])
        ))
    );
    insta::assert_snapshot!(
        "jobs_delete",
        answer(&app.call("DELETE", "/api/jobs/delete_job/1", &admin, ""))
    );
}

#[test]
fn user_and_node_routes() {
    let app = app();
    let admin = app.admin();
    insta::assert_snapshot!(
        "nodestate",
        answer(&app.call(
            "POST",
            "/api/nodestate/",
            &app.adapter(),
            r#"{"cluster":"testcluster","nodes":[{"hostname":"host123","states":["idle"],
                "cpusAllocated":0,"memoryAllocated":0,"gpusAllocated":0,"jobsRunning":0}]}"#
        ))
    );
    insta::assert_snapshot!("users_list", answer(&app.get("/api/users/", &admin)));
    insta::assert_snapshot!(
        "users_list_not_admin",
        answer(&app.get("/api/users/", &app.adapter()))
    );
    insta::assert_snapshot!(
        "user_update_no_operation",
        answer(&app.call("POST", "/api/user/nobody", &admin, "{}"))
    );
    insta::assert_snapshot!(
        "machine_state_disabled",
        answer(&app.get("/api/machine_state/testcluster/host123", &admin))
    );
}

#[test]
fn metric_store_routes() {
    let app = app();
    let token = app.adapter();
    insta::assert_snapshot!(
        "write_syntax_error",
        answer(&app.call(
            "POST",
            "/api/write?cluster=testcluster",
            &token,
            "load_one,hostname=host123 value="
        ))
    );
    insta::assert_snapshot!(
        "write_unknown_field",
        answer(&app.call(
            "POST",
            "/api/write?cluster=testcluster",
            &token,
            "load_one,hostname=host123,type=node other=1 1700000000"
        ))
    );
    insta::assert_snapshot!(
        "free_without_to",
        answer(&app.call("POST", "/api/free", &token, "[]"))
    );
    insta::assert_snapshot!(
        "free_nothing",
        answer(&app.call("POST", "/api/free?to=1", &token, r#"[["testcluster"]]"#))
    );
    insta::assert_snapshot!(
        "debug_not_found",
        answer(&app.get("/api/debug?selector=testcluster:host999", &token))
    );
    insta::assert_snapshot!("debug_empty", answer(&app.get("/api/debug", &token)));
}

#[test]
fn unrouted_and_unauthenticated() {
    let app = app();
    insta::assert_snapshot!(
        "not_found",
        answer(&app.get("/api/no/such/route", &app.adapter()))
    );
    insta::assert_snapshot!("no_token", answer(&app.call("GET", "/api/jobs/", "", "")));
}
