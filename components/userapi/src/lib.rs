//! `/userapi` route group: read-only job routes for user tokens (`api` plus a user-level role).
//! The handlers are those of `/api`; row-level security follows the caller's roles.

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[cc_jobs::http::USERAPI_ROUTES];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::UserApi, ROUTES)
}

cc_web::spin_entry_point!(handle);
