//! `DELETE /api/jobs/delete_job/{id}`, `DELETE /api/jobs/delete_job/` and
//! `DELETE /api/jobs/delete_job_before/{ts}` (docs/jobs.md#deleting-jobs). Jobs are deleted from the
//! database only; their tags' `jobtag` rows go with them (foreign-key cascade).

use cc_store::{Sql, Value};
use serde::Deserialize;

use crate::error::JobsError;
use crate::query::QueryError;
use crate::repo::{on_requested_job, unix_now, JobKey};

/// The body of `delete_job/`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "The job to delete: `jobId` is required; `cluster` and `startTime` narrow \
    the match, of several matches the newest is deleted."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteJobRequest {
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
}

impl DeleteJobRequest {
    /// The job the body names.
    pub(crate) fn key(&self) -> Result<JobKey<'_>, JobsError> {
        JobKey::requested(self.job_id, self.cluster.as_deref(), self.start_time)
    }
}

/// Deletes one job row; how many rows went.
fn delete_row(db: &dyn Sql, id: i64) -> Result<u64, JobsError> {
    db.execute("DELETE FROM job WHERE id = ?", &[Value::Integer(id)])
        .map_err(JobsError::DeleteJob)?;
    Ok(db.changes())
}

/// Deletes the job with database id `id`, which the request typed as `typed`; an id that names
/// no job is [`JobsError::NothingDeleted`] (docs/compatibility.md#deleting-a-missing-job-is-a-404).
pub(crate) fn delete_by_id(db: &dyn Sql, id: i64, typed: &str) -> Result<(), JobsError> {
    if delete_row(db, id)? == 0 {
        return Err(JobsError::NothingDeleted(typed.to_owned()));
    }
    Ok(())
}

/// Deletes the job `key` names, without row-level security; answers its database id.
pub(crate) fn delete_requested(db: &dyn Sql, key: &JobKey<'_>) -> Result<i64, JobsError> {
    on_requested_job(db, key, false, unix_now(), |job| {
        let id = job.id.unwrap_or_default();
        delete_row(db, id)?;
        Ok(id)
    })
}

/// Which tagged jobs `delete_job_before` keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OmitTagged {
    /// Delete tagged jobs too.
    None,
    /// Keep every job with a tag.
    All,
    /// Keep jobs with a tag other than the automatic `app` and `jobClass` tags.
    User,
}

impl OmitTagged {
    pub fn parse(value: Option<&str>) -> Result<OmitTagged, QueryError> {
        match value.unwrap_or_default() {
            "" | "none" => Ok(OmitTagged::None),
            "all" => Ok(OmitTagged::All),
            "user" => Ok(OmitTagged::User),
            _ => Err(QueryError::InvalidOmitTagged),
        }
    }

    fn statement(self) -> &'static str {
        match self {
            OmitTagged::None => "DELETE FROM job WHERE start_time < ?",
            OmitTagged::All => {
                "DELETE FROM job WHERE start_time < ? \
                 AND NOT EXISTS (SELECT 1 FROM jobtag WHERE jobtag.job_id = job.id)"
            }
            OmitTagged::User => {
                "DELETE FROM job WHERE start_time < ? \
                 AND NOT EXISTS (SELECT 1 FROM jobtag JOIN tag ON tag.id = jobtag.tag_id \
                 WHERE jobtag.job_id = job.id AND tag.tag_type NOT IN ('app', 'jobClass'))"
            }
        }
    }
}

/// Deletes the jobs that started before `ts` (running ones too) except those `omit` keeps.
pub(crate) fn delete_before(db: &dyn Sql, ts: i64, omit: OmitTagged) -> Result<u64, JobsError> {
    db.execute(omit.statement(), &[Value::Integer(ts)])
        .map_err(JobsError::DeleteJobs)?;
    Ok(db.changes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::{database, insert_job};
    use crate::tags::{attach_tag, find_or_create_tag, TagKey};

    fn remaining(db: &dyn Sql) -> Vec<i64> {
        db.execute("SELECT job_id FROM job ORDER BY job_id", &[])
            .unwrap()
            .rows
            .iter()
            .map(|row| row[0].as_i64().unwrap())
            .collect()
    }

    /// Jobs 1 (untagged), 2 (app tag), 3 (user tag), 4 (started late), all but 4 before 100.
    fn tagged_jobs() -> cc_store::native::NativeSql {
        let db = database();
        for job_id in 1..=3 {
            insert_job(&db, job_id, "c", "u", "completed", 50);
        }
        insert_job(&db, 4, "c", "u", "running", 100);
        for (job, kind) in [(2, "app"), (3, "bug")] {
            let tag = find_or_create_tag(&db, &TagKey::new(kind, "x", "global")).unwrap();
            attach_tag(&db, job, tag).unwrap();
        }
        db
    }

    #[test]
    fn omit_tagged_modes() {
        assert_eq!(OmitTagged::parse(None), Ok(OmitTagged::None));
        assert_eq!(OmitTagged::parse(Some("")), Ok(OmitTagged::None));
        assert_eq!(
            OmitTagged::parse(Some("some")).unwrap_err().to_string(),
            "omit-tagged must be one of: none, all, user"
        );
        let cases = [
            (OmitTagged::None, 3, vec![4]),
            (OmitTagged::All, 1, vec![2, 3, 4]),
            (OmitTagged::User, 2, vec![3, 4]),
        ];
        for (omit, count, left) in cases {
            let db = tagged_jobs();
            assert_eq!(delete_before(&db, 100, omit).unwrap(), count, "{omit:?}");
            assert_eq!(remaining(&db), left, "{omit:?}");
        }
    }

    #[test]
    fn deleting_a_job_removes_its_tag_links() {
        let db = tagged_jobs();
        assert_eq!(delete_row(&db, 2).unwrap(), 1);
        assert_eq!(delete_row(&db, 2).unwrap(), 0);
        let links = db.execute("SELECT count(*) FROM jobtag", &[]).unwrap();
        assert_eq!(links.scalar(), Some(&Value::Integer(1)));
    }
}
