//! Turning credentials into a session (docs/auth.md#login): a local user's bcrypt password, or an API
//! token signed with the app's key. The session is a snapshot of the user's roles and projects.

use cc_auth::session::{AuthSource, Session, DEFAULT_SESSION_SECONDS};
use cc_auth::{verify_token, AuthError, PublicKey, Role};
use cc_store::Sql;
use cc_users::{get_user, verify_password, UserError};

/// The auth source of local users (column `ldap` = 0).
const LOCAL_AUTH_SOURCE: i64 = 0;

/// A bcrypt hash (cost 10) of a random password nobody knows: unknown users are checked against it,
/// so a failed login takes as long whether or not the name exists.
const UNKNOWN_USER_HASH: &str = "$2a$10$dF8od.RpSqstluQpal.OyuYhRdEAGzWp6mAwArDjmG5H15pRmsOYy";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoginError {
    /// Unknown user, a user without a local password, or a wrong password: one message for all,
    /// so the page does not reveal which names exist.
    #[error("Authentication failed")]
    Failed,
    #[error("no authenticator applied")]
    NoAuthenticator,
    #[error("{0}")]
    Token(AuthError),
    #[error("{0}")]
    Storage(String),
}

/// How long a new session lives: `session_max_age` as a Go duration; `0`, empty or unparsable
/// mean cc-backend's 30 days, which is also the most any session lives (cc-backend refuses cookies
/// older than that whatever the setting).
pub fn session_lifetime(max_age: Option<&str>) -> u64 {
    max_age
        .and_then(|text| cc_gocompat::parse_duration(text).ok())
        .map(|duration| duration.as_secs())
        .filter(|seconds| *seconds > 0)
        .map_or(DEFAULT_SESSION_SECONDS, |seconds| {
            seconds.min(DEFAULT_SESSION_SECONDS)
        })
}

fn session(
    username: String,
    roles: Vec<String>,
    projects: Vec<String>,
    auth_source: AuthSource,
    now: u64,
    lifetime: u64,
) -> Session {
    Session {
        username,
        roles,
        projects,
        auth_source,
        issued_at: now,
        expires_at: now.saturating_add(lifetime),
    }
}

/// A local login: the user must exist with auth source local and a matching bcrypt password.
pub fn login_with_password(
    db: &dyn Sql,
    username: &str,
    password: &str,
    now: u64,
    lifetime: u64,
) -> Result<Session, LoginError> {
    let user = match get_user(db, username) {
        Ok(user) => Some(user),
        Err(UserError::NoSuchUser) => None,
        Err(error) => return Err(LoginError::Storage(error.to_string())),
    };
    let hash = user
        .as_ref()
        .filter(|user| user.auth_source == LOCAL_AUTH_SOURCE)
        .and_then(|user| user.password.clone())
        .filter(|hash| !hash.is_empty());
    // Always one bcrypt comparison, so unknown names are not faster to refuse.
    let matches = verify_password(password, hash.as_deref().unwrap_or(UNKNOWN_USER_HASH));
    match user {
        Some(user) if matches && hash.is_some() => Ok(session(
            user.username,
            user.roles.unwrap_or_default(),
            user.projects.unwrap_or_default(),
            AuthSource::Local,
            now,
            lifetime,
        )),
        _ => Err(LoginError::Failed),
    }
}

/// A login with an API token of this app (`/jwt-login`): the token's user and roles become the
/// session, as cc-backend's JWT session login does without `validate-user`.
pub fn login_with_token(
    token: &str,
    key: Option<&PublicKey>,
    now: u64,
    lifetime: u64,
) -> Result<Session, LoginError> {
    let user = verify_token(token, key, now).map_err(LoginError::Token)?;
    let roles = user
        .roles
        .into_iter()
        .filter(|role| Role::from_name(role).is_some())
        .collect();
    Ok(session(
        user.username,
        roles,
        user.projects,
        AuthSource::Token,
        now,
        lifetime,
    ))
}

/// Seconds of a session as the `Max-Age` of its cookie.
pub fn cookie_max_age(session: &Session) -> u64 {
    session.expires_at.saturating_sub(session.issued_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::database;
    use cc_users::{add_user, NewUser};

    fn add(db: &dyn Sql, username: &str, password: &str, role: &str) {
        add_user(
            db,
            &NewUser {
                username: username.into(),
                password: password.into(),
                roles: vec![role.into()],
                projects: vec![],
                name: String::new(),
                email: String::new(),
            },
        )
        .unwrap();
    }

    #[test]
    fn the_right_password_gives_a_session_with_the_users_roles() {
        let (_dir, db) = database();
        add(&db, "alice", "s3cret", "admin");
        let session = login_with_password(&db, "alice", "s3cret", 100, 50).unwrap();
        assert_eq!(session.username, "alice");
        assert_eq!(session.roles, vec!["admin".to_string()]);
        assert_eq!((session.issued_at, session.expires_at), (100, 150));
        assert_eq!(cookie_max_age(&session), 50);
    }

    #[test]
    fn wrong_passwords_unknown_users_and_blank_passwords_fail_alike() {
        let (_dir, db) = database();
        add(&db, "alice", "s3cret", "admin");
        add(&db, "robot", "", "api");
        for (user, password) in [
            ("alice", "wrong"),
            ("nobody", "s3cret"),
            ("robot", ""),
            ("alice", ""),
        ] {
            assert_eq!(
                login_with_password(&db, user, password, 0, 1),
                Err(LoginError::Failed),
                "{user}"
            );
        }
    }

    #[test]
    fn unknown_user_hash_is_a_well_formed_cost_10_hash() {
        // A malformed hash would fail at once and give unknown names away by timing.
        assert!(UNKNOWN_USER_HASH.starts_with("$2a$10$") && UNKNOWN_USER_HASH.len() == 60);
        assert_eq!(bcrypt::verify("guess", UNKNOWN_USER_HASH).ok(), Some(false));
    }

    #[test]
    fn session_lifetime_follows_cc_backend() {
        assert_eq!(session_lifetime(Some("168h")), 604_800);
        assert_eq!(session_lifetime(Some("0")), DEFAULT_SESSION_SECONDS);
        assert_eq!(session_lifetime(Some("soon")), DEFAULT_SESSION_SECONDS);
        assert_eq!(session_lifetime(None), DEFAULT_SESSION_SECONDS);
        assert_eq!(session_lifetime(Some("1000h")), DEFAULT_SESSION_SECONDS);
    }

    #[test]
    fn tokens_of_this_app_log_in_and_others_do_not() {
        let (public, private) = cc_auth::generate_key_pair();
        let public = PublicKey::from_base64(&public).unwrap();
        let private = cc_auth::PrivateKey::from_base64(&private).unwrap();
        let token = cc_auth::mint_token(&private, "bob", &["user".into()], None, 10);
        let session = login_with_token(&token, Some(&public), 20, 100).unwrap();
        assert_eq!(
            (session.username.as_str(), session.auth_source),
            ("bob", AuthSource::Token)
        );
        let (other, _) = cc_auth::generate_key_pair();
        let other = PublicKey::from_base64(&other).unwrap();
        assert!(matches!(
            login_with_token(&token, Some(&other), 20, 100),
            Err(LoginError::Token(AuthError::BadSignature))
        ));
    }
}
