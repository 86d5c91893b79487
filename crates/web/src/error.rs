use http::StatusCode;

use crate::respond::with_content_type;
use crate::Response;

/// A failed request, answered as cc-backend's `{"status":"<status text>","error":"<message>"}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// A `Set-Cookie` to send along (the session group's failures expire a bad session cookie).
    pub set_cookie: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            set_cookie: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn with_set_cookie(mut self, cookie: String) -> Self {
        self.set_cookie = Some(cookie);
        self
    }

    pub fn into_response(self) -> Response {
        let mut response = error_response(self.status, &self.message);
        if let Some(cookie) = self
            .set_cookie
            .and_then(|cookie| http::HeaderValue::from_str(&cookie).ok())
        {
            response
                .headers_mut()
                .insert(http::header::SET_COOKIE, cookie);
        }
        response
    }
}

impl From<cc_auth::AuthError> for ApiError {
    fn from(error: cc_auth::AuthError) -> Self {
        Self::new(error.status(), error.to_string())
    }
}

impl From<cc_store::StoreError> for ApiError {
    fn from(error: cc_store::StoreError) -> Self {
        Self::internal(error.to_string())
    }
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    status: &'a str,
    error: &'a str,
}

/// The error JSON with Go's status text (`Bad Request`, `Unprocessable Entity`, ...).
pub fn error_response(status: StatusCode, message: &str) -> Response {
    error_response_with_text(status, status.canonical_reason().unwrap_or(""), message)
}

/// The one place that writes the error JSON: every error of every component goes through here.
pub(crate) fn error_response_with_text(
    status: StatusCode,
    status_text: &str,
    message: &str,
) -> Response {
    let body = ErrorBody {
        status: status_text,
        error: message,
    };
    with_content_type(
        status,
        cc_model::to_go_json(&body).unwrap_or_default(),
        "application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn error_json_has_go_shape_and_status_text() {
        let response = error_response(StatusCode::UNPROCESSABLE_ENTITY, "a <b> & c");
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            std::str::from_utf8(response.body()).unwrap(),
            "{\"status\":\"Unprocessable Entity\",\"error\":\"a \\u003cb\\u003e \\u0026 c\"}\n"
        );
    }
}
