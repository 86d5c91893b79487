//! Session routes on the root router (`/login`, `/jwt-login`, `/logout`). They are not an API group:
//! no authentication middleware, and paths they do not serve get cc-backend's HTML 404 page.

use cc_web::{Platform, Request, Response};
use http::{header, HeaderValue, Method, StatusCode};

const LOGIN_PAGE: &str = include_str!("login.html");
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Not found</title></head>\
<body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>\n";

fn html(status: StatusCode, page: &'static str) -> Response {
    let mut response = Response::new(page.as_bytes().to_vec());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

pub fn handle(request: &Request, _platform: &dyn Platform) -> Response {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/login") => html(StatusCode::OK, LOGIN_PAGE),
        _ => html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
    }
}

cc_web::spin_entry_point!(handle);
