//! Request bodies are bounded before they are buffered: a body over the component's limit is
//! answered with a JSON 413 as soon as its declared length, or the bytes read so far, exceed it,
//! so one request cannot take an instance's memory (docs/api.md#request-size-limits).

use http::{HeaderMap, StatusCode};

use crate::{ApiError, Platform};

/// Spin variable: the largest request body a component reads, in bytes.
pub const MAX_REQUEST_BODY_VARIABLE: &str = "max_request_body_bytes";

/// What JSON routes accept unless configured otherwise: far above any job, tag or node-state body.
pub const DEFAULT_JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What `/api/write` accepts unless configured otherwise: a collector's batch of many hosts.
pub const DEFAULT_WRITE_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The limit in force: the component's variable when set to a number, else `default`.
pub fn body_limit(platform: &dyn Platform, default: usize) -> Result<usize, ApiError> {
    match platform.variable(MAX_REQUEST_BODY_VARIABLE) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| {
            ApiError::internal(format!(
                "variable {MAX_REQUEST_BODY_VARIABLE}: {text:?} is not a number of bytes"
            ))
        }),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body exceeds the limit of {limit} bytes"),
    )
}

/// Refuses a body whose `Content-Length` is over `limit` before any of it is read.
pub fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Appends a chunk of a streamed body, refusing it once the body would exceed `limit`.
pub fn append_chunk(body: &mut Vec<u8>, chunk: &[u8], limit: usize) -> Result<(), ApiError> {
    if body.len() + chunk.len() > limit {
        return Err(too_large(limit));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn declared_lengths_over_the_limit_are_refused_before_reading() {
        let mut headers = HeaderMap::new();
        assert_eq!(check_declared_length(&headers, 10), Ok(()));
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert_eq!(check_declared_length(&headers, 10), Ok(()));
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        let refused = check_declared_length(&headers, 10).unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            refused.message,
            "request body exceeds the limit of 10 bytes"
        );
    }

    #[test]
    fn streamed_bodies_stop_at_the_limit() {
        let mut body = Vec::new();
        append_chunk(&mut body, b"12345", 8).unwrap();
        append_chunk(&mut body, b"678", 8).unwrap();
        assert_eq!(
            append_chunk(&mut body, b"9", 8).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(body, b"12345678");
    }
}
