//! The `/frontend` routes of any logged-in user: an API token for oneself (admins: for anyone) and
//! the web UI's per-user settings (docs/nodes-users.md#tokens-for-users,
//! docs/nodes-users.md#user-settings).

use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse};
use cc_web::{text_response, unix_now, ApiError, Ctx, Form, Response, Variables};
use http::StatusCode;

use super::UsersRouteError;
use crate::configuration::set_configuration;
use crate::token::issue_token;
use crate::user::get_user;

/// The session's username; every request reaching a `/frontend` handler has one.
fn session_username<'a>(ctx: &'a Ctx) -> &'a str {
    ctx.user.as_ref().map_or("", |user| user.username.as_str())
}

/// `GET /frontend/jwt/?username=<u>`: a token for `<u>` with the roles stored for them.
#[utoipa::path(
    get,
    path = "/frontend/jwt/",
    tag = "Frontend",
    summary = "Issue an API token",
    description = "A token for the user, carrying the roles stored for them (not the session's), \
                   signed with the `jwt_private_key` variable and valid for `jwt_max_age` (no \
                   expiry when that is empty). Users may ask for their own token, admins for \
                   anyone's.",
    params(("username" = String, Query, description = "The user the token is for")),
    responses(
        (status = 200, description = "The token (no line feed)", body = String, content_type = "text/plain"),
        (status = 400, description = "A multipart body is broken", body = ErrorResponse),
        (status = 401, description = "No valid session", body = ErrorResponse),
        (status = 403, description = "A user who is not an admin asked for another user's token", body = ErrorResponse),
        (status = 404, description = "No such user: `getting user failed: sql: no rows in result set`", body = ErrorResponse),
        (status = 500, description = "No or an invalid private key, an unparsable `jwt_max_age`, or a database failure", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn get_jwt(ctx: &Ctx) -> Result<Response, ApiError> {
    let form = ctx.form()?;
    let username = form.value("username");
    if !ctx.user_is_admin() && username != session_username(ctx) {
        return Err(UsersRouteError::ForeignToken.into());
    }
    let db = ctx.platform.sql()?;
    let user = get_user(&*db, username).map_err(UsersRouteError::GetUser)?;
    let token = issue_token(
        &user,
        ctx.platform.variable(Variables::JWT_PRIVATE_KEY).as_deref(),
        ctx.platform.variable(Variables::JWT_MAX_AGE).as_deref(),
        unix_now(),
    )
    .map_err(UsersRouteError::ProvideJwt)?;
    Ok(text_response(StatusCode::OK, token))
}

/// The form fields of one UI setting.
#[derive(utoipa::ToSchema)]
struct SettingForm {
    /// The setting's name (not checked; may be empty).
    key: String,
    /// Its value; the web UI stores JSON texts.
    value: String,
}

impl SettingForm {
    fn read(form: &Form) -> Self {
        SettingForm {
            key: form.value("key").to_owned(),
            value: form.value("value").to_owned(),
        }
    }
}

/// `POST /frontend/configuration/`: stores one UI setting of the session's user.
#[utoipa::path(
    post,
    path = "/frontend/configuration/",
    tag = "Frontend",
    summary = "Store a UI setting",
    description = "Stores the form field `value` under `key` for the session's user, replacing \
                   an earlier value. Neither is checked.",
    request_body(
        content(
            (SettingForm = "application/x-www-form-urlencoded"),
            (SettingForm = "multipart/form-data"),
        ),
        description = "The setting",
    ),
    responses(
        (status = 200, description = "`success`", body = String, content_type = "text/plain"),
        (status = 400, description = "A multipart body is broken", body = ErrorResponse),
        (status = 401, description = "No valid session", body = ErrorResponse),
        CrossSiteRefused,
        BodyTooLarge,
        (status = 500, description = "Storing failed, e.g. `updating configuration failed: FOREIGN KEY constraint failed` for a session whose user was deleted", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub(super) fn update_configuration(ctx: &Ctx) -> Result<Response, ApiError> {
    let setting = SettingForm::read(&ctx.form()?);
    let db = ctx.platform.sql()?;
    set_configuration(&*db, session_username(ctx), &setting.key, &setting.value)
        .map_err(UsersRouteError::UpdateConfiguration)?;
    Ok(text_response(StatusCode::OK, "success"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_support::{session_user, text, TestPlatform};
    use crate::{add_user, NewUser};
    use cc_auth::{generate_key_pair, verify_token, PublicKey};
    use cc_store::Value;

    fn app(max_age: &str) -> (TestPlatform, PublicKey) {
        let (public, private) = generate_key_pair();
        let app = TestPlatform::new(&[
            (Variables::JWT_PRIVATE_KEY, &private),
            (Variables::JWT_MAX_AGE, max_age),
        ]);
        for (username, roles) in [("alice", &["user"][..]), ("admin", &["admin", "api"])] {
            let user = NewUser {
                username: username.into(),
                password: "pw".into(),
                roles: roles.iter().map(|role| role.to_string()).collect(),
                ..NewUser::default()
            };
            add_user(&*app.db(), &user).unwrap();
        }
        (app, PublicKey::from_base64(&public).unwrap())
    }

    fn error(response: &Response) -> (StatusCode, String) {
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        (
            response.status(),
            body["error"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn users_get_their_own_token_and_admins_anyones() {
        let (app, public) = app("2000h");
        let alice = session_user("alice", &["user", "api"]);
        let admin = session_user("admin", &["admin"]);
        let jwt = |user, query: &str| {
            app.call(get_jwt, user, "GET", &format!("/frontend/jwt/?{query}"), "")
        };

        let own = jwt(&alice, "username=alice");
        assert_eq!(own.status(), StatusCode::OK);
        assert_eq!(own.headers()["content-type"], "text/plain; charset=utf-8");
        let now = unix_now();
        let verified = verify_token(text(&own), Some(&public), now).unwrap();
        assert_eq!(verified.username, "alice");
        assert_eq!(
            verified.roles,
            ["user"],
            "the stored roles, not the session's"
        );
        assert!(verify_token(text(&own), Some(&public), now + 2000 * 3600 + 60).is_err());

        let for_alice = jwt(&admin, "username=alice");
        assert_eq!(for_alice.status(), StatusCode::OK);
        let verified = verify_token(text(&for_alice), Some(&public), now).unwrap();
        assert_eq!(verified.username, "alice");

        assert_eq!(
            error(&jwt(&alice, "username=admin")),
            (
                StatusCode::FORBIDDEN,
                "only admins are allowed to sign JWTs not for themselves".into()
            )
        );
        assert_eq!(
            error(&jwt(&admin, "username=nobody")),
            (
                StatusCode::NOT_FOUND,
                "getting user failed: sql: no rows in result set".into()
            )
        );
    }

    #[test]
    fn token_settings_that_do_not_work_are_server_errors() {
        let (app, _) = app("3 days");
        let admin = session_user("admin", &["admin"]);
        let jwt = |app: &TestPlatform| {
            error(&app.call(get_jwt, &admin, "GET", "/frontend/jwt/?username=admin", ""))
        };
        assert_eq!(
            jwt(&app),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "providing JWT failed: cannot parse max-age config key".into()
            )
        );
        let without_key = TestPlatform::new(&[]);
        let user = NewUser {
            username: "admin".into(),
            roles: vec!["api".into()],
            ..NewUser::default()
        };
        add_user(&*without_key.db(), &user).unwrap();
        assert_eq!(
            jwt(&without_key),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "providing JWT failed: no private key configured".into()
            )
        );
    }

    #[test]
    fn settings_are_stored_for_the_session_user() {
        let (app, _) = app("");
        let alice = session_user("alice", &["user"]);
        let store = |user, body| {
            app.call(
                update_configuration,
                user,
                "POST",
                "/frontend/configuration/",
                body,
            )
        };
        for body in [
            "key=plot_list_jobsPerPage&value=10",
            "key=plot_list_jobsPerPage&value=%5B50%5D",
        ] {
            let stored = store(&alice, body);
            assert_eq!(stored.status(), StatusCode::OK);
            assert_eq!(text(&stored), "success");
        }
        let rows = app
            .db()
            .execute("SELECT username, confkey, value FROM configuration", &[])
            .unwrap()
            .rows;
        assert_eq!(
            rows,
            [vec![
                Value::from("alice"),
                Value::from("plot_list_jobsPerPage"),
                Value::from("[50]")
            ]]
        );
        assert_eq!(
            error(&store(&session_user("gone", &["user"]), "key=a&value=1")),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "updating configuration failed: FOREIGN KEY constraint failed".into()
            )
        );
    }
}
