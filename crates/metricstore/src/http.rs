//! The HTTP side of the metric store: `POST /api/write`, `POST /api/free`, `GET /api/debug` (each
//! with and without a trailing slash), their table, and the one mapping from their failures to the
//! API error. `/api/healthcheck`, mounted in the same group, is cc-nodes' node-state handler.

use cc_gocompat::{parse_duration, parse_int};
use cc_store::StoreError;
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{json_response, text_response, with_content_type, ApiError, Ctx, Response, Route};
use http::{Method, StatusCode};

use crate::store::{
    debug_dump, free_buffers, run_retention_if_due, write_lines, DebugError, Registry,
    RegistryError, WriteError,
};

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(write, free, debug))]
pub struct ApiDoc;

pub static ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/write", write),
    Route::new(Method::POST, "/api/write/", write),
    Route::new(Method::POST, "/api/free", free),
    Route::new(Method::POST, "/api/free/", free),
    Route::new(Method::GET, "/api/debug", debug),
    Route::new(Method::GET, "/api/debug/", debug),
];

/// Every failure of the metric-store routes.
#[derive(Debug, thiserror::Error)]
enum MetricStoreRouteError {
    #[error("variable metric_retention: {0}")]
    Retention(cc_gocompat::DurationError),
    #[error("loading the metric registry failed: {0}")]
    Registry(RegistryError),
    #[error(transparent)]
    Write(WriteError),
    #[error("'to' is a required query parameter")]
    MissingTo,
    #[error("{0}")]
    ParseTo(String),
    #[error("decoding selectors failed: {0}")]
    DecodeSelectors(serde_json::Error),
    #[error(transparent)]
    Debug(DebugError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MetricStoreRouteError> for ApiError {
    fn from(error: MetricStoreRouteError) -> Self {
        use MetricStoreRouteError as E;
        let status = match &error {
            E::Write(write) if !write.is_bad_request() => StatusCode::INTERNAL_SERVER_ERROR,
            E::Write(_)
            | E::MissingTo
            | E::ParseTo(_)
            | E::DecodeSelectors(_)
            | E::Debug(DebugError::NotFound(_)) => StatusCode::BAD_REQUEST,
            E::Retention(_) | E::Registry(_) | E::Debug(DebugError::Store(_)) | E::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, error.to_string())
    }
}

/// Spin variable: how long samples are kept (Go duration, e.g. `48h`).
pub const RETENTION_VARIABLE: &str = "metric_retention";
const DEFAULT_RETENTION: i64 = 48 * 3600;

/// The configured retention in seconds; an unparsable value is a configuration error (500).
fn retention(ctx: &Ctx) -> Result<i64, MetricStoreRouteError> {
    match ctx.platform.variable(RETENTION_VARIABLE) {
        None => Ok(DEFAULT_RETENTION),
        Some(text) if text.is_empty() => Ok(DEFAULT_RETENTION),
        Some(text) => parse_duration(&text)
            .map(|duration| duration.as_secs() as i64)
            .map_err(MetricStoreRouteError::Retention),
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
#[utoipa::path(
    post,
    path = "/api/write",
    tag = "Metric store",
    summary = "Write samples",
    description = "Stores the samples of a body in line protocol, one sample per line, e.g. \
                   `cpu_user,cluster=alex,hostname=a0603,type=hwthread,type-id=17 value=42.0 1700000000`. \
                   The only field is `value`; a line without timestamp was taken now. Lines of \
                   unknown metrics or with host or cluster names that are not allowed are skipped; \
                   any other bad line rejects the whole body, which is stored entirely or not at \
                   all. Success is an empty body (Content-Type `application/json`).",
    params((
        "cluster" = Option<String>,
        Query,
        description = "The cluster of lines without a `cluster` tag (taken as written, not percent-decoded)",
    )),
    request_body(
        content = String,
        content_type = "text/plain",
        description = "Samples in line protocol",
    ),
    responses(
        (status = 200, description = "The samples are stored (empty body)"),
        (status = 400, description = "The body is not valid line protocol", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 500, description = "The configuration, the metric registry or the database failed", body = ErrorResponse),
    ),
)]
fn write(ctx: &Ctx) -> Result<Response, ApiError> {
    let retention = retention(ctx)?;
    let now = cc_web::unix_now() as i64;
    let registry = Registry::load(
        &ctx.platform.clusters_dir(),
        ctx.platform.kv()?.as_ref(),
        now,
    )
    .map_err(MetricStoreRouteError::Registry)?;
    let db = ctx.platform.sql()?;
    write_lines(
        db.as_ref(),
        &registry,
        ctx.request.body(),
        raw_cluster(ctx),
        now,
    )
    .map_err(MetricStoreRouteError::Write)?;
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
#[utoipa::path(
    post,
    path = "/api/free",
    tag = "Metric store",
    summary = "Free stored samples",
    description = "Deletes the stored sample windows below each selector whose last sample \
                   ended before `to`. A selector is a path `[cluster, host, level, sublevel]` or a \
                   prefix of it (`[]`: everything). The answer is plain text `buffers freed: <n>`.",
    params((
        "to" = i64,
        Query,
        description = "Unix time in seconds: windows ending before it are freed",
    )),
    request_body(
        content = Vec<Vec<String>>,
        content_type = "application/json",
        description = "The selectors, e.g. `[[\"cluster\", \"host\"]]`",
    ),
    responses(
        (status = 200, description = "How many buffers were freed", body = String, content_type = "text/plain",
            example = "buffers freed: 0\n"),
        (status = 400, description = "`to` is missing or not an integer, or the body is not an array of string arrays", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 500, description = "The database failed", body = ErrorResponse),
    ),
)]
fn free(ctx: &Ctx) -> Result<Response, ApiError> {
    let to = ctx
        .query_value("to")
        .ok_or(MetricStoreRouteError::MissingTo)?;
    let to = parse_int(&to).map_err(MetricStoreRouteError::ParseTo)?;
    let selectors: Vec<Vec<String>> = serde_json::from_slice(ctx.request.body())
        .map_err(MetricStoreRouteError::DecodeSelectors)?;
    let db = ctx.platform.sql()?;
    let freed = free_buffers(db.as_ref(), &selectors, to).map_err(MetricStoreRouteError::Store)?;
    Ok(text_response(
        StatusCode::OK,
        format!("buffers freed: {freed}\n"),
    ))
}

/// `GET /api/debug[?selector=a:b]`.
#[utoipa::path(
    get,
    path = "/api/debug",
    tag = "Metric store",
    summary = "Stored structure",
    description = "What is stored below a level, for debugging: `{\"data\": level}`, where a \
                   level maps each metric to its stored parts and each child level to its own \
                   object. The shape is not a stable interface.",
    params((
        "selector" = Option<String>,
        Query,
        description = "The level as `cluster[:host[:level[:sublevel]]]`; absent or empty: everything",
    )),
    responses(
        (status = 200, description = "The stored structure", body = Object,
            example = json!({"data": {}})),
        (status = 400, description = "Nothing is stored below the selector, or it has more than four names", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "The database failed", body = ErrorResponse),
    ),
)]
fn debug(ctx: &Ctx) -> Result<Response, ApiError> {
    let selector: Vec<String> = ctx
        .query_value("selector")
        .map(|value| value.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let db = ctx.platform.sql()?;
    let dump = debug_dump(db.as_ref(), &selector).map_err(MetricStoreRouteError::Debug)?;
    json_response(StatusCode::OK, &dump)
}
