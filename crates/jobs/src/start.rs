//! `POST|PUT /api/jobs/start_job/` (docs/jobs.md#start-job).

use std::path::Path;

use cc_auth::User;
use cc_model::{load_cluster, Cluster, ClusterError, Job, StartJobRequest};
use cc_store::{in_transaction, Sql, Value};
use serde::Serialize;

use crate::error::JobsError;
use crate::tags::{attach_tag, check_write, find_or_create_tag, TagKey};

/// A start request the importer's sanity checks reject (docs/jobs.md#sanity-checks), in check order.
/// The last two are not checked by the reference, whose database constraints then fail with a
/// 500; bad input must be a 400.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SanityError {
    #[error("no such cluster: {0}")]
    NoSuchCluster(String),
    #[error("ARCHIVE/CLUSTERCONFIG > already assigned subcluster {sub_cluster} unkown (cluster: {cluster})")]
    UnknownSubCluster {
        sub_cluster: String,
        cluster: String,
    },
    #[error("ARCHIVE/CLUSTERCONFIG > job without any resources/hosts")]
    NoHosts,
    #[error("ARCHIVE/CLUSTERCONFIG > no subcluster found for cluster {cluster} and host {host}")]
    NoSubClusterForHost { cluster: String, host: String },
    #[error("'resources' and 'user' should not be empty")]
    EmptyResourcesOrUser,
    #[error("'numNodes', 'numAcc' or 'numHWThreads' invalid")]
    InvalidCounts,
    #[error("len(resources) does not equal numNodes ({resources} vs {num_nodes})")]
    NodeCountMismatch { resources: usize, num_nodes: i64 },
    #[error("invalid value for 'shared': {0:?} (must be none, single_user or multi_user)")]
    InvalidShared(String),
    #[error("invalid value for 'monitoringStatus': {0} (must be 0, 1, 2 or 3)")]
    InvalidMonitoringStatus(i64),
}

const SHARED_VALUES: [&str; 3] = ["none", "single_user", "multi_user"];
const MONITORING_STATUSES: std::ops::RangeInclusive<i64> = 0..=3;

/// The sub-cluster of a job (docs/jobs.md#sub-cluster-derivation): the one named, else the one whose host list
/// names the first host, else a wildcard first sub-cluster.
fn assign_sub_cluster(job: &mut Job, cluster: &Cluster) -> Result<(), SanityError> {
    if !job.sub_cluster.is_empty() {
        return match cluster.subcluster(&job.sub_cluster) {
            Some(_) => Ok(()),
            None => Err(SanityError::UnknownSubCluster {
                sub_cluster: job.sub_cluster.clone(),
                cluster: job.cluster.clone(),
            }),
        };
    }
    let host = job
        .resources
        .as_deref()
        .and_then(|resources| resources.first())
        .map(|resource| resource.hostname.as_str())
        .ok_or(SanityError::NoHosts)?;
    let sub_cluster =
        cluster
            .subcluster_for_host(host)
            .ok_or_else(|| SanityError::NoSubClusterForHost {
                cluster: job.cluster.clone(),
                host: host.to_owned(),
            })?;
    job.sub_cluster = sub_cluster.name.clone();
    Ok(())
}

/// The importer's checks after the cluster was looked up; fills in the sub-cluster.
pub(crate) fn check_sanity(job: &mut Job, cluster: &Cluster) -> Result<(), SanityError> {
    assign_sub_cluster(job, cluster)?;
    let resources = job.resources.as_deref().unwrap_or_default();
    if resources.is_empty() || job.user.is_empty() {
        return Err(SanityError::EmptyResourcesOrUser);
    }
    if job.num_acc < 0 || job.num_hwthreads < 0 || job.num_nodes < 1 {
        return Err(SanityError::InvalidCounts);
    }
    if i64::try_from(resources.len()) != Ok(job.num_nodes) {
        return Err(SanityError::NodeCountMismatch {
            resources: resources.len(),
            num_nodes: job.num_nodes,
        });
    }
    if !SHARED_VALUES.contains(&job.shared.as_str()) {
        return Err(SanityError::InvalidShared(job.shared.clone()));
    }
    if !MONITORING_STATUSES.contains(&job.monitoring_status) {
        return Err(SanityError::InvalidMonitoringStatus(job.monitoring_status));
    }
    Ok(())
}

/// Seconds within which a start with the same job id and cluster counts as a duplicate.
const DUPLICATE_WINDOW: i64 = 86_400;

/// The SQL condition under which a `job` row duplicates a new start, shared by the lookup and the
/// insert; its parameters come from [`duplicate_params`].
macro_rules! duplicate_condition {
    () => {
        "job_id = ? AND cluster = ? AND ? - start_time < ?"
    };
}

/// The id of a stored job the new one duplicates (docs/jobs.md#duplicate-starts). Like the reference the
/// window is one-sided: `new.start - stored.start < 86400`, so a stored job that started later
/// always counts. The comparison runs in SQLite, where integer overflow turns into REAL instead
/// of wrapping.
pub(crate) fn find_duplicate(db: &dyn Sql, job: &Job) -> Result<Option<i64>, JobsError> {
    let result = db
        .execute(
            concat!(
                "SELECT id FROM job WHERE ",
                duplicate_condition!(),
                " ORDER BY id LIMIT 1"
            ),
            &duplicate_params(job),
        )
        .map_err(JobsError::storage("checking for duplicate failed: "))?;
    Ok(result.scalar().and_then(Value::as_i64))
}

/// The parameters of `duplicate_condition!`, in its order.
fn duplicate_params(job: &Job) -> [Value; 4] {
    [
        Value::Integer(job.job_id),
        Value::from(job.cluster.as_str()),
        Value::Integer(job.start_time),
        Value::Integer(DUPLICATE_WINDOW),
    ]
}

fn json_text<T: Serialize>(value: &T) -> Value {
    // Maps of strings and numbers always encode.
    Value::Text(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
}

/// One statement that inserts the job unless [`find_duplicate`]'s condition holds. SQLite
/// takes the write lock before the statement reads, so the check and the insert cannot
/// interleave with another instance's start, without a transaction around them.
const INSERT_UNLESS_DUPLICATE: &str = concat!(
    "INSERT INTO job (job_id, cluster, subcluster, submit_time, start_time, hpc_user, project, ",
    "cluster_partition, array_job_id, duration, walltime, job_state, meta_data, resources, ",
    "num_nodes, num_hwthreads, num_acc, smt, shared, monitoring_status, energy, footprint) ",
    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? ",
    "WHERE NOT EXISTS (SELECT 1 FROM job WHERE ",
    duplicate_condition!(),
    ") ",
    "RETURNING id"
);

/// Inserts the job unless it duplicates a stored one; JSON columns as text, absent ones as the
/// text `null` like the reference.
fn insert_unless_duplicate(db: &dyn Sql, job: &Job) -> Result<Option<i64>, JobsError> {
    let mut params = vec![
        Value::Integer(job.job_id),
        Value::from(job.cluster.as_str()),
        Value::from(job.sub_cluster.as_str()),
        Value::Integer(job.submit_time),
        Value::Integer(job.start_time),
        Value::from(job.user.as_str()),
        Value::from(job.project.as_str()),
        Value::from(job.partition.as_str()),
        Value::Integer(job.array_job_id),
        Value::Integer(job.duration),
        Value::Integer(job.walltime),
        Value::from(job.job_state.as_str()),
        json_text(&job.meta_data),
        json_text(&job.resources),
        Value::Integer(job.num_nodes),
        Value::Integer(job.num_hwthreads),
        Value::Integer(job.num_acc),
        Value::Integer(job.smt),
        Value::from(job.shared.as_str()),
        Value::Integer(job.monitoring_status),
        Value::Real(job.energy),
        json_text(&job.footprint),
    ];
    params.extend(duplicate_params(job));
    let inserted = db
        .execute(INSERT_UNLESS_DUPLICATE, &params)
        .map_err(JobsError::storage("insert into database failed: "))?;
    Ok(inserted.scalar().and_then(Value::as_i64))
}

/// Inserts the job, or names the stored job it duplicates. A duplicate deleted between the
/// refused insert and the lookup leaves nothing to report, so the insert is tried again.
fn insert_new_job(db: &dyn Sql, job: &Job) -> Result<i64, JobsError> {
    loop {
        if let Some(id) = insert_unless_duplicate(db, job)? {
            return Ok(id);
        }
        if let Some(id) = find_duplicate(db, job)? {
            return Err(JobsError::Duplicate {
                id,
                job_id: job.job_id,
            });
        }
    }
}

/// Stores a checked job with its tags so that concurrent identical starts from many component
/// instances yield exactly one row, and a failing tag leaves no job behind. Without tags that
/// is one statement; with tags, the insert and the tags share one `BEGIN IMMEDIATE`
/// transaction. Tag permissions are checked before anything is written.
pub(crate) fn store_started_job(
    db: &dyn Sql,
    job: &Job,
    user: Option<&User>,
) -> Result<i64, JobsError> {
    let tags: Vec<TagKey> = job
        .tags
        .iter()
        .map(|tag| TagKey::new(&tag.kind, &tag.name, &tag.scope).adding())
        .collect();
    for tag in &tags {
        check_write(user, &tag.scope).map_err(JobsError::TagNewJob)?;
    }
    if tags.is_empty() {
        return insert_new_job(db, job);
    }
    in_transaction(db, || {
        let id = insert_new_job(db, job)?;
        for tag in &tags {
            let tag = find_or_create_tag(db, tag).map_err(JobsError::TagNewJob)?;
            attach_tag(db, id, tag).map_err(JobsError::TagNewJob)?;
        }
        Ok(id)
    })
}

/// The job of a start request, checked against the configuration of its cluster below
/// `clusters_dir` (an unknown cluster is a sanity error); the sub-cluster is filled in.
pub(crate) fn checked_job(clusters_dir: &Path, request: StartJobRequest) -> Result<Job, JobsError> {
    let mut job = request.into_job();
    let cluster = load_cluster(clusters_dir, &job.cluster).map_err(|error| match error {
        ClusterError::UnknownCluster(name) => JobsError::Sanity(SanityError::NoSuchCluster(name)),
        other => JobsError::ClusterConfig(other),
    })?;
    check_sanity(&mut job, &cluster).map_err(JobsError::Sanity)?;
    Ok(job)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::http::status;
    use crate::repo::tests::{database, user};
    use cc_model::{JobState, Resource, Tag};
    use http::StatusCode;

    pub(crate) fn test_clusters() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters")
    }

    fn testcluster() -> Cluster {
        load_cluster(&test_clusters(), "testcluster").unwrap()
    }

    fn resource(host: &str) -> Resource {
        Resource {
            hostname: host.into(),
            configuration: String::new(),
            hwthreads: Vec::new(),
            accelerators: Vec::new(),
        }
    }

    fn valid_job() -> Job {
        let request: StartJobRequest = serde_json::from_str(
            r#"{"jobId":1,"user":"u","cluster":"testcluster","numNodes":1,
                "resources":[{"hostname":"host124"}],"startTime":100000}"#,
        )
        .unwrap();
        request.into_job()
    }

    /// A modification of the valid job.
    type Change = fn(&mut Job);

    fn sanity(change: impl FnOnce(&mut Job)) -> Result<Job, SanityError> {
        let mut job = valid_job();
        change(&mut job);
        check_sanity(&mut job, &testcluster()).map(|()| job)
    }

    #[test]
    fn sub_cluster_is_derived_from_the_first_host() {
        assert_eq!(sanity(|_| {}).unwrap().sub_cluster, "sc1");
        assert_eq!(
            sanity(|job| job.sub_cluster = "sc1".into())
                .unwrap()
                .sub_cluster,
            "sc1"
        );
    }

    #[test]
    fn sanity_checks_report_the_reference_texts_in_order() {
        let cases: [(Change, &str); 12] = [
            (
                (|job| job.sub_cluster = "sc9".into()),
                "ARCHIVE/CLUSTERCONFIG > already assigned subcluster sc9 unkown (cluster: testcluster)",
            ),
            (
                (|job| job.resources = Some(Vec::new())),
                "ARCHIVE/CLUSTERCONFIG > job without any resources/hosts",
            ),
            (
                (|job| job.resources = None),
                "ARCHIVE/CLUSTERCONFIG > job without any resources/hosts",
            ),
            (
                (|job| job.resources = Some(vec![resource("other1")])),
                "ARCHIVE/CLUSTERCONFIG > no subcluster found for cluster testcluster and host other1",
            ),
            (
                (|job| {
                    job.sub_cluster = "sc1".into();
                    job.resources = Some(Vec::new());
                }),
                "'resources' and 'user' should not be empty",
            ),
            (
                (|job| job.user.clear()),
                "'resources' and 'user' should not be empty",
            ),
            (
                (|job| job.num_nodes = 0),
                "'numNodes', 'numAcc' or 'numHWThreads' invalid",
            ),
            (
                (|job| job.num_acc = -1),
                "'numNodes', 'numAcc' or 'numHWThreads' invalid",
            ),
            (
                (|job| job.num_hwthreads = -1),
                "'numNodes', 'numAcc' or 'numHWThreads' invalid",
            ),
            (
                (|job| job.num_nodes = 2),
                "len(resources) does not equal numNodes (1 vs 2)",
            ),
            (
                (|job| job.shared = "exclusive".into()),
                "invalid value for 'shared': \"exclusive\" (must be none, single_user or multi_user)",
            ),
            (
                (|job| job.monitoring_status = 4),
                "invalid value for 'monitoringStatus': 4 (must be 0, 1, 2 or 3)",
            ),
        ];
        for (change, expected) in cases {
            assert_eq!(sanity(change).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn duplicate_window_is_one_sided() {
        let db = database();
        let stored = crate::repo::tests::insert_job(&db, 1, "testcluster", "u", "running", 100000);
        let duplicate_at = |start_time: i64, cluster: &str| {
            let mut job = valid_job();
            job.start_time = start_time;
            job.cluster = cluster.into();
            find_duplicate(&db, &job).unwrap()
        };
        assert_eq!(duplicate_at(100000, "testcluster"), Some(stored));
        assert_eq!(duplicate_at(100000 + 86399, "testcluster"), Some(stored));
        assert_eq!(duplicate_at(100000 + 86400, "testcluster"), None);
        assert_eq!(
            duplicate_at(100000 - 500000, "testcluster"),
            Some(stored),
            "a stored job that started later always counts"
        );
        assert_eq!(duplicate_at(i64::MIN, "testcluster"), Some(stored));
        assert_eq!(duplicate_at(i64::MAX, "testcluster"), None);
        assert_eq!(duplicate_at(100000, "emmy"), None);
    }

    #[test]
    fn started_jobs_are_stored_with_their_tags_in_one_go() {
        let db = database();
        let mut job = sanity(|job| {
            job.tags = vec![Tag {
                kind: "app".into(),
                name: "vasp".into(),
                scope: String::new(),
                id: 0,
            }]
        })
        .unwrap();
        let adapter = user("slurm", &["api"]);
        let id = store_started_job(&db, &job, Some(&adapter)).unwrap();
        let stored = db
            .execute(
                "SELECT job_state, subcluster, meta_data, footprint, typeof(resources) FROM job WHERE id = ?",
                &[Value::Integer(id)],
            )
            .unwrap();
        assert_eq!(
            stored.rows[0],
            [
                Value::from("running"),
                Value::from("sc1"),
                Value::from("null"),
                Value::from("null"),
                Value::from("text")
            ]
        );
        let tags = db
            .execute(
                "SELECT tag_scope FROM tag JOIN jobtag ON tag.id = jobtag.tag_id",
                &[],
            )
            .unwrap();
        assert_eq!(tags.rows, [[Value::from("global")]]);

        job.start_time += 10;
        let duplicate = store_started_job(&db, &job, Some(&adapter)).unwrap_err();
        assert_eq!(
            duplicate.to_string(),
            format!(
                "a job with that jobId, cluster and startTime already exists: dbid: {id}, jobid: 1"
            )
        );
        assert_eq!(status(&duplicate), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(job.job_state, JobState::Running);
    }

    #[test]
    fn a_refused_tag_leaves_no_job_behind() {
        let db = database();
        let private = |scope: &str| {
            sanity(|job| {
                job.tags = vec![Tag {
                    kind: "t".into(),
                    name: "n".into(),
                    scope: scope.into(),
                    id: 0,
                }]
            })
            .unwrap()
        };
        let adapter = user("slurm", &["api"]);
        let refused = store_started_job(&db, &private("alice"), Some(&adapter)).unwrap_err();
        assert_eq!(status(&refused), StatusCode::FORBIDDEN);
        db.execute(
            "INSERT INTO tag (tag_type, tag_name, tag_scope) VALUES ('t', 'n', 'admin')",
            &[],
        )
        .unwrap();
        let conflict = store_started_job(&db, &private("slurm"), Some(&adapter)).unwrap_err();
        assert_eq!(
            conflict.to_string(),
            "adding tag to new job failed: tag type \"t\" with name \"n\" already exists in scope \"admin\""
        );
        let count = db.execute("SELECT count(*) FROM job", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(0)));
    }
}
