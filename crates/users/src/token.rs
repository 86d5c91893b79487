//! API tokens for users, as `GET /frontend/jwt/` hands them out (docs/nodes-users.md#tokens-for-users).

use std::time::Duration;

use cc_auth::{mint_token, KeyError, PrivateKey};

use crate::user::UserRecord;

/// Why no token could be issued; the texts follow cc-backend's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no private key configured")]
    NoPrivateKey,
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(#[from] KeyError),
    #[error("cannot parse max-age config key")]
    InvalidMaxAge,
}

/// The lifetime of issued tokens from the Go duration `max_age`: `None` (unset) issues tokens
/// without `exp`; a negative or unparsable duration is refused.
fn lifetime(max_age: Option<&str>) -> Result<Option<Duration>, TokenError> {
    max_age
        .map(|text| cc_gocompat::parse_duration(text).map_err(|_| TokenError::InvalidMaxAge))
        .transpose()
}

/// A token for `user` carrying the roles stored for them (a `null` list issues `[]`), signed with
/// the base64 Go-format `private_key`, valid for `max_age` from `now` (unix seconds).
pub fn issue_token(
    user: &UserRecord,
    private_key: Option<&str>,
    max_age: Option<&str>,
    now: u64,
) -> Result<String, TokenError> {
    let key = PrivateKey::from_base64(private_key.ok_or(TokenError::NoPrivateKey)?)?;
    let lifetime = lifetime(max_age)?;
    let roles = user.roles.as_deref().unwrap_or_default();
    Ok(mint_token(&key, &user.username, roles, lifetime, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_auth::{generate_key_pair, verify_token};

    fn user(roles: Option<&[&str]>) -> UserRecord {
        UserRecord {
            username: "alice".into(),
            password: None,
            auth_source: 0,
            name: None,
            email: None,
            roles: roles.map(|roles| roles.iter().map(|role| role.to_string()).collect()),
            projects: Some(vec!["p1".into()]),
        }
    }

    fn claims(token: &str) -> serde_json::Value {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn tokens_carry_the_stored_roles_and_the_configured_lifetime() {
        let (public, private) = generate_key_pair();
        let now = 1_700_000_000;
        let token = issue_token(
            &user(Some(&["user", "api"])),
            Some(&private),
            Some("2000h"),
            now,
        )
        .unwrap();
        assert_eq!(
            claims(&token),
            serde_json::json!({"exp": now + 2000 * 3600, "iat": now, "roles": ["user", "api"], "sub": "alice"})
        );
        let public = cc_auth::PublicKey::from_base64(&public).unwrap();
        let verified = verify_token(&token, Some(&public), now).unwrap();
        assert_eq!(verified.username, "alice");
        assert_eq!(verified.roles, ["user", "api"]);
        assert!(verified.projects.is_empty(), "tokens carry no projects");

        let forever = issue_token(&user(None), Some(&private), None, now).unwrap();
        assert_eq!(
            claims(&forever),
            serde_json::json!({"iat": now, "roles": [], "sub": "alice"})
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let (_, private) = generate_key_pair();
        let alice = user(Some(&["user"]));
        let refused = |key: Option<&str>, max_age: Option<&str>| {
            issue_token(&alice, key, max_age, 0)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(refused(None, None), "no private key configured");
        assert!(
            refused(Some("not base64!"), None).starts_with("invalid private key: "),
            "{}",
            refused(Some("not base64!"), None)
        );
        for max_age in ["3d", "2000", "-1h", "h"] {
            assert_eq!(
                refused(Some(&private), Some(max_age)),
                "cannot parse max-age config key",
                "{max_age}"
            );
        }
    }
}
