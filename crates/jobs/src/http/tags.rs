//! `POST|PATCH|DELETE /api/jobs/tag_job/{id}` and `DELETE /api/tags/` (docs/jobs.md#tags).

use cc_auth::User;
use cc_model::Job;
use cc_store::Sql;
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{json_response, text_response, ApiError, Ctx, Response};
use http::StatusCode;

use super::{decode_request, job_id_param};
use crate::error::JobsError;
use crate::tags::{self, tagged_job, TagRequest};

fn tag_requests(ctx: &Ctx) -> Result<Vec<TagRequest>, JobsError> {
    decode_request(ctx)
}

/// How a `tag_job/{id}` route changes the tags of its job.
type TagChange = fn(&dyn Sql, &mut Job, &[TagRequest], Option<&User>) -> Result<(), JobsError>;

/// Applies `change` with the requested tags to the job of a `tag_job/{id}` route and answers
/// the job.
fn change_tags(ctx: &Ctx, change: TagChange) -> Result<Response, ApiError> {
    let db = ctx.platform.sql()?;
    let user = ctx.user.as_ref();
    let mut job = tagged_job(db.as_ref(), job_id_param(ctx)?, user)?;
    let requests = tag_requests(ctx)?;
    change(db.as_ref(), &mut job, &requests, user)?;
    json_response(StatusCode::OK, &job)
}

/// `POST|PATCH /api/jobs/tag_job/{id}`: attaches the tags, creating missing ones. The response
/// lists the caller's visible tags before the request plus each requested tag not listed yet.
#[utoipa::path(
    method(post, patch),
    path = "/api/jobs/tag_job/{id}",
    tag = "Tag",
    summary = "Add tags to a job",
    description = "Attaches the tags to the job, creating tags that do not exist yet. An empty \
        or missing scope means `global`. Answers the job with the tags the caller could see \
        before plus each requested tag not listed yet (`metaData` is not loaded).",
    params(("id" = i64, Path, description = "The job's database id.")),
    request_body(content = Vec<TagRequest>, content_type = "application/json", description = "The tags to attach"),
    responses(
        (status = 200, description = "The job with its tags", body = Job),
        (status = 400, description = "Invalid id, invalid JSON or unknown key", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "A tag scope the caller may not write; a cross-site browser request (`Sec-Fetch-Site: cross-site`) is refused as text", content(
            (ErrorResponse = "application/json"),
            (String = "text/plain"),
        )),
        (status = 404, description = "No such job visible to the caller", body = ErrorResponse),
        BodyTooLarge,
        (status = 422, description = "A tag of that type and name exists under another scope", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn add_tags(ctx: &Ctx) -> Result<Response, ApiError> {
    change_tags(ctx, tags::add_to_job)
}

/// `DELETE /api/jobs/tag_job/{id}`: detaches global and admin tags from the job (private ones
/// are skipped). Answers the job with the caller's visible tags afterwards.
#[utoipa::path(
    delete,
    path = "/api/jobs/tag_job/{id}",
    tag = "Tag",
    summary = "Remove tags from a job",
    description = "Detaches the `global` and `admin` tags listed from the job; tags of other \
        scopes are skipped. Answers the job with the tags the caller can see afterwards \
        (`metaData` is not loaded).",
    params(("id" = i64, Path, description = "The job's database id.")),
    request_body(content = Vec<TagRequest>, content_type = "application/json", description = "The tags to detach"),
    responses(
        (status = 200, description = "The job with its remaining tags", body = Job),
        (status = 400, description = "Invalid id, invalid JSON or unknown key", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "No such job visible to the caller, or no such tag", body = ErrorResponse),
        BodyTooLarge,
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn remove_tags(ctx: &Ctx) -> Result<Response, ApiError> {
    change_tags(ctx, tags::remove_from_job)
}

/// `DELETE /api/tags/`: deletes global and admin tags from every job and from the tag table.
#[utoipa::path(
    delete,
    path = "/api/tags/",
    tag = "Tag",
    summary = "Delete tags",
    description = "Deletes the `global` and `admin` tags listed from every job and from the tag \
        list; tags of other scopes are skipped. Answers how many were deleted, as text.",
    request_body(content = Vec<TagRequest>, content_type = "application/json", description = "The tags to delete"),
    responses(
        (status = 200, description = "How many tags were deleted", body = String, content_type = "text/plain",
            example = "Deleted Tags from DB: 1 successfull of 1 requested\n"),
        (status = 400, description = "Invalid JSON or unknown key", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "No such tag", body = ErrorResponse),
        BodyTooLarge,
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn delete_tags(ctx: &Ctx) -> Result<Response, ApiError> {
    let requests = tag_requests(ctx)?;
    let db = ctx.platform.sql()?;
    let deleted = tags::delete_everywhere(db.as_ref(), &requests)?;
    Ok(text_response(
        StatusCode::OK,
        format!(
            "Deleted Tags from DB: {deleted} successfull of {} requested\n",
            requests.len()
        ),
    ))
}
