//! `/frontend/...` route group: per-user endpoints of the web UI (session auth, any user).

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[
    cc_users::http::FRONTEND_ROUTES,
    cc_web::applog::FRONTEND_LOG_ROUTES,
];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::Frontend, ROUTES)
}

cc_web::spin_entry_point!(handle);
