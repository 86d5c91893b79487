//! `POST|PUT /api/jobs/start_job/` and `POST|PUT /api/jobs/stop_job/` (docs/jobs.md#start-job,
//! docs/jobs.md#stop-job).

use cc_model::{Job, StartJobRequest};
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{after_response, json_response, ApiError, Ctx, Response};
use http::StatusCode;

use super::taggers::enabled_taggers_dir;
use super::{message, parse_body, Message};
use crate::archive::archive_after_stop;
use crate::repo::{monitoring, unix_now};
use crate::start::{checked_job, store_started_job};
use crate::stop::{stop, StopJobRequest};
use crate::tagging::tag_started_job;

/// `POST|PUT /api/jobs/start_job/`: 201 `{"msg":"success"}`; the new id is not returned.
#[utoipa::path(
    method(post, put),
    path = "/api/jobs/start_job/",
    tag = "Job add and modify",
    summary = "Start a job",
    description = "Stores a new running job after checking it against its cluster's configuration; \
        the sub-cluster is derived from the first host when not given. Unknown keys are refused; \
        `null` keeps a field's default. `id`, `statistics`, `concurrentJobs`, `energyFootprint`, \
        `requestedMemory` and `jobState` are type-checked and ignored. The requested tags are \
        attached, created when missing. With `enable_job_taggers` the application tagger tags \
        the job from its `jobScript` metadata before the answer. The new job's id is not returned.",
    request_body(content = StartJobRequest, content_type = "application/json", description = "The job to start"),
    responses(
        (status = 201, description = "The job was stored", body = Message,
            example = json!({"msg": "success"})),
        (status = 400, description = "Invalid JSON, unknown key, or a job that fails the sanity checks (unknown cluster, no hosts, counts, `shared`, `monitoringStatus`)", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "A tag scope the caller may not write; a cross-site browser request (`Sec-Fetch-Site: cross-site`) is refused as text", content(
            (ErrorResponse = "application/json"),
            (String = "text/plain"),
        )),
        BodyTooLarge,
        (status = 422, description = "A job with the same jobId, cluster and start time exists, or a tag exists under another scope", body = ErrorResponse),
        (status = 500, description = "Storage failure or unreadable cluster configuration", body = ErrorResponse),
    ),
)]
pub fn start_job(ctx: &Ctx) -> Result<Response, ApiError> {
    let request = parse_body(ctx)?;
    let job = checked_job(&ctx.platform.clusters_dir(), request)?;
    let db = ctx.platform.sql()?;
    let id = store_started_job(db.as_ref(), &job, ctx.user.as_ref())?;
    if let Some(taggers_dir) = enabled_taggers_dir(ctx.platform) {
        tag_started_job(db.as_ref(), &taggers_dir, id);
    }
    message(StatusCode::CREATED, "success")
}

/// `POST|PUT /api/jobs/stop_job/`: 200 with the stopped job as stored (archiving has not run
/// yet, so `monitoringStatus` is unchanged). A monitored job is archived after the response.
#[utoipa::path(
    method(post, put),
    path = "/api/jobs/stop_job/",
    tag = "Job add and modify",
    summary = "Stop a job",
    description = "Marks the running job named by `jobId` (and, if given, `cluster` and `startTime`; \
        the newest match wins) as stopped in `jobState` (default `completed`) with the duration up \
        to `stopTime`. Answers the job as stored; a monitored job is archived afterwards, so \
        `monitoringStatus` in the answer is still the one before archiving.",
    request_body(content = StopJobRequest, content_type = "application/json", description = "The job to stop and how"),
    responses(
        (status = 200, description = "The stopped job with its metadata (tags are not loaded)", body = Job),
        (status = 400, description = "Invalid JSON, unknown key, missing `jobId`, invalid or `running` state, or `stopTime` before the start", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "No such job", body = ErrorResponse),
        BodyTooLarge,
        (status = 422, description = "The job has already been stopped", body = ErrorResponse),
        (status = 500, description = "Storage failure", body = ErrorResponse),
    ),
)]
pub fn stop_job(ctx: &Ctx) -> Result<Response, ApiError> {
    let request = parse_body(ctx)?;
    let db = ctx.platform.sql()?;
    let job = stop(db.as_ref(), &request, unix_now())?;
    if job.monitoring_status != monitoring::DISABLED {
        let id = job.id.unwrap_or_default();
        after_response(move |platform| match platform.sql() {
            Ok(db) => archive_after_stop(
                db.as_ref(),
                &platform.clusters_dir(),
                enabled_taggers_dir(platform).as_deref(),
                id,
            ),
            Err(error) => eprintln!("archiving job {id} failed: opening the database: {error}"),
        });
    }
    json_response(StatusCode::OK, &job)
}
