//! `POST|PATCH|DELETE /api/jobs/tag_job/{id}` and `DELETE /api/tags/` (docs/jobs.md#tags).

use cc_auth::User;
use cc_model::Job;
use cc_store::Sql;
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
pub fn add_tags(ctx: &Ctx) -> Result<Response, ApiError> {
    change_tags(ctx, tags::add_to_job)
}

/// `DELETE /api/jobs/tag_job/{id}`: detaches global and admin tags from the job (private ones
/// are skipped). Answers the job with the caller's visible tags afterwards.
pub fn remove_tags(ctx: &Ctx) -> Result<Response, ApiError> {
    change_tags(ctx, tags::remove_from_job)
}

/// `DELETE /api/tags/`: deletes global and admin tags from every job and from the tag table.
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
