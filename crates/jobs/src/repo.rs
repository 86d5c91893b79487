//! The `job`, `tag` and `jobtag` tables of cc-backend's schema (docs/storage.md#job-and-tag-tables):
//! reading rows into [`Job`]s, the lookups the routes share and the tag lists of jobs.
//!
//! There is no `job_cache`: started jobs go straight into `job`
//! (docs/compatibility.md#no-job-cache), so every route sees a job as soon as `start_job` answered.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use cc_auth::{job_scope, JobScope, User};
use cc_model::{ConcurrentJobs, Job, JobState, Tag};
use cc_store::{in_transaction, Sql, Value};
use serde::de::DeserializeOwned;

use crate::error::{JobsError, LookupError};
use crate::tags::can_read;

/// The columns of a job as the REST routes show it; `meta_data` only where a route loads it.
const JOB_COLUMNS: &str = "id, job_id, cluster, subcluster, cluster_partition, project, hpc_user, \
     shared, job_state, resources, footprint, energy, array_job_id, walltime, duration, smt, \
     monitoring_status, num_acc, num_hwthreads, num_nodes, submit_time, start_time";

/// `SELECT <columns> FROM job` with or without `meta_data`.
pub(crate) fn select_jobs(with_metadata: bool) -> String {
    let metadata = if with_metadata {
        ", meta_data"
    } else {
        ", NULL"
    };
    format!("SELECT {JOB_COLUMNS}{metadata} FROM job")
}

fn integer(row: &[Value], index: usize) -> i64 {
    match row.get(index) {
        Some(Value::Integer(value)) => *value,
        // REAL affinity or a foreign writer; cc-backend's columns hold whole numbers.
        Some(Value::Real(value)) => *value as i64,
        _ => 0,
    }
}

fn real(row: &[Value], index: usize) -> f64 {
    match row.get(index) {
        Some(Value::Real(value)) => *value,
        Some(Value::Integer(value)) => *value as f64,
        _ => 0.0,
    }
}

fn text(row: &[Value], index: usize) -> String {
    row.get(index)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A JSON column (TEXT or BLOB); SQL NULL and the text `null` are both `None`.
fn json_column<T: DeserializeOwned>(
    row: &[Value],
    index: usize,
    id: i64,
    column: &'static str,
) -> Result<Option<T>, JobsError> {
    let corrupt = |problem: String| JobsError::CorruptRow {
        id,
        column,
        problem,
    };
    match row.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let json = value
                .as_str()
                .ok_or_else(|| corrupt("neither text nor UTF-8".into()))?;
            serde_json::from_str(json).map_err(|error| corrupt(error.to_string()))
        }
    }
}

/// Reads a row selected by [`select_jobs`]. A running job's duration is its age at `now`.
pub(crate) fn job_from_row(row: &[Value], now: i64) -> Result<Job, JobsError> {
    let id = integer(row, 0);
    let state_name = text(row, 8);
    let job_state = JobState::from_name(&state_name).ok_or_else(|| JobsError::CorruptRow {
        id,
        column: "job_state",
        problem: format!("unknown job state {state_name:?}"),
    })?;
    let start_time = integer(row, 21);
    let duration = if job_state == JobState::Running {
        now.saturating_sub(start_time)
    } else {
        integer(row, 14)
    };
    Ok(Job {
        cluster: text(row, 2),
        sub_cluster: text(row, 3),
        partition: text(row, 4),
        project: text(row, 5),
        user: text(row, 6),
        shared: text(row, 7),
        job_state,
        tags: Vec::new(),
        resources: json_column(row, 9, id, "resources")?,
        energy_footprint: None,
        footprint: json_column(row, 10, id, "footprint")?,
        meta_data: json_column(row, 22, id, "meta_data")?,
        concurrent_jobs: ConcurrentJobs::default(),
        energy: real(row, 11),
        array_job_id: integer(row, 12),
        walltime: integer(row, 13),
        job_id: integer(row, 1),
        duration,
        smt: integer(row, 15),
        monitoring_status: integer(row, 16),
        num_acc: integer(row, 17),
        num_hwthreads: integer(row, 18),
        num_nodes: integer(row, 19),
        statistics: None,
        id: Some(id),
        submit_time: integer(row, 20),
        start_time,
    })
}

/// An SQL condition with its parameters.
pub(crate) struct Condition {
    pub sql: String,
    pub params: Vec<Value>,
}

/// Row-level security (docs/auth.md#row-level-job-security) as a condition on `job`; `None` when every job is
/// visible.
pub(crate) fn scope_condition(scope: &JobScope) -> Option<Condition> {
    match scope {
        JobScope::All => None,
        JobScope::OwnJobs { user } => Some(Condition {
            sql: "hpc_user = ?".into(),
            params: vec![Value::from(user.as_str())],
        }),
        JobScope::OwnAndProjects { user, projects } => {
            let placeholders = vec!["?"; projects.len()].join(", ");
            let mut params = vec![Value::from(user.as_str())];
            params.extend(projects.iter().map(|project| Value::from(project.as_str())));
            Some(Condition {
                sql: format!("(hpc_user = ? OR project IN ({placeholders}))"),
                params,
            })
        }
    }
}

/// The first job a [`select_jobs`] query finds.
fn first_job(
    db: &dyn Sql,
    sql: &str,
    params: &[Value],
    now: i64,
) -> Result<Option<Job>, JobsError> {
    let result = db.execute(sql, params)?;
    result
        .rows
        .first()
        .map(|row| job_from_row(row, now))
        .transpose()
}

/// The row-level security of a route acting on the job its path names (`tag_job/{id}`,
/// `edit_meta/{id}`); a caller without a scope fails like a job that is not found.
pub(crate) fn path_job_scope(user: Option<&User>) -> Result<JobScope, JobsError> {
    job_scope(user).map_err(|error| JobsError::FindJob(error.into()))
}

/// The job with database id `id`, if `scope` lets the caller see it.
pub(crate) fn find_by_id(
    db: &dyn Sql,
    id: i64,
    scope: &JobScope,
    with_metadata: bool,
    now: i64,
) -> Result<Option<Job>, JobsError> {
    let mut sql = format!("{} WHERE id = ?", select_jobs(with_metadata));
    let mut params = vec![Value::Integer(id)];
    if let Some(condition) = scope_condition(scope) {
        sql.push_str(" AND ");
        sql.push_str(&condition.sql);
        params.extend(condition.params);
    }
    first_job(db, &sql, &params, now)
}

/// How start/stop/delete/edit-meta name a job in their body (docs/jobs.md#finding-a-job-by-request).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobKey<'a> {
    pub job_id: i64,
    pub cluster: Option<&'a str>,
    pub start_time: Option<i64>,
}

impl<'a> JobKey<'a> {
    /// The key from the `jobId`, `cluster` and `startTime` fields of a request body; only
    /// `jobId` is required.
    pub(crate) fn requested(
        job_id: Option<i64>,
        cluster: Option<&'a str>,
        start_time: Option<i64>,
    ) -> Result<Self, JobsError> {
        Ok(JobKey {
            job_id: job_id.ok_or(JobsError::JobIdRequired)?,
            cluster,
            start_time,
        })
    }
}

/// The job `key` names, without row-level security; of several matches the newest row (highest
/// id).
pub(crate) fn find_by_key(
    db: &dyn Sql,
    key: &JobKey<'_>,
    with_metadata: bool,
    now: i64,
) -> Result<Option<Job>, JobsError> {
    let mut sql = format!("{} WHERE job_id = ?", select_jobs(with_metadata));
    let mut params = vec![Value::Integer(key.job_id)];
    if let Some(cluster) = key.cluster {
        sql.push_str(" AND cluster = ?");
        params.push(Value::from(cluster));
    }
    if let Some(start_time) = key.start_time {
        sql.push_str(" AND start_time = ?");
        params.push(Value::Integer(start_time));
    }
    sql.push_str(" ORDER BY id DESC LIMIT 1");
    first_job(db, &sql, &params, now)
}

/// Finds the job a request body names (delete_job/, edit_meta/) and acts on it in one
/// transaction. No such job is [`JobsError::FindJobByRequest`] (stop_job answers 404 instead).
pub(crate) fn on_requested_job<T>(
    db: &dyn Sql,
    key: &JobKey<'_>,
    with_metadata: bool,
    now: i64,
    action: impl FnOnce(Job) -> Result<T, JobsError>,
) -> Result<T, JobsError> {
    in_transaction(db, || {
        let job = find_by_key(db, key, with_metadata, now)?
            .ok_or(JobsError::FindJobByRequest(LookupError::NoRows))?;
        action(job)
    })
}

/// SQLite's default limit of bound parameters is 32766; stay far below it.
const IDS_PER_QUERY: usize = 500;

/// The tags of each job in `job_ids` that `user` may see (docs/jobs.md#tag-scopes-and-permissions), in tag id order.
/// One query per 500 jobs, not one per job.
pub(crate) fn visible_tags(
    db: &dyn Sql,
    job_ids: &[i64],
    user: Option<&User>,
) -> Result<BTreeMap<i64, Vec<Tag>>, JobsError> {
    let mut tags: BTreeMap<i64, Vec<Tag>> = BTreeMap::new();
    for chunk in job_ids.chunks(IDS_PER_QUERY) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT jobtag.job_id, tag.id, tag.tag_type, tag.tag_name, tag.tag_scope \
             FROM jobtag JOIN tag ON tag.id = jobtag.tag_id \
             WHERE jobtag.job_id IN ({placeholders}) ORDER BY tag.id"
        );
        let params: Vec<Value> = chunk.iter().copied().map(Value::Integer).collect();
        let result = db
            .execute(&sql, &params)
            .map_err(JobsError::storage("getting tags failed: "))?;
        for row in &result.rows {
            let tag = Tag {
                kind: text(row, 2),
                name: text(row, 3),
                scope: text(row, 4),
                id: integer(row, 1),
            };
            if can_read(user, &tag.scope) {
                tags.entry(integer(row, 0)).or_default().push(tag);
            }
        }
    }
    Ok(tags)
}

/// Replaces `job.tags` with the tags of the job that `user` may see.
pub(crate) fn load_visible_tags(
    db: &dyn Sql,
    job: &mut Job,
    user: Option<&User>,
) -> Result<(), JobsError> {
    let id = job.id.unwrap_or_default();
    job.tags = visible_tags(db, &[id], user)?
        .remove(&id)
        .unwrap_or_default();
    Ok(())
}

/// The `monitoringStatus` values the routes act on (docs/jobs.md#monitoring-status); the metric store's
/// archive sets 2 (archiving failed) and 3.
pub(crate) mod monitoring {
    pub(crate) const DISABLED: i64 = 0;
    pub(crate) const ARCHIVING_PENDING: i64 = 1;
    pub(crate) const ARCHIVED: i64 = 3;
}

/// Seconds since the Unix epoch, as the job columns hold them (0 if the clock is before it).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cc_store::native::NativeSql;

    pub(crate) fn database() -> NativeSql {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        db
    }

    /// Inserts a job row the way cc-backend writes one (JSON columns as BLOBs).
    pub(crate) fn insert_job(
        db: &dyn Sql,
        job_id: i64,
        cluster: &str,
        user: &str,
        state: &str,
        start_time: i64,
    ) -> i64 {
        db.execute(
            "INSERT INTO job (job_id, cluster, subcluster, start_time, hpc_user, project, \
             cluster_partition, array_job_id, duration, walltime, job_state, meta_data, resources, \
             num_nodes, num_hwthreads, num_acc, smt, shared, monitoring_status, energy, footprint) \
             VALUES (?, ?, 'sc1', ?, ?, 'proj', '', 0, 60, 0, ?, ?, ?, 1, 8, 0, 1, 'none', 1, 0, ?)",
            &[
                Value::Integer(job_id),
                Value::from(cluster),
                Value::Integer(start_time),
                Value::from(user),
                Value::from(state),
                Value::Blob(br#"{"jobName":"x"}"#.to_vec()),
                Value::Blob(br#"[{"hostname":"host123","hwthreads":[0,1]}]"#.to_vec()),
                Value::Blob(br#"{"flops_any_avg":1.5}"#.to_vec()),
            ],
        )
        .unwrap();
        db.last_insert_rowid()
    }

    /// The stored job with database id `id`, which must exist.
    pub(crate) fn stored_job(db: &dyn Sql, id: i64, with_metadata: bool, now: i64) -> Job {
        find_by_id(db, id, &JobScope::All, with_metadata, now)
            .unwrap()
            .unwrap()
    }

    pub(crate) fn user(name: &str, roles: &[&str]) -> User {
        User {
            username: name.into(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            projects: Vec::new(),
        }
    }

    #[test]
    fn rows_written_by_cc_backend_are_read_with_blob_json() {
        let db = database();
        let id = insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
        let job = stored_job(&db, id, true, 5000);
        assert_eq!(job.id, Some(id));
        assert_eq!(job.duration, 60, "stopped jobs keep their stored duration");
        assert_eq!(job.resources.unwrap()[0].hwthreads, [0, 1]);
        assert_eq!(job.meta_data.unwrap()["jobName"], "x");
        assert_eq!(job.footprint.unwrap()["flops_any_avg"], 1.5);
        let without_meta = stored_job(&db, id, false, 5000);
        assert_eq!(without_meta.meta_data, None);
    }

    #[test]
    fn running_jobs_report_their_age_as_duration() {
        let db = database();
        let id = insert_job(&db, 7, "testcluster", "alice", "running", 1000);
        let job = stored_job(&db, id, false, 5000);
        assert_eq!(job.duration, 4000);
    }

    #[test]
    fn corrupt_rows_are_reported_not_hidden() {
        let db = database();
        let id = insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
        db.execute(
            "UPDATE job SET resources = '[{' WHERE id = ?",
            &[Value::Integer(id)],
        )
        .unwrap();
        let error = find_by_id(&db, id, &JobScope::All, false, 0).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("job {id}: column resources holds invalid data")),
            "{error}"
        );
    }

    #[test]
    fn row_level_security_hides_other_users_jobs() {
        let db = database();
        let id = insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
        let own = |user: &str| JobScope::OwnJobs { user: user.into() };
        assert!(find_by_id(&db, id, &own("alice"), false, 0)
            .unwrap()
            .is_some());
        assert!(find_by_id(&db, id, &own("bob"), false, 0)
            .unwrap()
            .is_none());
        let manager = JobScope::OwnAndProjects {
            user: "bob".into(),
            projects: vec!["other".into(), "proj".into()],
        };
        assert!(find_by_id(&db, id, &manager, false, 0).unwrap().is_some());
    }

    #[test]
    fn lookup_by_key_takes_the_newest_match() {
        let db = database();
        insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
        let newer = insert_job(&db, 7, "testcluster", "alice", "completed", 2000);
        let other_cluster = insert_job(&db, 7, "emmy", "alice", "completed", 500);
        let key = |cluster, start_time| JobKey {
            job_id: 7,
            cluster,
            start_time,
        };
        let found = |key| {
            find_by_key(&db, &key, false, 0)
                .unwrap()
                .and_then(|job| job.id)
        };
        assert_eq!(found(key(None, None)), Some(other_cluster));
        assert_eq!(found(key(Some("testcluster"), None)), Some(newer));
        assert_eq!(found(key(Some("testcluster"), Some(1000))), Some(newer - 1));
        assert_eq!(found(key(Some("testcluster"), Some(3))), None);
        let requested = |key| on_requested_job(&db, &key, false, 0, |job| Ok(job.id));
        assert_eq!(
            requested(key(Some("testcluster"), None)).unwrap(),
            Some(newer)
        );
        let missing = requested(key(Some("testcluster"), Some(3))).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "finding job failed: sql: no rows in result set"
        );
        assert_eq!(
            crate::http::status(&missing),
            http::StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn tags_are_filtered_by_visibility() {
        let db = database();
        let id = insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
        for (kind, scope) in [
            ("g", "global"),
            ("a", "admin"),
            ("p", "alice"),
            ("q", "bob"),
        ] {
            db.execute(
                "INSERT INTO tag (tag_type, tag_name, tag_scope) VALUES (?, 'n', ?)",
                &[Value::from(kind), Value::from(scope)],
            )
            .unwrap();
            db.execute(
                "INSERT INTO jobtag (job_id, tag_id) VALUES (?, ?)",
                &[Value::Integer(id), Value::Integer(db.last_insert_rowid())],
            )
            .unwrap();
        }
        let kinds = |who: &User| -> Vec<String> {
            visible_tags(&db, &[id], Some(who)).unwrap()[&id]
                .iter()
                .map(|tag| tag.kind.clone())
                .collect()
        };
        assert_eq!(kinds(&user("alice", &["api", "user"])), ["g", "p"]);
        assert_eq!(kinds(&user("carol", &["admin", "api"])), ["g", "a"]);
        assert_eq!(kinds(&user("bob", &["api", "support"])), ["g", "a", "q"]);
    }

    #[test]
    fn transactions_roll_back_on_error() {
        let db = database();
        let outcome: Result<(), JobsError> = in_transaction(&db, || {
            insert_job(&db, 7, "testcluster", "alice", "completed", 1000);
            Err(JobsError::JobIdRequired)
        });
        assert!(matches!(outcome, Err(JobsError::JobIdRequired)));
        let count = db.execute("SELECT count(*) FROM job", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(0)));
    }
}
