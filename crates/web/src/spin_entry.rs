//! The component side of `wasi:http/incoming-handler`: converts the WASI request to
//! `http::Request<Vec<u8>>` and the handler's response back, keeping repeated headers (spin-sdk's
//! own conversions fold them into a map, losing e.g. all but one `Allow` or `Set-Cookie`).

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};

use crate::{error_response, Platform, Request, Response, SpinPlatform};

async fn read_request(incoming: IncomingRequest) -> Result<Request, String> {
    let method = http::Method::from(incoming.method());
    let uri = incoming.uri();
    let headers = incoming.headers().entries();
    let body = incoming
        .into_body()
        .await
        .map_err(|error| format!("reading request body failed: {error}"))?;
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(body).map_err(|error| error.to_string())
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

/// Serves one request with `handle` on the Spin host platform.
pub async fn serve_spin(
    incoming: IncomingRequest,
    out: ResponseOutparam,
    handle: fn(&Request, &dyn Platform) -> Response,
) {
    let response = match read_request(incoming).await {
        Ok(request) => handle(&request, &SpinPlatform),
        Err(message) => error_response(http::StatusCode::BAD_REQUEST, &message),
    };
    write_response(response, out).await;
    crate::run_after_response(&SpinPlatform);
}
