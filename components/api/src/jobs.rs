use cc_jobs::{
    add_tags, delete_job_by_id, delete_job_by_request, delete_jobs_before, delete_tags,
    edit_meta_by_id, edit_meta_by_request, get_job, job_metrics, list_jobs, post_job, remove_tags,
    start_job, stop_job, used_nodes,
};
use cc_web::Route;
use http::Method;

/// Job control and query, tags (spec routes.md #6–#23).
pub static ROUTES: &[Route] = &[
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
