//! `GET /frontend/logs/` (docs/applog.md#reading-the-log).

use cc_auth::Role;
use cc_store::StoreError;
use http::{Method, StatusCode};

use super::{now_us, query, FilterError, LogEntry, LogFilter};
use crate::openapi::ErrorResponse;
use crate::{json_response, ApiError, Ctx, Response, Route};

/// The OpenAPI description of this module's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_logs), components(schemas(LogEntry)))]
pub struct ApiDoc;

/// The frontend group's log route.
pub static FRONTEND_LOG_ROUTES: &[Route] = &[Route::new(Method::GET, "/frontend/logs/", get_logs)];

#[derive(Debug, thiserror::Error)]
enum LogsRouteError {
    #[error("only admins are allowed to view logs")]
    NotAdmin,
    #[error("{0}")]
    Filter(#[from] FilterError),
    #[error("failed to read logs: {0}")]
    Read(#[from] StoreError),
}

impl From<LogsRouteError> for ApiError {
    fn from(error: LogsRouteError) -> Self {
        let status = match &error {
            LogsRouteError::NotAdmin => StatusCode::FORBIDDEN,
            LogsRouteError::Filter(_) => StatusCode::BAD_REQUEST,
            LogsRouteError::Read(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

/// The newest entries of the application log matching the filters, oldest first.
#[utoipa::path(
    get,
    path = "/frontend/logs/",
    tag = "Frontend",
    summary = "Read the application log",
    description = "The last `lines` entries of the application log (what the components recorded: \
                   refused authentication, refused writes, server errors, archiving, tagger runs) \
                   recorded since `since`, oldest first. Parameters are checked in the order \
                   since, lines, level, search. Admin session only.",
    params(
        ("since" = Option<String>, Query, description = "Start time: `now`, `today`, `yesterday`, \
            `tomorrow`, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]`, `HH:MM[:SS]` (UTC), or a \
            span back from now such as `30 minutes ago`, `1h 30min ago` or `-2d`. Default \
            `1 hour ago`."),
        ("lines" = Option<String>, Query, description = "How many of the newest matching entries \
            (a positive integer; default 200, larger values count as 1000)."),
        ("level" = Option<String>, Query, description = "Only entries of this syslog priority or \
            more severe (0-7)."),
        ("search" = Option<String>, Query, description = "Only entries whose message contains this \
            text (case-sensitive; letters, digits, space, `:`, `-`, `.`)."),
    ),
    responses(
        (status = 200, description = "The entries, oldest first", body = Vec<LogEntry>),
        (status = 400, description = "`invalid 'since' parameter`, `invalid 'lines' parameter`, \
            `invalid 'level' parameter (must be 0-7)` or `invalid 'search' parameter`", body = ErrorResponse),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "`only admins are allowed to view logs`", body = ErrorResponse),
        (status = 500, description = "The database failed", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
fn get_logs(ctx: &Ctx) -> Result<Response, ApiError> {
    if !ctx
        .user
        .as_ref()
        .is_some_and(|user| user.has_role(Role::Admin))
    {
        return Err(LogsRouteError::NotAdmin.into());
    }
    let parameter = |name| ctx.query_value(name);
    let filter = LogFilter::from_parameters(
        parameter("since").as_deref(),
        parameter("lines").as_deref(),
        parameter("level").as_deref(),
        parameter("search").as_deref(),
        now_us(),
    )
    .map_err(LogsRouteError::from)?;
    let entries = ctx
        .platform
        .sql()
        .and_then(|db| query(db.as_ref(), &filter))
        .map_err(LogsRouteError::from)?;
    json_response(StatusCode::OK, &entries)
}
