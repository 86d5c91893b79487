//! A job with its metric data: `GET|POST /api/jobs/{id}` and `GET /api/jobs/metrics/{id}`
//! (spec jobs.md §8.2, §8.3). The data comes from a [`JobDataSource`]; until a metric store is
//! connected that is [`NoMetricData`], which answers what cc-backend answers for a job whose
//! store holds no samples: empty data.

use std::collections::BTreeMap;
use std::str::FromStr;

use cc_auth::{job_scope, Role, User};
use cc_model::{load_cluster, Cluster, ClusterError, Job, MetricScope};
use cc_store::Sql;
use cc_web::{decode_strict, json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{JobsError, LookupError};
use crate::query::QueryError;
use crate::repo::{find_by_id, load_visible_tags, unix_now};
use crate::strconv::parse_int;

/// What to load for a job (spec metricstore.md §4).
#[derive(Debug, Clone, PartialEq)]
pub struct DataQuery<'a> {
    /// `None`: every metric of the cluster.
    pub metrics: Option<&'a [String]>,
    pub scopes: &'a [MetricScope],
    /// Seconds between samples; 0 for the native resolution.
    pub resolution: i64,
}

/// Job data: metric name → scope name → JobMetric JSON (spec metricstore.md §5). The source
/// encodes each JobMetric itself because the reference writes series by hand (two decimals).
/// Keys are strings so that they sort like Go's map keys.
pub type JobData = BTreeMap<String, BTreeMap<String, Box<RawValue>>>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

/// Where job data comes from: the metric store for running jobs, the archive for archived ones.
pub trait JobDataSource {
    fn load(
        &self,
        job: &Job,
        cluster: &Cluster,
        query: &DataQuery<'_>,
    ) -> Result<JobData, DataError>;
}

/// No metric store yet: no job has samples.
pub struct NoMetricData;

impl JobDataSource for NoMetricData {
    fn load(&self, _: &Job, _: &Cluster, _: &DataQuery<'_>) -> Result<JobData, DataError> {
        Ok(JobData::new())
    }
}

/// The source every route uses.
static DATA_SOURCE: NoMetricData = NoMetricData;

/// The cluster of a stored job; it may have been removed from the configuration since.
fn cluster_of(ctx: &Ctx, job: &Job) -> Result<Cluster, JobsError> {
    load_cluster(&ctx.platform.clusters_dir(), &job.cluster).map_err(|error| match error {
        ClusterError::UnknownCluster(cluster) => JobsError::UnknownJobCluster {
            id: job.id.unwrap_or_default(),
            cluster,
        },
        other => JobsError::ClusterConfig(other),
    })
}

/// The job of `/api/jobs/{id}` with row-level security, its visible tags and its metadata.
fn job_with_meta(ctx: &Ctx, db: &dyn Sql) -> Result<Job, JobsError> {
    let id =
        parse_int(ctx.param("id")).map_err(|error| JobsError::PathInteger { name: "id", error })?;
    let user = ctx.user.as_ref();
    let not_found = |error| JobsError::FindJobById { id, error };
    let scope = job_scope(user).map_err(|error| not_found(error.into()))?;
    let mut job = find_by_id(db, id, &scope, true, unix_now())?
        .ok_or_else(|| not_found(LookupError::NoRows))?;
    load_visible_tags(db, &mut job, user)?;
    Ok(job)
}

/// Scopes and resolution of `GET|POST /api/jobs/{id}`: core scope for single-node jobs, node
/// scope otherwise; the coarsest timestep of the cluster's metrics.
fn load_for_job_page(
    source: &dyn JobDataSource,
    job: &Job,
    cluster: &Cluster,
    metrics: Option<&[String]>,
) -> Result<JobData, JobsError> {
    let scope = if job.num_nodes == 1 {
        MetricScope::Core
    } else {
        MetricScope::Node
    };
    let resolution = cluster
        .metric_config
        .iter()
        .map(|metric| metric.timestep)
        .max()
        .unwrap_or_default();
    let query = DataQuery {
        metrics,
        scopes: &[scope],
        resolution,
    };
    source
        .load(job, cluster, &query)
        .map_err(JobsError::LoadData)
}

#[derive(Serialize)]
struct JobWithData<D> {
    #[serde(rename = "Meta")]
    meta: Job,
    #[serde(rename = "Data")]
    data: D,
}

/// `GET /api/jobs/{id}[?all-metrics=true]`: the job; its data only with `all-metrics=true`.
pub fn get_job(ctx: &Ctx) -> Result<Response, ApiError> {
    get_job_from(ctx, &DATA_SOURCE)
}

fn get_job_from(ctx: &Ctx, source: &dyn JobDataSource) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = job_with_meta(ctx, db.as_ref())?;
    let all_metrics = ctx
        .query()
        .into_iter()
        .find(|(key, _)| key == "all-metrics")
        .is_some_and(|(_, value)| value == "true");
    let data = if all_metrics {
        let cluster = cluster_of(ctx, &job)?;
        Some(load_for_job_page(source, &job, &cluster, None)?)
    } else {
        None
    };
    json_response(StatusCode::OK, &JobWithData { meta: job, data })
}

#[derive(Serialize)]
struct NamedMetric<'a> {
    metric: &'a RawValue,
    name: &'a str,
    scope: &'a str,
}

/// `POST /api/jobs/{id}` with a JSON array of metric names (`null`: all): the job and a list
/// of its metrics, sorted by name and scope (spec jobs.md §13 recommendation; the reference's
/// order is random).
pub fn post_job(ctx: &Ctx) -> Result<Response, ApiError> {
    post_job_from(ctx, &DATA_SOURCE)
}

fn post_job_from(ctx: &Ctx, source: &dyn JobDataSource) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = job_with_meta(ctx, db.as_ref())?;
    let metrics: Option<Vec<String>> =
        decode_strict(ctx.request.body()).map_err(JobsError::DecodeRequest)?;
    let cluster = cluster_of(ctx, &job)?;
    let data = load_for_job_page(source, &job, &cluster, metrics.as_deref())?;
    let list: Vec<NamedMetric> = data
        .iter()
        .flat_map(|(name, scopes)| {
            scopes.iter().map(move |(scope, metric)| NamedMetric {
                metric,
                name,
                scope,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &JobWithData {
            meta: job,
            data: list,
        },
    )
}

/// Why `/jobs/metrics/{id}` could not deliver; reported inside a 200 body.
#[derive(Debug, thiserror::Error)]
enum MetricsFailure {
    #[error("{0}")]
    InvalidId(String),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("you are not allowed to see this job")]
    NotOwner,
    #[error(transparent)]
    Jobs(#[from] JobsError),
}

#[derive(Serialize)]
struct ScopedMetric<'a> {
    name: &'a str,
    scope: &'a str,
    metric: &'a RawValue,
}

#[derive(Serialize)]
struct JobMetrics<'a> {
    #[serde(rename = "jobMetrics")]
    job_metrics: Vec<ScopedMetric<'a>>,
}

#[derive(Serialize)]
struct FailureMessage {
    message: String,
}

#[derive(Serialize)]
struct MetricsAnswer<'a> {
    data: Option<JobMetrics<'a>>,
    error: Option<FailureMessage>,
}

/// Only the job's owner, or a manager, support or admin, may read its metrics here.
fn may_see(user: Option<&User>, job: &Job) -> bool {
    user.is_some_and(|user| {
        user.username == job.user
            || [Role::Admin, Role::Support, Role::Manager]
                .into_iter()
                .any(|role| user.has_role(role))
    })
}

/// Parsed `metric` and `scope` parameters of the metrics route.
struct MetricSelection {
    metrics: Option<Vec<String>>,
    scopes: Vec<MetricScope>,
}

fn metric_selection(query: &[(String, String)]) -> Result<MetricSelection, QueryError> {
    let metrics: Vec<String> = query
        .iter()
        .filter(|(key, _)| key == "metric")
        .map(|(_, value)| value.clone())
        .collect();
    let mut scopes = query
        .iter()
        .filter(|(key, _)| key == "scope")
        .map(|(_, value)| MetricScope::from_str(value))
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        scopes.push(MetricScope::Node);
    }
    Ok(MetricSelection {
        metrics: (!metrics.is_empty()).then_some(metrics),
        scopes,
    })
}

fn job_metrics_data(
    ctx: &Ctx,
    source: &dyn JobDataSource,
    selection: &MetricSelection,
) -> Result<JobData, MetricsFailure> {
    let id = parse_int(ctx.param("id")).map_err(MetricsFailure::InvalidId)?;
    let user = ctx.user.as_ref();
    let scope = job_scope(user).map_err(LookupError::from)?;
    let db = ctx.platform.sql().map_err(JobsError::from)?;
    let job = find_by_id(db.as_ref(), id, &scope, false, unix_now())?.ok_or(LookupError::NoRows)?;
    if !may_see(user, &job) {
        return Err(MetricsFailure::NotOwner);
    }
    let cluster = cluster_of(ctx, &job)?;
    // Resampling is not configurable yet, so the native resolution is used (spec jobs.md §8.3).
    let query = DataQuery {
        metrics: selection.metrics.as_deref(),
        scopes: &selection.scopes,
        resolution: 0,
    };
    Ok(source
        .load(&job, &cluster, &query)
        .map_err(JobsError::LoadData)?)
}

/// `GET /api/jobs/metrics/{id}?metric=…&scope=…`: an invalid scope is a 400; everything after
/// it is answered with 200 and either data or an error message (GraphQL-like, as the
/// reference).
pub fn job_metrics(ctx: &Ctx) -> Result<Response, ApiError> {
    job_metrics_from(ctx, &DATA_SOURCE)
}

fn job_metrics_from(ctx: &Ctx, source: &dyn JobDataSource) -> Result<Response, ApiError> {
    let selection = metric_selection(&ctx.query()).map_err(JobsError::Query)?;
    let outcome = job_metrics_data(ctx, source, &selection);
    let answer = match &outcome {
        Ok(data) => MetricsAnswer {
            data: Some(JobMetrics {
                job_metrics: data
                    .iter()
                    .flat_map(|(name, scopes)| {
                        scopes.iter().map(move |(scope, metric)| ScopedMetric {
                            name,
                            scope,
                            metric,
                        })
                    })
                    .collect(),
            }),
            error: None,
        },
        Err(failure) => MetricsAnswer {
            data: None,
            error: Some(FailureMessage {
                message: failure.to_string(),
            }),
        },
    };
    json_response(StatusCode::OK, &answer)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::repo::tests::insert_job;
    use cc_auth::{generate_key_pair, mint_token, Group, PrivateKey};
    use cc_web::{dispatch, NativePlatform, Platform, Route, Variables};
    use http::Method;

    /// Answers every requested metric (default: `mem_bw`, `cpu_load`, in that order) at every
    /// requested scope with a JobMetric stand-in naming the job and the resolution.
    struct FakeSource;

    impl JobDataSource for FakeSource {
        fn load(
            &self,
            job: &Job,
            _: &Cluster,
            query: &DataQuery<'_>,
        ) -> Result<JobData, DataError> {
            let all = ["mem_bw".to_owned(), "cpu_load".to_owned()];
            let mut data = JobData::new();
            for name in query.metrics.unwrap_or(&all) {
                for scope in query.scopes {
                    let metric = format!(r#"{{"job":{},"res":{}}}"#, job.job_id, query.resolution);
                    data.entry(name.clone()).or_default().insert(
                        scope.as_str().to_owned(),
                        RawValue::from_string(metric).unwrap(),
                    );
                }
            }
            Ok(data)
        }
    }

    struct FailingSource;

    impl JobDataSource for FailingSource {
        fn load(&self, _: &Job, _: &Cluster, _: &DataQuery<'_>) -> Result<JobData, DataError> {
            Err(DataError("store unreachable".into()))
        }
    }

    fn get_fake(ctx: &Ctx) -> Result<Response, ApiError> {
        get_job_from(ctx, &FakeSource)
    }
    fn post_fake(ctx: &Ctx) -> Result<Response, ApiError> {
        post_job_from(ctx, &FakeSource)
    }
    fn metrics_fake(ctx: &Ctx) -> Result<Response, ApiError> {
        job_metrics_from(ctx, &FakeSource)
    }
    fn get_failing(ctx: &Ctx) -> Result<Response, ApiError> {
        get_job_from(ctx, &FailingSource)
    }

    static ROUTES: &[Route] = &[
        Route::new(Method::GET, "/userapi/jobs/{id}", get_fake),
        Route::new(Method::POST, "/userapi/jobs/{id}", post_fake),
        Route::new(Method::GET, "/userapi/jobs/metrics/{id}", metrics_fake),
        Route::new(Method::GET, "/userapi/failing/{id}", get_failing),
    ];

    struct App {
        _state: tempfile::TempDir,
        platform: NativePlatform,
        key: PrivateKey,
        job: i64,
    }

    impl App {
        /// A platform with one single-node job 42 of `alice` on testcluster.
        fn new() -> App {
            let state = tempfile::tempdir().unwrap();
            let (public, private) = generate_key_pair();
            let platform = NativePlatform {
                variables: HashMap::from([(Variables::JWT_PUBLIC_KEY.to_owned(), public)]),
                state_dir: state.path().to_owned(),
                clusters_dir: Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../tests/fixtures/clusters"),
            };
            let job = insert_job(
                platform.sql().unwrap().as_ref(),
                42,
                "testcluster",
                "alice",
                "running",
                1000,
            );
            App {
                _state: state,
                platform,
                key: PrivateKey::from_base64(&private).unwrap(),
                job,
            }
        }

        fn send(
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
            let response = dispatch(&request, &self.platform, Group::UserApi, &[ROUTES]);
            (
                response.status().as_u16(),
                String::from_utf8(response.into_body()).unwrap(),
            )
        }
    }

    #[test]
    fn get_with_all_metrics_nests_data_by_metric_and_scope() {
        let app = App::new();
        let path = format!("/userapi/jobs/{}?all-metrics=true", app.job);
        let (status, body) = app.send(Method::GET, &path, "", "alice", &["api", "user"]);
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains(r#""Meta":{"cluster":"testcluster""#),
            "{body}"
        );
        assert!(body.contains(r#""metaData":{"jobName":"x"}"#), "{body}");
        assert!(
            body.ends_with(concat!(
                r#""Data":{"cpu_load":{"core":{"job":42,"res":60}},"#,
                r#""mem_bw":{"core":{"job":42,"res":60}}}}"#,
                "\n"
            )),
            "{body}"
        );
        let without = app.send(
            Method::GET,
            &format!("/userapi/jobs/{}", app.job),
            "",
            "alice",
            &["api", "user"],
        );
        assert!(without.1.ends_with("\"Data\":null}\n"), "{}", without.1);
    }

    #[test]
    fn post_lists_metrics_sorted_by_name_and_scope() {
        let app = App::new();
        let (status, body) = app.send(
            Method::POST,
            &format!("/userapi/jobs/{}", app.job),
            r#"["mem_bw","cpu_load"]"#,
            "root",
            &["api", "admin"],
        );
        assert_eq!(status, 200, "{body}");
        let data = &body[body.find("\"Data\"").unwrap()..];
        assert_eq!(
            data,
            concat!(
                r#""Data":[{"metric":{"job":42,"res":60},"name":"cpu_load","scope":"core"},"#,
                r#"{"metric":{"job":42,"res":60},"name":"mem_bw","scope":"core"}]}"#,
                "\n"
            )
        );
        let (status, body) = app.send(
            Method::POST,
            &format!("/userapi/jobs/{}", app.job),
            "[",
            "root",
            &["api", "admin"],
        );
        assert_eq!((status, body.as_str()), (400, "{\"status\":\"Bad Request\",\"error\":\"decoding request failed: unexpected EOF\"}\n"));
    }

    #[test]
    fn metrics_route_reports_failures_inside_a_200() {
        let app = App::new();
        let path = |id: &str| format!("/userapi/jobs/metrics/{id}?scope=node&scope=core");
        let job = app.job.to_string();
        let (status, body) = app.send(Method::GET, &path(&job), "", "alice", &["api", "user"]);
        assert_eq!(status, 200);
        assert_eq!(
            body,
            concat!(
                r#"{"data":{"jobMetrics":["#,
                r#"{"name":"cpu_load","scope":"core","metric":{"job":42,"res":0}},"#,
                r#"{"name":"cpu_load","scope":"node","metric":{"job":42,"res":0}},"#,
                r#"{"name":"mem_bw","scope":"core","metric":{"job":42,"res":0}},"#,
                r#"{"name":"mem_bw","scope":"node","metric":{"job":42,"res":0}}"#,
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
        let app = App::new();
        let (status, body) = app.send(
            Method::GET,
            &format!("/userapi/failing/{}?all-metrics=true", app.job),
            "",
            "alice",
            &["api", "user"],
        );
        assert_eq!((status, body.as_str()), (500, "{\"status\":\"Internal Server Error\",\"error\":\"loading job data failed: store unreachable\"}\n"));
    }

    #[test]
    fn jobs_of_removed_clusters_are_422() {
        let app = App::new();
        app.platform
            .sql()
            .unwrap()
            .execute("UPDATE job SET cluster = 'gone'", &[])
            .unwrap();
        let (status, body) = app.send(
            Method::POST,
            &format!("/userapi/jobs/{}", app.job),
            "null",
            "alice",
            &["api", "user"],
        );
        assert_eq!(status, 422, "{body}");
        assert!(
            body.contains(&format!(
                "job {} belongs to cluster gone, which is not configured",
                app.job
            )),
            "{body}"
        );
    }
}
