//! The server-rendered pages: login, logout, HTML 404 and the home page behind the login
//! (docs/admin-page.md). Every value put into a page is HTML-escaped here.

use cc_auth::{Group, Role, User};
use cc_web::{with_content_type, Platform, Request, Response};
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderValue, StatusCode};

use crate::read_notice;

const STYLE: &str = include_str!("pages/style.css");
const LOGIN_PAGE: &str = include_str!("pages/login.html");
const LOGOUT_PAGE: &str = include_str!("pages/logout.html");
const HOME_PAGE: &str = include_str!("pages/home.html");
const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Not found</title></head>\
<body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>\n";

/// Fills `{{name}}` slots with already escaped HTML.
fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    slots.iter().fold(
        template.replace("{{style}}", STYLE),
        |page, (name, value)| page.replace(&format!("{{{{{name}}}}}"), value),
    )
}

fn html(status: StatusCode, page: String) -> Response {
    let mut response = with_content_type(status, page.into_bytes(), "text/html; charset=utf-8");
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A `302 Found` to `location`.
pub(super) fn found(location: HeaderValue) -> Response {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(LOCATION, location);
    response
}

pub(super) fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned())
}

/// The login form with the published notice and, after a failure, its message.
pub(super) fn login_page(
    platform: &dyn Platform,
    status: StatusCode,
    message: Option<&str>,
    redirect: &str,
) -> Response {
    // A notice that cannot be read is left out rather than failing the login page.
    let notice = platform
        .kv()
        .ok()
        .and_then(|kv| read_notice(kv.as_ref()).ok())
        .filter(|notice| !notice.is_empty())
        .map(|notice| format!("<p class=\"notice\" id=\"notice\">{}</p>", text(&notice)))
        .unwrap_or_default();
    let message = message
        .map(|message| format!("<p class=\"message\" id=\"message\">{}</p>", text(message)))
        .unwrap_or_default();
    let redirect = if redirect.is_empty() { "/" } else { redirect };
    html(
        status,
        fill(
            LOGIN_PAGE,
            &[
                ("notice", &notice),
                ("message", &message),
                ("redirect", &attribute(redirect)),
            ],
        ),
    )
}

pub(super) fn logout_page() -> Response {
    html(StatusCode::OK, fill(LOGOUT_PAGE, &[]))
}

/// `GET /`: the signed-in user's page; admins also get the administration sections. Without a
/// session it sends the browser to the login form.
pub(super) fn home(request: &Request, platform: &dyn Platform) -> Response {
    let user = match cc_web::authenticate(request, platform, Group::Frontend) {
        Ok(Some(user)) => user,
        _ => return found(HeaderValue::from_static("/login")),
    };
    let admin_sections = if user.has_role(Role::Admin) {
        super::admin::sections(platform)
    } else {
        String::new()
    };
    html(
        StatusCode::OK,
        fill(
            HOME_PAGE,
            &[
                ("username", &text(&user.username)),
                ("username_attribute", &attribute(&user.username)),
                ("roles", &text(&roles_text(&user))),
                ("admin", &admin_sections),
            ],
        ),
    )
}

fn roles_text(user: &User) -> String {
    user.roles.join(", ")
}
