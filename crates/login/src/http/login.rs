//! `POST /login`, `/jwt-login` and `POST /logout` (docs/auth.md#login).

use cc_auth::session::{self, SessionError};
use cc_web::applog::{self, Priority};
use cc_web::{client_address, unix_now, ApiError, Form, Platform, Request, Response, Variables};
use http::header::{AUTHORIZATION, SET_COOKIE};
use http::{HeaderValue, StatusCode};

use super::pages;
use crate::login::cookie_max_age;
use crate::{
    login_with_password, login_with_token, session_lifetime, take_login_attempt, LoginError,
};

/// Expired session records deleted by each successful login, at most.
const SWEEP_PER_LOGIN: usize = 100;

/// The component id the session component's log entries carry.
const SESSION_UNIT: &str = "session";

/// Why a login did not produce a session.
#[derive(Debug, thiserror::Error)]
enum LoginFailure {
    #[error("too many login attempts, try again in a few minutes")]
    TooManyAttempts,
    #[error("{0}")]
    Refused(LoginError),
    /// The app cannot keep sessions (no or bad `session_key`, storage down): not the user's fault.
    #[error("session save failed: {0}")]
    Session(String),
}

impl From<LoginError> for LoginFailure {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Storage(message) => LoginFailure::Session(message),
            refused => LoginFailure::Refused(refused),
        }
    }
}

impl From<ApiError> for LoginFailure {
    fn from(error: ApiError) -> Self {
        LoginFailure::Session(error.message)
    }
}

impl From<cc_store::StoreError> for LoginFailure {
    fn from(error: cc_store::StoreError) -> Self {
        LoginFailure::Session(error.to_string())
    }
}

impl From<SessionError> for LoginFailure {
    fn from(error: SessionError) -> Self {
        LoginFailure::Session(error.to_string())
    }
}

impl LoginFailure {
    fn into_response(self, platform: &dyn Platform, redirect: &str) -> Response {
        match self {
            LoginFailure::Session(_) => {
                cc_web::text_response(StatusCode::INTERNAL_SERVER_ERROR, self.to_string())
            }
            refused => pages::login_page(
                platform,
                StatusCode::UNAUTHORIZED,
                Some(&refused.to_string()),
                redirect,
            ),
        }
    }
}

/// `GET /login`: the form, with the notice and the `redirect` the query asks for.
pub(super) fn login_form(request: &Request, platform: &dyn Platform) -> Response {
    let redirect = Form::parse(request)
        .map(|form| form.value("redirect").to_owned())
        .unwrap_or_default();
    pages::login_page(platform, StatusCode::OK, None, &redirect)
}

/// Where a successful login goes: the requested path if it stays on this site, else `/`.
fn redirect_target(requested: &str) -> &str {
    let is_path = requested.starts_with('/')
        && requested
            .parse::<http::Uri>()
            .is_ok_and(|uri| uri.scheme().is_none() && uri.authority().is_none());
    // Browsers read `//host` and `/\host` as another site, though they parse as paths.
    let leaves_site = requested.starts_with("//") || requested.contains('\\');
    if is_path && !leaves_site {
        requested
    } else {
        "/"
    }
}

/// An API token offered for a session login: `?login-token=` or a bearer `Authorization` header.
fn offered_token(request: &Request, form: &Form) -> Option<String> {
    let from_query = form.value("login-token");
    if !from_query.is_empty() {
        return Some(from_query.to_owned());
    }
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// `POST /login` and `/jwt-login`: one attempt from the client's bucket, then a token login when a
/// token is offered, else the local password; success stores a new session and redirects.
pub(super) fn login(request: &Request, platform: &dyn Platform) -> Response {
    let form = match Form::parse(request) {
        Ok(form) => form,
        Err(error) => {
            return pages::login_page(platform, StatusCode::UNAUTHORIZED, Some(&error.message), "")
        }
    };
    let redirect = form.value("redirect");
    match start_session(request, platform, &form) {
        Ok(cookie) => {
            let mut response = pages::found(
                HeaderValue::from_str(redirect_target(redirect))
                    .unwrap_or(HeaderValue::from_static("/")),
            );
            response.headers_mut().insert(
                SET_COOKIE,
                HeaderValue::from_str(&cookie).expect("cookie values are base64url"),
            );
            response
        }
        Err(failure) => {
            record_failure(request, platform, form.value("username"), &failure);
            failure.into_response(platform, redirect)
        }
    }
}

/// Failed logins go to the application log (docs/applog.md): the session component is not behind
/// `dispatch`, which records the other authentication failures. Never the password.
fn record_failure(
    request: &Request,
    platform: &dyn Platform,
    username: &str,
    failure: &LoginFailure,
) {
    let (priority, verb) = match failure {
        LoginFailure::Session(_) => (Priority::Error, "login could not be completed"),
        _ => (Priority::Warning, "login failed"),
    };
    let client = cc_web::client_address_for_log(request, platform);
    let message = format!("{verb}: user {username:?} from {client}: {failure}");
    applog::record_event(platform, priority, SESSION_UNIT, &message);
}

/// The `Set-Cookie` of a new session for the request's credentials.
fn start_session(
    request: &Request,
    platform: &dyn Platform,
    form: &Form,
) -> Result<String, LoginFailure> {
    let db = platform.sql()?;
    let username = form.value("username");
    let attempt_key = format!("{}:{username}", client_address(request, platform)?);
    let now = unix_now();
    if !take_login_attempt(db.as_ref(), &attempt_key, now as i64)? {
        return Err(LoginFailure::TooManyAttempts);
    }
    let lifetime = session_lifetime(platform.variable(Variables::SESSION_MAX_AGE).as_deref());
    let session = match offered_token(request, form) {
        Some(token) => {
            let key = cc_web::verification_key(platform)?;
            login_with_token(&token, key.as_ref(), now, lifetime)?
        }
        None if !username.is_empty() => {
            login_with_password(db.as_ref(), username, form.value("password"), now, lifetime)?
        }
        None => return Err(LoginError::NoAuthenticator.into()),
    };
    let key = cc_web::session_key(platform)?;
    let kv = platform.kv()?;
    let cookie = session::create(kv.as_ref(), &key, &session)?;
    // Housekeeping must not fail a login that has succeeded.
    let _ = session::sweep_expired(kv.as_ref(), now, SWEEP_PER_LOGIN);
    Ok(session::set_cookie_header(
        &cookie,
        cookie_max_age(&session),
        cc_web::is_tls(request),
    ))
}

/// `POST /logout`: deletes the session the cookie names and expires the cookie; a cookie this app
/// did not sign is a 500 with the codec's text, as in cc-backend.
pub(super) fn logout(request: &Request, platform: &dyn Platform) -> Response {
    let Some(cookie) = session::cookie_value(request.headers()) else {
        return pages::logout_page();
    };
    let ended = cc_web::session_key(platform).and_then(|key| {
        let kv = platform.kv()?;
        session::delete(kv.as_ref(), &key, cookie)
    });
    match ended {
        Ok(_) => {
            let mut response = pages::logout_page();
            response.headers_mut().insert(
                SET_COOKIE,
                HeaderValue::from_str(&session::expire_cookie_header()).expect("static cookie"),
            );
            response
        }
        Err(error) => cc_web::text_response(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_targets_on_this_site_are_followed() {
        for (requested, target) in [
            (
                "/monitoring/jobs/?state=running",
                "/monitoring/jobs/?state=running",
            ),
            ("jobs", "/"),
            ("", "/"),
            ("https://evil.example/", "/"),
            ("//evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("javascript:alert(1)", "/"),
        ] {
            assert_eq!(redirect_target(requested), target, "{requested}");
        }
    }
}
