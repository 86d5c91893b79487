//! The `/config` user administration routes of an admin's browser session
//! (docs/nodes-users.md#users): roles, listing, creating and deleting users, role and project
//! changes. Fields are form fields (docs/api.md#form-fields).

use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse};
use cc_web::{json_response, text_response, ApiError, Ctx, Form, Response};
use http::StatusCode;

use super::{
    apply_update, message_response, require_admin, users_response, Message, UserJson,
    UserUpdateBody, UsersRouteError,
};
use crate::user::{add_user, assignable_roles, delete_user, NewUser, UserError};

/// `GET /config/roles/`: the roles a user can be given.
#[utoipa::path(
    get,
    path = "/config/roles/",
    tag = "Config",
    summary = "List assignable roles",
    description = "The roles a user can be given, lowest first. Admin session only.",
    responses(
        (status = 200, description = "The role names", body = Vec<String>,
            example = json!(["api", "user", "manager", "support", "admin"])),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn get_roles(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to fetch a list of roles")?;
    let roles: Vec<&str> = assignable_roles().map(|role| role.as_str()).collect();
    json_response(StatusCode::OK, &roles)
}

/// `GET /config/users/[?not-just-user=true]`: the handler of `GET /api/users/` for sessions.
#[utoipa::path(
    get,
    path = "/config/users/",
    tag = "Config",
    summary = "List users",
    description = "Every user, or with `not-just-user=true` only those with a role other than \
                   `user`. Admin session only.",
    params((
        "not-just-user" = Option<String>,
        Query,
        description = "`true`: only users with more than the `user` role; any other value is ignored",
    )),
    responses(
        (status = 200, description = "The users", body = Vec<UserJson>),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        (status = 500, description = "The database failed", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn get_config_users(ctx: &Ctx) -> Result<Response, ApiError> {
    users_response(ctx)
}

/// The form fields of a new user: one role, at most one project.
#[derive(utoipa::ToSchema)]
struct NewUserForm {
    /// The login name, 1 to 100 bytes.
    username: String,
    /// The password; empty only for `api` users (who then cannot log in).
    #[schema(required = false)]
    password: String,
    /// One of `api`, `user`, `manager`, `support`, `admin`.
    role: String,
    /// The display name (optional).
    #[schema(required = false)]
    name: String,
    /// The e-mail address (optional).
    #[schema(required = false)]
    email: String,
    /// The managed project: required for managers, refused for everyone else.
    #[schema(required = false)]
    project: String,
}

impl NewUserForm {
    fn read(form: &Form) -> Self {
        let field = |name| form.value(name).to_owned();
        NewUserForm {
            username: field("username"),
            password: field("password"),
            role: field("role"),
            name: field("name"),
            email: field("email"),
            project: field("project"),
        }
    }

    /// The user to create: an empty role or project is none (cc-backend stores `[""]`).
    fn into_new_user(self) -> NewUser {
        let list = |value: String| {
            if value.is_empty() {
                Vec::new()
            } else {
                vec![value]
            }
        };
        NewUser {
            username: self.username,
            password: self.password,
            roles: list(self.role),
            projects: list(self.project),
            name: self.name,
            email: self.email,
        }
    }
}

/// `POST|PUT /config/users/`: creates a local user from form fields.
#[utoipa::path(
    method(post, put),
    path = "/config/users/",
    tag = "Config",
    summary = "Create a user",
    description = "Creates a local user with a bcrypt-hashed password. The rules are checked in \
                   this order: username length, a role is given, the role is assignable, a blank \
                   password only for `api`, a project exactly for managers. Admin session only.",
    request_body(
        content(
            (NewUserForm = "application/x-www-form-urlencoded"),
            (NewUserForm = "multipart/form-data"),
        ),
        description = "The new user's fields",
    ),
    responses(
        (status = 200, description = "`User <username> successfully created!` and a line feed",
            body = String, content_type = "text/plain"),
        (status = 400, description = "A rule is broken, e.g. `supplied role is no valid option : root`, or the multipart body is broken", body = ErrorResponse),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        CrossSiteRefused,
        BodyTooLarge,
        (status = 422, description = "Storing failed, e.g. `adding user failed: UNIQUE constraint failed: hpc_user.username`", body = ErrorResponse),
        (status = 500, description = "The database could not be opened", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn create_user(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to create new users")?;
    let user = NewUserForm::read(&ctx.form()?).into_new_user();
    user.validate().map_err(UsersRouteError::InvalidNewUser)?;
    let db = ctx.platform.sql()?;
    add_user(&*db, &user).map_err(UsersRouteError::AddUser)?;
    Ok(text_response(
        StatusCode::OK,
        format!("User {} successfully created!\n", user.username),
    ))
}

/// `DELETE /config/users/`: deletes the user named by the form field `username`, with their UI
/// settings.
#[utoipa::path(
    delete,
    path = "/config/users/",
    tag = "Config",
    summary = "Delete a user",
    description = "Deletes the user named by the form field `username` (query string, \
                   urlencoded or multipart body) together with their UI settings. Admin session \
                   only.",
    params(("username" = String, Query, description = "The login name (also accepted as a body field)")),
    responses(
        (status = 200, description = "The user is deleted; empty body"),
        (status = 400, description = "The multipart body is broken", body = ErrorResponse),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        CrossSiteRefused,
        (status = 404, description = "No such user: `deleting user failed: sql: no rows in result set`", body = ErrorResponse),
        BodyTooLarge,
        (status = 422, description = "The database failed", body = ErrorResponse),
        (status = 500, description = "The database could not be opened", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn remove_user(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to delete a user")?;
    let form = ctx.form()?;
    let db = ctx.platform.sql()?;
    if !delete_user(&*db, form.value("username")).map_err(UsersRouteError::DeleteUser)? {
        return Err(UsersRouteError::DeleteUser(UserError::NoSuchUser).into());
    }
    Ok(Response::new(Vec::new()))
}

/// `POST /config/user/{id}`: `POST /api/user/{id}` with form fields and shorter messages.
#[utoipa::path(
    post,
    path = "/config/user/{id}",
    tag = "Config",
    summary = "Change a user's roles or projects",
    description = "Adds or removes one role or one project of the user: the first non-empty field \
                   of `add-role`, `remove-role`, `add-project`, `remove-project` is applied. \
                   Admin session only.",
    params(("id" = String, Path, description = "The user's login name")),
    request_body(
        content(
            (UserUpdateBody = "application/x-www-form-urlencoded"),
            (UserUpdateBody = "multipart/form-data"),
        ),
        description = "The change; at least one field must be non-empty",
    ),
    responses(
        (status = 200, description = "The change is applied, e.g. `{\"msg\":\"Add Role Success\"}`", body = Message),
        (status = 400, description = "No field names a change, or the multipart body is broken", body = ErrorResponse),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        CrossSiteRefused,
        BodyTooLarge,
        (status = 422, description = "The change failed: unknown user, invalid role, role or project already present or absent, or a database failure", body = ErrorResponse),
        (status = 500, description = "The database could not be opened", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn update_config_user(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to update a user")?;
    let fields = UserUpdateBody::from_form(&ctx.form()?);
    let success = apply_update(ctx, ctx.param("id"), fields)?;
    message_response(success.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{session_user, text, TestPlatform};
    use cc_store::Value;

    fn new_user(query: &str) -> NewUser {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("/config/users/?{query}"))
            .body(Vec::new())
            .unwrap();
        NewUserForm::read(&Form::parse(&request).unwrap()).into_new_user()
    }

    fn refusal(query: &str) -> String {
        new_user(query).validate().unwrap_err().to_string()
    }

    #[test]
    fn form_users_have_one_role_and_no_empty_project() {
        assert_eq!(
            new_user("username=a&password=pw&role=user&name=A&email=a@x"),
            NewUser {
                username: "a".into(),
                password: "pw".into(),
                roles: vec!["user".into()],
                projects: vec![],
                name: "A".into(),
                email: "a@x".into(),
            }
        );
        let manager = new_user("username=m&password=pw&role=manager&project=p1");
        assert_eq!(manager.roles, ["manager"]);
        assert_eq!(manager.projects, ["p1"]);
        assert!(manager.validate().is_ok());
    }

    #[test]
    fn form_rules_are_checked_in_order() {
        let too_long = format!("username={}&role=", "x".repeat(101));
        let cases = [
            (
                "role=user&password=pw",
                "username must be between 1 and 100 characters",
            ),
            (
                too_long.as_str(),
                "username must be between 1 and 100 characters",
            ),
            ("username=a&password=", "a user needs at least one role"),
            (
                "username=a&role=root&password=",
                "supplied role is no valid option : root",
            ),
            (
                "username=a&role=Admin&password=pw",
                "supplied role is no valid option : Admin",
            ),
            (
                "username=a&role=anonymous&password=pw",
                "supplied role is no valid option : anonymous",
            ),
            (
                "username=a&role=user&project=p",
                "only API users are allowed to have a blank password (login will be impossible)",
            ),
            (
                "username=a&role=user&password=pw&project=p",
                "only managers require a project (can be changed later)",
            ),
            (
                "username=a&role=manager&password=pw",
                "managers require a project to manage (can be changed later)",
            ),
        ];
        for (query, message) in cases {
            assert_eq!(refusal(query), message, "{query}");
        }
        assert!(new_user("username=robot&role=api").validate().is_ok());
    }

    fn assert_error(response: &Response, status: StatusCode, message: &str) {
        assert_eq!(response.status(), status, "{}", text(response));
        let expected = serde_json::json!({"status": status.canonical_reason(), "error": message});
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(response.body()).unwrap(),
            expected
        );
    }

    #[test]
    fn created_users_keep_their_role_and_store_no_empty_project() {
        let app = TestPlatform::new(&[]);
        let admin = session_user("admin", &["admin"]);
        let create = |method, body| app.call(create_user, &admin, method, "/config/users/", body);

        let created = create("POST", "username=alice&password=pw&role=user&name=Alice+A.");
        assert_eq!(created.status(), StatusCode::OK);
        assert_eq!(text(&created), "User alice successfully created!\n");
        assert_eq!(
            created
                .headers()
                .get_all("content-type")
                .iter()
                .collect::<Vec<_>>(),
            ["text/plain; charset=utf-8"]
        );
        let created = create("PUT", "username=boss&password=pw&role=manager&project=p1");
        assert_eq!(created.status(), StatusCode::OK);
        let rows = app
            .db()
            .execute(
                "SELECT username, ldap, name, email, roles, projects, password FROM hpc_user \
                 ORDER BY rowid",
                &[],
            )
            .unwrap()
            .rows;
        let columns = |row: &[Value]| row[..6].to_vec();
        assert_eq!(
            columns(&rows[0]),
            [
                Value::from("alice"),
                Value::Integer(0),
                Value::from("Alice A."),
                Value::Null,
                Value::from(r#"["user"]"#),
                Value::from("[]"),
            ]
        );
        assert_eq!(rows[1][4], Value::from(r#"["manager"]"#));
        assert_eq!(rows[1][5], Value::from(r#"["p1"]"#));
        let hash = rows[0][6].as_str().unwrap();
        assert!(crate::verify_password("pw", hash), "{hash}");

        let refused = create("POST", "username=carol&password=pw&role=root");
        assert_error(
            &refused,
            StatusCode::BAD_REQUEST,
            "supplied role is no valid option : root",
        );
        assert_eq!(refused.headers().get_all("content-type").iter().count(), 1);
        assert_error(
            &create("POST", "username=carol&password=pw"),
            StatusCode::BAD_REQUEST,
            "a user needs at least one role",
        );
        assert_error(
            &create("POST", "username=alice&password=pw&role=api"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "adding user failed: UNIQUE constraint failed: hpc_user.username",
        );
        assert_error(
            &app.call(
                create_user,
                &session_user("boss", &["manager"]),
                "POST",
                "/config/users/",
                "username=dave&password=pw&role=admin",
            ),
            StatusCode::FORBIDDEN,
            "only admins are allowed to create new users",
        );
        let count = app
            .db()
            .execute("SELECT COUNT(*) FROM hpc_user", &[])
            .unwrap();
        assert_eq!(count.rows[0][0], Value::Integer(2));
    }

    #[test]
    fn users_are_deleted_by_urlencoded_body_or_query_and_a_missing_one_is_not_found() {
        let app = TestPlatform::new(&[]);
        let admin = session_user("admin", &["admin"]);
        for username in ["alice", "bob"] {
            let body = format!("username={username}&password=pw&role=user");
            let created = app.call(create_user, &admin, "POST", "/config/users/", &body);
            assert_eq!(created.status(), StatusCode::OK);
        }
        let delete = |uri, body| app.call(remove_user, &admin, "DELETE", uri, body);

        let deleted = delete("/config/users/", "username=alice");
        assert_eq!(deleted.status(), StatusCode::OK);
        assert!(deleted.body().is_empty());
        assert_eq!(
            delete("/config/users/?username=bob", "").status(),
            StatusCode::OK
        );
        assert_error(
            &delete("/config/users/", "username=alice"),
            StatusCode::NOT_FOUND,
            "deleting user failed: sql: no rows in result set",
        );
        let count = app
            .db()
            .execute("SELECT COUNT(*) FROM hpc_user", &[])
            .unwrap();
        assert_eq!(count.rows[0][0], Value::Integer(0));
    }

    #[test]
    fn the_assignable_roles_are_listed_lowest_first() {
        let app = TestPlatform::new(&[]);
        let roles = app.call(
            get_roles,
            &session_user("admin", &["admin"]),
            "GET",
            "/config/roles/",
            "",
        );
        assert_eq!(roles.status(), StatusCode::OK);
        assert_eq!(
            text(&roles),
            "[\"api\",\"user\",\"manager\",\"support\",\"admin\"]\n"
        );
    }
}
