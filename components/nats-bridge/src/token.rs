//! The bridge's API identity: a given token, or short-lived tokens minted with the app's key.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cc_auth::PrivateKey;

/// Lifetime of a minted token: short, so a leaked one is worth little.
const MINTED_LIFETIME: Duration = Duration::from_secs(3600);
/// A minted token is replaced this long before it expires, so no request carries a token that
/// expires in flight.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// Roles exactly `[api]`: what the app expects of a batch-system adapter (it may also write
/// global and admin tags, see docs/nats-bridge.md).
const ROLES: [&str; 1] = ["api"];

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no API identity: pass --token (CC_API_TOKEN) or set SPIN_VARIABLE_JWT_PRIVATE_KEY")]
    Missing,
    #[error("invalid private key: {0}")]
    InvalidKey(String),
}

pub enum TokenSource {
    Given(String),
    Minted {
        /// Boxed: the key pair is large and the other variant is a plain string.
        key: Box<PrivateKey>,
        user: String,
        /// The current token and its expiry (Unix seconds).
        current: Mutex<Option<(String, u64)>>,
    },
}

impl TokenSource {
    pub fn new(
        token: Option<String>,
        private_key: Option<String>,
        user: String,
    ) -> Result<TokenSource, TokenError> {
        let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        if let Some(token) = non_empty(token) {
            return Ok(TokenSource::Given(token.trim().to_owned()));
        }
        let encoded = non_empty(private_key).ok_or(TokenError::Missing)?;
        let key = PrivateKey::from_base64(encoded.trim())
            .map_err(|error| TokenError::InvalidKey(error.to_string()))?;
        Ok(TokenSource::Minted {
            key: Box::new(key),
            user,
            current: Mutex::new(None),
        })
    }

    /// The token for the next request.
    pub fn bearer(&self) -> String {
        match self {
            TokenSource::Given(token) => token.clone(),
            TokenSource::Minted { key, user, current } => {
                let now = unix_now();
                let mut current = current.lock().unwrap_or_else(|e| e.into_inner());
                match current.as_ref() {
                    Some((token, expires)) if now + RENEW_BEFORE.as_secs() < *expires => {
                        token.clone()
                    }
                    _ => {
                        let roles: Vec<String> = ROLES.iter().map(|r| r.to_string()).collect();
                        let token =
                            cc_auth::mint_token(key, user, &roles, Some(MINTED_LIFETIME), now);
                        *current = Some((token.clone(), now + MINTED_LIFETIME.as_secs()));
                        tracing::debug!(user = %user, "minted a new API token");
                        token
                    }
                }
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_carry_the_api_role_and_are_reused() {
        let (public, private) = cc_auth::generate_key_pair();
        let source = TokenSource::new(None, Some(private), "bridge".into()).unwrap();
        let token = source.bearer();
        assert_eq!(source.bearer(), token);
        let public = cc_auth::PublicKey::from_base64(&public).unwrap();
        let user = cc_auth::verify_token(&token, Some(&public), unix_now()).unwrap();
        assert_eq!(user.username, "bridge");
        assert!(user.is_api_only());
    }

    #[test]
    fn a_given_token_wins_and_nothing_is_an_error() {
        let source = TokenSource::new(Some("t".into()), None, "u".into()).unwrap();
        assert_eq!(source.bearer(), "t");
        assert!(matches!(
            TokenSource::new(None, Some(" ".into()), "u".into()),
            Err(TokenError::Missing)
        ));
    }
}
