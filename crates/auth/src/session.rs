//! Login sessions (docs/auth.md#sessions): the record lives in the shared key-value store under a
//! random id, and the `session` cookie carries that id with an HMAC-SHA256 over it, keyed by the
//! `session_key` variable. Every component instance can check a cookie; deleting the record ends
//! the session everywhere, which a cookie alone (cc-backend's design) cannot do.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use cc_store::{Kv, StoreError};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::user::User;

/// The cookie's name, as cc-backend names it.
pub const SESSION_COOKIE: &str = "session";

/// cc-backend's store default, used when `session_max_age` is `0`, empty or unparsable.
pub const DEFAULT_SESSION_SECONDS: u64 = 30 * 24 * 3600;

const RECORD_PREFIX: &str = "session/";
const ID_BYTES: usize = 32;
const MIN_KEY_BYTES: usize = 16;

/// Where the logged-in user came from (cc-backend's `authSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthSource {
    Local,
    Token,
}

/// What a session holds: a snapshot of the user at login (later role changes do not reach it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub username: String,
    pub roles: Vec<String>,
    pub projects: Vec<String>,
    pub auth_source: AuthSource,
    pub issued_at: u64,
    pub expires_at: u64,
}

impl Session {
    pub fn user(&self) -> User {
        User {
            username: self.username.clone(),
            roles: self.roles.clone(),
            projects: self.projects.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SessionError {
    #[error("session_key is not configured")]
    NoKey,
    #[error("session_key must be standard base64 of at least {MIN_KEY_BYTES} bytes")]
    BadKey,
    /// The cookie was not made with this key (or was altered); the text is cc-backend's.
    #[error("securecookie: the value is not valid")]
    Invalid,
    /// The record's lifetime is over (its record is deleted on discovery).
    #[error("securecookie: expired timestamp")]
    Expired,
    /// Signed by us, but logged out (or the store lost it).
    #[error("unauthorized")]
    Unknown,
    /// The record has no username or no roles.
    #[error("invalid session data")]
    InvalidData,
    #[error("no random bytes: {0}")]
    Random(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The HMAC key, decoded from the `session_key` variable.
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    pub fn from_base64(encoded: Option<&str>) -> Result<Self, SessionError> {
        let encoded = encoded.ok_or(SessionError::NoKey)?;
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| SessionError::BadKey)?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(SessionError::BadKey);
        }
        Ok(Self(bytes))
    }

    /// A fresh random key in the variable's format (for `cc-admin keygen`).
    pub fn generate_base64() -> Result<String, SessionError> {
        Ok(STANDARD.encode(random_bytes::<32>()?))
    }

    fn mac(&self, id: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"cc-spin session v1\0");
        mac.update(id);
        mac
    }

    fn sign(&self, id: &[u8]) -> String {
        let tag = self.mac(id).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(id),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The id a cookie value carries, if this key signed it (constant-time tag comparison).
    fn verify(&self, cookie_value: &str) -> Result<Vec<u8>, SessionError> {
        let (id, tag) = cookie_value.split_once('.').ok_or(SessionError::Invalid)?;
        let id = URL_SAFE_NO_PAD
            .decode(id)
            .map_err(|_| SessionError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| SessionError::Invalid)?;
        if id.len() != ID_BYTES {
            return Err(SessionError::Invalid);
        }
        self.mac(&id)
            .verify_slice(&tag)
            .map_err(|_| SessionError::Invalid)?;
        Ok(id)
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SessionError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|error| SessionError::Random(error.to_string()))?;
    Ok(bytes)
}

fn record_key(id: &[u8]) -> String {
    format!("{RECORD_PREFIX}{}", URL_SAFE_NO_PAD.encode(id))
}

/// Stores a new session under a fresh random id (never one the client brought: no fixation) and
/// returns the cookie value.
pub fn create(kv: &dyn Kv, key: &SessionKey, session: &Session) -> Result<String, SessionError> {
    let id = random_bytes::<ID_BYTES>()?;
    let record = serde_json::to_vec(session).expect("a session serialises");
    kv.set(&record_key(&id), &record)?;
    Ok(key.sign(&id))
}

/// The live session a cookie value names. An expired record is deleted on the way.
pub fn load(
    kv: &dyn Kv,
    key: &SessionKey,
    cookie_value: &str,
    now: u64,
) -> Result<Session, SessionError> {
    let id = key.verify(cookie_value)?;
    let record_key = record_key(&id);
    let record = kv.get(&record_key)?.ok_or(SessionError::Unknown)?;
    let session: Session =
        serde_json::from_slice(&record).map_err(|_| SessionError::InvalidData)?;
    if now >= session.expires_at {
        kv.delete(&record_key)?;
        return Err(SessionError::Expired);
    }
    if session.username.is_empty() || session.roles.is_empty() {
        return Err(SessionError::InvalidData);
    }
    Ok(session)
}

/// Deletes up to `limit` expired session records: records whose cookie never comes back (a closed
/// browser, a script logging in each run) would otherwise stay in the store. Logins call this.
pub fn sweep_expired(kv: &dyn Kv, now: u64, limit: usize) -> Result<usize, SessionError> {
    let mut swept = 0;
    for key in kv
        .get_keys()?
        .iter()
        .filter(|key| key.starts_with(RECORD_PREFIX))
    {
        if swept == limit {
            break;
        }
        let expired = kv.get(key)?.is_some_and(|record| {
            serde_json::from_slice::<Session>(&record)
                .map_or(true, |session| now >= session.expires_at)
        });
        if expired {
            kv.delete(key)?;
            swept += 1;
        }
    }
    Ok(swept)
}

/// Ends the session a cookie value names; `Ok(false)` when there was none.
pub fn delete(kv: &dyn Kv, key: &SessionKey, cookie_value: &str) -> Result<bool, SessionError> {
    let id = key.verify(cookie_value)?;
    let record_key = record_key(&id);
    let existed = kv.exists(&record_key)?;
    kv.delete(&record_key)?;
    Ok(existed)
}

/// The `session` cookie's value from a `Cookie` header list (the first one wins).
pub fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}

/// `Set-Cookie` for a new session: cc-backend's attributes; `Secure` only behind TLS.
pub fn set_cookie_header(cookie_value: &str, max_age_seconds: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={cookie_value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}")
}

/// `Set-Cookie` that makes the browser drop the session cookie.
pub fn expire_cookie_header() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeKv;

    fn key() -> SessionKey {
        SessionKey::from_base64(Some(&SessionKey::generate_base64().unwrap())).unwrap()
    }

    fn session(expires_at: u64) -> Session {
        Session {
            username: "alice".into(),
            roles: vec!["admin".into()],
            projects: vec![],
            auth_source: AuthSource::Local,
            issued_at: 100,
            expires_at,
        }
    }

    fn kv() -> (tempfile::TempDir, NativeKv) {
        let dir = tempfile::tempdir().unwrap();
        let kv = NativeKv::open(&dir.path().join("kv.db"), "default").unwrap();
        (dir, kv)
    }

    #[test]
    fn a_created_session_loads_until_it_expires_and_is_then_deleted() {
        let (_dir, kv) = kv();
        let key = key();
        let cookie = create(&kv, &key, &session(200)).unwrap();
        assert_eq!(load(&kv, &key, &cookie, 199).unwrap(), session(200));
        assert_eq!(load(&kv, &key, &cookie, 200), Err(SessionError::Expired));
        assert_eq!(load(&kv, &key, &cookie, 150), Err(SessionError::Unknown));
    }

    #[test]
    fn sweeping_deletes_expired_and_unreadable_records_only() {
        let (_dir, kv) = kv();
        let key = key();
        let live = create(&kv, &key, &session(300)).unwrap();
        create(&kv, &key, &session(200)).unwrap();
        create(&kv, &key, &session(210)).unwrap();
        kv.set("session/broken", b"not json").unwrap();
        kv.set("notice", b"kept").unwrap();
        assert_eq!(sweep_expired(&kv, 250, 1).unwrap(), 1, "bounded");
        assert_eq!(sweep_expired(&kv, 250, 10).unwrap(), 2);
        assert_eq!(load(&kv, &key, &live, 250).unwrap(), session(300));
        let mut keys = kv.get_keys().unwrap();
        keys.sort();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.contains(&"notice".to_owned()));
    }

    #[test]
    fn every_login_gets_a_new_id() {
        let (_dir, kv) = kv();
        let key = key();
        let first = create(&kv, &key, &session(200)).unwrap();
        let second = create(&kv, &key, &session(200)).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn tampered_forged_and_foreign_cookies_are_invalid() {
        let (_dir, kv) = kv();
        let key = key();
        let cookie = create(&kv, &key, &session(200)).unwrap();
        let (id, tag) = cookie.split_once('.').unwrap();
        let mut flipped = tag.as_bytes().to_vec();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{id}.{}", String::from_utf8(flipped).unwrap());
        for bad in [
            tampered.as_str(),
            id,
            "",
            "garbage",
            &format!("{}.{tag}", URL_SAFE_NO_PAD.encode([7u8; ID_BYTES])),
        ] {
            assert_eq!(
                load(&kv, &key, bad, 150),
                Err(SessionError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            load(&kv, &self::key(), &cookie, 150),
            Err(SessionError::Invalid),
            "another key"
        );
    }

    #[test]
    fn logout_deletes_the_record() {
        let (_dir, kv) = kv();
        let key = key();
        let cookie = create(&kv, &key, &session(200)).unwrap();
        assert!(delete(&kv, &key, &cookie).unwrap());
        assert!(!delete(&kv, &key, &cookie).unwrap());
        assert_eq!(load(&kv, &key, &cookie, 150), Err(SessionError::Unknown));
    }

    #[test]
    fn sessions_without_username_or_roles_are_invalid_data() {
        let (_dir, kv) = kv();
        let key = key();
        let mut no_roles = session(200);
        no_roles.roles.clear();
        let cookie = create(&kv, &key, &no_roles).unwrap();
        assert_eq!(
            load(&kv, &key, &cookie, 150),
            Err(SessionError::InvalidData)
        );
    }

    #[test]
    fn keys_must_be_base64_of_sixteen_bytes_or_more() {
        assert_eq!(
            SessionKey::from_base64(None).err(),
            Some(SessionError::NoKey)
        );
        assert_eq!(
            SessionKey::from_base64(Some("c2hvcnQ=")).err(),
            Some(SessionError::BadKey)
        );
        assert!(SessionKey::from_base64(Some("67d829bf61dc5f87a73fd814e2c9f629")).is_ok());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; session=abc.def; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers), Some("abc.def"));
        assert_eq!(cookie_value(&http::HeaderMap::new()), None);
    }
}
