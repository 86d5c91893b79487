//! `PATCH /api/jobs/edit_meta/{id}` and `PATCH /api/jobs/edit_meta/` (docs/jobs.md#editing-metadata).
//!
//! The read-merge-write of the metadata, and for a stopped job the copy into its archive, run
//! in one transaction: concurrent edits of different keys of one job all survive, and a failed
//! archive update leaves the database unchanged (docs/compatibility.md#metadata-edits-are-atomic; the reference
//! has updated the database when it reports the archive failure).

use crate::archive::update_archived_metadata;
use cc_auth::JobScope;
use cc_model::{Job, JobState};
use cc_store::{in_transaction, Sql, Value};
use serde::Deserialize;

use crate::error::{JobsError, LookupError};
use crate::repo::{find_by_id, on_requested_job, unix_now, JobKey};

/// One metadata entry to set; an absent key or value is `""`, as in the reference.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(description = "One metadata entry to set; a missing or `null` key or value is empty.")]
#[serde(deny_unknown_fields)]
pub struct MetaEntry {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// The body of `edit_meta/`: the job as in stop_job, and the entry.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "The job, named as in `stop_job` (`jobId` required), and the entry to set \
    (missing or `null`: the empty key is set to the empty value)."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditMetaRequest {
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub payload: Option<MetaEntry>,
}

impl EditMetaRequest {
    /// The job the body names.
    pub(crate) fn key(&self) -> Result<JobKey<'_>, JobsError> {
        JobKey::requested(self.job_id, self.cluster.as_deref(), self.start_time)
    }
}

/// Sets one key of a job loaded with its metadata and writes the merged map back, into the
/// archive too when the job is stopped (a job without archive has none to update). Runs inside
/// the caller's transaction.
fn set_metadata(db: &dyn Sql, job: &mut Job, entry: MetaEntry) -> Result<(), JobsError> {
    let mut meta_data = job.meta_data.take().unwrap_or_default();
    meta_data.insert(
        entry.key.unwrap_or_default(),
        entry.value.unwrap_or_default(),
    );
    let json = serde_json::to_string(&meta_data).unwrap_or_else(|_| "{}".into());
    let id = job.id.unwrap_or_default();
    db.execute(
        "UPDATE job SET meta_data = ? WHERE id = ?",
        &[Value::Text(json), Value::Integer(id)],
    )
    .map_err(JobsError::UpdateMetadata)?;
    if job.job_state != JobState::Running {
        update_archived_metadata(db, id, &meta_data).map_err(JobsError::UpdateMetadata)?;
    }
    job.meta_data = Some(meta_data);
    Ok(())
}

/// Sets an entry of the job with database id `id`, found with row-level security `scope`.
/// `entry` reads the entry once the job was found (a missing job is reported before a bad
/// entry). Answers the job with all its metadata (tags are not loaded).
pub(crate) fn edit_meta(
    db: &dyn Sql,
    id: i64,
    scope: &JobScope,
    entry: impl FnOnce() -> Result<MetaEntry, JobsError>,
) -> Result<Job, JobsError> {
    in_transaction::<_, JobsError>(db, || {
        let mut job = find_by_id(db, id, scope, true, unix_now())?
            .ok_or(JobsError::FindJob(LookupError::NoRows))?;
        set_metadata(db, &mut job, entry()?)?;
        Ok(job)
    })
}

/// Sets an entry of the job `key` names, without row-level security.
pub(crate) fn edit_requested_meta(
    db: &dyn Sql,
    key: &JobKey<'_>,
    entry: MetaEntry,
) -> Result<Job, JobsError> {
    on_requested_job(db, key, true, unix_now(), |mut job| {
        set_metadata(db, &mut job, entry)?;
        Ok(job)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::{database, insert_job, stored_job};
    use crate::test_app::{an_hour_ago, App, ADMIN};
    use http::Method;

    #[test]
    fn entries_merge_into_the_stored_metadata() {
        let db = database();
        let id = insert_job(&db, 1, "c", "u", "running", 10);
        let mut job = stored_job(&db, id, true, 0);
        let entry = |key: &str, value: &str| MetaEntry {
            key: Some(key.into()),
            value: Some(value.into()),
        };
        set_metadata(&db, &mut job, entry("jobName", "renamed")).unwrap();
        set_metadata(&db, &mut job, entry("", "empty key")).unwrap();
        let stored = stored_job(&db, id, true, 0);
        let meta = stored.meta_data.unwrap();
        assert_eq!(meta["jobName"], "renamed");
        assert_eq!(meta[""], "empty key");
        assert_eq!(Some(meta), job.meta_data);
    }

    #[test]
    fn jobs_without_metadata_get_a_new_map() {
        let db = database();
        let id = insert_job(&db, 1, "c", "u", "running", 10);
        db.execute("UPDATE job SET meta_data = 'null'", &[])
            .unwrap();
        let mut job = stored_job(&db, id, true, 0);
        assert_eq!(job.meta_data, None);
        set_metadata(&db, &mut job, MetaEntry::default()).unwrap();
        let stored = db.execute("SELECT meta_data FROM job", &[]).unwrap();
        assert_eq!(stored.scalar(), Some(&Value::from(r#"{"":""}"#)));
    }

    /// The metadata of job `id` in the database and in its archive.
    fn stored_metadata(app: &App, id: i64) -> (Value, Value) {
        let id = [Value::Integer(id)];
        (
            app.scalar("SELECT meta_data FROM job WHERE id = ?", &id),
            app.scalar(
                "SELECT json_extract(meta, '$.metaData') FROM job_archive WHERE job_id = ?",
                &id,
            ),
        )
    }

    #[test]
    fn edits_of_stopped_jobs_reach_their_archive() {
        let app = App::api();
        let start = an_hour_ago();
        let id = app.start_job(1, start, r#","metaData":{"jobName":"sim"}"#);
        app.stop_job(1, start + 300);
        let (status, body) = app.send(
            Method::PATCH,
            &format!("/api/jobs/edit_meta/{id}"),
            r#"{"key":"note","value":"rerun"}"#,
            "root",
            ADMIN,
        );
        assert_eq!(status, 200, "{body}");
        let merged = r#"{"jobName":"sim","note":"rerun"}"#;
        assert_eq!(
            stored_metadata(&app, id),
            (Value::from(merged), Value::from(merged))
        );

        let (status, body) = app.send(
            Method::PATCH,
            "/api/jobs/edit_meta/",
            r#"{"jobId":1,"payload":{"key":"jobName","value":"sim2"}}"#,
            "root",
            ADMIN,
        );
        assert_eq!(status, 200, "{body}");
        let merged = r#"{"jobName":"sim2","note":"rerun"}"#;
        assert_eq!(
            stored_metadata(&app, id),
            (Value::from(merged), Value::from(merged))
        );
    }

    #[test]
    fn a_failed_archive_update_leaves_the_database_unchanged() {
        let app = App::api();
        let start = an_hour_ago();
        let id = app.start_job(1, start, r#","metaData":{"jobName":"sim"}"#);
        app.stop_job(1, start + 300);
        app.db()
            .execute("UPDATE job_archive SET meta = 'not json'", &[])
            .unwrap();
        let (status, body) = app.send(
            Method::PATCH,
            &format!("/api/jobs/edit_meta/{id}"),
            r#"{"key":"note","value":"rerun"}"#,
            "root",
            ADMIN,
        );
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("updating metadata failed: "), "{body}");
        assert_eq!(
            app.scalar(
                "SELECT meta_data FROM job WHERE id = ?",
                &[Value::Integer(id)]
            ),
            Value::from(r#"{"jobName":"sim"}"#)
        );
    }
}
