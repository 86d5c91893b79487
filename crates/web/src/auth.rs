use cc_auth::session::{self, SessionError, SessionKey};
use cc_auth::{
    authorize, parse_address_list, AuthError, Group, IpPolicy, PublicKey, User, VerifiedSignatures,
};
use std::cell::OnceCell;

use cc_store::{Kv, StoreError};
use sha2::{Digest, Sha256};

use crate::{unix_now, ApiError, Platform, Request, Variables};

/// Valid token signatures remembered in the shared key-value store, so that a client sending the
/// same token again skips the Ed25519 check in every component instance. An entry is the SHA-256
/// of key, signed text and signature, kept in one of 4096 slots chosen by its first 12 bits:
/// the store stays bounded however many tokens are seen, and a collision only costs a verification.
/// The store is opened on first use, so requests without a (well-formed) token never touch it.
struct KvSignatureMemo<Open> {
    open: Open,
    kv: OnceCell<Option<Box<dyn Kv>>>,
}

impl<Open: Fn() -> Result<Box<dyn Kv>, StoreError>> KvSignatureMemo<Open> {
    fn new(open: Open) -> Self {
        Self {
            open,
            kv: OnceCell::new(),
        }
    }

    /// The store, or `None` when it cannot be opened: then every signature is verified.
    fn store(&self) -> Option<&dyn Kv> {
        self.kv.get_or_init(|| (self.open)().ok()).as_deref()
    }

    fn entry(key: &PublicKey, signed: &[u8], signature: &[u8]) -> (String, Vec<u8>) {
        let mut hasher = Sha256::new();
        hasher.update(key.to_base64().as_bytes());
        hasher.update((signed.len() as u64).to_be_bytes());
        hasher.update(signed);
        hasher.update(signature);
        let digest = hasher.finalize().to_vec();
        let slot = (u16::from(digest[0]) << 4) | u16::from(digest[1] >> 4);
        (format!("jwt-verified/{slot:03x}"), digest)
    }
}

impl<Open: Fn() -> Result<Box<dyn Kv>, StoreError>> VerifiedSignatures for KvSignatureMemo<Open> {
    fn is_known(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) -> bool {
        let Some(kv) = self.store() else {
            return false;
        };
        let (slot, digest) = Self::entry(key, signed, signature);
        kv.get(&slot).ok().flatten().as_deref() == Some(digest.as_slice())
    }

    fn remember(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) {
        if let Some(kv) = self.store() {
            let (slot, digest) = Self::entry(key, signed, signature);
            // A memo that cannot be written only means verifying again next time.
            let _ = kv.set(&slot, &digest);
        }
    }
}

fn address_list(platform: &dyn Platform, name: &str) -> Result<Vec<String>, ApiError> {
    platform
        .variable(name)
        .map(|value| {
            parse_address_list(&value)
                .map_err(|error| ApiError::internal(format!("invalid variable {name}: {error}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The key that signs session cookies, from the `session_key` variable.
pub fn session_key(platform: &dyn Platform) -> Result<SessionKey, SessionError> {
    SessionKey::from_base64(platform.variable(Variables::SESSION_KEY).as_deref())
}

pub fn verification_key(platform: &dyn Platform) -> Result<Option<PublicKey>, ApiError> {
    platform
        .variable(Variables::JWT_PUBLIC_KEY)
        .map(|encoded| {
            PublicKey::from_base64(&encoded).map_err(|error| {
                ApiError::internal(format!(
                    "invalid variable {}: {error}",
                    Variables::JWT_PUBLIC_KEY
                ))
            })
        })
        .transpose()
}

/// The client's address for per-client limits: the peer, or what a trusted proxy forwarded.
pub fn client_address(request: &Request, platform: &dyn Platform) -> Result<String, ApiError> {
    let policy = IpPolicy::new(
        Vec::new(),
        address_list(platform, Variables::TRUSTED_PROXIES)?,
    );
    Ok(policy.client_address(request.headers()))
}

/// The client's address for a log entry: as [`client_address`], or the bare peer when the
/// trusted-proxy list itself is broken (a log line must not fail).
pub fn client_address_for_log(request: &Request, platform: &dyn Platform) -> String {
    client_address(request, platform).unwrap_or_else(|_| {
        request
            .headers()
            .get(cc_auth::PEER_ADDRESS_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    })
}

/// The user of a `/config` or `/frontend` request: the live session its `session` cookie names
/// (docs/auth.md#sessions). A cookie this app did not sign is refused with cc-backend's codec
/// text; an expired or broken session also expires the cookie.
fn session_user(request: &Request, platform: &dyn Platform) -> Result<Option<User>, ApiError> {
    let Some(cookie) = session::cookie_value(request.headers()) else {
        return Ok(None);
    };
    let refused = |error: SessionError| {
        let failure = ApiError::new(http::StatusCode::UNAUTHORIZED, error.to_string());
        match error {
            SessionError::Expired | SessionError::InvalidData => {
                failure.with_set_cookie(session::expire_cookie_header())
            }
            SessionError::Unknown => ApiError::from(AuthError::Unauthorized)
                .with_set_cookie(session::expire_cookie_header()),
            SessionError::Store(store) => ApiError::from(store),
            // No usable key is the operator's mistake, not the client's.
            SessionError::NoKey | SessionError::BadKey => ApiError::internal(error.to_string()),
            _ => failure,
        }
    };
    let key = session_key(platform).map_err(refused)?;
    let kv = platform.kv()?;
    let session = session::load(kv.as_ref(), &key, cookie, unix_now()).map_err(refused)?;
    Ok(Some(session.user()))
}

/// The group's authentication middleware (docs/auth.md#group-role-rules): the JWT of `/api`, the metric store
/// and `/userapi`, then the IP allow-list (main `/api` group only), then the group's role rule.
/// `/config` and `/frontend` authenticate by session cookie only: an API token is no session.
pub fn authenticate(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
) -> Result<Option<User>, ApiError> {
    let user = match group {
        Group::Api | Group::MetricStore | Group::UserApi => {
            let key = verification_key(platform)?;
            let memo = KvSignatureMemo::new(|| platform.kv());
            cc_auth::authenticate(request.headers(), key.as_ref(), unix_now(), &memo)?
        }
        Group::Config | Group::Frontend => session_user(request, platform)?,
    };
    if group == Group::Api && user.is_some() {
        let policy = IpPolicy::new(
            address_list(platform, Variables::API_ALLOWED_IPS)?,
            address_list(platform, Variables::TRUSTED_PROXIES)?,
        );
        policy.check(request.headers())?;
    }
    authorize(group, user.as_ref())?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeKv;

    #[test]
    fn memo_keeps_one_digest_per_slot_and_tells_tokens_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        let memo = KvSignatureMemo::new(|| {
            NativeKv::open(&path, "default").map(|kv| Box::new(kv) as Box<dyn Kv>)
        });
        let (public, _) = cc_auth::generate_key_pair();
        let key = PublicKey::from_base64(&public).unwrap();
        assert!(!memo.is_known(&key, b"a.b", b"sig"));
        memo.remember(&key, b"a.b", b"sig");
        assert!(memo.is_known(&key, b"a.b", b"sig"));
        assert!(!memo.is_known(&key, b"a.b", b"other"));
        assert!(!memo.is_known(&key, b"a.c", b"sig"));
        let (other_public, _) = cc_auth::generate_key_pair();
        let other_key = PublicKey::from_base64(&other_public).unwrap();
        assert!(
            !memo.is_known(&other_key, b"a.b", b"sig"),
            "bound to the key"
        );
        let keys = NativeKv::open(&path, "default")
            .unwrap()
            .get_keys()
            .unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with("jwt-verified/") && keys[0].len() == "jwt-verified/".len() + 3);
    }
}
