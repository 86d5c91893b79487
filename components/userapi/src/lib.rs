//! `/userapi` route group: read-only job routes for user tokens (`api` plus a user-level role).
//! The handlers are those of `/api`; row-level security follows the caller's roles.

use cc_auth::Group;
use cc_jobs::{get_job, job_metrics, list_jobs, post_job};
use cc_web::{dispatch, Platform, Request, Response, Route};
use http::Method;

static JOB_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/userapi/jobs/", list_jobs),
    Route::new(Method::POST, "/userapi/jobs/{id}", post_job),
    Route::new(Method::GET, "/userapi/jobs/{id}", get_job),
    Route::new(Method::GET, "/userapi/jobs/metrics/{id}", job_metrics),
];

static ROUTES: &[&[Route]] = &[JOB_ROUTES];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::UserApi, ROUTES)
}

cc_web::spin_entry_point!(handle);
