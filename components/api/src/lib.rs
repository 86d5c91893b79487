//! `/api` main route group (JWT auth with the `api` / `admin`+`api` rule and the IP allow-list).
//! The component only picks route tables; handlers live in the libraries' `http` modules.

use cc_auth::Group;
use cc_nodes::http::{
    machine_state_enabled, CLUSTER_ROUTES, MACHINE_STATE_ROUTES, NODE_STATE_ROUTES,
};
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[
    CLUSTER_ROUTES,
    cc_jobs::http::API_ROUTES,
    NODE_STATE_ROUTES,
    cc_users::http::API_ROUTES,
];

static ROUTES_WITH_MACHINE_STATE: &[&[Route]] = &[
    CLUSTER_ROUTES,
    cc_jobs::http::API_ROUTES,
    NODE_STATE_ROUTES,
    MACHINE_STATE_ROUTES,
    cc_users::http::API_ROUTES,
];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    // Disabled machine-state routes are absent, so even unauthenticated requests get the 404.
    let routes = if machine_state_enabled(platform) {
        ROUTES_WITH_MACHINE_STATE
    } else {
        ROUTES
    };
    dispatch(request, platform, Group::Api, routes)
}

cc_web::spin_entry_point!(handle);
