//! Session routes on the root router (`/login`, `/jwt-login`, `/logout`). They are not an API group:
//! no authentication middleware, and paths they do not serve get cc-backend's HTML 404 page.

use cc_web::{with_content_type, Platform, Request, Response};
use http::{Method, StatusCode};

const LOGIN_PAGE: &str = include_str!("login.html");
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Not found</title></head>\
<body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>\n";

fn html(status: StatusCode, page: &'static str) -> Response {
    with_content_type(status, page.as_bytes().to_vec(), "text/html; charset=utf-8")
}

pub fn handle(request: &Request, _platform: &dyn Platform) -> Response {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/login") => html(StatusCode::OK, LOGIN_PAGE),
        _ => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
    }
}

cc_web::spin_entry_point!(handle);
