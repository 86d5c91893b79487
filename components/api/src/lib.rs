//! `/api` main route group (JWT auth with the `api` / `admin`+`api` rule and the IP allow-list).

mod clusters;

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};
use http::Method;

static ROUTES: &[Route] = &[Route::new(
    Method::GET,
    "/api/clusters/",
    clusters::get_clusters,
)];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::Api, ROUTES)
}

cc_web::spin_entry_point!(handle);
