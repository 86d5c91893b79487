//! `POST|PUT /api/jobs/stop_job/` (docs/jobs.md#stop-job) and the archiving it triggers
//! (docs/jobs.md#archiving-after-stop).

use cc_model::{Job, JobState};
use cc_store::{Sql, StoreError, Value};
use serde::Deserialize;

use crate::error::{JobsError, LookupError};
use crate::repo::{find_by_key, JobKey};

/// Why a found job cannot be stopped as requested.
#[derive(Debug, thiserror::Error)]
pub enum StopProblem {
    #[error("job has already been stopped (state is: {0})")]
    AlreadyStopped(JobState),
    #[error("stopTime {stop_time} must be larger/equal than startTime {start_time}")]
    StopBeforeStart { stop_time: i64, start_time: i64 },
    #[error("invalid requested job state: {0:?}")]
    InvalidState(String),
    /// docs/compatibility.md#stop-refuses-running: the reference accepts `running` and leaves a "stopped"
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

/// The body of `stop_job`. A missing `stopTime` is 0, as in the reference.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "The job to stop: `jobId` is required; `cluster` and `startTime` narrow \
    the match. `jobState` is the final state (default `completed`; not `running`), `stopTime` \
    the end in Unix seconds (missing: 0)."
)]
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

impl StopJobRequest {
    /// The job the body names.
    pub(crate) fn key(&self) -> Result<JobKey<'_>, JobsError> {
        JobKey::requested(self.job_id, self.cluster.as_deref(), self.start_time)
    }
}

/// The state rules of a stop (docs/jobs.md#stop-state-rules): the new state and duration.
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

/// Finds and checks the job, then marks it with one conditional `UPDATE` that only a running
/// job passes, so two concurrent stops of one job cannot both succeed and the write lock is
/// held for that statement alone. The stopped job is returned with its metadata
/// (docs/compatibility.md#stop-answers-with-metadata; the reference answers `metaData: null`).
pub(crate) fn stop(db: &dyn Sql, request: &StopJobRequest, now: i64) -> Result<Job, JobsError> {
    let key = request.key()?;
    loop {
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
        let marked = db
            .execute(
                "UPDATE job SET job_state = ?, duration = ? WHERE id = ? AND job_state = ? \
                 RETURNING id",
                &[
                    Value::from(state.as_str()),
                    Value::Integer(duration),
                    Value::Integer(id),
                    Value::from(JobState::Running.as_str()),
                ],
            )
            .map_err(|error| {
                failed(StopProblem::Marking {
                    state,
                    duration,
                    error,
                })
            })?;
        if !marked.rows.is_empty() {
            job.job_state = state;
            job.duration = duration;
            return Ok(job);
        }
        // Another request stopped or deleted the job after it was read: decide again on what
        // is stored now.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::status;
    use crate::repo::tests::{database, insert_job, stored_job};
    use crate::repo::{monitoring, unix_now};
    use crate::test_app::{an_hour_ago, load_samples, App};
    use http::StatusCode;

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
        assert_eq!(status(&again), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn missing_job_id_and_unknown_jobs_are_rejected() {
        let db = database();
        let missing = stop(&db, &request(r#"{"stopTime":1}"#), 0).unwrap_err();
        assert_eq!(missing.to_string(), "the field 'jobId' is required");
        assert_eq!(status(&missing), StatusCode::BAD_REQUEST);
        let unknown = stop(&db, &request(r#"{"jobId":1,"stopTime":1}"#), 0).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "finding job failed: sql: no rows in result set"
        );
        assert_eq!(status(&unknown), StatusCode::NOT_FOUND);
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
