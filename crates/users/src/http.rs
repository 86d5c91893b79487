//! The HTTP side of cc-users: the `/api` user routes, their table, and the one mapping from their
//! failures to the API error.

use cc_auth::Role;
use cc_gocompat::null_as_default;
use cc_web::openapi::{BodyTooLarge, ErrorResponse, Unauthorized};
use cc_web::{decode_strict, json_response, ApiError, Ctx, Response, Route};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::user::{list_users, update_user, UserError, UserRecord, UserUpdate};

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_users, update_user_roles_or_projects))]
pub struct ApiDoc;

/// The `/api` user routes.
pub static API_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/api/users/", get_users),
    Route::new(
        Method::POST,
        "/api/user/{id}",
        update_user_roles_or_projects,
    ),
];

/// Every failure of the user routes.
#[derive(Debug, thiserror::Error)]
enum UsersRouteError {
    #[error("{0}")]
    NotAdmin(&'static str),
    #[error("decoding request failed: {0}")]
    DecodeRequest(String),
    #[error(
        "no operation specified: must provide add-role, remove-role, add-project, or \
         remove-project"
    )]
    NoOperation,
    #[error("listing users failed: {0}")]
    ListUsers(UserError),
    /// Every failure of a role or project change is a 422 with the operation's prefix, storage
    /// failures included, as in cc-backend.
    #[error("{prefix}: {error}")]
    Update {
        prefix: &'static str,
        error: UserError,
    },
}

impl From<UsersRouteError> for ApiError {
    fn from(error: UsersRouteError) -> Self {
        let status = match &error {
            UsersRouteError::NotAdmin(_) => StatusCode::FORBIDDEN,
            UsersRouteError::DecodeRequest(_) | UsersRouteError::NoOperation => {
                StatusCode::BAD_REQUEST
            }
            UsersRouteError::ListUsers(_) => StatusCode::INTERNAL_SERVER_ERROR,
            UsersRouteError::Update { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, error.to_string())
    }
}

fn require_admin(ctx: &Ctx, refusal: &'static str) -> Result<(), UsersRouteError> {
    if ctx
        .user
        .as_ref()
        .is_some_and(|user| user.has_role(Role::Admin))
    {
        Ok(())
    } else {
        Err(UsersRouteError::NotAdmin(refusal))
    }
}

/// A user as `GET /api/users/` shows it: NULL texts become `""`, a `null` list
/// stays `null`, and `authType`/`authSource` are always 0 like cc-backend's.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(
    as = User,
    description = "A user. Unset names and e-mail addresses are empty strings; unset role and \
                   project lists are `null`."
)]
struct UserJson<'a> {
    /// The login name.
    #[schema(value_type = String)]
    username: &'a str,
    /// The display name (`""` when unset).
    #[schema(value_type = String)]
    name: &'a str,
    /// The e-mail address (`""` when unset).
    #[schema(value_type = String)]
    email: &'a str,
    /// The roles (`admin`, `support`, `manager`, `user`, `api`); `null` when never set.
    #[schema(value_type = Option<Vec<String>>, required = true)]
    roles: Option<&'a [String]>,
    /// The projects a manager manages; `null` when never set.
    #[schema(value_type = Option<Vec<String>>, required = true)]
    projects: Option<&'a [String]>,
    /// Always 0.
    #[serde(rename = "authType")]
    auth_type: u8,
    /// Always 0.
    #[serde(rename = "authSource")]
    auth_source: u8,
}

impl<'a> From<&'a UserRecord> for UserJson<'a> {
    fn from(user: &'a UserRecord) -> Self {
        UserJson {
            username: &user.username,
            name: user.name.as_deref().unwrap_or_default(),
            email: user.email.as_deref().unwrap_or_default(),
            roles: user.roles.as_deref(),
            projects: user.projects.as_deref(),
            auth_type: 0,
            auth_source: 0,
        }
    }
}

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
fn get_users(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to fetch a list of users")?;
    let special_only = ctx.query_value("not-just-user").as_deref() == Some("true");
    let db = ctx.platform.sql()?;
    let users = list_users(&*db, special_only).map_err(UsersRouteError::ListUsers)?;
    let users: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    json_response(StatusCode::OK, &users)
}

/// One change of a user: the first non-empty field of `add-role`, `remove-role`, `add-project`,
/// `remove-project` (in this order) is applied, the others are ignored. Absent, `null` and `""`
/// fields are empty; unknown fields are refused.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UserUpdate)]
struct UserUpdateBody {
    /// A role to add.
    #[serde(rename = "add-role", default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    add_role: String,
    /// A role to remove.
    #[serde(rename = "remove-role", default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    remove_role: String,
    /// A project to add.
    #[serde(rename = "add-project", default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    add_project: String,
    /// A project to remove.
    #[serde(
        rename = "remove-project",
        default,
        deserialize_with = "null_as_default"
    )]
    #[schema(nullable)]
    remove_project: String,
}

impl UserUpdateBody {
    /// The first non-empty field in this order; the others are ignored.
    fn into_update(self) -> Option<UserUpdate> {
        [
            (
                self.add_role,
                UserUpdate::AddRole as fn(String) -> UserUpdate,
            ),
            (self.remove_role, UserUpdate::RemoveRole),
            (self.add_project, UserUpdate::AddProject),
            (self.remove_project, UserUpdate::RemoveProject),
        ]
        .into_iter()
        .find(|(value, _)| !value.is_empty())
        .map(|(value, operation)| operation(value))
    }
}

/// A success message.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UserUpdateMessage, example = json!({"msg": "Add Role Success for user alice"}))]
struct Message {
    /// What was done, e.g. `Add Role Success for user alice`.
    msg: String,
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
fn update_user_roles_or_projects(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to update a user")?;
    let body: UserUpdateBody =
        decode_strict(ctx.request.body()).map_err(UsersRouteError::DecodeRequest)?;
    let update = body.into_update().ok_or(UsersRouteError::NoOperation)?;
    let (success, failure) = match update {
        UserUpdate::AddRole(_) => ("Add Role Success", "adding role failed"),
        UserUpdate::RemoveRole(_) => ("Remove Role Success", "removing role failed"),
        UserUpdate::AddProject(_) => ("Add Project Success", "adding project failed"),
        UserUpdate::RemoveProject(_) => ("Remove Project Success", "removing project failed"),
    };
    let username = ctx.param("id");
    let db = ctx.platform.sql()?;
    update_user(&*db, username, &update).map_err(|error| UsersRouteError::Update {
        prefix: failure,
        error,
    })?;
    json_response(
        StatusCode::OK,
        &Message {
            msg: format!("{success} for user {username}"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<Option<UserUpdate>, String> {
        decode_strict::<UserUpdateBody>(json.as_bytes()).map(UserUpdateBody::into_update)
    }

    #[test]
    fn the_first_non_empty_operation_wins() {
        assert_eq!(
            body(r#"{"remove-project":"p","add-project":"q","remove-role":"","add-role":null}"#),
            Ok(Some(UserUpdate::AddProject("q".into())))
        );
        assert_eq!(
            body(r#"{"remove-project":"p","add-role":"api"}"#),
            Ok(Some(UserUpdate::AddRole("api".into())))
        );
        assert_eq!(
            body(r#"{"remove-role":"user"}"#),
            Ok(Some(UserUpdate::RemoveRole("user".into())))
        );
        assert_eq!(
            body(r#"{"remove-project":"p"}"#),
            Ok(Some(UserUpdate::RemoveProject("p".into())))
        );
        assert_eq!(body(r#"{"add-role":""}"#), Ok(None));
        assert_eq!(body("{}"), Ok(None));
        assert_eq!(
            body(r#"{"add_role":"api"}"#),
            Err(r#"json: unknown field "add_role""#.into())
        );
        assert!(body(r#"{"add-role":1}"#).is_err());
    }

    #[test]
    fn users_are_shown_like_cc_backend() {
        let user = UserRecord {
            username: "a<b".into(),
            password: Some("$2a$10$hash".into()),
            auth_source: 1,
            name: None,
            email: Some("a@x".into()),
            roles: None,
            projects: Some(vec![]),
        };
        let json = cc_gocompat::to_go_json(&UserJson::from(&user)).unwrap();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            "{\"username\":\"a\\u003cb\",\"name\":\"\",\"email\":\"a@x\",\"roles\":null,\
             \"projects\":[],\"authType\":0,\"authSource\":0}\n"
        );
    }
}
