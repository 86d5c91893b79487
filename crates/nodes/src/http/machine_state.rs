//! `GET|PUT|POST /api/machine_state/{cluster}/{host}`.

use std::time::{Duration, UNIX_EPOCH};

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
