//! `DELETE /api/jobs/delete_job/{id}`, `DELETE /api/jobs/delete_job/` and
//! `DELETE /api/jobs/delete_job_before/{ts}` (docs/jobs.md#deleting-jobs).

use cc_web::{ApiError, Ctx, Response};
use http::StatusCode;

use super::{message, parse_body, path_integer};
use crate::delete::{delete_before, delete_by_id, delete_requested, DeleteJobRequest, OmitTagged};
use crate::error::JobsError;

/// `DELETE /api/jobs/delete_job/{id}`. The message echoes the id as typed (`007`) like the
/// reference; an id that names no job is a 404 (docs/compatibility.md#deleting-a-missing-job-is-a-404).
pub fn delete_job_by_id(ctx: &Ctx) -> Result<Response, ApiError> {
    let typed = ctx.param("id");
    let id = path_integer(ctx, "id")?;
    let db = ctx.platform.sql()?;
    delete_by_id(db.as_ref(), id, typed)?;
    message(StatusCode::OK, &format!("Successfully deleted job {typed}"))
}

/// `DELETE /api/jobs/delete_job/`: the job named by the body, without row-level security.
pub fn delete_job_by_request(ctx: &Ctx) -> Result<Response, ApiError> {
    let request: DeleteJobRequest = parse_body(ctx)?;
    let key = request.key()?;
    let db = ctx.platform.sql()?;
    let id = delete_requested(db.as_ref(), &key)?;
    message(StatusCode::OK, &format!("Successfully deleted job {id}"))
}

/// `DELETE /api/jobs/delete_job_before/{ts}?omit-tagged=none|all|user`.
pub fn delete_jobs_before(ctx: &Ctx) -> Result<Response, ApiError> {
    let ts = path_integer(ctx, "ts")?;
    let omit =
        OmitTagged::parse(ctx.query_value("omit-tagged").as_deref()).map_err(JobsError::Query)?;
    let db = ctx.platform.sql()?;
    let count = delete_before(db.as_ref(), ts, omit)?;
    message(
        StatusCode::OK,
        &format!("Successfully deleted {count} jobs"),
    )
}
