//! `/api` main route group (JWT auth with the `api` / `admin`+`api` rule and the IP allow-list).
//! Each module holds the route table of one topic; the handlers live in the libraries.

mod clusters;
mod jobs;
mod machine_state;
mod nodes;
mod users;

use cc_auth::Group;
use cc_users::machine_state_enabled;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[clusters::ROUTES, jobs::ROUTES, nodes::ROUTES, users::ROUTES];

static ROUTES_WITH_MACHINE_STATE: &[&[Route]] = &[
    clusters::ROUTES,
    jobs::ROUTES,
    nodes::ROUTES,
    machine_state::ROUTES,
    users::ROUTES,
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
