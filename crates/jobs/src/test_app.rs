//! Handler tests: a platform of its own (database, a copy of the testcluster configuration, a
//! JWT key pair) and authenticated requests through the router.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use cc_auth::{generate_key_pair, mint_token, Group, PrivateKey};
use cc_metricstore::store::{write_lines, Registry};
use cc_model::load_clusters;
use cc_store::{Sql, Value};
use cc_web::{dispatch, run_after_response, NativePlatform, Platform, Route, Variables};
use http::Method;

use crate::http::API_ROUTES;
use crate::repo::unix_now;

/// Roles of a caller who may use every `/api` route and see every job.
pub(crate) const ADMIN: &[&str] = &["admin", "api"];

pub(crate) struct App {
    _state: tempfile::TempDir,
    pub platform: NativePlatform,
    key: PrivateKey,
    group: Group,
    routes: &'static [Route],
}

impl App {
    /// Serves `routes` as `group`; the cluster configuration below the state directory holds
    /// testcluster (sub-cluster sc1, hosts host123–host125, metric `load_one` every 60 s).
    pub(crate) fn new(group: Group, routes: &'static [Route]) -> App {
        let state = tempfile::tempdir().unwrap();
        let clusters_dir = state.path().join("clusters");
        fs::create_dir_all(clusters_dir.join("testcluster")).unwrap();
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/clusters/testcluster/cluster.json"),
            clusters_dir.join("testcluster/cluster.json"),
        )
        .unwrap();
        let (public, private) = generate_key_pair();
        let platform = NativePlatform {
            variables: HashMap::from([(Variables::JWT_PUBLIC_KEY.to_owned(), public)]),
            state_dir: state.path().to_owned(),
            clusters_dir,
            taggers_dir: state.path().join("taggers"),
        };
        App {
            _state: state,
            platform,
            key: PrivateKey::from_base64(&private).unwrap(),
            group,
            routes,
        }
    }

    /// The `/api` job and tag routes ([`API_ROUTES`]) as the `/api` group.
    pub(crate) fn api() -> App {
        App::new(Group::Api, API_ROUTES)
    }

    pub(crate) fn db(&self) -> Box<dyn Sql> {
        self.platform.sql().unwrap()
    }

    /// The first column of the first row of `sql`.
    pub(crate) fn scalar(&self, sql: &str, params: &[Value]) -> Value {
        let result = self.db().execute(sql, params).unwrap();
        result.scalar().cloned().unwrap_or(Value::Null)
    }

    /// Sends a request with a token of `user` holding `roles`, then runs the work the handler
    /// left for after its response, as the Spin entry point does.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        body: &str,
        user: &str,
        roles: &[&str],
    ) -> (u16, String) {
        let roles: Vec<String> = roles.iter().map(|role| role.to_string()).collect();
        let token = mint_token(&self.key, user, &roles, None, unix_now() as u64);
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(body.as_bytes().to_vec())
            .unwrap();
        let response = dispatch(&request, &self.platform, self.group, &[self.routes]);
        run_after_response(&self.platform);
        (
            response.status().as_u16(),
            String::from_utf8(response.into_body()).unwrap(),
        )
    }

    /// Stores line-protocol samples of testcluster.
    pub(crate) fn write_samples(&self, lines: &str) {
        let clusters = load_clusters(&self.platform.clusters_dir).unwrap();
        let registry = Registry::from_clusters(&clusters);
        let outcome = write_lines(
            self.db().as_ref(),
            &registry,
            lines.as_bytes(),
            "testcluster",
            unix_now(),
        )
        .unwrap();
        assert_eq!(outcome.skipped, 0, "{lines}");
    }

    /// Starts job `job_id` of alice on host123 at `start_time`; `extra` adds start fields (e.g.
    /// `,"monitoringStatus":0`). Answers the job's database id.
    pub(crate) fn start_job(&self, job_id: i64, start_time: i64, extra: &str) -> i64 {
        let body = format!(
            r#"{{"jobId":{job_id},"user":"alice","project":"p","cluster":"testcluster","numNodes":1,"resources":[{{"hostname":"host123"}}],"startTime":{start_time}{extra}}}"#
        );
        let (status, answer) =
            self.send(Method::POST, "/api/jobs/start_job/", &body, "root", ADMIN);
        assert_eq!(status, 201, "{answer}");
        self.scalar(
            "SELECT id FROM job WHERE job_id = ?",
            &[Value::Integer(job_id)],
        )
        .as_i64()
        .unwrap()
    }

    /// Stops job `job_id` at `stop_time`, including what runs after the response (archiving).
    /// Answers the response body.
    pub(crate) fn stop_job(&self, job_id: i64, stop_time: i64) -> String {
        let body =
            format!(r#"{{"jobId":{job_id},"cluster":"testcluster","stopTime":{stop_time}}}"#);
        let (status, answer) = self.send(Method::POST, "/api/jobs/stop_job/", &body, "root", ADMIN);
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// The body of a successful GET by an admin.
    pub(crate) fn get(&self, path: &str) -> String {
        let (status, body) = self.send(Method::GET, path, "", "root", ADMIN);
        assert_eq!(status, 200, "{body}");
        body
    }

    pub(crate) fn monitoring_status(&self, id: i64) -> i64 {
        self.scalar(
            "SELECT monitoring_status FROM job WHERE id = ?",
            &[Value::Integer(id)],
        )
        .as_i64()
        .unwrap()
    }
}

/// A whole minute about an hour ago: samples written at whole minutes from there on lie on
/// the store's grid of `load_one` (60 s).
pub(crate) fn an_hour_ago() -> i64 {
    (unix_now() - 3600) / 60 * 60
}

/// `load_one` samples of host123, one a minute from `start` on: 0.5, 1.5, 2.5, ….
pub(crate) fn load_samples(start: i64, count: i64) -> String {
    (0..count)
        .map(|minute| {
            let time = start + 60 * minute;
            format!("load_one,hostname=host123 value={minute}.5 {time}\n")
        })
        .collect()
}
