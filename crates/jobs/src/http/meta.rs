//! `PATCH /api/jobs/edit_meta/{id}` and `PATCH /api/jobs/edit_meta/` (docs/jobs.md#editing-metadata).

use cc_model::Job;
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;

use super::{decode_request, job_id_param, parse_body};
use crate::meta::{edit_meta, edit_requested_meta, EditMetaRequest, MetaEntry};
use crate::repo::path_job_scope;

/// `PATCH /api/jobs/edit_meta/{id}`: the job is found with row-level security. Answers the job
/// with all its metadata (tags are not loaded).
#[utoipa::path(
    patch,
    path = "/api/jobs/edit_meta/{id}",
    tag = "Job add and modify",
    summary = "Set a metadata entry of a job",
    description = "Sets one key of the job's metadata, in its archive too when the job has \
        stopped. Answers the job with all its metadata (tags are not loaded).",
    params(("id" = i64, Path, description = "The job's database id.")),
    request_body(content = MetaEntry, content_type = "application/json", description = "The entry to set"),
    responses(
        (status = 200, description = "The job with its metadata", body = Job),
        (status = 400, description = "Invalid id, invalid JSON or unknown key", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "No such job visible to the caller", body = ErrorResponse),
        BodyTooLarge,
        (status = 500, description = "Storage or archive failure", body = ErrorResponse),
    ),
)]
pub fn edit_meta_by_id(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = job_id_param(ctx)?;
    let scope = path_job_scope(ctx.user.as_ref())?;
    let db = ctx.platform.sql()?;
    let job = edit_meta(db.as_ref(), id, &scope, || decode_request(ctx))?;
    json_response(StatusCode::OK, &job)
}

/// `PATCH /api/jobs/edit_meta/`: the job named by the body, without row-level security.
#[utoipa::path(
    patch,
    path = "/api/jobs/edit_meta/",
    tag = "Job add and modify",
    summary = "Set a metadata entry of a job named in the body",
    description = "Sets one key of the metadata of the job named by `jobId` (and, if given, \
        `cluster` and `startTime`; the newest match wins), in its archive too when the job has \
        stopped. Answers the job with all its metadata (tags are not loaded).",
    request_body(content = EditMetaRequest, content_type = "application/json", description = "The job and the entry to set"),
    responses(
        (status = 200, description = "The job with its metadata", body = Job),
        (status = 400, description = "Invalid JSON, unknown key or missing `jobId`", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 422, description = "No such job", body = ErrorResponse),
        (status = 500, description = "Storage or archive failure", body = ErrorResponse),
    ),
)]
pub fn edit_meta_by_request(ctx: &Ctx) -> Result<Response, ApiError> {
    let mut request: EditMetaRequest = parse_body(ctx)?;
    let entry = request.payload.take().unwrap_or_default();
    let key = request.key()?;
    let db = ctx.platform.sql()?;
    let job = edit_requested_meta(db.as_ref(), &key, entry)?;
    json_response(StatusCode::OK, &job)
}
