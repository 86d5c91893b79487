//! `GET|POST /api/jobs/{id}` and `GET /api/jobs/metrics/{id}` (also below `/userapi`;
//! docs/jobs.md#job-data-routes). The routes read the data of [`crate::StoredJobData`]; tests give them a
//! source of their own.

use cc_auth::job_scope;
use cc_gocompat::parse_int;
use cc_metricstore::jobdata::JobMetric;
use cc_model::{Job, MetricScope};
use cc_store::Sql;
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{decode_request, path_integer};
use crate::data::{
    job_for_metrics, job_with_meta, load_for_job_page, load_selected_metrics, metric_selection,
    stored_job_data, JobDataResponse, MetricSelection, MetricsFailure, SourceFactory,
};
use crate::error::{JobsError, LookupError};

/// A job and, on request, its data.
#[derive(Serialize, utoipa::ToSchema)]
struct JobWithData {
    #[serde(rename = "Meta")]
    meta: Job,
    /// Metric name → scope name → data; `null` unless `all-metrics=true`.
    #[serde(rename = "Data")]
    #[schema(value_type = Option<BTreeMap<String, BTreeMap<String, JobMetric>>>, required = true)]
    data: Option<JobDataResponse>,
}

/// A job and the list of its metrics' data.
#[derive(Serialize, utoipa::ToSchema)]
struct JobWithMetricList<'a> {
    #[serde(rename = "Meta")]
    meta: Job,
    /// The metrics sorted by name and scope.
    #[serde(rename = "Data")]
    data: Vec<NamedMetric<'a>>,
}

/// The job of `/api/jobs/{id}` with row-level security, its visible tags and its metadata.
fn requested_job(ctx: &Ctx, db: &dyn Sql) -> Result<Job, JobsError> {
    let id = path_integer(ctx, "id")?;
    job_with_meta(db, id, ctx.user.as_ref())
}

/// Each metric of `data` with its name and scope, sorted by name and scope.
fn each_metric(data: &JobDataResponse) -> impl Iterator<Item = (&str, &str, &JobMetric)> {
    data.iter().flat_map(|(name, scopes)| {
        scopes
            .iter()
            .map(move |(scope, metric)| (name.as_str(), *scope, metric))
    })
}

/// `GET /api/jobs/{id}[?all-metrics=true]`: the job; its data only with `all-metrics=true`.
#[utoipa::path(
    get,
    path = "/api/jobs/{id}",
    tag = "Job query",
    summary = "A job, optionally with its data",
    description = "The job with its metadata and the tags the caller may see; with \
        `all-metrics=true` also the data of every metric (core scope for single-node jobs, node \
        scope otherwise, where available), from the sample store while the job runs and from \
        its archive afterwards.",
    params(
        ("id" = i64, Path, description = "The job's database id."),
        ("all-metrics" = Option<String>, Query, description = "`true` adds the job's data; any other value is ignored."),
    ),
    responses(
        (status = 200, description = "The job (`Meta`) and its data (`Data`)", body = JobWithData),
        (status = 400, description = "The id is not an integer", body = ErrorResponse),
        Unauthorized,
        (status = 422, description = "No such job visible to the caller, or its cluster is not configured", body = ErrorResponse),
        (status = 500, description = "Storage failure or the data could not be loaded", body = ErrorResponse),
    ),
)]
pub fn get_job(ctx: &Ctx) -> Result<Response, ApiError> {
    get_job_from(ctx, stored_job_data)
}

fn get_job_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = requested_job(ctx, db.as_ref())?;
    let all_metrics = ctx.query_value("all-metrics").as_deref() == Some("true");
    let data = if all_metrics {
        let source = source_for(db.as_ref());
        let clusters_dir = ctx.platform.clusters_dir();
        Some(load_for_job_page(
            source.as_ref(),
            &clusters_dir,
            &job,
            None,
        )?)
    } else {
        None
    };
    json_response(StatusCode::OK, &JobWithData { meta: job, data })
}

/// The body of `POST /api/jobs/{id}`: metric names, `null` for all metrics.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
struct MetricNames(Option<Vec<String>>);

/// One metric of a job at one scope.
#[derive(Serialize, utoipa::ToSchema)]
struct NamedMetric<'a> {
    metric: &'a JobMetric,
    /// The metric's name.
    name: &'a str,
    /// The scope's name.
    #[schema(value_type = MetricScope)]
    scope: &'a str,
}

/// `POST /api/jobs/{id}` with a JSON array of metric names (`null`: all): the job and a list
/// of its metrics, sorted by name and scope (docs/compatibility.md#sorted-job-data-lists; the reference's
/// order is random).
#[utoipa::path(
    post,
    path = "/api/jobs/{id}",
    tag = "Job query",
    summary = "A job with the data of selected metrics",
    description = "The job with its metadata and the tags the caller may see, and a list of the \
        data of the metrics named in the body (`null`: all), sorted by name and scope. Core \
        scope for single-node jobs, node scope otherwise, where available.",
    params(("id" = i64, Path, description = "The job's database id.")),
    request_body(content = MetricNames, content_type = "application/json", description = "Metric names, or `null` for all metrics"),
    responses(
        (status = 200, description = "The job (`Meta`) and its metrics (`Data`)", body = JobWithMetricList),
        (status = 400, description = "The id is not an integer, or the body is not a list of names", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 422, description = "No such job visible to the caller, or its cluster is not configured", body = ErrorResponse),
        (status = 500, description = "Storage failure or the data could not be loaded", body = ErrorResponse),
    ),
)]
pub fn post_job(ctx: &Ctx) -> Result<Response, ApiError> {
    post_job_from(ctx, stored_job_data)
}

fn post_job_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = requested_job(ctx, db.as_ref())?;
    let MetricNames(metrics) = decode_request(ctx)?;
    let source = source_for(db.as_ref());
    let clusters_dir = ctx.platform.clusters_dir();
    let data = load_for_job_page(source.as_ref(), &clusters_dir, &job, metrics.as_deref())?;
    let list: Vec<NamedMetric> = each_metric(&data)
        .map(|(name, scope, metric)| NamedMetric {
            metric,
            name,
            scope,
        })
        .collect();
    json_response(
        StatusCode::OK,
        &JobWithMetricList {
            meta: job,
            data: list,
        },
    )
}

/// One metric of a job at one scope.
#[derive(Serialize, utoipa::ToSchema)]
struct ScopedMetric<'a> {
    /// The metric's name.
    name: &'a str,
    /// The scope's name.
    #[schema(value_type = MetricScope)]
    scope: &'a str,
    metric: &'a JobMetric,
}

/// The metrics of a job, sorted by name and scope.
#[derive(Serialize, utoipa::ToSchema)]
struct JobMetrics<'a> {
    #[serde(rename = "jobMetrics")]
    job_metrics: Vec<ScopedMetric<'a>>,
}

/// Why the metrics could not be delivered.
#[derive(Serialize, utoipa::ToSchema)]
struct FailureMessage {
    message: String,
}

/// Either `data` or `error` is set, the other is `null`.
#[derive(Serialize, utoipa::ToSchema)]
struct MetricsAnswer<'a> {
    #[schema(required = true)]
    data: Option<JobMetrics<'a>>,
    #[schema(required = true)]
    error: Option<FailureMessage>,
}

fn job_metrics_data(
    ctx: &Ctx,
    source_for: SourceFactory,
    selection: &MetricSelection,
) -> Result<JobDataResponse, MetricsFailure> {
    let id = parse_int(ctx.param("id")).map_err(MetricsFailure::InvalidId)?;
    let user = ctx.user.as_ref();
    let scope = job_scope(user).map_err(LookupError::from)?;
    let db = ctx.platform.sql().map_err(JobsError::from)?;
    let job = job_for_metrics(db.as_ref(), id, &scope, user)?;
    let source = source_for(db.as_ref());
    let clusters_dir = ctx.platform.clusters_dir();
    Ok(load_selected_metrics(
        source.as_ref(),
        &clusters_dir,
        &job,
        selection,
    )?)
}

/// `GET /api/jobs/metrics/{id}?metric=…&scope=…`: an invalid scope is a 400; everything after
/// it is answered with 200 and either data or an error message (GraphQL-like, as the
/// reference).
#[utoipa::path(
    get,
    path = "/api/jobs/metrics/{id}",
    tag = "Job query",
    summary = "Selected metrics of a job",
    description = "The data of the selected metrics of a job at the selected scopes (default: \
        every metric at the source's default scope), sorted by name and scope. Only the job's \
        owner or a manager, support or admin may read them. Every failure after the query \
        parameters were read (invalid id, unknown or foreign job, data not loadable) is answered \
        with 200 and `error` set.",
    params(
        ("id" = i64, Path, description = "The job's database id (a non-integer is answered with 200 and `error`)."),
        ("metric" = Option<Vec<String>>, Query, explode, description = "Only these metrics (may repeat)."),
        ("scope" = Option<Vec<MetricScope>>, Query, explode, description = "Only these scopes (may repeat)."),
    ),
    responses(
        (status = 200, description = "The metrics in `data`, or why not in `error`", body = MetricsAnswer),
        (status = 400, description = "An unknown scope", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "Invalid authentication settings of the server", body = ErrorResponse),
    ),
)]
pub fn job_metrics(ctx: &Ctx) -> Result<Response, ApiError> {
    job_metrics_from(ctx, stored_job_data)
}

fn job_metrics_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let selection = metric_selection(&ctx.query()).map_err(JobsError::Query)?;
    let outcome = job_metrics_data(ctx, source_for, &selection);
    let answer = match &outcome {
        Ok(data) => MetricsAnswer {
            data: Some(JobMetrics {
                job_metrics: each_metric(data)
                    .map(|(name, scope, metric)| ScopedMetric {
                        name,
                        scope,
                        metric,
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
#[path = "data_tests.rs"]
mod tests;
