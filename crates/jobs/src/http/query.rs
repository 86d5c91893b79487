//! `GET /api/jobs/` (also `/userapi/jobs/`) and `GET /api/jobs/used_nodes` (docs/jobs.md#job-list,
//! docs/jobs.md#used-nodes).

use std::collections::{BTreeMap, BTreeSet};

use cc_auth::job_scope;
use cc_gocompat::parse_int;
use cc_model::{Job, JobState};
use cc_web::openapi::{ErrorResponse, Unauthorized};
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;

use crate::error::JobsError;
use crate::query::{jobs_page, used_hosts, JobQuery, QueryError};

/// `items` is the page size, not the number of jobs returned (kept for compatibility).
#[derive(Serialize, utoipa::ToSchema)]
struct JobList {
    jobs: Vec<Job>,
    /// The page size asked for (`items-per-page`), not the number of jobs returned.
    items: i64,
    /// The page number.
    page: i64,
}

/// `GET /api/jobs/`: one page of jobs the caller may see, with the caller's visible tags and,
/// for archived jobs, the statistics of their archive (one query each for the whole page). An
/// archive that cannot be read leaves `statistics` `null` (docs/compatibility.md#unreadable-archives-do-not-fail-the-job-list; the
/// reference fails the whole request).
#[utoipa::path(
    get,
    path = "/api/jobs/",
    tag = "Job query",
    summary = "List jobs",
    description = "One page of the jobs the caller may see, newest start first, with the tags the \
        caller may see and, for archived jobs, the statistics of their archive (`null` when the \
        archive cannot be read). Filters combine with AND; a query parameter not listed here is a \
        400. Repeating a parameter other than `state` uses its first value.",
    params(
        ("state" = Option<Vec<JobState>>, Query, explode, description = "Only jobs in one of these states (may repeat)."),
        ("project" = Option<String>, Query, description = "Only jobs of this project."),
        ("cluster" = Option<String>, Query, description = "Only jobs on this cluster."),
        ("start-time" = Option<String>, Query, description = "Only jobs started in this inclusive range of Unix seconds, written `<from>-<to>`.", example = "1700000000-1700086400"),
        ("page" = Option<i64>, Query, minimum = 1, description = "The page, from 1 (default 1)."),
        ("items-per-page" = Option<i64>, Query, minimum = 1, description = "Jobs per page (default 25)."),
        ("with-metadata" = Option<String>, Query, description = "Any value, even `false` or empty, includes each job's `metaData`; without it `metaData` is `null`."),
    ),
    responses(
        (status = 200, description = "The page of jobs", body = JobList),
        (status = 400, description = "Unknown query parameter or invalid value", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "The user has no known role", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn list_jobs(ctx: &Ctx) -> Result<Response, ApiError> {
    let query = JobQuery::parse(&ctx.query()).map_err(JobsError::Query)?;
    let user = ctx.user.as_ref();
    let scope = job_scope(user).map_err(JobsError::JobScope)?;
    let db = ctx.platform.sql()?;
    let jobs = jobs_page(db.as_ref(), &query, &scope, user)?;
    json_response(
        StatusCode::OK,
        &JobList {
            jobs,
            items: query.items_per_page,
            page: query.page,
        },
    )
}

#[derive(Serialize, utoipa::ToSchema)]
struct UsedNodes {
    /// Cluster name → the sorted host names in use.
    #[serde(rename = "usedNodes")]
    used_nodes: BTreeMap<String, BTreeSet<String>>,
}

/// `GET /api/jobs/used_nodes?ts=<unix>`: per cluster the sorted hosts of jobs running and
/// started before `ts`. Jobs whose resources do not parse are skipped, as in the reference.
#[utoipa::path(
    get,
    path = "/api/jobs/used_nodes",
    tag = "Job query",
    summary = "Hosts in use",
    description = "Per cluster, the sorted host names of the jobs that are running and started \
        before `ts`. Clusters without such jobs are not listed.",
    params(("ts" = i64, Query, description = "A time in Unix seconds.")),
    responses(
        (status = 200, description = "The hosts in use per cluster", body = UsedNodes,
            example = json!({"usedNodes": {"fritz": ["f0101", "f0102"]}})),
        (status = 400, description = "`ts` missing or not an integer", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn used_nodes(ctx: &Ctx) -> Result<Response, ApiError> {
    let ts = ctx
        .query_value("ts")
        .ok_or(JobsError::Query(QueryError::MissingTimestamp))?;
    let ts =
        parse_int(&ts).map_err(|error| JobsError::Query(QueryError::InvalidTimestamp(error)))?;
    let db = ctx.platform.sql()?;
    let used_nodes = used_hosts(db.as_ref(), ts)?;
    json_response(StatusCode::OK, &UsedNodes { used_nodes })
}
