use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use crate::error::error_response_with_text;
use crate::{ApiError, Response};

/// A JSON body encoded like Go's `encoding/json` (HTML-safe escapes, trailing newline).
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = cc_model::to_go_json(value)
        .map_err(|error| ApiError::internal(format!("encoding response failed: {error}")))?;
    Ok(with_content_type(status, body, "application/json"))
}

pub fn text_response(status: StatusCode, text: impl Into<String>) -> Response {
    with_content_type(
        status,
        text.into().into_bytes(),
        "text/plain; charset=utf-8",
    )
}

/// A response with `body` and its `Content-Type`.
pub fn with_content_type(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// cc-backend's answer for a path under `/api/`, `/userapi/`, `/config/` or `/frontend/` that no
/// route serves.
pub fn endpoint_not_found() -> Response {
    error_response_with_text(
        StatusCode::NOT_FOUND,
        "Resource not found",
        "the requested endpoint does not exist",
    )
}
