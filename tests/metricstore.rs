//! End-to-end tests of the metric store: line-protocol writes, the debug dump, freeing,
//! retention, node health from stored samples, and job data read from the samples of running
//! jobs and from the archive of stopped ones. The real `api`, `metricstore` and `userapi`
//! components are served by `cc-spin up` over the test clusters
//! (tests/fixtures/metricstore-spin.toml): testcluster (node-level `load_one`, 60 s) and
//! richcluster (node, socket, core, hwthread and accelerator metrics, all 60 s).
//!
//! Sample times are minute-aligned and recent: every metric has a 60 s timestep, so a sample
//! lands on the slot of its minute, and retention keeps the samples.

use std::time::Duration;

use cc_spin_e2e::{
    assert_error, assert_error_prefix, get, unix_now, wait_until, workspace_root, Reply,
    RunnerConfig, TestApp,
};
use serde_json::{json, Value};

/// The first GPU of richcluster's `gpu` sub-cluster.
const GPU0: &str = "00000000:01:00.0";
const GPU1: &str = "00000000:41:00.0";

struct App {
    served: TestApp,
}

impl App {
    fn start() -> App {
        Self::with_retention("48h")
    }

    fn with_retention(retention: &str) -> App {
        let served = TestApp::start(|keys| {
            RunnerConfig {
                manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
                variables: vec![("jwt_public_key".into(), keys.public.clone())],
            }
            .variable("metric_retention", retention)
        });
        App { served }
    }

    fn write(&self, query: &str, lines: &[String]) -> Reply {
        self.call(
            "POST",
            &format!("/api/write{query}"),
            &self.adapter(),
            &lines.join("\n"),
        )
    }

    /// A write that must succeed: 200, empty body, declared JSON.
    fn write_ok(&self, lines: &[String]) {
        let reply = self.write("", lines);
        assert_eq!((reply.status, reply.text()), (200, ""));
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }

    fn debug_reply(&self, selector: &str) -> Reply {
        let query = if selector.is_empty() {
            String::new()
        } else {
            format!("?selector={selector}")
        };
        self.call("GET", &format!("/api/debug{query}"), &self.adapter(), "")
    }

    /// The debug dump below `selector` ("" for everything), which must be valid JSON.
    fn debug(&self, selector: &str) -> Value {
        let reply = self.debug_reply(selector);
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.json()
    }

    /// The debug dump once every pending sample is merged (freeing what ended before 1970).
    fn merged_debug(&self, selector: &str) -> Value {
        assert_eq!(self.free(0, json!([[]])).text(), "buffers freed: 0\n");
        self.debug(selector)
    }

    fn free(&self, to: i64, selectors: Value) -> Reply {
        self.call(
            "POST",
            &format!("/api/free?to={to}"),
            &self.adapter(),
            &selectors.to_string(),
        )
    }

    fn start_job_ok(&self, body: &Value) {
        let reply = self.start_job(body);
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    fn stop_job_ok(&self, body: &Value) -> Value {
        let reply = self.stop_job(body);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    /// The only job of `project` as `GET /api/jobs/` lists it, and the raw listing.
    fn listed_job(&self, project: &str) -> (Value, String) {
        let reply = self.call(
            "GET",
            &format!("/api/jobs/?project={project}"),
            &self.admin(),
            "",
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        let jobs = reply.json()["jobs"].as_array().unwrap().clone();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        (jobs[0].clone(), reply.text().to_owned())
    }

    fn id_of(&self, project: &str) -> i64 {
        self.listed_job(project).0["id"].as_i64().unwrap()
    }

    /// `GET /api/jobs/metrics/{id}?<query>` as the admin; the body must be a 200 JSON answer.
    fn job_metrics(&self, id: i64, query: &str) -> Reply {
        let reply = self.call(
            "GET",
            &format!("/api/jobs/metrics/{id}?{query}"),
            &self.admin(),
            "",
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply
    }
}

impl std::ops::Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.served
    }
}

/// The start of the current minute.
fn this_minute() -> i64 {
    let now = unix_now();
    now - now.rem_euclid(60)
}

/// One line of line protocol: `<metric>,<tags> value=<value> <time>`.
fn sample(metric: &str, tags: &str, value: f64, time: i64) -> String {
    format!("{metric},{tags} value={value} {time}")
}

/// A monitored single-node job of `testuser` on `resource`, started at `start`.
fn job_body(job_id: i64, project: &str, cluster: &str, resource: Value, start: i64) -> Value {
    json!({
        "jobId": job_id, "user": "testuser", "project": project, "cluster": cluster,
        "walltime": 3600, "numNodes": 1, "shared": "none", "monitoringStatus": 1,
        "resources": [resource], "startTime": start
    })
}

/// `load_one` of host123 over the job of the first test, as the reference prints a JobMetric:
/// two decimals everywhere, `null` for the minute without a sample.
const LOAD_ONE: &str = concat!(
    r#"{"unit":{"base":""},"series":[{"hostname":"host123","#,
    r#""statistics":{"min":1.00,"avg":3.00,"max":5.00},"#,
    r#""data":[1.00,1.50,2.00,2.50,null,3.50,4.00,4.50,5.00]}],"timestep":60}"#
);

#[test]
fn job_data_comes_from_the_samples_while_running_and_from_the_archive_after_stop() {
    let app = App::start();
    let start = this_minute() - 600;
    let host123 = "cluster=testcluster,hostname=host123";
    let values = [1.0, 1.5, 2.0, 2.5, f64::NAN, 3.5, 4.0, 4.5, 5.0];
    let mut lines: Vec<String> = (0..)
        .zip(values)
        .filter(|(_, value)| !value.is_nan())
        .map(|(minute, value)| sample("load_one", host123, value, start + 60 * minute))
        .collect();
    // Outside the job: the minute before its start, and another host.
    lines.push(sample("load_one", host123, 99.0, start - 60));
    lines.push(sample(
        "load_one",
        "cluster=testcluster,hostname=host124",
        7.0,
        start + 60,
    ));
    app.write_ok(&lines);

    let resource = json!({"hostname": "host123", "hwthreads": [0, 1, 2, 3, 4, 5, 6, 7]});
    app.start_job_ok(&job_body(4001, "sampled", "testcluster", resource, start));
    let id = app.id_of("sampled");
    let owner = app.token("testuser", &["api", "user"]);
    let stranger = app.token("mallory", &["api", "user"]);

    let job_page_ends = format!("\"Data\":{{\"load_one\":{{\"node\":{LOAD_ONE}}}}}}}\n");
    let named_list_ends = format!(
        "\"Data\":[{{\"metric\":{LOAD_ONE},\"name\":\"load_one\",\"scope\":\"node\"}}]}}\n"
    );
    let metrics_answer = format!(
        "{{\"data\":{{\"jobMetrics\":[{{\"name\":\"load_one\",\"scope\":\"node\",\"metric\":{LOAD_ONE}}}]}},\"error\":null}}\n"
    );
    let read_everything = |phase: &str| {
        let page = app.call(
            "GET",
            &format!("/api/jobs/{id}?all-metrics=true"),
            &app.admin(),
            "",
        );
        assert_eq!(page.status, 200, "{phase}: {}", page.text());
        assert!(
            page.text().ends_with(&job_page_ends),
            "{phase}: {}",
            page.text()
        );
        let named = app.call(
            "POST",
            &format!("/api/jobs/{id}"),
            &app.admin(),
            r#"["load_one"]"#,
        );
        assert_eq!(named.status, 200, "{phase}: {}", named.text());
        assert!(
            named.text().ends_with(&named_list_ends),
            "{phase}: {}",
            named.text()
        );
        let query = "metric=load_one&scope=node";
        let by_admin = app.job_metrics(id, query);
        assert_eq!(by_admin.text(), metrics_answer, "{phase}");
        let by_owner = app.call(
            "GET",
            &format!("/userapi/jobs/metrics/{id}?{query}"),
            &owner,
            "",
        );
        assert_eq!(
            (by_owner.status, by_owner.text()),
            (200, metrics_answer.as_str()),
            "{phase}"
        );
        // Other users do not find the job; an `[api]` token finds it but is no owner (quirk).
        let by_stranger = app.call(
            "GET",
            &format!("/userapi/jobs/metrics/{id}?{query}"),
            &stranger,
            "",
        );
        assert_eq!(
            by_stranger.text(),
            "{\"data\":null,\"error\":{\"message\":\"sql: no rows in result set\"}}\n",
            "{phase}"
        );
        let by_adapter = app.call(
            "GET",
            &format!("/api/jobs/metrics/{id}?{query}"),
            &app.adapter(),
            "",
        );
        assert_eq!(
            by_adapter.text(),
            "{\"data\":null,\"error\":{\"message\":\"you are not allowed to see this job\"}}\n",
            "{phase}"
        );
    };
    read_everything("running");
    let (listed, _) = app.listed_job("sampled");
    assert_eq!(listed["statistics"], Value::Null);

    let stopped = app.stop_job_ok(&json!({"jobId": 4001, "cluster": "testcluster",
        "startTime": start, "jobState": "completed", "stopTime": start + 600}));
    assert_eq!(stopped["monitoringStatus"], 1);
    let admin = app.admin();
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let meta = app
                .call("GET", &format!("/api/jobs/{id}"), &admin, "")
                .json()["Meta"]
                .clone();
            assert_ne!(meta["monitoringStatus"], 2, "archiving failed: {meta}");
            meta["monitoringStatus"] == 3
        },
        || "the archiving of the stopped job".into(),
    );
    let (listed, raw_listing) = app.listed_job("sampled");
    assert_eq!(
        listed["statistics"],
        json!({"load_one": {"unit": {"base": ""}, "avg": 3, "min": 1, "max": 5}})
    );
    assert!(
        raw_listing
            .contains(r#""statistics":{"load_one":{"unit":{"base":""},"avg":3,"min":1,"max":5}}"#),
        "{raw_listing}"
    );

    // Every live sample goes; the archive still answers with the same data.
    let freed = app.free(unix_now() + 3600, json!([[]]));
    assert_eq!(freed.status, 200, "{}", freed.text());
    let count: u64 = freed
        .text()
        .strip_prefix("buffers freed: ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("{}", freed.text()));
    assert!(count >= 2, "host123 and host124 held samples: {count}");
    assert_eq!(
        app.debug(""),
        json!({"data": {"testcluster": {"host123": {}, "host124": {}}}})
    );
    read_everything("archived");
}

#[test]
fn writes_read_every_timestamp_unit_and_bad_bodies_store_nothing() {
    let app = App::start();
    let minute = this_minute() - 300;
    let instant = minute + 20;
    let lines = [
        format!("load_one,cluster=testcluster,hostname=in-s value=1 {instant}"),
        format!("load_one,cluster=testcluster,hostname=in-ms value=2 {instant}999"),
        format!("load_one,cluster=testcluster,hostname=in-us value=3 {instant}000001"),
        format!("load_one,cluster=testcluster,hostname=in-ns value=4 {instant}999999999"),
    ];
    app.write_ok(&lines);
    let slot = json!([{"start": minute, "len": 1, "end": minute + 60, "pending": true}]);
    let expected = json!({"data": {
        "in-s": {"load_one": slot}, "in-ms": {"load_one": slot},
        "in-us": {"load_one": slot}, "in-ns": {"load_one": slot},
    }});
    assert_eq!(app.debug("testcluster"), expected);
    let stored = app.debug("");

    // A good line followed by a bad one: 400 with the decoder's message, nothing stored.
    let good = sample("load_one", "cluster=testcluster,hostname=h1", 1.0, instant);
    let bad_lines = [
        (
            format!("load_one,cluster=testcluster,hostname=h1 load=42 {instant}"),
            "host h1: unknown field: 'load' \
             (value: lineprotocol.Value{number:0x4045000000000000, bytes:[]uint8{0x66}})"
                .to_owned(),
        ),
        (
            format!("load_one,cluster=testcluster,hostname=h1 value=\"high\" {instant}"),
            "host h1: unsupported value type in message: String".to_owned(),
        ),
        (
            format!("load_one,cluster=testcluster,hostname=h1 value=true {instant}"),
            "host h1: unsupported value type in message: Bool".to_owned(),
        ),
        (
            "load_one".to_owned(),
            "at line 2:9: expected tag key or field but found end of input instead".to_owned(),
        ),
        (
            "load_one,cluster=testcluster,hostname=h1 value=1 17x".to_owned(),
            "at line 2:50: invalid timestamp (\"17x\")".to_owned(),
        ),
    ];
    for (bad, message) in bad_lines {
        let reply = app.write("", &[good.clone(), bad.clone()]);
        assert_error(&reply, 400, &message);
        assert_eq!(app.debug(""), stored, "after {bad:?}");
    }

    // Metrics no cluster knows are skipped, even malformed. A metric of another cluster is
    // known: the registry is global, as in the reference.
    let skipped = [
        sample(
            "no_such_metric",
            "cluster=testcluster,hostname=h1",
            1.0,
            instant,
        ),
        "no_such_metric this is not line protocol".to_owned(),
    ];
    app.write_ok(&skipped);
    assert_eq!(app.debug(""), stored);
    app.write_ok(&[sample(
        "cpu_load",
        "cluster=testcluster,hostname=h1",
        1.0,
        instant,
    )]);
    assert_eq!(
        app.debug("testcluster:h1"),
        json!({"data": {"cpu_load": slot}})
    );

    // `?cluster=` names the cluster of lines without a cluster tag; the tag wins. The query
    // value is taken as it is, without percent-decoding.
    let reply = app.write(
        "?cluster=richcluster",
        &[
            format!("cpu_load,host=rc0001 value=5 {instant}"),
            format!("load_one,cluster=testcluster,hostname=host125 value=6 {instant}"),
        ],
    );
    assert_eq!((reply.status, reply.text()), (200, ""));
    assert_eq!(
        app.debug("richcluster"),
        json!({"data": {"rc0001": {"cpu_load": slot}}})
    );
    assert_eq!(
        app.debug("testcluster:host125"),
        json!({"data": {"load_one": slot}})
    );
    let encoded = app.write(
        "?cluster=rich%63luster",
        &[format!("cpu_load,hostname=rc0002 value=7 {instant}")],
    );
    assert_eq!(encoded.status, 200, "{}", encoded.text());
    assert_eq!(
        app.debug("rich%2563luster"),
        json!({"data": {"rc0002": {"cpu_load": slot}}})
    );
    assert_error(
        &app.debug_reply("richcluster:rc0002"),
        400,
        "[METRICSTORE]> not found: []string{\"richcluster\", \"rc0002\"}",
    );
}

#[test]
fn debug_shows_the_stored_tree_and_free_deletes_old_parts() {
    let app = App::start();
    let minute = this_minute() - 120;
    let rc0001 = "cluster=richcluster,hostname=rc0001";
    let reply = app.call(
        "POST",
        "/api/write/",
        &app.adapter(),
        &[
            sample(
                "load_one",
                "cluster=testcluster,hostname=host123",
                1.0,
                minute,
            ),
            sample("cpu_load", rc0001, 2.0, minute),
            sample(
                "mem_used",
                &format!("{rc0001},type=node,type-id=0"),
                3.0,
                minute,
            ),
            sample(
                "cpu_user",
                &format!("{rc0001},type=hwthread,type-id=0"),
                4.0,
                minute,
            ),
            sample(
                "cpu_user",
                &format!("{rc0001},type=hwthread,type-id=1"),
                5.0,
                minute,
            ),
        ]
        .join("\n"),
    );
    assert_eq!((reply.status, reply.text()), (200, ""));

    let tree = |part: Value| {
        json!({"data": {
            "richcluster": {"rc0001": {
                "cpu_load": [part], "mem_used": [part],
                "hwthread0": {"cpu_user": [part]}, "hwthread1": {"cpu_user": [part]},
            }},
            "testcluster": {"host123": {"load_one": [part]}},
        }})
    };
    let pending = json!({"start": minute, "len": 1, "end": minute + 60, "pending": true});
    assert_eq!(app.debug(""), tree(pending.clone()));
    let trailing_slash = app.call("GET", "/api/debug/", &app.adapter(), "");
    assert_eq!(trailing_slash.json(), tree(pending.clone()));
    assert_eq!(
        app.debug("richcluster:rc0001:hwthread1"),
        json!({"data": {"cpu_user": [pending]}})
    );
    assert_error(
        &app.debug_reply("a:b"),
        400,
        "[METRICSTORE]> not found: []string{\"a\", \"b\"}",
    );

    // Bad requests free nothing.
    for query in ["", "?to=", "?to=&to=5"] {
        let no_to = app.call("POST", &format!("/api/free{query}"), &app.adapter(), "[[]]");
        assert_error(&no_to, 400, "'to' is a required query parameter");
    }
    let bad_to = app.call("POST", "/api/free?to=soon", &app.adapter(), "[[]]");
    assert_error(
        &bad_to,
        400,
        "strconv.ParseInt: parsing \"soon\": invalid syntax",
    );
    let bad_body = app.free(minute + 3600, json!({"cluster": "richcluster"}));
    assert_eq!(bad_body.status, 400, "{}", bad_body.text());

    // Nothing ends before the samples; the pending samples are merged on the way.
    let nothing = app.free(minute, json!([[]]));
    assert_eq!(
        (nothing.status, nothing.text()),
        (200, "buffers freed: 0\n")
    );
    assert_eq!(
        nothing.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let merged = json!({"start": minute, "len": 1, "end": minute + 60});
    assert_eq!(app.debug(""), tree(merged.clone()));

    let later = minute + 3600;
    let one_thread = app.free(
        later,
        json!([
            ["richcluster", "rc0001", "hwthread0"],
            ["richcluster", "nowhere"]
        ]),
    );
    assert_eq!(one_thread.text(), "buffers freed: 1\n");
    assert_eq!(
        app.debug("richcluster"),
        json!({"data": {"rc0001": {
            "cpu_load": [merged], "mem_used": [merged], "hwthread0": {},
            "hwthread1": {"cpu_user": [merged]},
        }}})
    );
    // Freeing does not create the levels it names.
    assert_error(
        &app.debug_reply("richcluster:nowhere"),
        400,
        "[METRICSTORE]> not found: []string{\"richcluster\", \"nowhere\"}",
    );

    let cluster = app.call(
        "POST",
        &format!("/api/free/?to={later}"),
        &app.adapter(),
        r#"[["richcluster"]]"#,
    );
    assert_eq!(cluster.text(), "buffers freed: 3\n");
    // A freed host keeps its levels, without samples.
    assert_eq!(
        app.debug("richcluster:rc0001"),
        json!({"data": {"hwthread0": {}, "hwthread1": {}}})
    );
    assert_eq!(app.free(later, json!([[]])).text(), "buffers freed: 1\n");
    assert_eq!(
        app.debug(""),
        json!({"data": {
            "richcluster": {"rc0001": {"hwthread0": {}, "hwthread1": {}}},
            "testcluster": {"host123": {}},
        }})
    );
}

#[test]
fn retention_spares_the_hosts_of_running_jobs_that_started_before_it() {
    let app = App::with_retention("1h");
    let now = this_minute();
    let old = now - 2 * 3600;
    app.start_job_ok(&job_body(
        5001,
        "long",
        "testcluster",
        json!({"hostname": "host123"}),
        now - 3 * 3600,
    ));
    // Started after the retention threshold: its host is not protected.
    app.start_job_ok(&job_body(
        5002,
        "short",
        "testcluster",
        json!({"hostname": "host125"}),
        now - 1800,
    ));
    // The first write after the start runs retention.
    let old_samples: Vec<String> = ["host123", "host124", "host125"]
        .iter()
        .map(|host| {
            sample(
                "load_one",
                &format!("cluster=testcluster,hostname={host}"),
                1.0,
                old,
            )
        })
        .collect();
    app.write_ok(&old_samples);
    let fresh = [sample(
        "load_one",
        "cluster=testcluster,hostname=host124",
        2.0,
        now,
    )];
    app.write_ok(&fresh);
    let part = |start: i64| json!([{"start": start, "len": 1, "end": start + 60}]);
    assert_eq!(
        app.merged_debug("testcluster"),
        json!({"data": {"host123": {"load_one": part(old)}, "host124": {"load_one": part(now)}}})
    );

    // Once the job has ended, the next retention run (at most every 10 s) removes the samples.
    app.stop_job_ok(
        &json!({"jobId": 5001, "cluster": "testcluster", "jobState": "completed",
        "stopTime": unix_now()}),
    );
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            app.write_ok(&fresh);
            app.debug_reply("testcluster:host123").status == 400
        },
        || "retention of the ended job's samples".into(),
    );
    assert_eq!(
        app.merged_debug("testcluster"),
        json!({"data": {"host124": {"load_one": part(now)}}})
    );
}

#[test]
fn node_health_is_judged_from_the_stored_samples() {
    let app = App::start();
    let now = unix_now();
    let stale = now - 600;
    let at = |host: &str, below: &str| format!("cluster=richcluster,hostname={host}{below}");
    let lines = [
        sample("load_one", "cluster=testcluster,hostname=host123", 1.0, now),
        // rc0001 (sub-cluster cpu): every metric of the sub-cluster, at every level.
        sample("cpu_load", &at("rc0001", ""), 1.0, now),
        sample("mem_used", &at("rc0001", ""), 1.0, now),
        sample("mem_bw", &at("rc0001", ",type=socket,type-id=0"), 1.0, now),
        sample("ipc", &at("rc0001", ",type=core,type-id=0"), 1.0, now),
        sample(
            "cpu_user",
            &at("rc0001", ",type=hwthread,type-id=0"),
            1.0,
            now,
        ),
        sample(
            "flops_any",
            &at("rc0001", ",type=hwthread,type-id=0"),
            1.0,
            now,
        ),
        // rc0002: one fresh metric, one stale, one with a stale hwthread, the rest missing.
        sample("cpu_load", &at("rc0002", ""), 1.0, now),
        sample("mem_used", &at("rc0002", ""), 1.0, stale),
        sample(
            "cpu_user",
            &at("rc0002", ",type=hwthread,type-id=0"),
            1.0,
            now,
        ),
        sample(
            "cpu_user",
            &at("rc0002", ",type=hwthread,type-id=1"),
            1.0,
            stale,
        ),
        // rg0001 (sub-cluster gpu): only a stale metric.
        sample("cpu_load", &at("rg0001", ""), 1.0, stale),
    ];
    app.write_ok(&lines);

    let rich = json!({"cluster": "richcluster", "nodes": [
        {"hostname": "rc0001", "states": ["idle"]},
        {"hostname": "rc0002", "states": ["allocated"]},
        {"hostname": "rg0001", "states": ["mixed"]},
        {"hostname": "rc0003", "states": ["down"]},
        {"hostname": "rc0004", "states": ["idle"]},
    ]});
    // The metric-store group admits api tokens with the user role; /api/nodestate/ does not.
    let collector = app.token("collector", &["api", "user"]);
    let reply = app.call("POST", "/api/healthcheck", &collector, &rich.to_string());
    assert_eq!((reply.status, reply.text()), (200, ""));
    assert_eq!(reply.header("content-type"), None);
    let test = json!({"cluster": "testcluster", "nodes": [
        {"hostname": "host123", "states": ["idle"]},
        {"hostname": "host124", "states": ["idle"]},
    ]});
    assert_error(
        &app.call("POST", "/api/nodestate/", &collector, &test.to_string()),
        401,
        "unauthorized",
    );
    let reply = app.call("POST", "/api/nodestate/", &app.adapter(), &test.to_string());
    assert_eq!((reply.status, reply.text()), (200, ""));

    let conn = app.db();
    let mut statement = conn
        .prepare(
            "SELECT n.hostname, s.node_state, s.health_state, s.health_metrics \
             FROM node_state s JOIN node n ON n.id = s.node_id ORDER BY s.id",
        )
        .unwrap();
    let rows: Vec<(String, String, String, String)> = statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let healthy = r#"{"degraded":[],"missing":[]}"#;
    let row = |host: &str, state: &str, health: &str, metrics: &str| {
        (host.into(), state.into(), health.into(), metrics.into())
    };
    assert_eq!(
        rows,
        [
            row("rc0001", "idle", "full", healthy),
            row(
                "rc0002",
                "allocated",
                "partial",
                r#"{"degraded":["mem_used","cpu_user"],"missing":["mem_bw","ipc","flops_any"]}"#
            ),
            row(
                "rg0001",
                "mixed",
                "failed",
                concat!(
                    r#"{"degraded":["cpu_load"],"missing":["mem_used","mem_bw","ipc","#,
                    r#""cpu_user","flops_any","acc_utilization","acc_power"]}"#
                )
            ),
            // Down nodes are not checked: failed rather than the reference's full
            // (docs/compatibility.md#down-nodes-are-failed).
            row("rc0003", "down", "failed", ""),
            row("rc0004", "idle", "failed", ""),
            row("host123", "idle", "full", healthy),
            row("host124", "idle", "failed", ""),
        ]
    );
}

/// A series as parsed from job data: three minutes starting at `first`, one apart.
fn series(id: Option<&str>, first: f64, step: f64) -> Value {
    let data: Vec<f64> = (0..3)
        .map(|minute| first + step * f64::from(minute))
        .collect();
    let mut series = json!({
        "hostname": "rg0001",
        "statistics": {"min": data[0], "avg": data[1], "max": data[2]},
        "data": data,
    });
    if let Some(id) = id {
        series["id"] = json!(id);
    }
    series
}

#[test]
fn finer_samples_are_combined_per_scope_with_the_metrics_aggregation() {
    let app = App::start();
    let start = this_minute() - 600;
    let rg0001 = "cluster=richcluster,hostname=rg0001";
    let mut lines = Vec::new();
    for minute in 0..3 {
        let time = start + 60 * minute;
        let offset = minute as f64;
        for hwthread in 0..8 {
            let tags = format!("{rg0001},type=hwthread,type-id={hwthread}");
            lines.push(sample(
                "cpu_user",
                &tags,
                10.0 * f64::from(hwthread) + offset,
                time,
            ));
        }
        for core in 0..4 {
            let tags = format!("{rg0001},type=core,type-id={core}");
            lines.push(sample("ipc", &tags, f64::from(core) + 0.5 + offset, time));
        }
        for socket in 0..2 {
            let tags = format!("{rg0001},type=socket,type-id={socket}");
            lines.push(sample(
                "mem_bw",
                &tags,
                100.0 * f64::from(socket + 1) + offset,
                time,
            ));
        }
        for (gpu, value) in [(GPU0, 50.0 + offset), (GPU1, 90.0)] {
            let tags = format!("{rg0001},type=accelerator,type-id={gpu}");
            lines.push(sample("acc_utilization", &tags, value, time));
        }
    }
    app.write_ok(&lines);
    // hwthreads 0, 1, 2: cores 0, 1, 2 (of 4, with hwthreads 4, 5, 6 as siblings), both sockets.
    let resource = json!({"hostname": "rg0001", "hwthreads": [0, 1, 2], "accelerators": [GPU0]});
    let mut body = job_body(6001, "scopes", "richcluster", resource, start);
    body["numAcc"] = json!(1);
    body["numHwthreads"] = json!(3);
    app.start_job_ok(&body);
    let id = app.id_of("scopes");

    let scoped = |metric: &str, scopes: &[&str]| -> Vec<(String, Value)> {
        let query: Vec<String> = std::iter::once(format!("metric={metric}"))
            .chain(scopes.iter().map(|scope| format!("scope={scope}")))
            .collect();
        let answer = app.job_metrics(id, &query.join("&")).json();
        assert_eq!(answer["error"], Value::Null, "{answer}");
        answer["data"]["jobMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                assert_eq!(entry["name"], metric);
                assert_eq!(entry["metric"]["timestep"], 60);
                (
                    entry["scope"].as_str().unwrap().to_owned(),
                    entry["metric"]["series"].clone(),
                )
            })
            .collect()
    };
    let expect = |scope: &str, series: Vec<Value>| (scope.to_owned(), Value::Array(series));

    // hwthread, avg: cores and sockets average all their hwthreads, the node the job's.
    assert_eq!(
        scoped("cpu_user", &["node", "socket", "core", "hwthread"]),
        [
            expect(
                "core",
                vec![
                    series(Some("0"), 20.0, 1.0),
                    series(Some("1"), 30.0, 1.0),
                    series(Some("2"), 40.0, 1.0),
                ]
            ),
            expect(
                "hwthread",
                vec![
                    series(Some("0"), 0.0, 1.0),
                    series(Some("1"), 10.0, 1.0),
                    series(Some("2"), 20.0, 1.0),
                ]
            ),
            expect("node", vec![series(None, 10.0, 1.0)]),
            expect(
                "socket",
                vec![series(Some("0"), 25.0, 1.0), series(Some("1"), 45.0, 1.0),]
            ),
        ]
    );
    // socket, sum: core scope is served at socket scope, the node sums the job's sockets.
    assert_eq!(
        scoped("mem_bw", &["core", "node", "socket"]),
        [
            expect("node", vec![series(None, 300.0, 2.0)]),
            expect(
                "socket",
                vec![series(Some("0"), 100.0, 1.0), series(Some("1"), 200.0, 1.0),]
            ),
        ]
    );
    // core, avg: a socket averages all its cores, the node the job's cores.
    assert_eq!(
        scoped("ipc", &["node", "socket", "core"]),
        [
            expect(
                "core",
                vec![
                    series(Some("0"), 0.5, 1.0),
                    series(Some("1"), 1.5, 1.0),
                    series(Some("2"), 2.5, 1.0),
                ]
            ),
            expect("node", vec![series(None, 1.5, 1.0)]),
            expect(
                "socket",
                vec![series(Some("0"), 1.0, 1.0), series(Some("1"), 3.0, 1.0),]
            ),
        ]
    );
    // accelerator: only the job's GPU.
    assert_eq!(
        scoped("acc_utilization", &["accelerator", "node"]),
        [
            expect("accelerator", vec![series(Some(GPU0), 50.0, 1.0)]),
            expect("node", vec![series(None, 50.0, 1.0)]),
        ]
    );
    let unsupported = app
        .job_metrics(id, "metric=cpu_user&scope=memoryDomain")
        .json();
    assert_eq!(unsupported["data"], Value::Null);
    assert!(
        unsupported["error"]["message"].as_str().unwrap().ends_with(
            "METRICDATA/INTERNAL-CCMS > unsupported scope transformation: \
                 native-scope=hwthread, requested-scope=memoryDomain"
        ),
        "{unsupported}"
    );

    // The job page of a single-node job asks for core scope: accelerator metrics have none,
    // metrics without samples are left out.
    let page = app
        .call(
            "GET",
            &format!("/api/jobs/{id}?all-metrics=true"),
            &app.admin(),
            "",
        )
        .json();
    let scopes: Vec<(String, Vec<String>)> = page["Data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(metric, scopes)| {
            (
                metric.clone(),
                scopes.as_object().unwrap().keys().cloned().collect(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        [
            ("cpu_user".to_owned(), vec!["core".to_owned()]),
            ("ipc".to_owned(), vec!["core".to_owned()]),
            ("mem_bw".to_owned(), vec!["socket".to_owned()]),
        ]
    );
    assert_eq!(
        page["Data"]["mem_bw"]["socket"]["unit"],
        json!({"base": "B/s", "prefix": "G"})
    );
}

#[test]
fn the_metric_store_group_admits_api_tokens_with_user_manager_or_admin() {
    let app = App::start();
    let url = app.runner.url("/api/debug");
    assert_error(&get(&url, &[]), 401, "unauthorized");
    for roles in [
        &["user"][..],
        &["admin"],
        &["api", "support"],
        &["API"],
        &[],
    ] {
        let reply = app.call("GET", "/api/debug", &app.token("u", roles), "");
        assert_error(&reply, 401, "unauthorized");
        let write = app.call("POST", "/api/write", &app.token("u", roles), "");
        assert_error(&write, 401, "unauthorized");
    }
    for roles in [
        &["api"][..],
        &["api", "user"],
        &["api", "manager"],
        &["admin", "api"],
    ] {
        let reply = get(&url, &[("X-Auth-Token", &app.token("u", roles))]);
        assert_eq!(
            (reply.status, reply.json()),
            (200, json!({"data": {}})),
            "{roles:?}"
        );
    }
    // Methods are checked before authentication.
    let wrong_method = app.call("GET", "/api/write", "", "");
    assert_eq!((wrong_method.status, wrong_method.body.len()), (405, 0));
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    assert_error_prefix(
        &app.call("POST", "/api/free?to=1", "not-a-token", "[]"),
        401,
        "token is malformed",
    );
}

/// Bodies over a component's limit get a JSON 413 before they are buffered, and store nothing;
/// the limits are the `max_json_body_bytes` / `max_write_body_bytes` variables.
#[test]
fn bodies_over_the_limit_are_refused_with_413() {
    let app = TestApp::start(|keys| {
        RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
            variables: vec![("jwt_public_key".into(), keys.public.clone())],
        }
        .variable("max_json_body_bytes", "1000")
        .variable("max_write_body_bytes", "2000")
    });
    let mut start = job_body(
        5001,
        "big",
        "testcluster",
        json!({"hostname": "host123"}),
        this_minute() - 600,
    );
    start["metaData"] = json!({"jobScript": "x".repeat(1000)});
    assert_error(
        &app.start_job(&start),
        413,
        "request body exceeds the limit of 1000 bytes",
    );
    start["metaData"] = json!({"jobScript": "x".repeat(100)});
    assert_eq!(app.start_job(&start).status, 201);
    // Only the second start was stored.
    assert_eq!(app.count("SELECT count(*) FROM job"), 1);

    let minute = this_minute();
    let lines: Vec<String> = (0..40)
        .map(|n| {
            sample(
                "load_one",
                "cluster=testcluster,hostname=host124,type=node",
                n as f64,
                minute - 60 * n,
            )
        })
        .collect();
    let body = lines.join("\n");
    assert!(body.len() > 2000, "{}", body.len());
    let refused = app.call("POST", "/api/write", &app.adapter(), &body);
    assert_error(
        &refused,
        413,
        "request body exceeds the limit of 2000 bytes",
    );
    let debug = app.get("/api/debug?selector=testcluster:host124", &app.adapter());
    assert_eq!(debug.status, 400, "nothing stored: {}", debug.text());
    let accepted = app.call(
        "POST",
        "/api/write",
        &app.adapter(),
        &lines[..10].join("\n"),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
}
