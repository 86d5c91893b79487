//! The HTTP side of the crate: request decoding, admin checks, responses, and the one place where
//! this crate's errors become API errors.

use std::time::{Duration, UNIX_EPOCH};

use cc_auth::Role;
use cc_model::ClusterError;
use cc_web::{decode_strict, json_response, unix_now, ApiError, Ctx, Platform, Response};
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use crate::health::StoredHealth;
use crate::machine_state::{
    load_machine_state, save_machine_state, MachineState, MachineStateError, MachineStateKey,
    MACHINE_STATE_ENABLED,
};
use crate::node_state::{record_node_states, NodeStateUpdate};
use crate::null_as_default;
use crate::user::{list_users, update_user, UserError, UserRecord, UserUpdate};

fn require_admin(ctx: &Ctx, refusal: &str) -> Result<(), ApiError> {
    if ctx
        .user
        .as_ref()
        .is_some_and(|user| user.has_role(Role::Admin))
    {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, refusal))
    }
}

/// A user as `GET /api/users/` shows it (routes.md §3.1): NULL texts become `""`, a `null` list
/// stays `null`, and `authType`/`authSource` are always 0 like cc-backend's.
#[derive(Serialize)]
struct UserJson<'a> {
    username: &'a str,
    name: &'a str,
    email: &'a str,
    roles: Option<&'a [String]>,
    projects: Option<&'a [String]>,
    #[serde(rename = "authType")]
    auth_type: u8,
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
pub fn get_users(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to fetch a list of users")?;
    let special_only = ctx
        .query()
        .into_iter()
        .find(|(key, _)| key == "not-just-user")
        .is_some_and(|(_, value)| value == "true");
    let db = ctx.platform.sql()?;
    let users = list_users(&*db, special_only)
        .map_err(|error| ApiError::internal(format!("listing users failed: {error}")))?;
    let users: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    json_response(StatusCode::OK, &users)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdateBody {
    #[serde(rename = "add-role", default, deserialize_with = "null_as_default")]
    add_role: String,
    #[serde(rename = "remove-role", default, deserialize_with = "null_as_default")]
    remove_role: String,
    #[serde(rename = "add-project", default, deserialize_with = "null_as_default")]
    add_project: String,
    #[serde(
        rename = "remove-project",
        default,
        deserialize_with = "null_as_default"
    )]
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

#[derive(Serialize)]
struct Message {
    msg: String,
}

/// `POST /api/user/{id}`: adds or removes one role or project of user `{id}` (admin only).
pub fn update_user_roles_or_projects(ctx: &Ctx) -> Result<Response, ApiError> {
    require_admin(ctx, "only admins are allowed to update a user")?;
    let body: UserUpdateBody = decode_strict(ctx.request.body())
        .map_err(|error| ApiError::bad_request(format!("decoding request failed: {error}")))?;
    let update = body.into_update().ok_or_else(|| {
        ApiError::bad_request(
            "no operation specified: must provide add-role, remove-role, add-project, or \
             remove-project",
        )
    })?;
    let (success, failure) = match update {
        UserUpdate::AddRole(_) => ("Add Role Success", "adding role failed"),
        UserUpdate::RemoveRole(_) => ("Remove Role Success", "removing role failed"),
        UserUpdate::AddProject(_) => ("Add Project Success", "adding project failed"),
        UserUpdate::RemoveProject(_) => ("Remove Project Success", "removing project failed"),
    };
    let username = ctx.param("id");
    let db = ctx.platform.sql()?;
    update_user(&*db, username, &update).map_err(|error| user_update_error(failure, &error))?;
    json_response(
        StatusCode::OK,
        &Message {
            msg: format!("{success} for user {username}"),
        },
    )
}

/// Every failure of a role or project change is a 422 with the operation's prefix, storage
/// failures included, as in cc-backend.
fn user_update_error(prefix: &str, error: &UserError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("{prefix}: {error}"),
    )
}

/// `POST|PUT /api/nodestate/` and `POST /api/healthcheck`: a node-state update (spec §1) with
/// each node's health from the samples in the metric store. Success is 200 with an empty body and no Content-Type, as in cc-backend;
/// hosts that cannot be registered are logged, not an error. Unlike cc-backend, a storage
/// failure is a 500 rather than a logged 200, so the batch system learns that nothing was stored.
pub fn update_node_states(ctx: &Ctx) -> Result<Response, ApiError> {
    let now = unix_now();
    let update: NodeStateUpdate = decode_strict(ctx.request.body())
        .map_err(|error| ApiError::bad_request(format!("parsing request body failed: {error}")))?;
    let cluster = match cc_model::load_cluster(&ctx.platform.clusters_dir(), &update.cluster) {
        Ok(cluster) => Some(cluster),
        Err(ClusterError::UnknownCluster(_)) => None,
        Err(error) => {
            return Err(ApiError::internal(format!(
                "loading cluster {} failed: {error}",
                update.cluster
            )))
        }
    };
    let db = ctx.platform.sql()?;
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let health = StoredHealth { db: &*db, now };
    let report = record_node_states(&*db, cluster.as_ref(), &update, &health, now)
        .map_err(|error| ApiError::internal(format!("updating node states failed: {error}")))?;
    for hostname in &report.unmapped {
        eprintln!(
            "node state update: host {hostname:?} of cluster {:?} belongs to no sub-cluster, \
             not stored",
            update.cluster
        );
    }
    Ok(Response::new(Vec::new()))
}

/// Whether the machine-state routes exist: the `machine_state_enabled` variable is `true`
/// (cc-backend registers them only when `main.machine-state-dir` is set).
pub fn machine_state_enabled(platform: &dyn Platform) -> bool {
    platform.variable(MACHINE_STATE_ENABLED).as_deref() == Some("true")
}

fn machine_state_error(error: MachineStateError) -> ApiError {
    match error {
        MachineStateError::InvalidCluster | MachineStateError::InvalidHost => {
            ApiError::bad_request(error.to_string())
        }
        MachineStateError::Corrupt(_) | MachineStateError::Store(_) => {
            ApiError::internal(error.to_string())
        }
    }
}

fn machine_state_key(ctx: &Ctx) -> Result<MachineStateKey, ApiError> {
    MachineStateKey::new(ctx.param("cluster"), ctx.param("host")).map_err(machine_state_error)
}

fn http_date(unix_seconds: u64) -> HeaderValue {
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_seconds));
    HeaderValue::from_str(&date).expect("HTTP dates are valid header values")
}

/// The `If-Modified-Since` time of the request, when present and valid (unix seconds).
fn if_modified_since(ctx: &Ctx) -> Option<u64> {
    let text = ctx
        .request
        .headers()
        .get(header::IF_MODIFIED_SINCE)?
        .to_str()
        .ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    time.duration_since(UNIX_EPOCH)
        .ok()
        .map(|since| since.as_secs())
}

/// `GET /api/machine_state/{cluster}/{host}`: the stored document as JSON with `Last-Modified`,
/// or 304 when it is not newer than `If-Modified-Since`. A missing document is a JSON 404 (the
/// recommendation; cc-backend answers plain text). Range requests are not supported: the
/// documents are small and always sent whole.
pub fn get_machine_state(ctx: &Ctx) -> Result<Response, ApiError> {
    let key = machine_state_key(ctx)?;
    let kv = ctx.platform.kv()?;
    let state = load_machine_state(&*kv, &key)
        .map_err(machine_state_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "machine state not found"))?;
    let not_modified = if_modified_since(ctx).is_some_and(|since| state.modified <= since);
    let mut response = if not_modified {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let mut response = Response::new(state.body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    response
        .headers_mut()
        .insert(header::LAST_MODIFIED, http_date(state.modified));
    Ok(response)
}

/// `PUT|POST /api/machine_state/{cluster}/{host}`: stores the body as it is; 201 with an empty
/// body.
pub fn put_machine_state(ctx: &Ctx) -> Result<Response, ApiError> {
    let key = machine_state_key(ctx)?;
    let kv = ctx.platform.kv()?;
    let state = MachineState {
        modified: unix_now(),
        body: ctx.request.body().clone(),
    };
    save_machine_state(&*kv, &key, &state).map_err(machine_state_error)?;
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
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
        let json = cc_model::to_go_json(&UserJson::from(&user)).unwrap();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            "{\"username\":\"a\\u003cb\",\"name\":\"\",\"email\":\"a@x\",\"roles\":null,\
             \"projects\":[],\"authType\":0,\"authSource\":0}\n"
        );
    }
}
