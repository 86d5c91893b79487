//! What every route's OpenAPI description shares (docs/api.md#openapi-document): the error body
//! and the names of the security schemes. Each library describes its own routes next to their
//! handlers; cc-openapi merges them into one document.

use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{IntoResponses, ToSchema};

/// An API token in the `X-Auth-Token` header.
pub const API_KEY_AUTH: &str = "ApiKeyAuth";
/// An API token as `Authorization: Bearer <jwt>`.
pub const BEARER_AUTH: &str = "BearerAuth";
/// The `session` cookie of a browser login.
pub const SESSION_COOKIE: &str = "SessionCookie";

/// Every failed request's body: Go's status text and the message.
#[derive(ToSchema)]
#[schema(example = json!({"status": "Bad Request", "error": "the field 'jobId' is required"}))]
pub struct ErrorResponse {
    /// The status text of the HTTP status (`Bad Request`, `Unprocessable Entity`, …).
    pub status: String,
    /// What went wrong.
    pub error: String,
}

/// The 401 of every route of a token group.
#[derive(IntoResponses)]
pub enum Unauthorized {
    /// Missing or invalid token, roles the route group does not admit, or (main API group) a
    /// caller address that is not allowed
    #[response(status = 401)]
    Response(ErrorResponse),
}

/// The 403 of every state-changing route: a browser's cross-site request is refused in plain
/// text before authentication (docs/api.md#cross-site-write-guard).
#[derive(IntoResponses)]
pub enum CrossSiteRefused {
    /// A cross-site browser request (`Sec-Fetch-Site: cross-site`) is refused
    #[response(status = 403, content_type = "text/plain")]
    Response(String),
}

/// The 413 of every route that reads a body.
#[derive(IntoResponses)]
pub enum BodyTooLarge {
    /// The request body exceeds the route's size limit
    #[response(status = 413)]
    Response(ErrorResponse),
}

/// Adds the security schemes, and a token (in either header) as what every route needs unless
/// it says otherwise.
pub struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_AUTH,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
        components.add_security_scheme(
            BEARER_AUTH,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session"))),
        );
        openapi.security = Some(
            [API_KEY_AUTH, BEARER_AUTH]
                .map(|scheme| SecurityRequirement::new(scheme, Vec::<String>::new()))
                .to_vec(),
        );
    }
}
