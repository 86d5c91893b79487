//! `POST|PUT /api/jobs/stop_job/` (spec jobs.md §3) and the archiving it triggers (§10).

use std::path::Path;

use cc_auth::JobScope;
use cc_metricstore::archive::{archive_job, mark_archiving_failed, ArchiveError};
use cc_model::{load_cluster, ClusterError, Job, JobState};
use cc_store::{in_transaction, Sql, StoreError, Value};
use cc_web::{after_response, decode_strict, json_response, ApiError, Ctx, Platform, Response};
use http::StatusCode;
use serde::Deserialize;

use crate::error::{JobsError, LookupError};
use crate::repo::{find_by_id, find_by_key, monitoring, unix_now, JobKey};

/// Why a found job cannot be stopped as requested.
#[derive(Debug, thiserror::Error)]
pub enum StopProblem {
    #[error("job has already been stopped (state is: {0})")]
    AlreadyStopped(JobState),
    #[error("stopTime {stop_time} must be larger/equal than startTime {start_time}")]
    StopBeforeStart { stop_time: i64, start_time: i64 },
    #[error("invalid requested job state: {0:?}")]
    InvalidState(String),
    /// Spec jobs.md §13 recommendation: the reference accepts `running` and leaves a "stopped"
    /// job running.
    #[error("a job cannot be stopped in state \"running\"")]
    StillRunning,
    #[error("marking job as '{state}' (duration: {duration}) in DB failed: {error}")]
    Marking {
        state: JobState,
        duration: i64,
        error: StoreError,
    },
}

impl StopProblem {
    pub fn status(&self) -> StatusCode {
        match self {
            StopProblem::AlreadyStopped(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StopProblem::StopBeforeStart { .. }
            | StopProblem::InvalidState(_)
            | StopProblem::StillRunning => StatusCode::BAD_REQUEST,
            StopProblem::Marking { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of `stop_job`. A missing `stopTime` is 0, as in the reference.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopJobRequest {
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub job_state: Option<String>,
    #[serde(default)]
    pub stop_time: Option<i64>,
}

/// The state rules of a stop (spec jobs.md §3 steps 3–6): the new state and duration.
pub(crate) fn stop_outcome(
    job: &Job,
    requested_state: Option<&str>,
    stop_time: i64,
) -> Result<(JobState, i64), StopProblem> {
    if job.job_state != JobState::Running {
        return Err(StopProblem::AlreadyStopped(job.job_state));
    }
    if job.start_time > stop_time {
        return Err(StopProblem::StopBeforeStart {
            stop_time,
            start_time: job.start_time,
        });
    }
    let state = match requested_state.unwrap_or_default() {
        "" => JobState::Completed,
        name => {
            JobState::from_name(name).ok_or_else(|| StopProblem::InvalidState(name.to_owned()))?
        }
    };
    if state == JobState::Running {
        return Err(StopProblem::StillRunning);
    }
    Ok((state, stop_time.saturating_sub(job.start_time)))
}

/// Finds, checks and updates the job under the write lock, so two concurrent stops of one job
/// cannot both succeed. The stopped job is returned with its metadata (spec jobs.md §13
/// recommendation; the reference answers `metaData: null`).
pub(crate) fn stop(db: &dyn Sql, request: &StopJobRequest, now: i64) -> Result<Job, JobsError> {
    let key = JobKey::requested(
        request.job_id,
        request.cluster.as_deref(),
        request.start_time,
    )?;
    in_transaction(db, || {
        let mut job =
            find_by_key(db, &key, true, now)?.ok_or(JobsError::FindJob(LookupError::NoRows))?;
        let id = job.id.unwrap_or_default();
        let failed = |problem| JobsError::Stop {
            job_id: job.job_id,
            id,
            cluster: job.cluster.clone(),
            problem,
        };
        let (state, duration) = stop_outcome(
            &job,
            request.job_state.as_deref(),
            request.stop_time.unwrap_or_default(),
        )
        .map_err(failed)?;
        db.execute(
            "UPDATE job SET job_state = ?, duration = ? WHERE id = ?",
            &[
                Value::from(state.as_str()),
                Value::Integer(duration),
                Value::Integer(id),
            ],
        )
        .map_err(|error| {
            failed(StopProblem::Marking {
                state,
                duration,
                error,
            })
        })?;
        job.job_state = state;
        job.duration = duration;
        Ok(job)
    })
}

/// Why a stopped job could not be archived.
#[derive(Debug, thiserror::Error)]
enum ArchivingFailure {
    #[error("the job no longer exists")]
    NoJob,
    #[error(transparent)]
    Lookup(#[from] JobsError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Archives the stopped job `id` from the database's sample store (spec jobs.md §10).
fn archive(db: &dyn Sql, clusters_dir: &Path, id: i64) -> Result<(), ArchivingFailure> {
    let now = unix_now();
    let job = find_by_id(db, id, &JobScope::All, true, now)?.ok_or(ArchivingFailure::NoJob)?;
    let cluster = load_cluster(clusters_dir, &job.cluster)?;
    archive_job(db, &job, &cluster, now)?;
    Ok(())
}

/// Archives the stopped job `id`; a failure is logged and marks the job (monitoring status 2,
/// also where the reference leaves 1 or crashes: spec jobs.md §13).
fn archive_stopped_job(db: &dyn Sql, clusters_dir: &Path, id: i64) {
    if let Err(failure) = archive(db, clusters_dir, id) {
        eprintln!("archiving job {id} failed: {failure}");
        if let Err(error) = mark_archiving_failed(db, id) {
            eprintln!("job {id} could not be marked as failed to archive: {error}");
        }
    }
}

/// A stopped job still waiting for its archive this long after its end lost the instance that
/// should have archived it (e.g. the host stopped it right after the stop answer).
const ARCHIVE_OVERDUE_SECONDS: i64 = 120;

/// The oldest stopped job whose archiving is overdue, if any (a partial index keeps this cheap).
fn overdue_job(db: &dyn Sql, now: i64) -> Result<Option<i64>, StoreError> {
    let cutoff = Value::Integer(now - ARCHIVE_OVERDUE_SECONDS);
    Ok(db
        .execute(
            "SELECT id FROM job WHERE monitoring_status = 1 AND job_state <> 'running' \
             AND start_time < ?1 AND start_time + duration < ?1 ORDER BY start_time LIMIT 1",
            &[cutoff],
        )?
        .scalar()
        .and_then(Value::as_i64))
}

/// After a stop's answer: archives the stopped job, then at most one overdue job, so no stopped
/// job stays unarchived once a later stop arrives.
fn archive_after_stop(platform: &dyn Platform, id: i64) {
    let db = match platform.sql() {
        Ok(db) => db,
        Err(error) => {
            eprintln!("archiving job {id} failed: opening the database: {error}");
            return;
        }
    };
    let clusters_dir = platform.clusters_dir();
    archive_stopped_job(db.as_ref(), &clusters_dir, id);
    match overdue_job(db.as_ref(), unix_now()) {
        Ok(Some(overdue)) if overdue != id => {
            archive_stopped_job(db.as_ref(), &clusters_dir, overdue)
        }
        Ok(_) => {}
        Err(error) => eprintln!("looking for jobs awaiting their archive failed: {error}"),
    }
}

/// `POST|PUT /api/jobs/stop_job/`: 200 with the stopped job as stored (archiving has not run
/// yet, so `monitoringStatus` is unchanged). A monitored job is archived after the response.
pub fn stop_job(ctx: &Ctx) -> Result<Response, ApiError> {
    let request: StopJobRequest =
        decode_strict(ctx.request.body()).map_err(JobsError::ParseBody)?;
    let db = ctx.platform.sql()?;
    let job = stop(db.as_ref(), &request, unix_now())?;
    if job.monitoring_status != monitoring::DISABLED {
        let id = job.id.unwrap_or_default();
        after_response(move |platform| archive_after_stop(platform, id));
    }
    json_response(StatusCode::OK, &job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::{database, insert_job, stored_job};
    use crate::test_app::{an_hour_ago, load_samples, App};

    fn request(body: &str) -> StopJobRequest {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn state_rules_in_reference_order() {
        let db = database();
        let id = insert_job(&db, 5, "testcluster", "u", "running", 1000);
        let job = stored_job(&db, id, false, 0);
        let outcome = |state: Option<&str>, stop: i64| {
            stop_outcome(&job, state, stop).map_err(|problem| problem.to_string())
        };
        assert_eq!(outcome(None, 1600), Ok((JobState::Completed, 600)));
        assert_eq!(outcome(Some(""), 1000), Ok((JobState::Completed, 0)));
        assert_eq!(outcome(Some("failed"), 2000), Ok((JobState::Failed, 1000)));
        assert_eq!(
            outcome(Some("failed"), 999),
            Err("stopTime 999 must be larger/equal than startTime 1000".into())
        );
        assert_eq!(
            outcome(Some("exploded"), 2000),
            Err("invalid requested job state: \"exploded\"".into())
        );
        assert_eq!(
            outcome(Some("running"), 2000),
            Err("a job cannot be stopped in state \"running\"".into())
        );
        let mut stopped = job.clone();
        stopped.job_state = JobState::Timeout;
        assert_eq!(
            stop_outcome(&stopped, Some("exploded"), 0)
                .unwrap_err()
                .to_string(),
            "job has already been stopped (state is: timeout)"
        );
    }

    #[test]
    fn stopping_updates_the_row_and_returns_the_job_with_metadata() {
        let db = database();
        let id = insert_job(&db, 5, "testcluster", "u", "running", 1000);
        let job = stop(
            &db,
            &request(r#"{"jobId":5,"cluster":"testcluster","stopTime":1600,"jobState":"timeout"}"#),
            9999,
        )
        .unwrap();
        assert_eq!(job.id, Some(id));
        assert_eq!((job.job_state, job.duration), (JobState::Timeout, 600));
        assert_eq!(job.meta_data.unwrap()["jobName"], "x");
        let stored = db
            .execute("SELECT job_state, duration FROM job", &[])
            .unwrap();
        assert_eq!(
            stored.rows[0],
            [Value::from("timeout"), Value::Integer(600)]
        );

        let again = stop(&db, &request(r#"{"jobId":5,"stopTime":1700}"#), 9999).unwrap_err();
        assert_eq!(
            again.to_string(),
            format!("jobId 5 (id {id}) on testcluster : job has already been stopped (state is: timeout)")
        );
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn missing_job_id_and_unknown_jobs_are_rejected() {
        let db = database();
        let missing = stop(&db, &request(r#"{"stopTime":1}"#), 0).unwrap_err();
        assert_eq!(missing.to_string(), "the field 'jobId' is required");
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        let unknown = stop(&db, &request(r#"{"jobId":1,"stopTime":1}"#), 0).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "finding job failed: sql: no rows in result set"
        );
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }

    fn archived_meta(app: &App, id: i64) -> Value {
        app.scalar(
            "SELECT meta FROM job_archive WHERE job_id = ?",
            &[Value::Integer(id)],
        )
    }

    #[test]
    fn monitored_jobs_are_archived_after_the_response() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        let id = app.start_job(1, start, r#","metaData":{"jobName":"sim"}"#);
        let answer = app.stop_job(1, start + 300);
        assert!(answer.contains(r#""monitoringStatus":1,"#), "{answer}");
        assert_eq!(app.monitoring_status(id), monitoring::ARCHIVED);
        let meta = archived_meta(&app, id);
        let meta = meta.as_str().unwrap();
        assert!(meta.contains(r#""metaData":{"jobName":"sim"}"#), "{meta}");
        assert!(
            meta.contains(
                r#""statistics":{"load_one":{"unit":{"base":""},"avg":2.5,"min":0.5,"max":4.5}}"#
            ),
            "{meta}"
        );
    }

    #[test]
    fn archiving_fails_for_jobs_whose_cluster_is_no_longer_configured() {
        let app = App::api();
        let start = an_hour_ago();
        let id = app.start_job(1, start, "");
        std::fs::remove_dir_all(app.platform.clusters_dir.join("testcluster")).unwrap();
        app.stop_job(1, start + 300);
        assert_eq!(app.monitoring_status(id), 2);
        assert_eq!(archived_meta(&app, id), Value::Null);
    }

    #[test]
    fn unmonitored_jobs_are_not_archived() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        let id = app.start_job(1, start, r#","monitoringStatus":0"#);
        let answer = app.stop_job(1, start + 300);
        assert!(!answer.contains("monitoringStatus"), "{answer}");
        assert_eq!(app.monitoring_status(id), monitoring::DISABLED);
        assert_eq!(archived_meta(&app, id), Value::Null);
    }

    #[test]
    fn a_later_stop_archives_a_job_whose_archiving_was_lost() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        let lost = app.start_job(1, start, "");
        // Stopped, but the instance that should have archived it ended first.
        app.db()
            .execute(
                "UPDATE job SET job_state = 'completed', duration = 300 WHERE id = ?1",
                &[Value::Integer(lost)],
            )
            .unwrap();
        let recent = app.start_job(2, start + 60, "");
        app.stop_job(2, unix_now());
        assert_eq!(app.monitoring_status(recent), monitoring::ARCHIVED);
        assert_eq!(app.monitoring_status(lost), monitoring::ARCHIVED);
        let meta = archived_meta(&app, lost);
        assert!(meta.as_str().unwrap().contains(r#""avg":2.5"#), "{meta:?}");
    }
}
