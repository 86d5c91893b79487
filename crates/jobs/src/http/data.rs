//! `GET|POST /api/jobs/{id}` and `GET /api/jobs/metrics/{id}` (also below `/userapi`;
//! docs/jobs.md#job-data-routes). The routes read the data of [`crate::StoredJobData`]; tests give them a
//! source of their own.

use cc_auth::job_scope;
use cc_gocompat::parse_int;
use cc_metricstore::jobdata::JobMetric;
use cc_model::Job;
use cc_store::Sql;
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;

use super::{decode_request, path_integer};
use crate::data::{
    job_for_metrics, job_with_meta, load_for_job_page, load_selected_metrics, metric_selection,
    stored_job_data, JobDataResponse, MetricSelection, MetricsFailure, SourceFactory,
};
use crate::error::{JobsError, LookupError};

#[derive(Serialize)]
struct JobWithData<D> {
    #[serde(rename = "Meta")]
    meta: Job,
    #[serde(rename = "Data")]
    data: D,
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

#[derive(Serialize)]
struct NamedMetric<'a> {
    metric: &'a JobMetric,
    name: &'a str,
    scope: &'a str,
}

/// `POST /api/jobs/{id}` with a JSON array of metric names (`null`: all): the job and a list
/// of its metrics, sorted by name and scope (docs/compatibility.md#sorted-job-data-lists; the reference's
/// order is random).
pub fn post_job(ctx: &Ctx) -> Result<Response, ApiError> {
    post_job_from(ctx, stored_job_data)
}

fn post_job_from(ctx: &Ctx, source_for: SourceFactory) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let job = requested_job(ctx, db.as_ref())?;
    let metrics: Option<Vec<String>> = decode_request(ctx)?;
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
        &JobWithData {
            meta: job,
            data: list,
        },
    )
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
