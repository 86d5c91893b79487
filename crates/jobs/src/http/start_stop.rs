//! `POST|PUT /api/jobs/start_job/` and `POST|PUT /api/jobs/stop_job/` (docs/jobs.md#start-job,
//! docs/jobs.md#stop-job).

use cc_web::{after_response, json_response, ApiError, Ctx, Response};
use http::StatusCode;

use super::{message, parse_body};
use crate::archive::archive_after_stop;
use crate::repo::{monitoring, unix_now};
use crate::start::{checked_job, store_started_job};
use crate::stop::stop;

/// `POST|PUT /api/jobs/start_job/`: 201 `{"msg":"success"}`; the new id is not returned.
pub fn start_job(ctx: &Ctx) -> Result<Response, ApiError> {
    let request = parse_body(ctx)?;
    let job = checked_job(&ctx.platform.clusters_dir(), request)?;
    let db = ctx.platform.sql()?;
    store_started_job(db.as_ref(), &job, ctx.user.as_ref())?;
    message(StatusCode::CREATED, "success")
}

/// `POST|PUT /api/jobs/stop_job/`: 200 with the stopped job as stored (archiving has not run
/// yet, so `monitoringStatus` is unchanged). A monitored job is archived after the response.
pub fn stop_job(ctx: &Ctx) -> Result<Response, ApiError> {
    let request = parse_body(ctx)?;
    let db = ctx.platform.sql()?;
    let job = stop(db.as_ref(), &request, unix_now())?;
    if job.monitoring_status != monitoring::DISABLED {
        let id = job.id.unwrap_or_default();
        after_response(move |platform| match platform.sql() {
            Ok(db) => archive_after_stop(db.as_ref(), &platform.clusters_dir(), id),
            Err(error) => eprintln!("archiving job {id} failed: opening the database: {error}"),
        });
    }
    json_response(StatusCode::OK, &job)
}
