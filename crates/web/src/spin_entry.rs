//! The component side of `wasi:http/incoming-handler`: converts the WASI request to
//! `http::Request<Vec<u8>>` and the handler's response back, keeping repeated headers (spin-sdk's
//! own conversions fold them into a map, losing e.g. all but one `Allow` or `Set-Cookie`).

use futures::TryStreamExt;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

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

/// Sends the response. The body goes in with a `Content-Length` before the response is handed
/// to the host whenever the host buffers it without a reader (wasmtime's hosts buffer up to
/// 1 MiB), so the host's HTTP server sees head and body at once and writes them in one
/// segment. Handed over first, the head could leave alone, and on a socket without
/// `TCP_NODELAY` (Spin's) the rest then waits up to 40 ms for the client's delayed ACK
/// (docs/storage.md#response-writes).
fn write_response(response: Response, out: ResponseOutparam) {
    let (mut parts, body) = response.into_parts();
    if status_has_body(parts.status) {
        parts
            .headers
            .entry(http::header::CONTENT_LENGTH)
            .or_insert_with(|| http::HeaderValue::from(body.len()));
    }
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
    let outgoing_body = outgoing.body().expect("a new response has its body");
    let stream = outgoing_body.write().expect("a new body is writable");
    let mut handover = Some((out, outgoing));
    let mut written = 0;
    while written < body.len() {
        match stream.check_write() {
            Ok(0) => {
                // The host's buffer is full: hand the response over so that it is read.
                if let Some((out, response)) = handover.take() {
                    out.set(response);
                }
                stream.subscribe().block();
            }
            Ok(budget) => {
                let end = body.len().min(written + budget as usize);
                if let Err(error) = stream.write(&body[written..end]) {
                    eprintln!("writing the response body failed: {error:?}");
                    return;
                }
                written = end;
            }
            Err(error) => {
                eprintln!("writing the response body failed: {error:?}");
                return;
            }
        }
    }
    drop(stream);
    if let Err(error) = OutgoingBody::finish(outgoing_body, None) {
        eprintln!("finishing the response body failed: {error:?}");
    }
    if let Some((out, response)) = handover {
        out.set(response);
    }
}

/// Statuses that never carry a body, so they get no `Content-Length` either.
fn status_has_body(status: http::StatusCode) -> bool {
    !(status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED)
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
    write_response(response, out);
    crate::run_after_response(&SpinPlatform);
}
