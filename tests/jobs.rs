//! End-to-end tests of the job and tag routes: the real `api` and `userapi` components served by
//! `cc-spin up` over the test clusters (tests/fixtures/testcluster-spin.toml), plus cc-backend's
//! sample database served by the app itself.
//!
//! Every test starts its own runner with a fresh state directory: a runner kept in a static
//! would never be dropped, so its process would outlive the test binary.

use std::path::Path;
use std::sync::Barrier;

use cc_spin_e2e::{
    assert_error, assert_error_prefix, get, send, workspace_root, Keys, Runner, RunnerConfig,
    TestApp,
};
use serde_json::{json, Value};

/// A start time of the recent past (2001-09-09).
const BASE: i64 = 1_000_000_000;

/// The app over the test clusters, with the job routes' helpers.
struct App {
    served: TestApp,
}

impl App {
    fn start() -> App {
        let served = TestApp::start(|keys| RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/testcluster-spin.toml"),
            variables: vec![("jwt_public_key".into(), keys.public.clone())],
        });
        App { served }
    }

    fn user(&self, name: &str) -> String {
        self.token(name, &["api", "user"])
    }

    /// The jobs of `project`, newest first, as the admin sees them.
    fn jobs_of(&self, project: &str) -> Vec<Value> {
        let reply = self.get(
            &format!("/api/jobs/?project={project}&items-per-page=1000"),
            &self.admin(),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["jobs"].as_array().unwrap().clone()
    }

    /// The database id of the only job of `project`.
    fn id_of(&self, project: &str) -> i64 {
        let jobs = self.jobs_of(project);
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        jobs[0]["id"].as_i64().unwrap()
    }
}

impl std::ops::Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.served
    }
}

/// A start request like cc-backend's API test (docs/jobs.md#reference-scenarios), on host123 of testcluster.
fn job_body(job_id: i64, start_time: i64, project: &str) -> Value {
    json!({
        "jobId": job_id, "user": "testuser", "project": project, "cluster": "testcluster",
        "partition": "default", "walltime": 3600, "arrayJobId": 0, "numNodes": 1,
        "numHwthreads": 8, "numAcc": 0, "shared": "none", "monitoringStatus": 1, "smt": 1,
        "resources": [{"hostname": "host123", "hwthreads": [0, 1, 2, 3, 4, 5, 6, 7]}],
        "metaData": {"jobScript": "blablabla..."}, "startTime": start_time
    })
}

#[test]
fn reference_scenarios_of_cc_backends_api_tests() {
    let app = App::start();
    // StartJob: visible at once (no job cache), sub-cluster derived.
    let start = app.start_job(&job_body(123, 123456789, "testproj"));
    assert_eq!(
        (start.status, start.text()),
        (201, "{\"msg\":\"success\"}\n")
    );
    let id = app.id_of("testproj");
    let listed = &app.jobs_of("testproj")[0];
    assert_eq!(listed["subCluster"], "sc1");
    assert_eq!(listed["jobState"], "running");

    // StopJob: the byte-level example of docs/jobs.md#worked-example, with the metadata loaded.
    let stop = app.stop_job(&json!({"jobId": 123, "startTime": 123456789,
        "cluster": "testcluster", "jobState": "completed", "stopTime": 123457789}));
    let expected = format!(
        "{}{}{}{}{}{}{}\n",
        r#"{"cluster":"testcluster","subCluster":"sc1","partition":"default","project":"testproj","#,
        r#""user":"testuser","shared":"none","jobState":"completed","#,
        r#""resources":[{"hostname":"host123","hwthreads":[0,1,2,3,4,5,6,7]}],"#,
        r#""energyFootprint":null,"footprint":null,"metaData":{"jobScript":"blablabla..."},"#,
        r#""concurrentJobs":{"items":null,"count":0},"energy":0,"walltime":3600,"jobId":123,"#,
        r#""duration":1000,"smt":1,"monitoringStatus":1,"numHwthreads":8,"numNodes":1,"#,
        format_args!(r#""statistics":null,"id":{id},"startTime":123456789}}"#),
    );
    assert_eq!((stop.status, stop.text()), (200, expected.as_str()));
    assert_eq!(stop.header("content-type"), Some("application/json"));

    // CheckDoubleStart
    let double = app.start_job(&job_body(123, 123456790, "testproj"));
    assert_error(
        &double,
        422,
        &format!(
            "a job with that jobId, cluster and startTime already exists: dbid: {id}, jobid: 123"
        ),
    );

    // StartJobFailed / StopJobFailed: numHwthreads not required; stop without startTime.
    let minimal = json!({"jobId": 12345, "user": "testuser", "project": "testproj2",
        "cluster": "testcluster", "numNodes": 1, "resources": [{"hostname": "host123"}],
        "startTime": 12345678});
    assert_eq!(app.start_job(&minimal).status, 201);
    let failed = app.stop_job(&json!({"jobId": 12345, "cluster": "testcluster",
        "jobState": "failed", "stopTime": 12355678}));
    assert_eq!(failed.status, 200, "{}", failed.text());
    assert_eq!(failed.json()["jobState"], "failed");
    assert_eq!(failed.json()["duration"], 10000);

    // GetUsedNodesNoRunning
    let used = app.get("/api/jobs/used_nodes?ts=123456790", &app.adapter());
    assert_eq!((used.status, used.text()), (200, "{\"usedNodes\":{}}\n"));

    // StopJobWithReusedJobId
    assert_eq!(
        app.start_job(&job_body(999, 200000000, "reuse")).status,
        201
    );
    let first = app.stop_job(&json!({"jobId": 999, "cluster": "testcluster",
        "jobState": "failed", "stopTime": 200000100}));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        app.start_job(&job_body(999, 300000000, "reuse")).status,
        201
    );
    let second = app.stop_job(&json!({"jobId": 999, "startTime": 300000000,
        "cluster": "testcluster", "jobState": "completed", "stopTime": 300001000}));
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.json()["startTime"], 300000000);
    assert_eq!(app.count("SELECT count(*) FROM job WHERE job_id = 999"), 2);
}

#[test]
fn start_job_rejects_bad_input_and_changes_nothing() {
    let app = App::start();
    let project = "start-errors";
    assert!(app.jobs_of(project).is_empty(), "the schema exists");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = job_body(1001, BASE, project);
        change(&mut body);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|b| b["cluster"] = json!("nowhere")), "no such cluster: nowhere"),
        (with(&|b| b["cluster"] = json!("")), "no such cluster: "),
        (with(&|b| b["cluster"] = json!("../testcluster")), "no such cluster: ../testcluster"),
        (
            with(&|b| b["subCluster"] = json!("sc2")),
            "ARCHIVE/CLUSTERCONFIG > already assigned subcluster sc2 unkown (cluster: testcluster)",
        ),
        (
            with(&|b| b["resources"] = json!([])),
            "ARCHIVE/CLUSTERCONFIG > job without any resources/hosts",
        ),
        (
            with(&|b| b["resources"] = json!([{"hostname": "elsewhere"}])),
            "ARCHIVE/CLUSTERCONFIG > no subcluster found for cluster testcluster and host elsewhere",
        ),
        (with(&|b| b["user"] = json!("")), "'resources' and 'user' should not be empty"),
        (with(&|b| b["numNodes"] = json!(0)), "'numNodes', 'numAcc' or 'numHWThreads' invalid"),
        (with(&|b| b["numAcc"] = json!(-1)), "'numNodes', 'numAcc' or 'numHWThreads' invalid"),
        (
            with(&|b| b["numNodes"] = json!(2)),
            "len(resources) does not equal numNodes (1 vs 2)",
        ),
        (
            with(&|b| b["shared"] = json!("everyone")),
            "invalid value for 'shared': \"everyone\" (must be none, single_user or multi_user)",
        ),
        (
            with(&|b| b["monitoringStatus"] = json!(7)),
            "invalid value for 'monitoringStatus': 7 (must be 0, 1, 2 or 3)",
        ),
    ];
    for (body, message) in cases {
        assert_error(&app.start_job(&body), 400, message);
    }
    let malformed = [
        (
            r#"{"jobId":1,"colour":"red"}"#,
            "parsing request body failed: json: unknown field \"colour\"",
        ),
        ("", "parsing request body failed: EOF"),
        (
            r#"{"jobId":1"#,
            "parsing request body failed: unexpected EOF",
        ),
        (
            "[1,2]",
            "parsing request body failed: json: cannot unmarshal array into Go value of type \
             StartJobRequest",
        ),
        (
            r#"{"jobId":"1"}"#,
            "parsing request body failed: json: cannot unmarshal string into Go struct field \
             StartJobRequest.jobId of type int64",
        ),
        (
            r#"{"jobId":9223372036854775808}"#,
            "parsing request body failed: json: cannot unmarshal number 9223372036854775808 into \
             Go struct field StartJobRequest.jobId of type int64",
        ),
        (
            r#"{"numNodes":4294967296}"#,
            "parsing request body failed: json: cannot unmarshal number 4294967296 into Go struct \
             field StartJobRequest.numNodes of type int32",
        ),
        (
            r#"{"jobId":1.5}"#,
            "parsing request body failed: json: cannot unmarshal number 1.5 into Go struct field \
             StartJobRequest.jobId of type int64",
        ),
        (
            r#"{"resources":[{"hostname":"host123","gpus":1}]}"#,
            "parsing request body failed: json: unknown field \"gpus\"",
        ),
    ];
    for (body, prefix) in malformed {
        let reply = app.call("PUT", "/api/jobs/start_job/", &app.adapter(), body);
        assert_error_prefix(&reply, 400, prefix);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM job WHERE project = 'start-errors'"),
        0
    );

    // Spin's http::Response conversion keeps one `Allow` header of the two (POST, PUT).
    assert_eq!(app.get("/api/jobs/start_job/", &app.adapter()).status, 405);
    let user_token = app.call("POST", "/api/jobs/start_job/", &app.user("u"), "{}");
    assert_error(&user_token, 401, "unauthorized");
}

#[test]
fn started_jobs_are_visible_at_once_with_defaults_and_tags() {
    let app = App::start();
    let mut body = job_body(1101, BASE + 100, "started");
    let object = body.as_object_mut().unwrap();
    for key in ["shared", "monitoringStatus", "metaData"] {
        object.remove(key);
    }
    body["jobState"] = json!("completed");
    body["submitTime"] = json!(BASE - 60);
    body["requestedMemory"] = json!(4096);
    body["tags"] = json!([{"type": "app", "name": "start-app", "scope": ""},
                          {"type": "note", "name": "start-private", "scope": "adapter"}]);
    assert_eq!(app.start_job(&body).status, 201);
    let job = &app.jobs_of("started")[0];
    assert_eq!(job["shared"], "none");
    assert_eq!(job["monitoringStatus"], 1);
    assert_eq!(job["jobState"], "running");
    assert_eq!(job["submitTime"], BASE - 60);
    assert!(job.get("requestedMemory").is_none());
    let duration = job["duration"].as_i64().unwrap();
    assert!(
        duration >= cc_spin_e2e::unix_now() - BASE - 110,
        "running duration is the age"
    );
    // The admin sees the global tag, not the adapter's private one.
    assert_eq!(
        job["tags"],
        json!([{"type": "app", "name": "start-app", "scope": "global",
        "id": job["tags"][0]["id"]}])
    );
    let as_adapter = app.get("/api/jobs/?project=started", &app.adapter()).json();
    assert_eq!(as_adapter["jobs"][0]["tags"].as_array().unwrap().len(), 2);

    let mut refused = job_body(1102, BASE, "started-refused");
    refused["tags"] = json!([{"type": "note", "name": "n", "scope": "someone-else"}]);
    assert_error(
        &app.start_job(&refused),
        403,
        "adding tag to new job failed: cannot write tag scope with current authorization",
    );
    refused["tags"] = json!([{"type": "app", "name": "start-app", "scope": "admin"}]);
    assert_error(
        &app.start_job(&refused),
        422,
        "adding tag to new job failed: tag type \"app\" with name \"start-app\" already exists in scope \"global\"",
    );
    assert_eq!(app.count("SELECT count(*) FROM job WHERE job_id = 1102"), 0);
}

/// Bodies as real clients send them: Go's decoder matches keys case-insensitively (cc-slurm-sync
/// spells `metadata`), repeated keys take the last value, `null` keeps defaults, and a JSON
/// array is never taken for an object.
#[test]
fn bodies_are_decoded_like_cc_backend_decodes_them() {
    let app = App::start();
    let mut slurm_sync = job_body(1201, BASE + 1201, "go-keys");
    let meta = slurm_sync
        .as_object_mut()
        .unwrap()
        .remove("metaData")
        .unwrap();
    slurm_sync["metadata"] = meta;
    slurm_sync["NumNodes"] = json!(1);
    slurm_sync["shared"] = Value::Null;
    let started = app.start_job(&slurm_sync);
    assert_eq!(started.status, 201, "{}", started.text());
    let listed = &app.jobs_of("go-keys")[0];
    assert_eq!(listed["shared"], "none");
    let id = listed["id"].as_i64().unwrap();
    let job = app.get(&format!("/api/jobs/{id}"), &app.admin()).json();
    assert_eq!(job["Meta"]["metaData"]["jobScript"], "blablabla...");

    let stopped = app.call(
        "POST",
        "/api/jobs/stop_job/",
        &app.adapter(),
        &format!(
            r#"{{"JOBID":1201,"cluster":"testcluster","startTime":{},"jobState":"failed",
                "stopTime":1,"stopTime":{}}}"#,
            BASE + 1201,
            BASE + 1301
        ),
    );
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    assert_eq!(stopped.json()["duration"], 100);

    for (method, path, prefix) in [
        (
            "POST",
            "/api/jobs/stop_job/",
            "parsing request body failed: ",
        ),
        (
            "PATCH",
            "/api/jobs/edit_meta/",
            "parsing request body failed: ",
        ),
        (
            "DELETE",
            "/api/jobs/delete_job/",
            "parsing request body failed: ",
        ),
    ] {
        let reply = app.call(method, path, &app.admin(), "[]");
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        let message = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with(&format!(
                "{prefix}json: cannot unmarshal array into Go value of type "
            )),
            "{path}: {message}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM job WHERE job_id = 1201"), 1);
}

/// Sends `bodies` at once, one thread each, released together.
fn concurrently(app: &App, bodies: Vec<Value>) -> Vec<u16> {
    let barrier = Barrier::new(bodies.len());
    std::thread::scope(|scope| {
        let threads: Vec<_> = bodies
            .iter()
            .map(|body| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    app.start_job(body).status
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    })
}

#[test]
fn concurrent_identical_starts_store_one_job() {
    let app = App::start();
    let statuses = concurrently(&app, vec![job_body(1201, BASE, "identical"); 20]);
    assert_eq!(
        statuses.iter().filter(|&&status| status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&status| status == 422).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM job WHERE job_id = 1201"), 1);
}

#[test]
fn concurrent_distinct_starts_store_every_job() {
    let app = App::start();
    let bodies = (0..50)
        .map(|n| job_body(1300 + n, BASE + n, "distinct"))
        .collect();
    let statuses = concurrently(&app, bodies);
    assert!(statuses.iter().all(|&status| status == 201), "{statuses:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM job WHERE project = 'distinct'"),
        50
    );
}

#[test]
fn stop_job_rules_and_errors() {
    let app = App::start();
    assert_eq!(
        app.start_job(&job_body(1401, BASE + 1000, "stopping"))
            .status,
        201
    );
    let id = app.id_of("stopping");
    let stop = |body: Value| app.stop_job(&body);
    let prefix = format!("jobId 1401 (id {id}) on testcluster : ");
    assert_error(
        &stop(json!({"stopTime": 1})),
        400,
        "the field 'jobId' is required",
    );
    assert_error(
        &stop(json!({"jobId": null, "stopTime": 1})),
        400,
        "the field 'jobId' is required",
    );
    assert_error(
        &stop(json!({"jobId": 1401, "cluster": "emmy", "stopTime": BASE + 2000})),
        404,
        "finding job failed: sql: no rows in result set",
    );
    assert_error(
        &stop(json!({"jobId": 1401, "stopTime": BASE + 999})),
        400,
        &format!(
            "{prefix}stopTime {} must be larger/equal than startTime {}",
            BASE + 999,
            BASE + 1000
        ),
    );
    assert_error(
        &stop(json!({"jobId": 1401})),
        400,
        &format!(
            "{prefix}stopTime 0 must be larger/equal than startTime {}",
            BASE + 1000
        ),
    );
    assert_error(
        &stop(json!({"jobId": 1401, "stopTime": BASE + 2000, "jobState": "done"})),
        400,
        &format!("{prefix}invalid requested job state: \"done\""),
    );
    assert_error(
        &stop(json!({"jobId": 1401, "stopTime": BASE + 2000, "jobState": "running"})),
        400,
        &format!("{prefix}a job cannot be stopped in state \"running\""),
    );
    assert_error_prefix(
        &app.call(
            "PUT",
            "/api/jobs/stop_job/",
            &app.adapter(),
            r#"{"jobId":1401,"reason":"x"}"#,
        ),
        400,
        "parsing request body failed: json: unknown field \"reason\"",
    );
    let stopped = app.call(
        "PUT",
        "/api/jobs/stop_job/",
        &app.adapter(),
        &json!({"jobId": 1401, "cluster": "testcluster", "startTime": BASE + 1000, "stopTime": BASE + 1500}).to_string(),
    );
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    let job = stopped.json();
    assert_eq!(
        (job["jobState"].clone(), job["duration"].clone()),
        (json!("completed"), json!(500))
    );
    assert_eq!(job["metaData"], json!({"jobScript": "blablabla..."}));
    assert_error(
        &stop(json!({"jobId": 1401, "stopTime": BASE + 2000})),
        422,
        &format!("{prefix}job has already been stopped (state is: completed)"),
    );
    assert_eq!(app.jobs_of("stopping")[0]["duration"], 500);
}

#[test]
fn list_jobs_filters_pages_and_validates() {
    let app = App::start();
    for (n, state) in ["completed", "failed", "running", "completed"]
        .into_iter()
        .enumerate()
    {
        let n = n as i64;
        let job_id = 1500 + n;
        assert_eq!(
            app.start_job(&job_body(job_id, BASE + 10 * n, "listing"))
                .status,
            201
        );
        if state != "running" {
            let stop = app.stop_job(
                &json!({"jobId": job_id, "stopTime": BASE + 10 * n + 5, "jobState": state}),
            );
            assert_eq!(stop.status, 200, "{}", stop.text());
        }
    }
    let ids = |query: &str| -> Vec<i64> {
        let reply = app.get(&format!("/api/jobs/?project=listing&{query}"), &app.admin());
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());
        reply.json()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|job| job["jobId"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(""), [1503, 1502, 1501, 1500], "newest start first");
    assert_eq!(ids("state=completed"), [1503, 1500]);
    assert_eq!(ids("state=failed&state=running"), [1502, 1501]);
    assert_eq!(
        ids(&format!("start-time={}-{}", BASE + 10, BASE + 20)),
        [1502, 1501]
    );
    assert_eq!(ids("cluster=testcluster&items-per-page=3&page=2"), [1500]);
    assert_eq!(ids("cluster=emmy"), Vec::<i64>::new());

    let page = app.get(
        "/api/jobs/?project=listing&items-per-page=3&page=2",
        &app.admin(),
    );
    let page = page.json();
    assert_eq!(
        (page["items"].clone(), page["page"].clone()),
        (json!(3), json!(2))
    );
    let empty = app.get("/api/jobs/?project=nothing-here", &app.admin());
    assert_eq!(empty.text(), "{\"jobs\":[],\"items\":25,\"page\":1}\n");
    let plain = &app.jobs_of("listing")[0];
    assert_eq!(plain["metaData"], Value::Null);
    let with_meta = app
        .get("/api/jobs/?project=listing&with-metadata", &app.admin())
        .json();
    assert_eq!(
        with_meta["jobs"][0]["metaData"],
        json!({"jobScript": "blablabla..."})
    );

    let errors = [
        ("state=finished", "invalid query parameter value: state"),
        ("start-time=5", "invalid query parameter value: startTime"),
        (
            "start-time=1-x",
            "strconv.ParseInt: parsing \"x\": invalid syntax",
        ),
        ("page=0", "page must be >= 1"),
        ("page=one", "strconv.Atoi: parsing \"one\": invalid syntax"),
        ("items-per-page=0", "items-per-page must be >= 1"),
        (
            "items-per-page=99999999999999999999",
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
        ("order=asc", "invalid query parameter: order"),
    ];
    for (query, message) in errors {
        assert_error(
            &app.get(&format!("/api/jobs/?{query}"), &app.admin()),
            400,
            message,
        );
    }
}

#[test]
fn userapi_applies_row_level_security() {
    let app = App::start();
    for (job_id, user) in [(1601, "alice"), (1602, "bob")] {
        let mut body = job_body(job_id, BASE, "row-level");
        body["user"] = json!(user);
        assert_eq!(app.start_job(&body).status, 201);
    }
    let users = |token: &str| -> Vec<String> {
        let reply = app.get("/userapi/jobs/?project=row-level", token);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let mut users: Vec<String> = reply.json()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|job| job["user"].as_str().unwrap().to_owned())
            .collect();
        // Same start time: the order between them is unspecified.
        users.sort();
        users
    };
    assert_eq!(users(&app.user("alice")), ["alice"]);
    assert_eq!(
        users(&app.keys.token("sup", &["api", "support"], 60)),
        ["alice", "bob"]
    );
    let bob_job = app
        .jobs_of("row-level")
        .into_iter()
        .find(|job| job["user"] == "bob")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_error(
        &app.get(&format!("/userapi/jobs/{bob_job}"), &app.user("alice")),
        422,
        &format!("finding job with db id {bob_job} failed: sql: no rows in result set"),
    );
    assert_eq!(
        app.get(&format!("/userapi/jobs/{bob_job}"), &app.user("bob"))
            .status,
        200
    );
    assert_error(
        &app.get("/userapi/jobs/", &app.keys.token("x", &["user"], 60)),
        401,
        "unauthorized",
    );
    // The metrics route adds an owner check that even a pure [api] token fails.
    let metrics = app.get(&format!("/userapi/jobs/metrics/{bob_job}"), &app.adapter());
    assert_eq!(
        (metrics.status, metrics.text()),
        (
            200,
            "{\"data\":null,\"error\":{\"message\":\"you are not allowed to see this job\"}}\n"
        )
    );
}

#[test]
fn job_by_id_with_and_without_data() {
    let app = App::start();
    assert_eq!(
        app.start_job(&job_body(1701, BASE + 5, "by-id")).status,
        201
    );
    let id = app.id_of("by-id");
    let reply = app.get(&format!("/api/jobs/{id}"), &app.admin());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["Meta"]["id"], id);
    assert_eq!(
        body["Meta"]["metaData"],
        json!({"jobScript": "blablabla..."})
    );
    assert!(reply.text().ends_with(",\"Data\":null}\n"));
    let all = app.get(&format!("/api/jobs/{id}?all-metrics=true"), &app.admin());
    assert!(all.text().ends_with(",\"Data\":{}}\n"), "{}", all.text());
    for body in ["null", "[]", "[\"load_one\"]"] {
        let posted = app.call("POST", &format!("/api/jobs/{id}"), &app.admin(), body);
        assert!(
            posted.text().ends_with(",\"Data\":[]}\n"),
            "{body}: {}",
            posted.text()
        );
    }
    let metrics = app.get(
        &format!("/api/jobs/metrics/{id}?metric=load_one&scope=node"),
        &app.admin(),
    );
    assert_eq!(
        metrics.text(),
        "{\"data\":{\"jobMetrics\":[]},\"error\":null}\n"
    );
    assert_error(
        &app.get(&format!("/api/jobs/metrics/{id}?scope=rack"), &app.admin()),
        400,
        "unmarshaling scope failed: SCHEMA/METRICS > rack is not a valid MetricScope",
    );
    assert_error(
        &app.get("/api/jobs/12x", &app.admin()),
        400,
        "integer expected in path for id: strconv.ParseInt: parsing \"12x\": invalid syntax",
    );
    assert_error(
        &app.call("POST", "/api/jobs/used_nodes", &app.admin(), "[]"),
        400,
        "integer expected in path for id: strconv.ParseInt: parsing \"used_nodes\": invalid syntax",
    );
    assert_error(
        &app.get("/api/jobs/99999999", &app.admin()),
        422,
        "finding job with db id 99999999 failed: sql: no rows in result set",
    );
    assert_error_prefix(
        &app.call(
            "POST",
            &format!("/api/jobs/{id}"),
            &app.admin(),
            "{\"metrics\":[]}",
        ),
        400,
        "decoding request failed: json: cannot unmarshal object into Go value of type slice",
    );
    assert_eq!(
        app.call("DELETE", &format!("/api/jobs/{id}"), &app.admin(), "")
            .status,
        405
    );
}

#[test]
fn used_nodes_lists_hosts_of_running_jobs() {
    let app = App::start();
    for (job_id, host, start) in [
        (1, "host125", 100),
        (2, "host123", 200),
        (3, "host125", 300),
        (4, "host124", 900),
    ] {
        let mut body = job_body(job_id, start, "used");
        body["resources"] = json!([{"hostname": host}]);
        assert_eq!(app.start_job(&body).status, 201);
    }
    let stop = app.stop_job(&json!({"jobId": 2, "stopTime": 250}));
    assert_eq!(stop.status, 200);
    let used = app.get("/api/jobs/used_nodes?ts=500", &app.adapter());
    assert_eq!(
        used.text(),
        "{\"usedNodes\":{\"testcluster\":[\"host125\"]}}\n"
    );
    assert_error(
        &app.get("/api/jobs/used_nodes", &app.adapter()),
        400,
        "missing required query parameter: ts",
    );
    assert_error(
        &app.get("/api/jobs/used_nodes?ts=", &app.adapter()),
        400,
        "missing required query parameter: ts",
    );
    assert_error(
        &app.get("/api/jobs/used_nodes?ts=soon", &app.adapter()),
        400,
        "invalid timestamp format: strconv.ParseInt: parsing \"soon\": invalid syntax",
    );
    assert_eq!(app.get("/api/jobs/used_nodes/", &app.adapter()).status, 404);
}

#[test]
fn tags_are_added_removed_and_deleted() {
    let app = App::start();
    assert_eq!(app.start_job(&job_body(1801, BASE, "tagging")).status, 201);
    let id = app.id_of("tagging");
    let path = format!("/api/jobs/tag_job/{id}");
    let tag =
        |method: &str, token: &str, body: Value| app.call(method, &path, token, &body.to_string());

    let added = tag(
        "POST",
        &app.admin(),
        json!([{"type": "bug", "name": "tag-one", "scope": ""},
                                                  {"type": "prio", "name": "tag-admin", "scope": "admin"}]),
    );
    assert_eq!(added.status, 200, "{}", added.text());
    let tags = added.json()["tags"].clone();
    assert_eq!(tags[0]["scope"], "global", "stored scope is echoed");
    assert_eq!(tags[1]["scope"], "admin");
    assert_eq!(tags.as_array().unwrap().len(), 2);

    let again = tag(
        "PATCH",
        &app.admin(),
        json!([{"type": "bug", "name": "tag-one"}]),
    );
    assert_eq!(
        again.status,
        200,
        "re-attaching is a no-op: {}",
        again.text()
    );
    assert_eq!(again.json()["tags"], tags);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM jobtag WHERE job_id = {id}")),
        2
    );

    // [api] may write admin tags but not read them; private tags only for oneself.
    let adapter_view = tag(
        "POST",
        &app.adapter(),
        json!([{"type": "mine", "name": "tag-private", "scope": "adapter"}]),
    );
    let names: Vec<String> = adapter_view.json()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["tag-one", "tag-private"]);
    assert_error(
        &tag(
            "POST",
            &app.admin(),
            json!([{"type": "x", "name": "tag-denied", "scope": "someone"}]),
        ),
        403,
        "adding tag failed: cannot write tag scope with current authorization",
    );
    // All or nothing: the first element is not kept when the second fails.
    assert_error(
        &tag("POST", &app.admin(), json!([{"type": "ok", "name": "tag-kept"}, {"type": "bug", "name": "tag-one", "scope": "admin"}])),
        422,
        "adding tag failed: tag type \"bug\" with name \"tag-one\" already exists in scope \"global\"",
    );
    assert_eq!(
        app.count("SELECT count(*) FROM tag WHERE tag_name = 'tag-kept'"),
        0
    );
    assert_error_prefix(
        &tag(
            "POST",
            &app.admin(),
            json!([{"type": "a", "name": "b", "id": 3}]),
        ),
        400,
        "decoding request failed: json: unknown field \"id\"",
    );
    assert_error_prefix(
        &tag("POST", &app.admin(), json!({"type": "a"})),
        400,
        "decoding request failed: ",
    );
    assert_eq!(tag("POST", &app.admin(), json!([])).status, 200);

    // Removal from the job: private scopes are skipped, unknown tags are 404.
    let removed = tag(
        "DELETE",
        &app.admin(),
        json!([{"type": "prio", "name": "tag-admin", "scope": "admin"},
                                                      {"type": "mine", "name": "tag-private", "scope": "adapter"}]),
    );
    assert_eq!(removed.status, 200, "{}", removed.text());
    assert_eq!(removed.json()["tags"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM jobtag WHERE job_id = {id}")),
        2
    );
    assert_error(
        &tag(
            "DELETE",
            &app.admin(),
            json!([{"type": "bug", "name": "tag-one", "scope": "admin"}]),
        ),
        404,
        "removing tag failed: tag does not exist (name, type, scope): tag-one, bug, admin",
    );
    assert_error(
        &app.call("POST", "/api/jobs/tag_job/99999999", &app.admin(), "[]"),
        404,
        "finding job failed: sql: no rows in result set",
    );
    assert_error(
        &app.call("POST", "/api/jobs/tag_job/x", &app.admin(), "[]"),
        400,
        "parsing job ID failed: strconv.ParseInt: parsing \"x\": invalid syntax",
    );

    // Global deletion.
    let deleted = app.call(
        "DELETE",
        "/api/tags/",
        &app.admin(),
        &json!([
        {"type": "bug", "name": "tag-one", "scope": "global"},
        {"type": "mine", "name": "tag-private", "scope": "adapter"}])
        .to_string(),
    );
    assert_eq!(
        (deleted.status, deleted.text()),
        (200, "Deleted Tags from DB: 1 successfull of 2 requested\n")
    );
    assert_eq!(
        deleted.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM tag WHERE tag_name = 'tag-one'"),
        0
    );
    assert_error(
        &app.call(
            "DELETE",
            "/api/tags/",
            &app.admin(),
            &json!([{"type": "bug", "name": "tag-one", "scope": "global"}]).to_string(),
        ),
        404,
        "removing tag failed: tag does not exist (name, type, scope): tag-one, bug, global",
    );
}

#[test]
fn edit_meta_by_id_and_by_request() {
    let app = App::start();
    assert_eq!(app.start_job(&job_body(1901, BASE, "meta")).status, 201);
    let id = app.id_of("meta");
    let edited = app.call(
        "PATCH",
        &format!("/api/jobs/edit_meta/{id}"),
        &app.admin(),
        r#"{"key":"note","value":"a < b"}"#,
    );
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert!(
        edited
            .text()
            .contains(r#""metaData":{"jobScript":"blablabla...","note":"a \u003c b"}"#),
        "{}",
        edited.text()
    );
    let by_request = app.call(
        "PATCH",
        "/api/jobs/edit_meta/",
        &app.adapter(),
        &json!({"jobId": 1901, "cluster": "testcluster", "payload": {"key": "note", "value": "changed"}}).to_string(),
    );
    assert_eq!(by_request.status, 200, "{}", by_request.text());
    assert_eq!(
        by_request.json()["metaData"],
        json!({"jobScript": "blablabla...", "note": "changed"})
    );
    let listed = app
        .get("/api/jobs/?project=meta&with-metadata=true", &app.admin())
        .json();
    assert_eq!(listed["jobs"][0]["metaData"]["note"], "changed");

    assert_error(
        &app.call("PATCH", "/api/jobs/edit_meta/99999999", &app.admin(), "{}"),
        404,
        "finding job failed: sql: no rows in result set",
    );
    assert_error_prefix(
        &app.call(
            "PATCH",
            &format!("/api/jobs/edit_meta/{id}"),
            &app.admin(),
            r#"{"key":1}"#,
        ),
        400,
        "decoding request failed: json: cannot unmarshal number into Go struct field MetaEntry.key \
         of type string",
    );
    assert_error(
        &app.call("PATCH", "/api/jobs/edit_meta/-", &app.admin(), "{}"),
        400,
        "parsing job ID failed: strconv.ParseInt: parsing \"-\": invalid syntax",
    );
    assert_error(
        &app.call(
            "PATCH",
            "/api/jobs/edit_meta/",
            &app.admin(),
            r#"{"payload":{}}"#,
        ),
        400,
        "the field 'jobId' is required",
    );
    assert_error(
        &app.call(
            "PATCH",
            "/api/jobs/edit_meta/",
            &app.admin(),
            r#"{"jobId":77777}"#,
        ),
        422,
        "finding job failed: sql: no rows in result set",
    );
    assert_error_prefix(
        &app.call(
            "PATCH",
            "/api/jobs/edit_meta/",
            &app.admin(),
            r#"{"jobId":1901,"key":"x"}"#,
        ),
        400,
        "parsing request body failed: json: unknown field \"key\"",
    );
}

#[test]
fn jobs_are_deleted_by_id_request_and_age() {
    let app = App::start();
    for (job_id, start) in [(2001, BASE), (2002, BASE + 1)] {
        assert_eq!(
            app.start_job(&job_body(job_id, start, "deleting")).status,
            201
        );
    }
    let first = app.jobs_of("deleting")[1]["id"].as_i64().unwrap();
    let reply = app.call(
        "DELETE",
        &format!("/api/jobs/delete_job/00{first}"),
        &app.admin(),
        "",
    );
    assert_eq!(
        reply.text(),
        format!("{{\"msg\":\"Successfully deleted job 00{first}\"}}\n")
    );
    assert_error(
        &app.call(
            "DELETE",
            &format!("/api/jobs/delete_job/{first}"),
            &app.admin(),
            "",
        ),
        404,
        &format!("deleting job failed: no job with db id {first}"),
    );
    assert_error(
        &app.call("DELETE", "/api/jobs/delete_job/1e3", &app.admin(), ""),
        400,
        "integer expected in path for id: strconv.ParseInt: parsing \"1e3\": invalid syntax",
    );
    let second = app.id_of("deleting");
    let reply = app.call(
        "DELETE",
        "/api/jobs/delete_job/",
        &app.admin(),
        r#"{"jobId":2002,"cluster":"testcluster"}"#,
    );
    assert_eq!(
        reply.text(),
        format!("{{\"msg\":\"Successfully deleted job {second}\"}}\n")
    );
    assert_error(
        &app.call(
            "DELETE",
            "/api/jobs/delete_job/",
            &app.admin(),
            r#"{"jobId":2002}"#,
        ),
        422,
        "finding job failed: sql: no rows in result set",
    );
    assert_error(
        &app.call("DELETE", "/api/jobs/delete_job/", &app.admin(), "{}"),
        400,
        "the field 'jobId' is required",
    );

    // Old jobs, below BASE: untagged, app-tagged, user-tagged.
    for (job_id, start) in [(2011, 10), (2012, 11), (2013, 12)] {
        assert_eq!(app.start_job(&job_body(job_id, start, "old")).status, 201);
    }
    let old = app.jobs_of("old");
    for (job, kind) in [(&old[1], "app"), (&old[0], "bug")] {
        let body = json!([{"type": kind, "name": "old-tag"}]).to_string();
        let path = format!("/api/jobs/tag_job/{}", job["id"]);
        assert_eq!(app.call("POST", &path, &app.admin(), &body).status, 200);
    }
    let before = |query: &str| {
        app.call(
            "DELETE",
            &format!("/api/jobs/delete_job_before/100{query}"),
            &app.admin(),
            "",
        )
    };
    assert_error(
        &before("?omit-tagged=some"),
        400,
        "omit-tagged must be one of: none, all, user",
    );
    assert_error(
        &app.call(
            "DELETE",
            "/api/jobs/delete_job_before/soon",
            &app.admin(),
            "",
        ),
        400,
        "integer expected in path for ts: strconv.ParseInt: parsing \"soon\": invalid syntax",
    );
    assert_eq!(
        before("?omit-tagged=all").text(),
        "{\"msg\":\"Successfully deleted 1 jobs\"}\n"
    );
    assert_eq!(
        before("?omit-tagged=user").text(),
        "{\"msg\":\"Successfully deleted 1 jobs\"}\n"
    );
    assert_eq!(
        before("?omit-tagged=").text(),
        "{\"msg\":\"Successfully deleted 1 jobs\"}\n"
    );
    assert_eq!(
        before("").text(),
        "{\"msg\":\"Successfully deleted 0 jobs\"}\n"
    );
    assert_eq!(app.count("SELECT count(*) FROM jobtag JOIN tag ON tag.id = jobtag.tag_id WHERE tag.tag_name = 'old-tag'"), 0);
}

/// cc-backend's own sample database (schema version 10, JSON columns as BLOBs) served as is.
#[test]
fn serves_cc_backends_sample_database() {
    let keys = Keys::generate();
    let state = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cc-backend-sample/job.db");
    std::fs::copy(fixture, state.path().join("sqlite_db.db")).unwrap();
    let runner = Runner::start(&RunnerConfig::app(&keys), state.path());
    let auth = |user: &str, roles: &[&str]| format!("Bearer {}", keys.token(user, roles, 600));
    let admin = auth("root", &["admin", "api"]);
    let call = |path: &str, token: &str| get(&runner.url(path), &[("Authorization", token)]);

    let page = call("/api/jobs/?items-per-page=1000", &admin);
    assert_eq!(page.status, 200, "{}", page.text());
    let jobs = page.json()["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 544);
    let starts: Vec<i64> = jobs
        .iter()
        .map(|job| job["startTime"].as_i64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );
    let fritz = call(
        "/api/jobs/?cluster=fritz&state=completed&items-per-page=1000",
        &admin,
    );
    assert_eq!(fritz.json()["jobs"].as_array().unwrap().len(), 241);

    let job = call("/api/jobs/1", &admin);
    assert_eq!(job.status, 200, "{}", job.text());
    let meta = job.json()["Meta"].clone();
    assert_eq!(meta["jobId"], 679694);
    assert_eq!(meta["subCluster"], "a40");
    assert_eq!(meta["resources"][0]["hostname"], "a0128");
    assert_eq!(
        meta["resources"][0]["accelerators"],
        json!(["00000000:E1:00.0"])
    );
    assert_eq!(meta["metaData"]["jobName"], "retrain_SNN");
    assert_eq!(meta["footprint"]["acc_mem_used_avg"], 1286.562);
    assert_eq!(meta["shared"], "multi_user");
    assert!(meta.get("smt").is_none(), "smt 0 is omitted");
    assert_eq!(
        meta["tags"],
        json!([{"type": "testtype", "name": "testtag_1766478865138821000", "scope": "global", "id": 2},
               {"type": "testtype", "name": "testtag_1766564387168131000", "scope": "global", "id": 4}])
    );
    let private = call("/api/jobs/525", &admin);
    assert!(
        private.json()["Meta"].get("tags").is_none(),
        "job 525's tag is private to 'demo'"
    );
    let as_demo = call("/api/jobs/525", &auth("demo", &["api"]));
    assert_eq!(
        as_demo.json()["Meta"]["tags"],
        json!([{"type": "app", "name": "python", "scope": "demo", "id": 1}])
    );
    let text_meta = call("/api/jobs/317?all-metrics=true", &admin);
    assert_eq!(
        text_meta.json()["Meta"]["metaData"]["jobName"],
        "ams_pipeline"
    );
    assert_eq!(text_meta.json()["Meta"]["tags"][0]["name"], "vasp");
    assert_eq!(text_meta.json()["Data"], json!({}));

    // cc-backend's example payloads (fritz) start and stop a job in it.
    let payloads = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/payloads");
    let post = |path: &str, file: &str| {
        let body = std::fs::read(payloads.join(file)).unwrap();
        send(
            "POST",
            &runner.url(path),
            &[("Authorization", &admin)],
            &body,
        )
    };
    let started = post("/api/jobs/start_job/", "startJobPayload.json");
    assert_eq!(started.status, 201, "{}", started.text());
    let stopped = post("/api/jobs/stop_job/", "stopJobPayload.json");
    assert_eq!(stopped.status, 200, "{}", stopped.text());
    let stopped = stopped.json();
    assert_eq!(stopped["duration"], 1649763839 - 1649723812);
    assert_eq!(stopped["submitTime"], 1649723812);
    assert_eq!(stopped["metaData"]["jobName"], "ams_pipeline");
    assert!(stopped.get("requestedMemory").is_none());

    // The sample database keeps taking new jobs.
    let start = send(
        "POST",
        &runner.url("/api/jobs/start_job/"),
        &[("Authorization", &admin)],
        json!({"jobId": 1, "user": "u", "project": "p", "cluster": "fritz", "numNodes": 1,
               "resources": [{"hostname": "f0101"}], "startTime": BASE,
               "tags": [{"type": "app", "name": "vasp"}]})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(start.status, 201, "{}", start.text());
}
