//! `GET|PUT|POST /api/machine_state/{cluster}/{host}`.

use std::time::{Duration, UNIX_EPOCH};

use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{unix_now, ApiError, Ctx, Response};
use http::{header, HeaderValue, StatusCode};

use super::NodesError;
use crate::machine_state::{load_machine_state, save_machine_state, MachineState, MachineStateKey};

fn machine_state_key(ctx: &Ctx) -> Result<MachineStateKey, NodesError> {
    Ok(MachineStateKey::new(
        ctx.param("cluster"),
        ctx.param("host"),
    )?)
}

fn http_date(unix_seconds: u64) -> HeaderValue {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_seconds));
    HeaderValue::from_str(&date).expect("HTTP dates are valid header values")
}

/// The `If-Modified-Since` time of the request, when present and valid (unix seconds).
fn if_modified_since(ctx: &Ctx) -> Option<u64> {
    let text = ctx
        .request
        .headers()
        .get(header::IF_MODIFIED_SINCE)?
        .to_str()
        .ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    time.duration_since(UNIX_EPOCH)
        .ok()
        .map(|since| since.as_secs())
}

/// The stored document as JSON with `Last-Modified`, or 304 when it is not newer than
/// `If-Modified-Since`. A missing document is a JSON 404 (cc-backend answers plain text). Range
/// requests are not supported: the documents are small and always sent whole.
#[utoipa::path(
    get,
    path = "/api/machine_state/{cluster}/{host}",
    tag = "Machine state",
    summary = "Machine state of a host",
    description = "The document last stored for the host, as it was sent, with its modification \
                   time in `Last-Modified`. The route exists only when machine states are enabled.",
    params(
        ("cluster" = String, Path, description = "Cluster name (no `..`, `/` or `\\`)"),
        ("host" = String, Path, description = "Host name (no `..`, `/` or `\\`)"),
        ("If-Modified-Since" = Option<String>, Header, description = "HTTP date: answer 304 when the document is not newer"),
    ),
    responses(
        (status = 200, description = "The stored document", body = Value, content_type = "application/json",
            headers(("Last-Modified" = String, description = "When the document was stored"))),
        (status = 304, description = "Not modified since `If-Modified-Since` (empty body)",
            headers(("Last-Modified" = String, description = "When the document was stored"))),
        (status = 400, description = "Invalid cluster or host name", body = ErrorResponse),
        Unauthorized,
        (status = 404, description = "No document is stored for the host, or machine states are disabled", body = ErrorResponse),
        (status = 500, description = "The key-value store failed or the stored document is corrupt", body = ErrorResponse),
    ),
)]
pub(super) fn get_machine_state(ctx: &Ctx) -> Result<Response, ApiError> {
    let key = machine_state_key(ctx)?;
    let kv = ctx.platform.kv()?;
    let state = load_machine_state(&*kv, &key)
        .map_err(NodesError::from)?
        .ok_or(NodesError::MachineStateNotFound)?;
    let not_modified = if_modified_since(ctx).is_some_and(|since| state.modified <= since);
    let mut response = if not_modified {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(state.body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    response
        .headers_mut()
        .insert(header::LAST_MODIFIED, http_date(state.modified));
    Ok(response)
}

/// Stores the body as it is; 201 with an empty body.
#[utoipa::path(
    method(put, post),
    path = "/api/machine_state/{cluster}/{host}",
    tag = "Machine state",
    summary = "Store the machine state of a host",
    description = "Stores the body as the host's document, replacing the previous one. The body is \
                   kept as it is, without validation. The route exists only when machine states are \
                   enabled.",
    params(
        ("cluster" = String, Path, description = "Cluster name (no `..`, `/` or `\\`)"),
        ("host" = String, Path, description = "Host name (no `..`, `/` or `\\`)"),
    ),
    request_body(
        content = Value,
        content_type = "application/json",
        description = "Any JSON document; it is not checked, and `GET` answers it as JSON",
    ),
    responses(
        (status = 201, description = "Stored (empty body)"),
        (status = 400, description = "Invalid cluster or host name", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        (status = 404, description = "Machine states are disabled", body = ErrorResponse),
        BodyTooLarge,
        (status = 500, description = "The key-value store failed", body = ErrorResponse),
    ),
)]
pub(super) fn put_machine_state(ctx: &Ctx) -> Result<Response, ApiError> {
    let key = machine_state_key(ctx)?;
    let kv = ctx.platform.kv()?;
    let state = MachineState {
        modified: unix_now(),
        body: ctx.request.body().clone(),
    };
    save_machine_state(&*kv, &key, &state).map_err(NodesError::from)?;
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}
