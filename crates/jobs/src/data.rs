//! A job with its metric data: `GET|POST /api/jobs/{id}` and `GET /api/jobs/metrics/{id}`
//! (spec jobs.md §8.2, §8.3). The data comes from a [`JobDataSource`]; the routes use
//! [`StoredJobData`], which reads running jobs and jobs whose archiving is pending from the
//! sample store and all others from the archive (spec metricstore.md §4.1).

use std::collections::BTreeMap;
use std::str::FromStr;

use cc_auth::{job_scope, Role, User};
use cc_metricstore::archive::{load_archived, ArchiveError};
use cc_metricstore::jobdata::{self, JobMetric};
use cc_metricstore::plan::{load_from_store, LoadError, LoadRequest};
use cc_metricstore::store::StoredSamples;
use cc_model::{load_cluster, Cluster, ClusterError, Job, JobState, MetricScope};
use cc_store::Sql;
use cc_web::{decode_strict, json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;

use crate::error::{JobsError, LookupError};
use crate::query::QueryError;
use crate::repo::{find_by_id, load_visible_tags, monitoring, unix_now};
use cc_gocompat::parse_int;

/// Job data as the routes answer it: metric name → scope name → JobMetric (spec
/// metricstore.md §5). Scopes are keyed by name so that they sort like Go's map keys; the
/// metric store's map orders them by granularity.
pub type JobData = BTreeMap<String, BTreeMap<&'static str, JobMetric>>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Store(#[from] LoadError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Where job data comes from. `request.scopes` empty: the source's default (the store loads
/// node scope, the archive every stored scope).
pub trait JobDataSource {
    fn load(
        &self,
        job: &Job,
        cluster: &Cluster,
        request: &LoadRequest<'_>,
    ) -> Result<JobData, DataError>;
}

/// The data of the shared database: its sample store or its archive.
pub struct StoredJobData<'a> {
    db: &'a dyn Sql,
}

impl<'a> StoredJobData<'a> {
    pub fn new(db: &'a dyn Sql) -> Self {
        StoredJobData { db }
    }
}

/// Builds a request's data source over its database connection.
type SourceFactory = for<'db> fn(&'db dyn Sql) -> Box<dyn JobDataSource + 'db>;

fn stored_job_data<'db>(db: &'db dyn Sql) -> Box<dyn JobDataSource + 'db> {
    Box::new(StoredJobData::new(db))
}

impl JobDataSource for StoredJobData<'_> {
    /// A stopped job without archive (monitoring disabled or archiving failed) has no data.
    fn load(
        &self,
        job: &Job,
        cluster: &Cluster,
        request: &LoadRequest<'_>,
    ) -> Result<JobData, DataError> {
        let data = if job.job_state == JobState::Running
            || job.monitoring_status == monitoring::ARCHIVING_PENDING
        {
            let samples = StoredSamples::new(self.db);
            load_from_store(&samples, job, cluster, request, unix_now())?
        } else {
            load_archived(
                self.db,
                job.id.unwrap_or_default(),
                request.metrics,
                Some(request.scopes),
                request.resolution,
            )?
            .unwrap_or_default()
        };
        Ok(by_scope_name(data))
    }
}

fn by_scope_name(data: jobdata::JobData) -> JobData {
    data.into_iter()
        .map(|(name, scopes)| {
            let scopes = scopes
                .into_iter()
                .map(|(scope, metric)| (scope.as_str(), metric))
                .collect();
            (name, scopes)
        })
        .collect()
}

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
    let request = LoadRequest {
        metrics,
        scopes: &[scope],
        resolution,
    };
    source
        .load(job, cluster, &request)
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
    get_job_from(ctx, stored_job_data)
}

fn get_job_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = job_with_meta(ctx, db.as_ref())?;
    let all_metrics = ctx
        .query()
        .into_iter()
        .find(|(key, _)| key == "all-metrics")
        .is_some_and(|(_, value)| value == "true");
    let data = if all_metrics {
        let cluster = cluster_of(ctx, &job)?;
        let source = source_for(db.as_ref());
        Some(load_for_job_page(source.as_ref(), &job, &cluster, None)?)
    } else {
        None
    };
    json_response(StatusCode::OK, &JobWithData { meta: job, data })
}

#[derive(Serialize)]
struct NamedMetric<'a> {
    metric: &'a JobMetric,
    name: &'a str,
    scope: &'a str,
}

/// `POST /api/jobs/{id}` with a JSON array of metric names (`null`: all): the job and a list
/// of its metrics, sorted by name and scope (spec jobs.md §13 recommendation; the reference's
/// order is random).
pub fn post_job(ctx: &Ctx) -> Result<Response, ApiError> {
    post_job_from(ctx, stored_job_data)
}

fn post_job_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = job_with_meta(ctx, db.as_ref())?;
    let metrics: Option<Vec<String>> =
        decode_strict(ctx.request.body()).map_err(JobsError::DecodeRequest)?;
    let cluster = cluster_of(ctx, &job)?;
    let source = source_for(db.as_ref());
    let data = load_for_job_page(source.as_ref(), &job, &cluster, metrics.as_deref())?;
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
    metric: &'a JobMetric,
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

/// Parsed `metric` and `scope` parameters of the metrics route; both empty when absent.
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
    let scopes = query
        .iter()
        .filter(|(key, _)| key == "scope")
        .map(|(_, value)| MetricScope::from_str(value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MetricSelection {
        metrics: (!metrics.is_empty()).then_some(metrics),
        scopes,
    })
}

fn job_metrics_data(
    ctx: &Ctx,
    source_for: SourceFactory,
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
    let request = LoadRequest {
        metrics: selection.metrics.as_deref(),
        scopes: &selection.scopes,
        resolution: 0,
    };
    let source = source_for(db.as_ref());
    let data = source
        .load(&job, &cluster, &request)
        .map_err(JobsError::LoadData)?;
    Ok(data)
}

/// `GET /api/jobs/metrics/{id}?metric=…&scope=…`: an invalid scope is a 400; everything after
/// it is answered with 200 and either data or an error message (GraphQL-like, as the
/// reference).
pub fn job_metrics(ctx: &Ctx) -> Result<Response, ApiError> {
    job_metrics_from(ctx, stored_job_data)
}

fn job_metrics_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let selection = metric_selection(&ctx.query()).map_err(JobsError::Query)?;
    let outcome = job_metrics_data(ctx, source_for, &selection);
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
    use super::*;
    use crate::repo::tests::insert_job;
    use crate::test_app::{an_hour_ago, load_samples, App};
    use cc_auth::Group;
    use cc_model::Unit;
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
        ) -> Result<JobData, DataError> {
            let all = ["mem_bw".to_owned(), "cpu_load".to_owned()];
            let mut data = JobData::new();
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
        fn load(&self, job: &Job, _: &Cluster, _: &LoadRequest<'_>) -> Result<JobData, DataError> {
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
        assert_eq!((status, body.as_str()), (400, "{\"status\":\"Bad Request\",\"error\":\"decoding request failed: unexpected EOF\"}\n"));
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

    #[test]
    fn running_jobs_read_the_store_and_archived_jobs_the_archive() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        let id = app.start_job(1, start, "");
        let path = format!("/api/jobs/{id}?all-metrics=true");
        let data = |body: &str| body[body.find("\"Data\"").unwrap()..].to_owned();
        // Single-node job: core scope requested, load_one is delivered at its native node scope.
        let expected = concat!(
            r#""Data":{"load_one":{"node":{"unit":{"base":""},"series":[{"hostname":"host123","#,
            r#""statistics":{"min":0.50,"avg":2.50,"max":4.50},"data":[0.50,1.50,2.50,3.50,4.50]}],"#,
            r#""timestep":60}}}}"#,
            "\n"
        );
        assert_eq!(data(&app.get(&path)), expected, "running: from the store");

        app.stop_job(1, start + 300);
        assert_eq!(app.monitoring_status(id), monitoring::ARCHIVED);
        let db = app.db();
        db.execute("DELETE FROM metric_batch", &[]).unwrap();
        db.execute("DELETE FROM metric_chunk", &[]).unwrap();
        assert_eq!(
            data(&app.get(&path)),
            expected,
            "archived: from the archive"
        );
        // No scope requested: every stored scope of the archive.
        let metrics = app.get(&format!("/api/jobs/metrics/{id}"));
        assert!(
            metrics.starts_with(concat!(
                r#"{"data":{"jobMetrics":[{"name":"load_one","scope":"node","metric":"#,
                r#"{"unit":{"base":""},"series":[{"hostname":"host123","#
            )),
            "{metrics}"
        );

        let unmonitored = app.start_job(2, start, r#","monitoringStatus":0"#);
        app.stop_job(2, start + 300);
        let body = app.get(&format!("/api/jobs/{unmonitored}?all-metrics=true"));
        assert!(body.ends_with("\"Data\":{}}\n"), "{body}");
    }
}
