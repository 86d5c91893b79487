//! `DELETE /api/jobs/delete_job/{id}`, `DELETE /api/jobs/delete_job/` and
//! `DELETE /api/jobs/delete_job_before/{ts}` (docs/jobs.md#deleting-jobs).

use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{ApiError, Ctx, Response};
use http::StatusCode;

use super::{message, parse_body, path_integer, Message};
use crate::delete::{delete_before, delete_by_id, delete_requested, DeleteJobRequest, OmitTagged};
use crate::error::JobsError;

/// `DELETE /api/jobs/delete_job/{id}`. The message echoes the id as typed (`007`) like the
/// reference; an id that names no job is a 404 (docs/compatibility.md#deleting-a-missing-job-is-a-404).
#[utoipa::path(
    delete,
    path = "/api/jobs/delete_job/{id}",
    tag = "Job delete",
    summary = "Delete a job",
    description = "Deletes the job from the database (its archive is kept) with its tag links. \
        The message repeats the id as written in the path.",
    params(("id" = i64, Path, description = "The job's database id.")),
    responses(
        (status = 200, description = "The job was deleted", body = Message,
            example = json!({"msg": "Successfully deleted job 1"})),
        (status = 400, description = "The id is not an integer", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "No job with this id", body = ErrorResponse),
        (status = 422, description = "Deleting failed in the database", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn delete_job_by_id(ctx: &Ctx) -> Result<Response, ApiError> {
    let typed = ctx.param("id");
    let id = path_integer(ctx, "id")?;
    let db = ctx.platform.sql()?;
    delete_by_id(db.as_ref(), id, typed)?;
    message(StatusCode::OK, &format!("Successfully deleted job {typed}"))
}

/// `DELETE /api/jobs/delete_job/`: the job named by the body, without row-level security.
#[utoipa::path(
    delete,
    path = "/api/jobs/delete_job/",
    tag = "Job delete",
    summary = "Delete a job named in the body",
    description = "Deletes the job named by `jobId` (and, if given, `cluster` and `startTime`; \
        the newest match wins) from the database (its archive is kept) with its tag links.",
    request_body(content = DeleteJobRequest, content_type = "application/json", description = "The job to delete"),
    responses(
        (status = 200, description = "The job was deleted; the message names its database id", body = Message,
            example = json!({"msg": "Successfully deleted job 1"})),
        (status = 400, description = "Invalid JSON, unknown key or missing `jobId`", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 422, description = "No such job, or deleting failed in the database", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn delete_job_by_request(ctx: &Ctx) -> Result<Response, ApiError> {
    let request: DeleteJobRequest = parse_body(ctx)?;
    let key = request.key()?;
    let db = ctx.platform.sql()?;
    let id = delete_requested(db.as_ref(), &key)?;
    message(StatusCode::OK, &format!("Successfully deleted job {id}"))
}

/// `DELETE /api/jobs/delete_job_before/{ts}?omit-tagged=none|all|user`.
#[utoipa::path(
    delete,
    path = "/api/jobs/delete_job_before/{ts}",
    tag = "Job delete",
    summary = "Delete jobs started before a time",
    description = "Deletes every job, running ones too, that started before `ts` from the \
        database (archives are kept), except the tagged jobs `omit-tagged` keeps.",
    params(
        ("ts" = i64, Path, description = "A time in Unix seconds."),
        ("omit-tagged" = Option<String>, Query, description = "Which tagged jobs to keep: `none` or empty (default, delete them too), `all` (keep every tagged job) or `user` (keep jobs with a tag other than the automatic `app` and `jobClass` tags).",
            pattern = "^(|none|all|user)$"),
    ),
    responses(
        (status = 200, description = "How many jobs were deleted", body = Message,
            example = json!({"msg": "Successfully deleted 3 jobs"})),
        (status = 400, description = "`ts` is not an integer or `omit-tagged` is invalid", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 422, description = "Deleting failed in the database", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
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
