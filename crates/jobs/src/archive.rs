//! The job archive in the database (docs/jobs.md#archiving-after-stop): what cc-backend writes as
//! `meta.json` and `data.json[.gz]` below its archive directory is a `job_archive` row here,
//! written before the job is marked archived.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use cc_applog::{report, Priority};
use cc_auth::JobScope;
use cc_metricstore::jobdata::ResampleError;
use cc_metricstore::jobdata::{
    decode_data_file, encode_data_file, energy, footprint, job_statistics, select_archived,
    DataFileError, JobData, COMPRESSED_DATA_FILE,
};
use cc_metricstore::plan::{load_from_store, LoadError, LoadRequest};
use cc_metricstore::store::StoredSamples;
use cc_model::{load_cluster, to_go_json, Cluster, ClusterError, Job, JobStatistics, MetricScope};
use cc_store::{Sql, StoreError, Value};

use crate::error::JobsError;
use crate::repo::{find_by_id, unix_now};
use crate::tagging::classify_archived_job;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("loading job data for archiving failed: {0}")]
    Load(#[from] LoadError),
    #[error("job {0} belongs to sub-cluster {1}, which its cluster does not configure")]
    UnknownSubCluster(i64, String),
    #[error("encoding the archive failed: {0}")]
    Encode(String),
    #[error("encoding the archive failed: {0}")]
    DataFile(#[from] DataFileError),
    #[error("stored archive of job {0} is unreadable: {1}")]
    Corrupt(i64, String),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Archives a stopped job: its data from the sample store at native resolution (scopes node,
/// core for jobs of up to 8 nodes, accelerator when it has accelerators), per-metric
/// statistics, footprint and energy; then the archive is stored, and after it the job gets its
/// footprint and energy and `monitoring_status` 3. Each is one statement holding the write lock
/// alone; in this order no job is marked archived without its archive, and a job whose instance
/// ends in between stays pending and is archived again (the archive is replaced). The job must
/// carry its metadata.
pub fn archive_job(
    db: &dyn Sql,
    job: &Job,
    cluster: &Cluster,
    now: i64,
) -> Result<(), ArchiveError> {
    let id = job.id.unwrap_or_default();
    let mut scopes = vec![MetricScope::Node];
    if job.num_nodes <= 8 {
        scopes.push(MetricScope::Core);
    }
    if job.num_acc > 0 {
        scopes.push(MetricScope::Accelerator);
    }
    let request = LoadRequest {
        metrics: None,
        scopes: &scopes,
        resolution: 0,
    };
    let data = load_from_store(&StoredSamples::new(db), job, cluster, &request, now)?;
    let statistics = job_statistics(&data, cluster, job.num_nodes);
    let sub_cluster = cluster
        .subcluster(&job.sub_cluster)
        .ok_or_else(|| ArchiveError::UnknownSubCluster(id, job.sub_cluster.clone()))?;
    let job_footprint = footprint(&statistics, sub_cluster);
    let (energy_footprint, total_energy) =
        energy(&statistics, sub_cluster, job.num_nodes, job.duration);

    let mut meta = job.clone();
    meta.tags.clear();
    meta.statistics = Some(statistics);
    let meta = go_json_text(&meta)?;
    let data = encode_data_file(&data)?;
    let (job_footprint, energy_footprint) = (
        go_json_text(&job_footprint)?,
        go_json_text(&energy_footprint)?,
    );
    db.execute(
        "INSERT OR REPLACE INTO job_archive (job_id, meta, data_file, data) \
         VALUES (?1, ?2, ?3, ?4)",
        &[
            Value::Integer(id),
            meta.into(),
            data.name.into(),
            Value::Blob(data.contents),
        ],
    )?;
    db.execute(
        "UPDATE job SET footprint = ?2, energy_footprint = ?3, energy = ?4, \
         monitoring_status = 3 WHERE id = ?1",
        &[
            Value::Integer(id),
            job_footprint.into(),
            energy_footprint.into(),
            Value::Real(total_energy),
        ],
    )?;
    Ok(())
}

/// Marks a job whose archiving failed (monitoring status 2).
pub fn mark_archiving_failed(db: &dyn Sql, job_id: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE job SET monitoring_status = 2 WHERE id = ?1",
        &[Value::Integer(job_id)],
    )
    .map(|_| ())
}

/// JSON as cc-backend writes it, without the trailing newline.
fn go_json_text<T: serde::Serialize>(value: &T) -> Result<String, ArchiveError> {
    let json = to_go_json(value).map_err(|error| ArchiveError::Encode(error.to_string()))?;
    let text = String::from_utf8(json).map_err(|error| ArchiveError::Encode(error.to_string()))?;
    Ok(text.trim_end().to_owned())
}

/// The archived data of a job, cut to the requested metrics and scopes and resampled to
/// `resolution` (docs/metricstore.md#archived-job-data); `None` when the job has no archive.
pub fn load_archived(
    db: &dyn Sql,
    job_id: i64,
    metrics: Option<&[String]>,
    scopes: Option<&[MetricScope]>,
    resolution: i64,
) -> Result<Option<JobData>, ArchiveError> {
    let rows = db.execute(
        "SELECT data_file, data FROM job_archive WHERE job_id = ?1",
        &[Value::Integer(job_id)],
    )?;
    let Some([name, Value::Blob(contents)]) = rows.rows.first().map(Vec::as_slice) else {
        return Ok(None);
    };
    let compressed = name.as_str() == Some(COMPRESSED_DATA_FILE);
    let data = decode_data_file(contents, compressed)
        .map_err(|error| ArchiveError::Corrupt(job_id, error.to_string()))?;
    Ok(Some(select_archived(data, metrics, scopes, resolution)?))
}

/// The archived statistics of the given jobs (for `GET /api/jobs/`); jobs without a readable
/// archive are left out (docs/compatibility.md#unreadable-archives-do-not-fail-the-job-list: the list does not fail for them).
pub fn archived_statistics(
    db: &dyn Sql,
    job_ids: &[i64],
) -> Result<HashMap<i64, BTreeMap<String, JobStatistics>>, StoreError> {
    let mut statistics = HashMap::new();
    for group in job_ids.chunks(500) {
        let placeholders = vec!["?"; group.len()].join(",");
        let params: Vec<Value> = group.iter().map(|id| Value::Integer(*id)).collect();
        let rows = db.execute(
            &format!(
                "SELECT job_id, json_extract(meta, '$.statistics') FROM job_archive \
                 WHERE job_id IN ({placeholders})"
            ),
            &params,
        )?;
        for row in rows.rows {
            if let (Some(id), Some(json)) = (row[0].as_i64(), row[1].as_str()) {
                if let Ok(parsed) = serde_json::from_str(json) {
                    statistics.insert(id, parsed);
                }
            }
        }
    }
    Ok(statistics)
}

/// Copies a job's metadata into its archived `meta.json` (edit_meta of a stopped job).
pub fn update_archived_metadata(
    db: &dyn Sql,
    job_id: i64,
    meta_data: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(meta_data).expect("string maps serialise");
    db.execute(
        "UPDATE job_archive SET meta = json_set(meta, '$.metaData', json(?2)) WHERE job_id = ?1",
        &[Value::Integer(job_id), json.into()],
    )
    .map(|_| ())
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

/// Archives the stopped job `id` from the database's sample store (docs/jobs.md#archiving-after-stop).
fn archive(db: &dyn Sql, clusters_dir: &Path, id: i64) -> Result<(), ArchivingFailure> {
    let now = unix_now();
    let job = find_by_id(db, id, &JobScope::All, true, now)?.ok_or(ArchivingFailure::NoJob)?;
    let cluster = load_cluster(clusters_dir, &job.cluster)?;
    archive_job(db, &job, &cluster, now)?;
    Ok(())
}

/// The component archiving and the automatic tagger runs happen in, the `unit` of what they
/// report to the application log (docs/applog.md#events-of-other-crates).
pub(crate) const API_UNIT: &str = "api";

/// Archives the stopped job `id`, then classifies it when `taggers_dir` is given (taggers
/// enabled: docs/taggers.md#automatic-runs); a failure is reported and marks the job (monitoring
/// status 2, also where the reference leaves 1 or crashes:
/// docs/compatibility.md#failed-archiving-is-marked).
fn archive_stopped_job(db: &dyn Sql, clusters_dir: &Path, taggers_dir: Option<&Path>, id: i64) {
    match archive(db, clusters_dir, id) {
        Ok(()) => {
            if let Some(taggers_dir) = taggers_dir {
                classify_archived_job(db, taggers_dir, clusters_dir, id);
            }
        }
        Err(failure) => {
            let message = format!("archiving job {id} failed: {failure}");
            report(db, Priority::Error, API_UNIT, &message);
            if let Err(error) = mark_archiving_failed(db, id) {
                let message = format!("job {id} could not be marked as failed to archive: {error}");
                report(db, Priority::Error, API_UNIT, &message);
            }
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
pub(crate) fn archive_after_stop(
    db: &dyn Sql,
    clusters_dir: &Path,
    taggers_dir: Option<&Path>,
    id: i64,
) {
    archive_stopped_job(db, clusters_dir, taggers_dir, id);
    match overdue_job(db, unix_now()) {
        Ok(Some(overdue)) if overdue != id => {
            archive_stopped_job(db, clusters_dir, taggers_dir, overdue)
        }
        Ok(_) => {}
        Err(error) => {
            let message = format!("looking for jobs awaiting their archive failed: {error}");
            report(db, Priority::Error, API_UNIT, &message);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use cc_applog::{query, LogFilter};

    use super::*;
    use crate::test_app::{an_hour_ago, App};

    /// The priority, unit and message of every application log entry, oldest first.
    pub(crate) fn logged(app: &App) -> Vec<(u8, String, String)> {
        let everything = LogFilter {
            since_us: 0,
            lines: cc_applog::MAX_LINES,
            max_priority: Priority::Debug,
            search: String::new(),
        };
        query(app.db().as_ref(), &everything)
            .unwrap()
            .into_iter()
            .map(|entry| (entry.priority, entry.unit, entry.message))
            .collect()
    }

    #[test]
    fn a_failed_archiving_is_reported_to_the_application_log() {
        let app = App::api();
        let start = an_hour_ago();
        let id = app.start_job(1, start, "");
        std::fs::remove_dir_all(app.platform.clusters_dir.join("testcluster")).unwrap();
        app.stop_job(1, start + 300);
        let failure = load_cluster(&app.platform.clusters_dir, "testcluster").unwrap_err();
        assert_eq!(
            logged(&app),
            [(
                Priority::Error as u8,
                API_UNIT.to_owned(),
                format!("archiving job {id} failed: {failure}")
            )]
        );
    }
}
