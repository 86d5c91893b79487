//! End-to-end tests of the foundation: the real components served by `cc-spin up`.

use cc_spin_e2e::{
    assert_error, get, send, Keys, Reply, Runner, RunnerConfig, TestApp, NOT_FOUND_BODY,
};
use serde_json::json;

fn app() -> TestApp {
    TestApp::start(RunnerConfig::app)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn get_clusters(app: &TestApp, query: &str, token: &str) -> Reply {
    get(
        &app.runner.url(&format!("/api/clusters/{query}")),
        &[("Authorization", &bearer(token))],
    )
}

#[test]
fn missing_or_invalid_tokens_get_401_json() {
    let app = app();
    let url = app.runner.url("/api/clusters/");
    assert_error(&get(&url, &[]), 401, "no user for secured check");

    let stranger = Keys::generate().token("admin", &["admin", "api"], 3600);
    assert_error(
        &get(&url, &[("X-Auth-Token", &stranger)]),
        401,
        "token signature is invalid: ed25519: verification error",
    );

    let expired = app.keys.token("admin", &["admin", "api"], -60);
    assert_error(
        &get(&url, &[("X-Auth-Token", &expired)]),
        401,
        "token has invalid claims: token is expired",
    );

    use jwt_simple::prelude::*;
    let hs256 = HS256Key::generate()
        .authenticate(Claims::create(Duration::from_hours(1)).with_subject("admin"))
        .unwrap();
    assert_error(
        &get(&url, &[("X-Auth-Token", &hs256)]),
        401,
        "token is unverifiable: error while executing keyfunc: only Ed25519/EdDSA supported",
    );

    assert_error(
        &get(&url, &[("Authorization", "Basic YWRtaW46YWRtaW4=")]),
        401,
        "token is malformed: token contains an invalid number of segments",
    );
}

#[test]
fn api_group_applies_its_role_rule() {
    let app = app();
    let keys = &app.keys;
    for roles in [
        &["api"][..],
        &["admin", "api"],
        &["admin", "support", "api"],
    ] {
        let reply = get_clusters(&app, "", &keys.token("u", roles, 600));
        assert_eq!(
            reply.status,
            200,
            "{roles:?} must pass /api: {}",
            reply.text()
        );
    }
    for roles in [
        &["user"][..],
        &["admin"],
        &["api", "user"],
        &["api", "support"],
        &["admin", "admin"],
        &["API"],
        &[],
    ] {
        let reply = get_clusters(&app, "", &keys.token("u", roles, 600));
        assert_error(&reply, 401, "unauthorized");
    }
}

#[test]
fn both_token_headers_are_accepted() {
    let app = app();
    let token = app.keys.token("admin", &["admin", "api"], 600);
    let url = app.runner.url("/api/clusters/?cluster=alex");
    assert_eq!(get(&url, &[("X-Auth-Token", &token)]).status, 200);
    assert_eq!(get(&url, &[("Authorization", &bearer(&token))]).status, 200);
}

#[test]
fn verified_signatures_are_remembered_but_expiry_still_applies() {
    let app = app();
    let token = app.keys.token("admin", &["admin", "api"], 2);
    let url = app.runner.url("/api/clusters/?cluster=alex");
    assert_eq!(get(&url, &[("X-Auth-Token", &token)]).status, 200);
    let kv = rusqlite::Connection::open(app.runner.state_dir.join("sqlite_key_value.db")).unwrap();
    let remembered: i64 = kv
        .query_row(
            "SELECT count(*) FROM spin_key_value WHERE key LIKE 'jwt-verified/%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(remembered, 1);
    assert_eq!(get(&url, &[("X-Auth-Token", &token)]).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    assert_error(
        &get(&url, &[("X-Auth-Token", &token)]),
        401,
        "token has invalid claims: token is expired",
    );
}

#[test]
fn clusters_lists_every_cluster_in_directory_order() {
    let app = app();
    let token = app.keys.token("admin", &["admin", "api"], 600);
    let reply = get_clusters(&app, "", &token);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.text().ends_with("}\n"));
    let body = reply.json();
    let names: Vec<&str> = body["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| cluster["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alex", "emmy", "fritz"]);
}

#[test]
fn clusters_selects_one_cluster_or_rejects_unknown_names() {
    let app = app();
    let token = app.keys.token("api", &["api"], 600);
    let emmy = get_clusters(&app, "?cluster=emmy", &token).json();
    let clusters = emmy["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0]["name"], "emmy");
    assert!(!clusters[0]["subClusters"].as_array().unwrap().is_empty());
    assert!(!clusters[0]["metricConfig"].as_array().unwrap().is_empty());

    for (query, name) in [
        ("?cluster=nope", "nope"),
        ("?cluster=", ""),
        ("?cluster=..%2Femmy", "../emmy"),
    ] {
        let reply = get_clusters(&app, query, &token);
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(
            reply.json(),
            json!({"status": "Bad Request", "error": format!("unknown cluster: {name}")})
        );
    }
}

#[test]
fn clusters_body_is_identical_to_the_native_handler() {
    let app = app();
    let token = app.keys.token("api", &["api"], 600);
    let through_wasm = get_clusters(&app, "?cluster=fritz", &token);
    let native = native::serve_clusters("?cluster=fritz", &app.keys, &token);
    assert_eq!(through_wasm.body, native);
}

#[test]
fn unknown_paths_get_the_json_404_without_authentication() {
    let app = app();
    for path in [
        "/api/nope",
        "/api/jobs",
        "/api/clusters",
        "/userapi/nope",
        "/config/nope/",
        "/frontend/nope/",
    ] {
        let reply = get(&app.runner.url(path), &[]);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.text(), NOT_FOUND_BODY, "{path}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
    let wrong_method = send("POST", &app.runner.url("/api/clusters/"), &[], b"");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header_values("allow"), ["GET"]);
    assert!(wrong_method.body.is_empty());
}

#[test]
fn every_response_carries_the_security_headers_and_csrf_is_blocked() {
    let app = app();
    let reply = get(&app.runner.url("/api/clusters/"), &[]);
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let token = app.keys.token("api", &["api"], 600);
    let cross_site = send(
        "DELETE",
        &app.runner.url("/api/clusters/"),
        &[("Sec-Fetch-Site", "cross-site"), ("X-Auth-Token", &token)],
        b"",
    );
    assert_eq!(cross_site.status, 403);
    assert_eq!(cross_site.text(), "cross-site request blocked\n");
}

/// Whole bodies go out with their length (docs/storage.md#response-writes): a small one in the
/// host's buffer before the response is handed over, one larger than that buffer (the 1.7 MB
/// Swagger bundle) partly after it.
#[test]
fn responses_carry_their_length_small_and_large() {
    let app = app();
    let token = app.keys.token("api", &["api"], 600);
    let clusters = get_clusters(&app, "?cluster=emmy", &token);
    assert_eq!(clusters.status, 200);
    assert_eq!(
        clusters.header("content-length"),
        Some(clusters.body.len().to_string().as_str())
    );
    assert_eq!(clusters.header("transfer-encoding"), None);

    let bundle = get(&app.runner.url("/swagger/swagger-ui-bundle.js"), &[]);
    let expected = include_bytes!("../components/swagger/swagger-ui/swagger-ui-bundle.js");
    assert_eq!(bundle.status, 200);
    assert_eq!(bundle.body.len(), expected.len());
    assert!(bundle.body == expected, "the bundle arrives byte for byte");
    assert_eq!(
        bundle.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
}

#[test]
fn login_page_is_served_by_the_session_component() {
    let app = app();
    let page = get(&app.runner.url("/login"), &[]);
    assert_eq!(page.status, 200);
    assert!(page
        .text()
        .contains("<form method=\"post\" action=\"/login\">"));
    assert_eq!(get(&app.runner.url("/logout"), &[]).status, 404);
}

#[test]
fn hundred_parallel_requests_are_all_answered() {
    let app = app();
    let token = app.keys.token("api", &["api"], 600);
    let url = app.runner.url("/api/clusters/?cluster=emmy");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|_| scope.spawn(|| get(&url, &[("X-Auth-Token", &token)]).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; 100]);
}

#[test]
fn ip_allow_list_guards_the_api_group() {
    let keys = Keys::generate();
    let token = keys.token("api", &["api"], 600);
    let state = tempfile::tempdir().unwrap();
    let denied = Runner::start(
        &RunnerConfig::app(&keys).variable("api_allowed_ips", "10.1.2.3"),
        state.path(),
    );
    let reply = get(&denied.url("/api/clusters/"), &[("X-Auth-Token", &token)]);
    assert_error(&reply, 401, "unknown ip: 127.0.0.1");
    // Proxy headers are ignored unless the peer is a trusted proxy.
    let spoofed = get(
        &denied.url("/api/clusters/"),
        &[("X-Auth-Token", &token), ("X-Real-Ip", "10.1.2.3")],
    );
    assert_eq!(spoofed.status, 401);
    denied.stop();

    let allowed = Runner::start(
        &RunnerConfig::app(&keys).variable("api_allowed_ips", "10.1.2.3,127.0.0.1"),
        state.path(),
    );
    let reply = get(&allowed.url("/api/clusters/"), &[("X-Auth-Token", &token)]);
    assert_eq!(reply.status, 200, "{}", reply.text());
}

mod native {
    use std::collections::HashMap;

    use cc_spin_e2e::{workspace_root, Keys};
    use cc_web::NativePlatform;

    /// The same request answered by the api component's handler compiled natively.
    pub fn serve_clusters(query: &str, keys: &Keys, token: &str) -> Vec<u8> {
        let state = tempfile::tempdir().unwrap();
        let platform = NativePlatform {
            variables: HashMap::from([("jwt_public_key".to_owned(), keys.public.clone())]),
            state_dir: state.path().to_path_buf(),
            clusters_dir: workspace_root().join("clusters"),
            taggers_dir: workspace_root().join("taggers"),
        };
        let request = http::Request::builder()
            .uri(format!("/api/clusters/{query}"))
            .header("x-auth-token", token)
            .header("spin-client-addr", "127.0.0.1:1")
            .body(Vec::new())
            .unwrap();
        cc_api::handle(&request, &platform).into_body()
    }
}
