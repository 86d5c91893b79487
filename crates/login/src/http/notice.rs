//! `POST /config/notice/` (docs/auth.md#notice).

use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse};
use cc_web::{text_response, ApiError, Ctx, Response, Route};
use http::{Method, StatusCode};

use crate::{write_notice, NoticeError};

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(update_notice))]
pub struct ApiDoc;

/// The config group's notice route.
pub static NOTICE_ROUTES: &[Route] = &[Route::new(Method::POST, "/config/notice/", update_notice)];

#[derive(Debug, thiserror::Error)]
enum NoticeRouteError {
    #[error("only admins are allowed to update the notice.txt file")]
    NotAdmin,
    #[error("{0}")]
    Notice(#[from] NoticeError),
}

impl From<NoticeRouteError> for ApiError {
    fn from(error: NoticeRouteError) -> Self {
        let status = match &error {
            NoticeRouteError::NotAdmin => StatusCode::FORBIDDEN,
            NoticeRouteError::Notice(NoticeError::TooLong) => StatusCode::BAD_REQUEST,
            NoticeRouteError::Notice(NoticeError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

/// The form field `new-content` as the notice (the text file of cc-backend, the key-value store
/// here); empty content clears it.
#[utoipa::path(
    post,
    path = "/config/notice/",
    tag = "Config",
    summary = "Publish the notice",
    description = "Replaces the notice shown on the login page with the form field `new-content` \
                   (at most 10,000 bytes; empty clears it). Admin session only.",
    request_body(
        content = String,
        content_type = "application/x-www-form-urlencoded",
        description = "`new-content=<text>`",
    ),
    responses(
        (status = 200, description = "`Update Notice Content Success`, or `Empty Notice Content Success` when cleared", body = String, content_type = "text/plain"),
        (status = 400, description = "The content exceeds 10,000 bytes", body = ErrorResponse),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        CrossSiteRefused,
        BodyTooLarge,
        (status = 500, description = "The key-value store failed", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
fn update_notice(ctx: &Ctx) -> Result<Response, ApiError> {
    if !ctx.user_is_admin() {
        return Err(NoticeRouteError::NotAdmin.into());
    }
    let form = ctx.form()?;
    let content = form.value("new-content");
    let kv = ctx.platform.kv()?;
    write_notice(kv.as_ref(), content).map_err(NoticeRouteError::from)?;
    let answer = if content.is_empty() {
        "Empty Notice Content Success"
    } else {
        "Update Notice Content Success"
    };
    Ok(text_response(StatusCode::OK, answer))
}
