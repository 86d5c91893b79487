//! The HTTP side of cc-users: the user routes of the `/api` group (API tokens), of the `/config`
//! group (admin sessions: user administration) and of the `/frontend` group (any session: tokens
//! and UI settings), their tables, and the one mapping from their failures to the API error.

mod api;
mod config;
mod frontend;
#[cfg(test)]
mod test_support;

use cc_gocompat::null_as_default;
use cc_store::StoreError;
use cc_web::{json_response, ApiError, Ctx, Form, Response, Route};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::token::TokenError;
use crate::user::{list_users, update_user, UserError, UserRecord, UserUpdate};

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    api::get_users,
    api::update_user_roles_or_projects,
    config::get_roles,
    config::get_config_users,
    config::create_user,
    config::remove_user,
    config::update_config_user,
    frontend::get_jwt,
    frontend::update_configuration,
))]
pub struct ApiDoc;

/// The `/api` user routes.
pub static API_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/api/users/", api::get_users),
    Route::new(
        Method::POST,
        "/api/user/{id}",
        api::update_user_roles_or_projects,
    ),
];

/// The `/config` user administration routes.
pub static CONFIG_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/config/roles/", config::get_roles),
    Route::new(Method::GET, "/config/users/", config::get_config_users),
    Route::new(Method::POST, "/config/users/", config::create_user),
    Route::new(Method::PUT, "/config/users/", config::create_user),
    Route::new(Method::DELETE, "/config/users/", config::remove_user),
    Route::new(
        Method::POST,
        "/config/user/{id}",
        config::update_config_user,
    ),
];

/// The `/frontend` routes of a logged-in user: tokens and UI settings.
pub static FRONTEND_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/frontend/jwt/", frontend::get_jwt),
    Route::new(
        Method::POST,
        "/frontend/configuration/",
        frontend::update_configuration,
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
    /// A new user that breaks a rule: the rule's message alone.
    #[error("{0}")]
    InvalidNewUser(UserError),
    #[error("adding user failed: {0}")]
    AddUser(UserError),
    /// A missing user is a 404 (cc-backend answers 200 and deletes nothing).
    #[error("deleting user failed: {0}")]
    DeleteUser(UserError),
    #[error("only admins are allowed to sign JWTs not for themselves")]
    ForeignToken,
    #[error("getting user failed: {0}")]
    GetUser(UserError),
    #[error("providing JWT failed: {0}")]
    ProvideJwt(TokenError),
    #[error("updating configuration failed: {0}")]
    UpdateConfiguration(StoreError),
}

impl From<UsersRouteError> for ApiError {
    fn from(error: UsersRouteError) -> Self {
        let status = match &error {
            UsersRouteError::NotAdmin(_) | UsersRouteError::ForeignToken => StatusCode::FORBIDDEN,
            UsersRouteError::DecodeRequest(_)
            | UsersRouteError::NoOperation
            | UsersRouteError::InvalidNewUser(_) => StatusCode::BAD_REQUEST,
            UsersRouteError::DeleteUser(UserError::NoSuchUser)
            | UsersRouteError::GetUser(UserError::NoSuchUser) => StatusCode::NOT_FOUND,
            UsersRouteError::Update { .. }
            | UsersRouteError::AddUser(_)
            | UsersRouteError::DeleteUser(_) => StatusCode::UNPROCESSABLE_ENTITY,
            UsersRouteError::ListUsers(_)
            | UsersRouteError::GetUser(_)
            | UsersRouteError::ProvideJwt(_)
            | UsersRouteError::UpdateConfiguration(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

/// The handlers' own admin check. In the `/config` group the session authentication has already
/// refused everyone else with 401, as in cc-backend.
fn require_admin(ctx: &Ctx, refusal: &'static str) -> Result<(), UsersRouteError> {
    if ctx.user_is_admin() {
        Ok(())
    } else {
        Err(UsersRouteError::NotAdmin(refusal))
    }
}

/// A user as the user lists show it: NULL texts become `""`, a `null` list stays `null`, and
/// `authType`/`authSource` are always 0 like cc-backend's.
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

/// `GET /api/users/` and `GET /config/users/`: every user, or with `not-just-user=true` only those
/// with more than the `user` role (admin only).
fn users_response(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to fetch a list of users")?;
    let special_only = ctx.query_value("not-just-user").as_deref() == Some("true");
    let db = ctx.platform.sql()?;
    let users = list_users(&*db, special_only).map_err(UsersRouteError::ListUsers)?;
    let users: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    json_response(StatusCode::OK, &users)
}

/// One change of a user, as JSON (`/api`) or form fields (`/config`): the first non-empty field of
/// `add-role`, `remove-role`, `add-project`, `remove-project` (in this order) is applied, the
/// others are ignored. In JSON, absent, `null` and `""` fields are empty and unknown fields are
/// refused.
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
    fn from_form(form: &Form) -> Self {
        UserUpdateBody {
            add_role: form.value("add-role").to_owned(),
            remove_role: form.value("remove-role").to_owned(),
            add_project: form.value("add-project").to_owned(),
            remove_project: form.value("remove-project").to_owned(),
        }
    }

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

/// Applies the change `fields` names to user `username` (both update routes); the answer is the
/// success text of the operation, e.g. `Add Role Success`.
fn apply_update(
    ctx: &Ctx,
    username: &str,
    fields: UserUpdateBody,
) -> Result<&'static str, ApiError> {
    let update = fields.into_update().ok_or(UsersRouteError::NoOperation)?;
    let (success, failure) = match update {
        UserUpdate::AddRole(_) => ("Add Role Success", "adding role failed"),
        UserUpdate::RemoveRole(_) => ("Remove Role Success", "removing role failed"),
        UserUpdate::AddProject(_) => ("Add Project Success", "adding project failed"),
        UserUpdate::RemoveProject(_) => ("Remove Project Success", "removing project failed"),
    };
    let db = ctx.platform.sql()?;
    update_user(&*db, username, &update).map_err(|error| UsersRouteError::Update {
        prefix: failure,
        error,
    })?;
    Ok(success)
}

/// A success message.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UserUpdateMessage, example = json!({"msg": "Add Role Success for user alice"}))]
struct Message {
    /// What was done, e.g. `Add Role Success for user alice` (`/api`) or `Add Role Success`
    /// (`/config`).
    msg: String,
}

fn message_response(msg: String) -> Result<Response, ApiError> {
    json_response(StatusCode::OK, &Message { msg })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_web::decode_strict;

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

    fn form(query: &str) -> Form {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("/config/user/alice?{query}"))
            .body(Vec::new())
            .unwrap();
        Form::parse(&request).unwrap()
    }

    #[test]
    fn form_fields_follow_the_same_order() {
        let update = |query| UserUpdateBody::from_form(&form(query)).into_update();
        assert_eq!(
            update("remove-project=p&add-project=q&add-role="),
            Some(UserUpdate::AddProject("q".into()))
        );
        assert_eq!(
            update("remove-role=User&remove-project=p"),
            Some(UserUpdate::RemoveRole("User".into()))
        );
        assert_eq!(update("role=api&project=p"), None);
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
