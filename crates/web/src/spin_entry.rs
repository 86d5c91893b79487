//! The component side of `wasi:http/incoming-handler`: converts the WASI request to
//! `http::Request<Vec<u8>>` and the handler's response back, keeping repeated headers (spin-sdk's
//! own conversions fold them into a map, losing e.g. all but one `Allow` or `Set-Cookie`).

use futures::TryStreamExt;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};

use crate::body_limit::{append_chunk, body_limit, check_declared_length};
use crate::{ApiError, Platform, Request, Response, SpinPlatform};

/// The request with its body, read up to `default_limit` bytes (or the configured limit).
async fn read_request(
    incoming: IncomingRequest,
    default_limit: usize,
) -> Result<Request, ApiError> {
    let limit = body_limit(&SpinPlatform, default_limit)?;
    let mut request = http::Request::builder()
        .method(http::Method::from(incoming.method()))
        .uri(incoming.uri());
    for (name, value) in incoming.headers().entries() {
        request = request.header(name, value);
    }
    let mut request = request
        .body(Vec::new())
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    check_declared_length(request.headers(), limit)?;
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|error| ApiError::bad_request(format!("reading request body failed: {error}")))?
    {
        append_chunk(request.body_mut(), &chunk, limit)?;
    }
    Ok(request)
}

async fn write_response(response: Response, out: ResponseOutparam) {
    let (parts, body) = response.into_parts();
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).expect("http::HeaderMap holds valid headers");
    let outgoing = OutgoingResponse::new(fields);
    outgoing
        .set_status_code(parts.status.as_u16())
        .expect("http::StatusCode is a valid status");
    if let Err(error) = out.set_with_body(outgoing, body).await {
        eprintln!("writing the response body failed: {error}");
    }
}

/// Serves one request with `handle` on the Spin host platform; bodies over `default_limit`
/// bytes (unless the component's `max_request_body_bytes` variable says otherwise) get a 413.
pub async fn serve_spin(
    incoming: IncomingRequest,
    out: ResponseOutparam,
    handle: fn(&Request, &dyn Platform) -> Response,
    default_limit: usize,
) {
    let response = match read_request(incoming, default_limit).await {
        Ok(request) => handle(&request, &SpinPlatform),
        Err(error) => error.into_response(),
    };
    write_response(response, out).await;
    crate::run_after_response(&SpinPlatform);
}
