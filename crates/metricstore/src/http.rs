//! The metric-store route group (spec metricstore.md §1–§3, routes.md #27–#29):
//! `POST /api/write`, `POST /api/free`, `GET /api/debug`. `/api/healthcheck` is the node-state
//! handler of cc-users.

use cc_web::{json_response, text_response, with_content_type, ApiError, Ctx, Response};
use http::StatusCode;

use crate::store::{
    debug_dump, free_buffers, run_retention_if_due, write_lines, DebugError, Registry,
};

/// Spin variable: how long samples are kept (Go duration, e.g. `48h`).
pub const RETENTION_VARIABLE: &str = "metric_retention";
const DEFAULT_RETENTION: i64 = 48 * 3600;

/// The configured retention in seconds; an unparsable value is a configuration error (500).
fn retention(ctx: &Ctx) -> Result<i64, ApiError> {
    match ctx.platform.variable(RETENTION_VARIABLE) {
        None => Ok(DEFAULT_RETENTION),
        Some(text) if text.is_empty() => Ok(DEFAULT_RETENTION),
        Some(text) => cc_gocompat::parse_duration(&text)
            .map(|duration| duration.as_secs() as i64)
            .map_err(|error| ApiError::internal(format!("variable {RETENTION_VARIABLE}: {error}"))),
    }
}

/// The first `cluster=` pair of the raw query string, not percent-decoded (as the reference).
fn raw_cluster<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("cluster="))
        .unwrap_or_default()
}

/// `POST /api/write[?cluster=]`: stores the body's samples, then runs retention when due.
pub fn write(ctx: &Ctx) -> Result<Response, ApiError> {
    let retention = retention(ctx)?;
    let now = cc_web::unix_now() as i64;
    let registry = Registry::load(
        &ctx.platform.clusters_dir(),
        ctx.platform.kv()?.as_ref(),
        now,
    )
    .map_err(|error| ApiError::internal(format!("loading the metric registry failed: {error}")))?;
    let db = ctx.platform.sql()?;
    write_lines(
        db.as_ref(),
        &registry,
        ctx.request.body(),
        raw_cluster(ctx),
        now,
    )
    .map_err(|error| {
        let status = if error.is_bad_request() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError::new(status, error.to_string())
    })?;
    // The samples are stored; a failed retention run is retried by a later write.
    if let Err(error) = run_retention_if_due(db.as_ref(), now, retention) {
        eprintln!("metric retention failed: {error}");
    }
    Ok(with_content_type(
        StatusCode::OK,
        Vec::new(),
        "application/json",
    ))
}

/// `POST /api/free?to=<unix>` with a JSON array of selectors.
pub fn free(ctx: &Ctx) -> Result<Response, ApiError> {
    let query = ctx.query();
    let to = query
        .iter()
        .find(|(key, _)| key == "to")
        .map(|(_, value)| value)
        .ok_or_else(|| ApiError::bad_request("'to' is a required query parameter"))?;
    let to: i64 = to.parse().map_err(|_| {
        ApiError::bad_request(format!("strconv.ParseInt: parsing {to:?}: invalid syntax"))
    })?;
    let selectors: Vec<Vec<String>> = serde_json::from_slice(ctx.request.body())
        .map_err(|error| ApiError::bad_request(format!("decoding selectors failed: {error}")))?;
    let db = ctx.platform.sql()?;
    let freed = free_buffers(db.as_ref(), &selectors, to)?;
    Ok(text_response(
        StatusCode::OK,
        format!("buffers freed: {freed}\n"),
    ))
}

/// `GET /api/debug[?selector=a:b]`.
pub fn debug(ctx: &Ctx) -> Result<Response, ApiError> {
    let selector: Vec<String> = ctx
        .query()
        .into_iter()
        .find(|(key, _)| key == "selector")
        .map(|(_, value)| value.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let db = ctx.platform.sql()?;
    match debug_dump(db.as_ref(), &selector) {
        Ok(dump) => json_response(StatusCode::OK, &dump),
        Err(error @ DebugError::NotFound(_)) => Err(ApiError::bad_request(error.to_string())),
        Err(DebugError::Store(error)) => Err(error.into()),
    }
}
