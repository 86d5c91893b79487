//! `/config/...` route group: user and notice administration for logged-in admins (session auth).

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[
    cc_login::http::NOTICE_ROUTES,
    cc_users::http::CONFIG_ROUTES,
    cc_jobs::http::TAGGER_ROUTES,
];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::Config, ROUTES)
}

cc_web::spin_entry_point!(handle);
