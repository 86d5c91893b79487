//! `GET /api/users/` and `POST /api/user/{id}`: user administration with an admin's API token
//! (docs/nodes-users.md#users).

use cc_web::openapi::{BodyTooLarge, ErrorResponse, Unauthorized};
use cc_web::{decode_strict, ApiError, Ctx, Response};

use super::{
    apply_update, message_response, require_admin, users_response, Message, UserJson,
    UserUpdateBody, UsersRouteError,
};

/// `GET /api/users/[?not-just-user=true]`: every user, or only those with more than the `user`
/// role (admin only).
#[utoipa::path(
    get,
    path = "/api/users/",
    tag = "User",
    summary = "List users",
    description = "Every user, or with `not-just-user=true` only those with a role other than \
                   `user`. Only for tokens with the admin role.",
    params((
        "not-just-user" = Option<String>,
        Query,
        description = "`true`: only users with more than the `user` role; any other value is ignored",
    )),
    responses(
        (status = 200, description = "The users", body = Vec<UserJson>),
        Unauthorized,
        (status = 403, description = "The token's user is not an admin", body = ErrorResponse),
        (status = 500, description = "The database failed", body = ErrorResponse),
    ),
)]
pub(super) fn get_users(ctx: &Ctx) -> Result<Response, ApiError> {
    users_response(ctx)
}

/// `POST /api/user/{id}`: adds or removes one role or project of user `{id}` (admin only).
#[utoipa::path(
    post,
    path = "/api/user/{id}",
    tag = "User",
    summary = "Change a user's roles or projects",
    description = "Adds or removes one role or one project of the user. Only for tokens with the \
                   admin role.",
    params(("id" = String, Path, description = "The user's login name")),
    request_body(
        content = UserUpdateBody,
        content_type = "application/json",
        description = "The change; at least one field must be non-empty",
    ),
    responses(
        (status = 200, description = "The change is applied", body = Message),
        (status = 400, description = "The body is not valid JSON of this shape, or names no change", body = ErrorResponse),
        Unauthorized,
        (status = 403, description = "The token's user is not an admin (JSON), or a cross-site write was refused (plain text)",
            content(
                (ErrorResponse = "application/json"),
                (String = "text/plain"),
            )),
        BodyTooLarge,
        (status = 422, description = "The change failed: unknown user, invalid role, role or project already present or absent, or a database failure", body = ErrorResponse),
        (status = 500, description = "The database could not be opened", body = ErrorResponse),
    ),
)]
pub(super) fn update_user_roles_or_projects(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to update a user")?;
    let fields: UserUpdateBody =
        decode_strict(ctx.request.body()).map_err(UsersRouteError::DecodeRequest)?;
    let username = ctx.param("id");
    let success = apply_update(ctx, username, fields)?;
    message_response(format!("{success} for user {username}"))
}
