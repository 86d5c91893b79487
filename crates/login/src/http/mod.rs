//! The HTTP side of cc-login. `/login`, `/jwt-login`, `/logout` and `/` hang off the root router
//! (HTML pages, no API group, HTML 404 for anything else); `POST /config/notice/` is a route of the
//! config group.

mod admin;
mod login;
mod notice;
mod pages;

use cc_web::{add_common_headers, Platform, Request, Response};
use http::Method;

pub use notice::{ApiDoc, NOTICE_ROUTES};

/// The root router's pages (docs/auth.md#login).
pub fn handle_root(request: &Request, platform: &dyn Platform) -> Response {
    let mut response = if cc_web::is_cross_site_write(request) {
        cc_web::cross_site_refusal()
    } else {
        match (request.method(), request.uri().path()) {
            (&Method::GET, "/login") => login::login_form(request, platform),
            (&Method::POST, "/login") | (_, "/jwt-login") => login::login(request, platform),
            (&Method::POST, "/logout") => login::logout(request, platform),
            (&Method::GET, "/") => pages::home(request, platform),
            _ => pages::not_found(),
        }
    };
    add_common_headers(&mut response);
    response
}
