//! The job data routes over fake data sources.

use super::*;
use crate::data::{DataError, JobDataSource};
use crate::repo::tests::insert_job;
use crate::test_app::App;
use cc_auth::Group;
use cc_metricstore::plan::{LoadError, LoadRequest};
use cc_model::{Cluster, Unit};
use cc_web::Route;
use http::Method;

/// Answers every requested metric (default: `mem_bw`, `cpu_load`, in that order) at every
/// requested scope with a JobMetric without series whose unit names the job and whose
/// timestep is the requested resolution.
struct FakeSource;

impl JobDataSource for FakeSource {
    fn load(
        &self,
        job: &Job,
        _: &Cluster,
        request: &LoadRequest<'_>,
    ) -> Result<JobDataResponse, DataError> {
        let all = ["mem_bw".to_owned(), "cpu_load".to_owned()];
        let mut data = JobDataResponse::new();
        for name in request.metrics.unwrap_or(&all) {
            for scope in request.scopes {
                let metric = JobMetric {
                    unit: Unit {
                        base: format!("job{}", job.job_id),
                        prefix: String::new(),
                    },
                    timestep: request.resolution,
                    series: Vec::new(),
                    statistics_series: None,
                };
                data.entry(name.clone())
                    .or_default()
                    .insert(scope.as_str(), metric);
            }
        }
        Ok(data)
    }
}

struct FailingSource;

impl JobDataSource for FailingSource {
    fn load(
        &self,
        job: &Job,
        _: &Cluster,
        _: &LoadRequest<'_>,
    ) -> Result<JobDataResponse, DataError> {
        Err(LoadError::NoResources { job_id: job.job_id }.into())
    }
}

fn fake<'db>(_: &'db dyn Sql) -> Box<dyn JobDataSource + 'db> {
    Box::new(FakeSource)
}
fn get_fake(ctx: &Ctx) -> Result<Response, ApiError> {
    get_job_from(ctx, fake)
}
fn post_fake(ctx: &Ctx) -> Result<Response, ApiError> {
    post_job_from(ctx, fake)
}
fn metrics_fake(ctx: &Ctx) -> Result<Response, ApiError> {
    job_metrics_from(ctx, fake)
}
fn get_failing(ctx: &Ctx) -> Result<Response, ApiError> {
    get_job_from(ctx, |_| Box::new(FailingSource))
}

static ROUTES: &[Route] = &[
    Route::new(Method::GET, "/userapi/jobs/{id}", get_fake),
    Route::new(Method::POST, "/userapi/jobs/{id}", post_fake),
    Route::new(Method::GET, "/userapi/jobs/metrics/{id}", metrics_fake),
    Route::new(Method::GET, "/userapi/failing/{id}", get_failing),
];

/// The fake-source routes with one running single-node job 42 of `alice` on testcluster;
/// returns the job's database id too.
fn app_with_job() -> (App, i64) {
    let app = App::new(Group::UserApi, ROUTES);
    let job = insert_job(
        app.db().as_ref(),
        42,
        "testcluster",
        "alice",
        "running",
        1000,
    );
    (app, job)
}

#[test]
fn get_with_all_metrics_nests_data_by_metric_and_scope() {
    let (app, job) = app_with_job();
    let path = format!("/userapi/jobs/{}?all-metrics=true", job);
    let (status, body) = app.send(Method::GET, &path, "", "alice", &["api", "user"]);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#""Meta":{"cluster":"testcluster""#),
        "{body}"
    );
    assert!(body.contains(r#""metaData":{"jobName":"x"}"#), "{body}");
    assert!(
        body.ends_with(concat!(
            r#""Data":{"cpu_load":{"core":{"unit":{"base":"job42"},"series":[],"timestep":60}},"#,
            r#""mem_bw":{"core":{"unit":{"base":"job42"},"series":[],"timestep":60}}}}"#,
            "\n"
        )),
        "{body}"
    );
    let without = app.send(
        Method::GET,
        &format!("/userapi/jobs/{}", job),
        "",
        "alice",
        &["api", "user"],
    );
    assert!(without.1.ends_with("\"Data\":null}\n"), "{}", without.1);
}

#[test]
fn post_lists_metrics_sorted_by_name_and_scope() {
    let (app, job) = app_with_job();
    let (status, body) = app.send(
        Method::POST,
        &format!("/userapi/jobs/{}", job),
        r#"["mem_bw","cpu_load"]"#,
        "root",
        &["api", "admin"],
    );
    assert_eq!(status, 200, "{body}");
    let data = &body[body.find("\"Data\"").unwrap()..];
    assert_eq!(
        data,
        concat!(
            r#""Data":[{"metric":{"unit":{"base":"job42"},"series":[],"timestep":60},"name":"cpu_load","scope":"core"},"#,
            r#"{"metric":{"unit":{"base":"job42"},"series":[],"timestep":60},"name":"mem_bw","scope":"core"}]}"#,
            "\n"
        )
    );
    let (status, body) = app.send(
        Method::POST,
        &format!("/userapi/jobs/{}", job),
        "[",
        "root",
        &["api", "admin"],
    );
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "{\"status\":\"Bad Request\",\"error\":\"decoding request failed: unexpected EOF\"}\n"
        )
    );
}

#[test]
fn metrics_route_reports_failures_inside_a_200() {
    let (app, job) = app_with_job();
    let path = |id: &str| format!("/userapi/jobs/metrics/{id}?scope=node&scope=core");
    let job = job.to_string();
    let (status, body) = app.send(Method::GET, &path(&job), "", "alice", &["api", "user"]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        concat!(
            r#"{"data":{"jobMetrics":["#,
            r#"{"name":"cpu_load","scope":"core","metric":{"unit":{"base":"job42"},"series":[],"timestep":0}},"#,
            r#"{"name":"cpu_load","scope":"node","metric":{"unit":{"base":"job42"},"series":[],"timestep":0}},"#,
            r#"{"name":"mem_bw","scope":"core","metric":{"unit":{"base":"job42"},"series":[],"timestep":0}},"#,
            r#"{"name":"mem_bw","scope":"node","metric":{"unit":{"base":"job42"},"series":[],"timestep":0}}"#,
            r#"]},"error":null}"#,
            "\n"
        )
    );

    let failure = |id: &str, user: &str, roles: &[&str]| {
        let (status, body) = app.send(
            Method::GET,
            &format!("/userapi/jobs/metrics/{id}"),
            "",
            user,
            roles,
        );
        assert_eq!(status, 200);
        body
    };
    assert_eq!(
        failure(&job, "bob", &["api"]),
        "{\"data\":null,\"error\":{\"message\":\"you are not allowed to see this job\"}}\n"
    );
    assert_eq!(
        failure(&job, "bob", &["api", "user"]),
        "{\"data\":null,\"error\":{\"message\":\"sql: no rows in result set\"}}\n"
    );
    assert_eq!(failure("x1", "bob", &["api", "user"]), "{\"data\":null,\"error\":{\"message\":\"strconv.ParseInt: parsing \\\"x1\\\": invalid syntax\"}}\n");
    assert!(failure(&job, "sup", &["api", "support"]).contains("\"error\":null"));

    let (status, body) = app.send(
        Method::GET,
        &format!("/userapi/jobs/metrics/{job}?scope=die"),
        "",
        "alice",
        &["api", "user"],
    );
    assert_eq!((status, body.as_str()), (400, "{\"status\":\"Bad Request\",\"error\":\"unmarshaling scope failed: SCHEMA/METRICS \\u003e die is not a valid MetricScope\"}\n"));
}

#[test]
fn load_failures_are_500_json_errors() {
    let (app, job) = app_with_job();
    let (status, body) = app.send(
        Method::GET,
        &format!("/userapi/failing/{}?all-metrics=true", job),
        "",
        "alice",
        &["api", "user"],
    );
    assert_eq!((status, body.as_str()), (500, "{\"status\":\"Internal Server Error\",\"error\":\"loading job data failed: METRICDATA/INTERNAL-CCMS \\u003e no resources allocated for job 42\"}\n"));
}

#[test]
fn jobs_of_removed_clusters_are_422() {
    let (app, job) = app_with_job();
    app.db()
        .execute("UPDATE job SET cluster = 'gone'", &[])
        .unwrap();
    let (status, body) = app.send(
        Method::POST,
        &format!("/userapi/jobs/{}", job),
        "null",
        "alice",
        &["api", "user"],
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains(&format!(
            "job {} belongs to cluster gone, which is not configured",
            job
        )),
        "{body}"
    );
}
