//! Metric-store route group (`/api/write`, `/api/free`, `/api/debug`, `/api/healthcheck`, each with
//! and without trailing slash), authenticated with the metric-store role rule.

use cc_auth::Group;
use cc_metricstore::handlers::{debug, free, write};
use cc_users::update_node_states;
use cc_web::{dispatch, Platform, Request, Response, Route};
use http::Method;

static ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/write", write),
    Route::new(Method::POST, "/api/write/", write),
    Route::new(Method::POST, "/api/free", free),
    Route::new(Method::POST, "/api/free/", free),
    Route::new(Method::GET, "/api/debug", debug),
    Route::new(Method::GET, "/api/debug/", debug),
    Route::new(Method::POST, "/api/healthcheck", update_node_states),
    Route::new(Method::POST, "/api/healthcheck/", update_node_states),
];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::MetricStore, &[ROUTES])
}

cc_web::spin_entry_point!(handle);
