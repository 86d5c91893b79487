//! `GET /api/jobs/` (also `/userapi/jobs/`) and `GET /api/jobs/used_nodes` (docs/jobs.md#job-list,
//! docs/jobs.md#used-nodes).

use std::collections::{BTreeMap, BTreeSet};

use cc_auth::job_scope;
use cc_gocompat::parse_int;
use cc_model::Job;
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;

use crate::error::JobsError;
use crate::query::{jobs_page, used_hosts, JobQuery, QueryError};

/// `items` is the page size, not the number of jobs returned (kept for compatibility).
#[derive(Serialize)]
struct JobList {
    jobs: Vec<Job>,
    items: i64,
    page: i64,
}

/// `GET /api/jobs/`: one page of jobs the caller may see, with the caller's visible tags and,
/// for archived jobs, the statistics of their archive (one query each for the whole page). An
/// archive that cannot be read leaves `statistics` `null` (docs/compatibility.md#unreadable-archives-do-not-fail-the-job-list; the
/// reference fails the whole request).
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

#[derive(Serialize)]
struct UsedNodes {
    #[serde(rename = "usedNodes")]
    used_nodes: BTreeMap<String, BTreeSet<String>>,
}

/// `GET /api/jobs/used_nodes?ts=<unix>`: per cluster the sorted hosts of jobs running and
/// started before `ts`. Jobs whose resources do not parse are skipped, as in the reference.
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
