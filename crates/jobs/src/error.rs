//! Every failure of the job routes, with the reference's message texts. Their HTTP statuses are
//! given in [`crate::http`].

use cc_auth::JobScopeError;
use cc_model::ClusterError;
use cc_store::StoreError;

use crate::data::DataError;
use crate::query::QueryError;
use crate::start::SanityError;
use crate::stop::StopProblem;
use crate::tags::TagError;

/// Why a job to act on was not found.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Go's `sql.ErrNoRows` text, which clients of the reference see.
    #[error("sql: no rows in result set")]
    NoRows,
    #[error(transparent)]
    Scope(#[from] JobScopeError),
}

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("parsing request body failed: {0}")]
    ParseBody(String),
    #[error("decoding request failed: {0}")]
    DecodeRequest(String),
    #[error("the field 'jobId' is required")]
    JobIdRequired,
    #[error("integer expected in path for {name}: {error}")]
    PathInteger { name: &'static str, error: String },
    #[error("parsing job ID failed: {0}")]
    ParseJobId(String),
    #[error(transparent)]
    Sanity(#[from] SanityError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(
        "a job with that jobId, cluster and startTime already exists: dbid: {id}, jobid: {job_id}"
    )]
    Duplicate { id: i64, job_id: i64 },
    #[error("jobId {job_id} (id {id}) on {cluster} : {problem}")]
    Stop {
        job_id: i64,
        id: i64,
        cluster: String,
        problem: StopProblem,
    },
    /// The job a route acts on (stop_job, tag_job, edit_meta/{id}).
    #[error("finding job failed: {0}")]
    FindJob(LookupError),
    /// The job named by a request body (delete_job/, edit_meta/).
    #[error("finding job failed: {0}")]
    FindJobByRequest(LookupError),
    /// The job of `GET|POST /api/jobs/{id}`.
    #[error("finding job with db id {id} failed: {error}")]
    FindJobById { id: i64, error: LookupError },
    /// docs/compatibility.md#jobs-of-unconfigured-clusters: the reference crashes here; a job outlives its cluster's configuration.
    #[error("job {id} belongs to cluster {cluster}, which is not configured")]
    UnknownJobCluster { id: i64, cluster: String },
    #[error("adding tag to new job failed: {0}")]
    TagNewJob(TagError),
    #[error("adding tag failed: {0}")]
    AddTag(TagError),
    #[error("removing tag failed: {0}")]
    RemoveTag(TagError),
    /// docs/compatibility.md#deleting-a-missing-job-is-a-404: the reference answers 200 for a job that does not exist.
    #[error("deleting job failed: no job with db id {0}")]
    NothingDeleted(String),
    #[error("deleting job failed: {0}")]
    DeleteJob(StoreError),
    #[error("deleting jobs failed: {0}")]
    DeleteJobs(StoreError),
    #[error("updating metadata failed: {0}")]
    UpdateMetadata(StoreError),
    /// docs/compatibility.md#job-data-failures-are-json-errors: the reference answers 200 with an empty body.
    #[error("loading job data failed: {0}")]
    LoadData(DataError),
    #[error(transparent)]
    JobScope(JobScopeError),
    #[error("loading cluster configuration failed: {0}")]
    ClusterConfig(ClusterError),
    #[error("job {id}: column {column} holds invalid data: {problem}")]
    CorruptRow {
        id: i64,
        column: &'static str,
        problem: String,
    },
    #[error("{context}{error}")]
    Storage {
        context: &'static str,
        error: StoreError,
    },
}

impl JobsError {
    /// A storage failure, its message prefixed with what was being done.
    pub(crate) fn storage(context: &'static str) -> impl FnOnce(StoreError) -> JobsError {
        move |error| JobsError::Storage { context, error }
    }
}

impl From<StoreError> for JobsError {
    fn from(error: StoreError) -> Self {
        JobsError::Storage { context: "", error }
    }
}
