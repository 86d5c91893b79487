//! `PATCH /api/jobs/edit_meta/{id}` and `PATCH /api/jobs/edit_meta/` (docs/jobs.md#editing-metadata).

use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;

use super::{decode_request, job_id_param, parse_body};
use crate::meta::{edit_meta, edit_requested_meta, EditMetaRequest};
use crate::repo::path_job_scope;

/// `PATCH /api/jobs/edit_meta/{id}`: the job is found with row-level security. Answers the job
/// with all its metadata (tags are not loaded).
pub fn edit_meta_by_id(ctx: &Ctx) -> Result<Response, ApiError> {
    let id = job_id_param(ctx)?;
    let scope = path_job_scope(ctx.user.as_ref())?;
    let db = ctx.platform.sql()?;
    let job = edit_meta(db.as_ref(), id, &scope, || decode_request(ctx))?;
    json_response(StatusCode::OK, &job)
}

/// `PATCH /api/jobs/edit_meta/`: the job named by the body, without row-level security.
pub fn edit_meta_by_request(ctx: &Ctx) -> Result<Response, ApiError> {
    let mut request: EditMetaRequest = parse_body(ctx)?;
    let entry = request.payload.take().unwrap_or_default();
    let key = request.key()?;
    let db = ctx.platform.sql()?;
    let job = edit_requested_meta(db.as_ref(), &key, entry)?;
    json_response(StatusCode::OK, &job)
}
