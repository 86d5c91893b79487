//! `/api` main route group (JWT auth with the `api` / `admin`+`api` rule and the IP allow-list).
//! Each module holds the route table of one topic; the handlers live in the libraries.

mod clusters;

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[clusters::ROUTES];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::Api, ROUTES)
}

cc_web::spin_entry_point!(handle);
