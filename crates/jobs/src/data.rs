//! A job with its metric data: `GET|POST /api/jobs/{id}` and `GET /api/jobs/metrics/{id}`
//! (docs/jobs.md#job-data-routes). The data comes from a [`JobDataSource`]; the routes use
//! [`StoredJobData`], which reads running jobs and jobs whose archiving is pending from the
//! sample store and all others from the archive (docs/jobs.md#job-data-source).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use crate::archive::{load_archived, ArchiveError};
use cc_auth::{job_scope, JobScope, Role, User};
use cc_metricstore::jobdata::{self, JobMetric};
use cc_metricstore::plan::{load_from_store, LoadError, LoadRequest};
use cc_metricstore::store::StoredSamples;
use cc_model::{load_cluster, Cluster, ClusterError, Job, JobState, MetricScope};
use cc_store::Sql;

use crate::error::{JobsError, LookupError};
use crate::query::QueryError;
use crate::repo::{find_by_id, load_visible_tags, monitoring, unix_now};

/// Job data as the routes answer it: metric name → scope name → JobMetric
/// (docs/metricstore.md#job-data-json). Scopes are keyed by name so that they sort like Go's map keys; the
/// metric store's map orders them by granularity.
pub type JobDataResponse = BTreeMap<String, BTreeMap<&'static str, JobMetric>>;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Store(#[from] LoadError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Where job data comes from. `request.scopes` empty: the source's default (the store loads
/// node scope, the archive every stored scope).
pub trait JobDataSource {
    fn load(
        &self,
        job: &Job,
        cluster: &Cluster,
        request: &LoadRequest<'_>,
    ) -> Result<JobDataResponse, DataError>;
}

/// The data of the shared database: its sample store or its archive.
pub struct StoredJobData<'a> {
    db: &'a dyn Sql,
}

impl<'a> StoredJobData<'a> {
    pub fn new(db: &'a dyn Sql) -> Self {
        StoredJobData { db }
    }
}

/// Builds a request's data source over its database connection.
pub(crate) type SourceFactory = for<'db> fn(&'db dyn Sql) -> Box<dyn JobDataSource + 'db>;

pub(crate) fn stored_job_data<'db>(db: &'db dyn Sql) -> Box<dyn JobDataSource + 'db> {
    Box::new(StoredJobData::new(db))
}

impl JobDataSource for StoredJobData<'_> {
    /// A stopped job without archive (monitoring disabled or archiving failed) has no data.
    fn load(
        &self,
        job: &Job,
        cluster: &Cluster,
        request: &LoadRequest<'_>,
    ) -> Result<JobDataResponse, DataError> {
        let data = if job.job_state == JobState::Running
            || job.monitoring_status == monitoring::ARCHIVING_PENDING
        {
            let samples = StoredSamples::new(self.db);
            load_from_store(&samples, job, cluster, request, unix_now())?
        } else {
            load_archived(
                self.db,
                job.id.unwrap_or_default(),
                request.metrics,
                Some(request.scopes),
                request.resolution,
            )?
            .unwrap_or_default()
        };
        Ok(by_scope_name(data))
    }
}

fn by_scope_name(data: jobdata::JobData) -> JobDataResponse {
    data.into_iter()
        .map(|(name, scopes)| {
            let scopes = scopes
                .into_iter()
                .map(|(scope, metric)| (scope.as_str(), metric))
                .collect();
            (name, scopes)
        })
        .collect()
}

/// The cluster of a stored job; it may have been removed from the configuration since.
fn cluster_of(clusters_dir: &Path, job: &Job) -> Result<Cluster, JobsError> {
    load_cluster(clusters_dir, &job.cluster).map_err(|error| match error {
        ClusterError::UnknownCluster(cluster) => JobsError::UnknownJobCluster {
            id: job.id.unwrap_or_default(),
            cluster,
        },
        other => JobsError::ClusterConfig(other),
    })
}

/// The job of `/api/jobs/{id}` with row-level security, its visible tags and its metadata.
pub(crate) fn job_with_meta(db: &dyn Sql, id: i64, user: Option<&User>) -> Result<Job, JobsError> {
    let not_found = |error| JobsError::FindJobById { id, error };
    let scope = job_scope(user).map_err(|error| not_found(error.into()))?;
    let mut job = find_by_id(db, id, &scope, true, unix_now())?
        .ok_or_else(|| not_found(LookupError::NoRows))?;
    load_visible_tags(db, &mut job, user)?;
    Ok(job)
}

/// The data of `GET|POST /api/jobs/{id}`, the job's cluster read below `clusters_dir`: core
/// scope for single-node jobs, node scope otherwise; the coarsest timestep of the cluster's
/// metrics.
pub(crate) fn load_for_job_page(
    source: &dyn JobDataSource,
    clusters_dir: &Path,
    job: &Job,
    metrics: Option<&[String]>,
) -> Result<JobDataResponse, JobsError> {
    let cluster = cluster_of(clusters_dir, job)?;
    let scope = if job.num_nodes == 1 {
        MetricScope::Core
    } else {
        MetricScope::Node
    };
    let resolution = cluster
        .metric_config
        .iter()
        .map(|metric| metric.timestep)
        .max()
        .unwrap_or_default();
    let request = LoadRequest {
        metrics,
        scopes: &[scope],
        resolution,
    };
    source
        .load(job, &cluster, &request)
        .map_err(JobsError::LoadData)
}

/// Why `/jobs/metrics/{id}` could not deliver; reported inside a 200 body.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MetricsFailure {
    #[error("{0}")]
    InvalidId(String),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("you are not allowed to see this job")]
    NotOwner,
    #[error(transparent)]
    Jobs(#[from] JobsError),
}

/// Only the job's owner, or a manager, support or admin, may read its metrics here.
fn may_see(user: Option<&User>, job: &Job) -> bool {
    user.is_some_and(|user| {
        user.username == job.user
            || [Role::Admin, Role::Support, Role::Manager]
                .into_iter()
                .any(|role| user.has_role(role))
    })
}

/// Parsed `metric` and `scope` parameters of the metrics route; both empty when absent.
pub(crate) struct MetricSelection {
    metrics: Option<Vec<String>>,
    scopes: Vec<MetricScope>,
}

pub(crate) fn metric_selection(query: &[(String, String)]) -> Result<MetricSelection, QueryError> {
    let metrics: Vec<String> = query
        .iter()
        .filter(|(key, _)| key == "metric")
        .map(|(_, value)| value.clone())
        .collect();
    let scopes = query
        .iter()
        .filter(|(key, _)| key == "scope")
        .map(|(_, value)| MetricScope::from_str(value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MetricSelection {
        metrics: (!metrics.is_empty()).then_some(metrics),
        scopes,
    })
}

/// The job of `/jobs/metrics/{id}`, if `scope` lets the caller see it and [`may_see`] lets
/// `user` read its metrics.
pub(crate) fn job_for_metrics(
    db: &dyn Sql,
    id: i64,
    scope: &JobScope,
    user: Option<&User>,
) -> Result<Job, MetricsFailure> {
    let job = find_by_id(db, id, scope, false, unix_now())?.ok_or(LookupError::NoRows)?;
    if !may_see(user, &job) {
        return Err(MetricsFailure::NotOwner);
    }
    Ok(job)
}

/// The selected metrics of `/jobs/metrics/{id}`, the job's cluster read below `clusters_dir`.
pub(crate) fn load_selected_metrics(
    source: &dyn JobDataSource,
    clusters_dir: &Path,
    job: &Job,
    selection: &MetricSelection,
) -> Result<JobDataResponse, JobsError> {
    let cluster = cluster_of(clusters_dir, job)?;
    // Resampling is not configurable yet, so the native resolution is used (docs/jobs.md#job-metrics-route).
    let request = LoadRequest {
        metrics: selection.metrics.as_deref(),
        scopes: &selection.scopes,
        resolution: 0,
    };
    source
        .load(job, &cluster, &request)
        .map_err(JobsError::LoadData)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_app::{an_hour_ago, load_samples, App};

    #[test]
    fn running_jobs_read_the_store_and_archived_jobs_the_archive() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        let id = app.start_job(1, start, "");
        let path = format!("/api/jobs/{id}?all-metrics=true");
        let data = |body: &str| body[body.find("\"Data\"").unwrap()..].to_owned();
        // Single-node job: core scope requested, load_one is delivered at its native node scope.
        let expected = concat!(
            r#""Data":{"load_one":{"node":{"unit":{"base":""},"series":[{"hostname":"host123","#,
            r#""statistics":{"min":0.50,"avg":2.50,"max":4.50},"data":[0.50,1.50,2.50,3.50,4.50]}],"#,
            r#""timestep":60}}}}"#,
            "\n"
        );
        assert_eq!(data(&app.get(&path)), expected, "running: from the store");

        app.stop_job(1, start + 300);
        assert_eq!(app.monitoring_status(id), monitoring::ARCHIVED);
        let db = app.db();
        db.execute("DELETE FROM metric_batch", &[]).unwrap();
        db.execute("DELETE FROM metric_chunk", &[]).unwrap();
        assert_eq!(
            data(&app.get(&path)),
            expected,
            "archived: from the archive"
        );
        // No scope requested: every stored scope of the archive.
        let metrics = app.get(&format!("/api/jobs/metrics/{id}"));
        assert!(
            metrics.starts_with(concat!(
                r#"{"data":{"jobMetrics":[{"name":"load_one","scope":"node","metric":"#,
                r#"{"unit":{"base":""},"series":[{"hostname":"host123","#
            )),
            "{metrics}"
        );

        let unmonitored = app.start_job(2, start, r#","monitoringStatus":0"#);
        app.stop_job(2, start + 300);
        let body = app.get(&format!("/api/jobs/{unmonitored}?all-metrics=true"));
        assert!(body.ends_with("\"Data\":{}}\n"), "{body}");
    }
}
