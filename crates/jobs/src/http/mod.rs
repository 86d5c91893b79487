//! All HTTP code of the job routes: the handlers, the route tables the components mount and the
//! one mapping from [`JobsError`] to [`ApiError`]. The handlers parse requests and build
//! responses; the work is done by the domain modules.

mod data;
mod delete;
mod meta;
mod query;
mod start_stop;
mod taggers;
mod tags;

use cc_gocompat::parse_int;
use cc_web::{decode_strict, json_response, ApiError, Ctx, Response, Route};
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::JobsError;
use crate::stop::StopProblem;
use crate::tags::TagError;

pub use data::{get_job, job_metrics, post_job};
pub use delete::{delete_job_by_id, delete_job_by_request, delete_jobs_before};
pub use meta::{edit_meta_by_id, edit_meta_by_request};
pub use query::{list_jobs, used_nodes};
pub use start_stop::{start_job, stop_job};
pub use taggers::{list_taggers, run_tagger, TAGGER_ROUTES};
pub use tags::{add_tags, delete_tags, remove_tags};

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    start_stop::start_job,
    start_stop::stop_job,
    query::list_jobs,
    query::used_nodes,
    tags::add_tags,
    tags::remove_tags,
    meta::edit_meta_by_id,
    meta::edit_meta_by_request,
    data::job_metrics,
    delete::delete_job_by_request,
    delete::delete_job_by_id,
    delete::delete_jobs_before,
    data::post_job,
    data::get_job,
    tags::delete_tags,
    taggers::list_taggers,
    taggers::run_tagger,
))]
pub struct ApiDoc;

/// Job control and query, tags (docs/api.md#main-api-group): the routes of the `/api` group.
pub static API_ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/jobs/start_job/", start_job),
    Route::new(Method::PUT, "/api/jobs/start_job/", start_job),
    Route::new(Method::POST, "/api/jobs/stop_job/", stop_job),
    Route::new(Method::PUT, "/api/jobs/stop_job/", stop_job),
    Route::new(Method::GET, "/api/jobs/", list_jobs),
    Route::new(Method::GET, "/api/jobs/used_nodes", used_nodes),
    Route::new(Method::POST, "/api/jobs/tag_job/{id}", add_tags),
    Route::new(Method::PATCH, "/api/jobs/tag_job/{id}", add_tags),
    Route::new(Method::DELETE, "/api/jobs/tag_job/{id}", remove_tags),
    Route::new(Method::PATCH, "/api/jobs/edit_meta/{id}", edit_meta_by_id),
    Route::new(Method::PATCH, "/api/jobs/edit_meta/", edit_meta_by_request),
    Route::new(Method::GET, "/api/jobs/metrics/{id}", job_metrics),
    Route::new(
        Method::DELETE,
        "/api/jobs/delete_job/",
        delete_job_by_request,
    ),
    Route::new(
        Method::DELETE,
        "/api/jobs/delete_job/{id}",
        delete_job_by_id,
    ),
    Route::new(
        Method::DELETE,
        "/api/jobs/delete_job_before/{ts}",
        delete_jobs_before,
    ),
    Route::new(Method::POST, "/api/jobs/{id}", post_job),
    Route::new(Method::GET, "/api/jobs/{id}", get_job),
    Route::new(Method::DELETE, "/api/tags/", delete_tags),
];

/// The read-only job routes of the `/userapi` group (user tokens); the handlers are those of
/// `/api`, row-level security follows the caller's roles.
pub static USERAPI_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/userapi/jobs/", list_jobs),
    Route::new(Method::POST, "/userapi/jobs/{id}", post_job),
    Route::new(Method::GET, "/userapi/jobs/{id}", get_job),
    Route::new(Method::GET, "/userapi/jobs/metrics/{id}", job_metrics),
];

/// The HTTP status of a failure.
pub(crate) fn status(error: &JobsError) -> StatusCode {
    match error {
        JobsError::ParseBody(_)
        | JobsError::DecodeRequest(_)
        | JobsError::JobIdRequired
        | JobsError::PathInteger { .. }
        | JobsError::ParseJobId(_)
        | JobsError::Sanity(_)
        | JobsError::Query(_) => StatusCode::BAD_REQUEST,
        JobsError::Duplicate { .. } | JobsError::UnknownJobCluster { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        JobsError::Stop { problem, .. } => stop_status(problem),
        JobsError::FindJob(_) => StatusCode::NOT_FOUND,
        JobsError::FindJobByRequest(_) | JobsError::FindJobById { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        JobsError::TagNewJob(error) | JobsError::AddTag(error) | JobsError::RemoveTag(error) => {
            tag_status(error)
        }
        JobsError::NothingDeleted(_) => StatusCode::NOT_FOUND,
        JobsError::DeleteJob(_) | JobsError::DeleteJobs(_) => StatusCode::UNPROCESSABLE_ENTITY,
        JobsError::JobScope(_) => StatusCode::FORBIDDEN,
        JobsError::UpdateMetadata(_)
        | JobsError::LoadData(_)
        | JobsError::ClusterConfig(_)
        | JobsError::CorruptRow { .. }
        | JobsError::Storage { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn stop_status(problem: &StopProblem) -> StatusCode {
    match problem {
        StopProblem::AlreadyStopped(_) => StatusCode::UNPROCESSABLE_ENTITY,
        StopProblem::StopBeforeStart { .. }
        | StopProblem::InvalidState(_)
        | StopProblem::StillRunning => StatusCode::BAD_REQUEST,
        StopProblem::Marking { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn tag_status(error: &TagError) -> StatusCode {
    match error {
        TagError::NoUser => StatusCode::UNAUTHORIZED,
        TagError::NotAllowed => StatusCode::FORBIDDEN,
        TagError::ScopeConflict { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        TagError::NotFound { .. } => StatusCode::NOT_FOUND,
        TagError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<JobsError> for ApiError {
    fn from(error: JobsError) -> Self {
        ApiError::new(status(&error), error.to_string())
    }
}

/// The request body, decoded strictly; a failure is [`JobsError::ParseBody`].
fn parse_body<T: DeserializeOwned>(ctx: &Ctx) -> Result<T, JobsError> {
    decode_strict(ctx.request.body()).map_err(JobsError::ParseBody)
}

/// The request body, decoded strictly; a failure is [`JobsError::DecodeRequest`].
fn decode_request<T: DeserializeOwned>(ctx: &Ctx) -> Result<T, JobsError> {
    decode_strict(ctx.request.body()).map_err(JobsError::DecodeRequest)
}

/// The integer path parameter `name`; a failure is [`JobsError::PathInteger`].
fn path_integer(ctx: &Ctx, name: &'static str) -> Result<i64, JobsError> {
    parse_int(ctx.param(name)).map_err(|error| JobsError::PathInteger { name, error })
}

/// The job id of a `tag_job/{id}` or `edit_meta/{id}` route; a failure is
/// [`JobsError::ParseJobId`].
fn job_id_param(ctx: &Ctx) -> Result<i64, JobsError> {
    parse_int(ctx.param("id")).map_err(JobsError::ParseJobId)
}

/// The `{"msg":…}` body of a successful start or delete.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = JobMessage, example = json!({"msg": "success"}))]
struct Message<'a> {
    /// What was done.
    msg: &'a str,
}

/// A `{"msg":…}` answer.
fn message(status: StatusCode, text: &str) -> Result<Response, ApiError> {
    json_response(status, &Message { msg: text })
}
