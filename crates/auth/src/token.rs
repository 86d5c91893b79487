//! API tokens: extraction from headers, verification with golang-jwt's observable rules, and
//! issuing (docs/auth.md#api-tokens).

use std::time::Duration;

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{AuthError, ClaimError};
use crate::keys::{PrivateKey, PublicKey};
use crate::user::User;

/// Go's `base64.RawURLEncoding` as golang-jwt uses it: unpadded, lenient about trailing bits.
const SEGMENT_ENCODING: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

const ISSUED_HEADER: &str = r#"{"alg":"EdDSA","typ":"JWT"}"#;
const SUPPORTED_ALGORITHM: &str = "EdDSA";
/// Algorithms golang-jwt knows besides EdDSA: these fail in the key function, anything else
/// fails as "unavailable".
const OTHER_KNOWN_ALGORITHMS: [&str; 13] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
    "PS384", "PS512", "none",
];

/// The raw token of a request: `X-Auth-Token`, else `Authorization` minus a leading `Bearer `
/// (the whole value when that prefix is absent). `None` when neither yields a non-empty value.
pub fn extract_token(headers: &HeaderMap) -> Option<String> {
    let first_value = |name: &str| {
        headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .filter(|value| !value.is_empty())
    };
    first_value("x-auth-token")
        .or_else(|| {
            first_value("authorization").map(|value| match value.strip_prefix("Bearer ") {
                Some(token) => token.to_owned(),
                None => value,
            })
        })
        .filter(|token| !token.is_empty())
}

/// A memo of Ed25519 signatures already found valid. Verifying costs far more than looking an
/// answer up (inside a wasm component about 0.4 ms), and clients send the same token with every
/// request. Only the pure signature check is memoised; the time claims are checked every time.
pub trait VerifiedSignatures {
    fn is_known(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) -> bool;
    fn remember(&self, key: &PublicKey, signed: &[u8], signature: &[u8]);
}

/// Remembers nothing: every signature is verified.
pub struct NoMemo;

impl VerifiedSignatures for NoMemo {
    fn is_known(&self, _: &PublicKey, _: &[u8], _: &[u8]) -> bool {
        false
    }

    fn remember(&self, _: &PublicKey, _: &[u8], _: &[u8]) {}
}

/// Extracts and verifies the request's token. `Ok(None)`: no token was presented.
pub fn authenticate(
    headers: &HeaderMap,
    key: Option<&PublicKey>,
    now: u64,
    memo: &dyn VerifiedSignatures,
) -> Result<Option<User>, AuthError> {
    extract_token(headers)
        .map(|token| verify_token_with(&token, key, now, memo))
        .transpose()
}

/// Verifies an API token at unix time `now` and maps its claims to the user (projects are never
/// taken from API tokens). `key` None means no verification key is configured.
pub fn verify_token(token: &str, key: Option<&PublicKey>, now: u64) -> Result<User, AuthError> {
    verify_token_with(token, key, now, &NoMemo)
}

/// [`verify_token`] with a memo of signatures verified before.
pub fn verify_token_with(
    token: &str,
    key: Option<&PublicKey>,
    now: u64,
    memo: &dyn VerifiedSignatures,
) -> Result<User, AuthError> {
    let [header_b64, claims_b64, signature_b64] = token.split('.').collect::<Vec<_>>()[..] else {
        return Err(malformed("token contains an invalid number of segments"));
    };
    let header_json = decode_segment(header_b64, "header")?;
    let header = serde_json::from_slice(&header_json)
        .map_err(|error| error.to_string())
        .and_then(into_object)
        .map_err(|error| malformed(format!("could not JSON decode header: {error}")))?;
    let claims_json = decode_segment(claims_b64, "claim")?;
    let claims = first_json_value(&claims_json)
        .and_then(into_object)
        .map_err(|error| malformed(format!("could not JSON decode claim: {error}")))?;
    check_algorithm(&header)?;
    let signature = decode_segment(signature_b64, "signature")?;
    let key = key.ok_or(AuthError::NoVerificationKey)?;
    let signed_part = &token[..header_b64.len() + 1 + claims_b64.len()];
    let signed = signed_part.as_bytes();
    if !memo.is_known(key, signed, &signature) {
        if !key.verifies(signed, &signature) {
            return Err(AuthError::BadSignature);
        }
        memo.remember(key, signed, &signature);
    }
    check_time_claims(&claims, now)?;
    user_from_claims(&claims)
}

/// Issues a token like the reference's `ProvideJWT` (docs/auth.md#token-minting): claims `exp` (only with a
/// ttl), `iat`, `roles`, `sub`, serialised with sorted keys.
pub fn mint_token(
    key: &PrivateKey,
    subject: &str,
    roles: &[String],
    ttl: Option<Duration>,
    now: u64,
) -> String {
    #[derive(Serialize)]
    struct IssuedClaims<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        exp: Option<u64>,
        iat: u64,
        roles: &'a [String],
        sub: &'a str,
    }
    let claims = IssuedClaims {
        exp: ttl.map(|ttl| now.saturating_add(ttl.as_secs())),
        iat: now,
        roles,
        sub: subject,
    };
    let claims_json = serde_json::to_string(&claims).expect("claims always serialise");
    sign_compact(key, ISSUED_HEADER, &claims_json)
}

fn sign_compact(key: &PrivateKey, header_json: &str, claims_json: &str) -> String {
    let signed_part = format!(
        "{}.{}",
        SEGMENT_ENCODING.encode(header_json),
        SEGMENT_ENCODING.encode(claims_json)
    );
    let signature = SEGMENT_ENCODING.encode(key.sign(signed_part.as_bytes()));
    format!("{signed_part}.{signature}")
}

fn malformed(detail: impl Into<String>) -> AuthError {
    AuthError::MalformedToken(detail.into())
}

fn decode_segment(segment: &str, name: &str) -> Result<Vec<u8>, AuthError> {
    SEGMENT_ENCODING
        .decode(segment)
        .map_err(|error| malformed(format!("could not base64 decode {name}: {error}")))
}

/// Claims are read with a streaming decoder in the reference: only the first JSON value counts.
fn first_json_value(bytes: &[u8]) -> Result<Value, String> {
    match serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
    {
        Some(value) => value.map_err(|error| error.to_string()),
        None => Err("EOF".to_owned()),
    }
}

/// Go decodes into a map: `null` yields an empty one, every other non-object is an error.
fn into_object(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(object) => Ok(object),
        Value::Null => Ok(Map::new()),
        other => Err(format!("expected a JSON object, got {other}")),
    }
}

fn check_algorithm(header: &Map<String, Value>) -> Result<(), AuthError> {
    match header.get("alg").and_then(Value::as_str) {
        Some(SUPPORTED_ALGORITHM) => Ok(()),
        Some(algorithm) if OTHER_KNOWN_ALGORITHMS.contains(&algorithm) => {
            Err(AuthError::UnsupportedAlgorithm)
        }
        _ => Err(AuthError::UnknownAlgorithm),
    }
}

/// `exp`/`nbf` as whole seconds; 0 counts as absent, a non-number is a type error (Go's
/// `MapClaims` rules; fractions are truncated like `NumericDate`).
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, ClaimError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => match value.as_f64() {
            Some(0.0) => Ok(None),
            Some(seconds) => Ok(Some(seconds.floor() as i64)),
            None => Err(ClaimError::InvalidType(name)),
        },
    }
}

/// Valid while `now < exp` and `nbf <= now`, no leeway; `iat` is not checked.
fn check_time_claims(claims: &Map<String, Value>, now: u64) -> Result<(), AuthError> {
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let expiry = numeric_date(claims, "exp").and_then(|exp| match exp {
        Some(exp) if now >= exp => Err(ClaimError::Expired),
        _ => Ok(()),
    });
    let not_before = numeric_date(claims, "nbf").and_then(|nbf| match nbf {
        Some(nbf) if now < nbf => Err(ClaimError::NotValidYet),
        _ => Ok(()),
    });
    let failures: Vec<ClaimError> = [expiry, not_before]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AuthError::InvalidClaims(failures))
    }
}

fn user_from_claims(claims: &Map<String, Value>) -> Result<User, AuthError> {
    let username = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.is_empty())
        .ok_or(AuthError::MissingSubject)?;
    let roles = claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(User {
        username: username.to_owned(),
        roles,
        projects: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_key_pair;
    use crate::keys::tests::{DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY};
    use http::HeaderValue;

    /// `configs/config-demo.json` of the reference: signed with the demo key, expires 1775778844.
    const DEMO_TOKEN: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NzU3Nzg4NDQsImlhdCI6MTc2ODU3ODg0NCwicm9sZXMiOlsiYWRtaW4iLCJhcGkiXSwic3ViIjoiZGVtbyJ9._SDEW9WaUVXSBFmWqGhyIZXLoqoDU8F1hkfh4cXKIqF4yw7w50IUpfUBtwUFUOnoviFKoi563f6RAMC7XxeLDA";
    const DEMO_EXP: u64 = 1_775_778_844;
    const DEMO_IAT: u64 = 1_768_578_844;
    const NOW: u64 = 1_700_000_000;

    fn demo_public() -> PublicKey {
        PublicKey::from_base64(DEMO_PUBLIC_KEY).unwrap()
    }

    fn demo_private() -> PrivateKey {
        PrivateKey::from_base64(DEMO_PRIVATE_KEY).unwrap()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    /// Verifies demo-signed `claims` under the EdDSA header at `NOW`.
    fn verify_claims(claims: &str) -> Result<User, AuthError> {
        let token = sign_compact(&demo_private(), ISSUED_HEADER, claims);
        verify_token(&token, Some(&demo_public()), NOW)
    }

    fn verify_with_header(header: &str) -> Result<User, AuthError> {
        let token = sign_compact(&demo_private(), header, r#"{"sub":"alice"}"#);
        verify_token(&token, Some(&demo_public()), NOW)
    }

    fn claim_failures(errors: &[ClaimError]) -> Result<User, AuthError> {
        Err(AuthError::InvalidClaims(errors.to_vec()))
    }

    #[test]
    fn demo_token_verifies_until_its_expiry() {
        let user = verify_token(DEMO_TOKEN, Some(&demo_public()), DEMO_EXP - 1).unwrap();
        assert_eq!(
            user,
            User {
                username: "demo".into(),
                roles: strings(&["admin", "api"]),
                projects: vec![],
            }
        );
        for now in [DEMO_EXP, DEMO_EXP + 1] {
            let error = verify_token(DEMO_TOKEN, Some(&demo_public()), now).unwrap_err();
            assert_eq!(
                error.to_string(),
                "token has invalid claims: token is expired"
            );
        }
    }

    #[test]
    fn minting_reproduces_the_reference_demo_token() {
        // Ed25519 signatures are deterministic, so the same claims give the same bytes as Go.
        let ttl = Duration::from_secs(DEMO_EXP - DEMO_IAT);
        let token = mint_token(
            &demo_private(),
            "demo",
            &strings(&["admin", "api"]),
            Some(ttl),
            DEMO_IAT,
        );
        assert_eq!(token, DEMO_TOKEN);
    }

    #[test]
    fn minted_tokens_round_trip() {
        let (public, private) = generate_key_pair();
        let (public, private) = (
            PublicKey::from_base64(&public).unwrap(),
            PrivateKey::from_base64(&private).unwrap(),
        );
        let roles = strings(&["api", "user"]);
        let token = mint_token(&private, "bob", &roles, Some(Duration::from_secs(60)), NOW);
        let user = verify_token(&token, Some(&public), NOW + 59).unwrap();
        assert_eq!(user.username, "bob");
        assert_eq!(user.roles, roles);
        assert!(verify_token(&token, Some(&public), NOW + 60).is_err());
        assert_eq!(
            verify_token(&token, Some(&demo_public()), NOW),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn tokens_without_ttl_carry_no_exp_and_never_expire() {
        let token = mint_token(&demo_private(), "bob", &[], None, NOW);
        let payload = token.split('.').nth(1).unwrap();
        let claims = String::from_utf8(SEGMENT_ENCODING.decode(payload).unwrap()).unwrap();
        assert_eq!(claims, r#"{"iat":1700000000,"roles":[],"sub":"bob"}"#);
        let user = verify_token(&token, Some(&demo_public()), u64::MAX).unwrap();
        assert_eq!(user.username, "bob");
        assert!(user.roles.is_empty());
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let key = demo_public();
        for token in ["", "abc", "a.b", "a.b.c.d"] {
            assert_eq!(
                verify_token(token, Some(&key), NOW)
                    .unwrap_err()
                    .to_string(),
                "token is malformed: token contains an invalid number of segments"
            );
        }
        let cases = [
            ("!!.e30.", "could not base64 decode header"),
            ("bm90IGpzb24.e30.", "could not JSON decode header"),
            ("WzFd.e30.", "could not JSON decode header"),
            ("e30.!!.", "could not base64 decode claim"),
            ("e30..", "could not JSON decode claim"),
            ("e30.WzFd.", "could not JSON decode claim"),
        ];
        for (token, prefix) in cases {
            let message = verify_token(token, Some(&key), NOW)
                .unwrap_err()
                .to_string();
            assert!(
                message.starts_with(&format!("token is malformed: {prefix}")),
                "{token}: {message}"
            );
        }
        let bad_signature = format!("{}.!!", DEMO_TOKEN.rsplit_once('.').unwrap().0);
        let message = verify_token(&bad_signature, Some(&key), NOW)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("token is malformed: could not base64 decode signature"));
    }

    #[test]
    fn only_eddsa_is_accepted() {
        for algorithm in ["HS256", "RS512", "ES256", "PS384", "none"] {
            assert_eq!(
                verify_with_header(&format!(r#"{{"alg":"{algorithm}"}}"#)),
                Err(AuthError::UnsupportedAlgorithm),
                "{algorithm}"
            );
        }
        for header in [
            r#"{"alg":"Ed25519"}"#,
            r#"{"alg":"foo"}"#,
            r#"{"alg":5}"#,
            "{}",
            "null",
        ] {
            assert_eq!(
                verify_with_header(header),
                Err(AuthError::UnknownAlgorithm),
                "{header}"
            );
        }
        assert_eq!(
            AuthError::UnsupportedAlgorithm.to_string(),
            "token is unverifiable: error while executing keyfunc: only Ed25519/EdDSA supported"
        );
        // typ and other header fields are not checked.
        assert!(verify_with_header(r#"{"alg":"EdDSA","typ":"whatever","kid":"x"}"#).is_ok());
    }

    #[test]
    fn missing_key_and_foreign_signatures_are_rejected() {
        assert_eq!(
            verify_token(DEMO_TOKEN, None, NOW).unwrap_err().to_string(),
            "token signature is invalid: key is invalid"
        );
        let (other_public, _) = generate_key_pair();
        let other = PublicKey::from_base64(&other_public).unwrap();
        assert_eq!(
            verify_token(DEMO_TOKEN, Some(&other), NOW)
                .unwrap_err()
                .to_string(),
            "token signature is invalid: ed25519: verification error"
        );
        let (header, rest) = DEMO_TOKEN.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let forged_claims = SEGMENT_ENCODING.encode(r#"{"sub":"mallory","roles":["admin","api"]}"#);
        let forged = format!("{header}.{forged_claims}.{signature}");
        assert_eq!(
            verify_token(&forged, Some(&demo_public()), NOW),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn time_claims_follow_the_reference() {
        let expired = format!(r#"{{"sub":"a","exp":{NOW}}}"#);
        assert_eq!(
            verify_claims(&expired),
            claim_failures(&[ClaimError::Expired])
        );
        let not_yet = format!(r#"{{"sub":"a","nbf":{}}}"#, NOW + 1);
        assert_eq!(
            verify_claims(&not_yet),
            claim_failures(&[ClaimError::NotValidYet])
        );
        let both = format!(r#"{{"sub":"a","exp":{},"nbf":{}}}"#, NOW - 1, NOW + 1);
        assert_eq!(
            verify_claims(&both),
            claim_failures(&[ClaimError::Expired, ClaimError::NotValidYet])
        );
        let bad_type = r#"{"sub":"a","exp":"tomorrow","nbf":null}"#;
        assert_eq!(
            verify_claims(bad_type),
            claim_failures(&[
                ClaimError::InvalidType("exp"),
                ClaimError::InvalidType("nbf")
            ])
        );
        // Time checks come before the subject check.
        assert_eq!(
            verify_claims(&format!(r#"{{"exp":{NOW}}}"#)),
            claim_failures(&[ClaimError::Expired])
        );
        let accepted = [
            format!(r#"{{"sub":"a","nbf":{NOW},"exp":{}}}"#, NOW + 1),
            format!(r#"{{"sub":"a","exp":{}.5}}"#, NOW + 1),
            format!(r#"{{"sub":"a","iat":{}}}"#, NOW + 86_400),
            r#"{"sub":"a","exp":0}"#.to_owned(),
        ];
        for claims in accepted {
            assert!(verify_claims(&claims).is_ok(), "{claims}");
        }
    }

    #[test]
    fn subject_is_required() {
        for claims in [
            "{}",
            "null",
            r#"{"sub":""}"#,
            r#"{"sub":5}"#,
            r#"{"sub":["a"]}"#,
        ] {
            assert_eq!(
                verify_claims(claims),
                Err(AuthError::MissingSubject),
                "{claims}"
            );
        }
        assert_eq!(
            AuthError::MissingSubject.to_string(),
            "missing 'sub' claim in JWT"
        );
    }

    #[test]
    fn roles_keep_strings_and_projects_are_ignored() {
        let user = verify_claims(
            r#"{"sub":"a","roles":["api",1,null,"API",{"x":1},"user"],"projects":["p1"]}"#,
        )
        .unwrap();
        assert_eq!(user.roles, strings(&["api", "API", "user"]));
        assert!(user.projects.is_empty());
        let not_a_list = verify_claims(r#"{"sub":"a","roles":"admin"}"#).unwrap();
        assert!(not_a_list.roles.is_empty());
    }

    #[test]
    fn only_the_first_claims_value_is_read() {
        let user = verify_claims(r#"{"sub":"a"} trailing"#).unwrap();
        assert_eq!(user.username, "a");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn token_extraction_prefers_x_auth_token() {
        let both = headers(&[("x-auth-token", "one"), ("authorization", "Bearer two")]);
        assert_eq!(extract_token(&both).as_deref(), Some("one"));
        let empty_first = headers(&[("x-auth-token", ""), ("authorization", "Bearer two")]);
        assert_eq!(extract_token(&empty_first).as_deref(), Some("two"));
    }

    #[test]
    fn authorization_header_loses_only_an_exact_bearer_prefix() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("bearer abc")),
            ("Basic dXNlcjpwdw==", Some("Basic dXNlcjpwdw==")),
            ("Bearer  abc", Some(" abc")),
            ("Bearer ", None),
        ];
        for (value, expected) in cases {
            let map = headers(&[("authorization", value)]);
            assert_eq!(extract_token(&map).as_deref(), expected, "{value}");
        }
        assert_eq!(extract_token(&HeaderMap::new()), None);
    }

    #[test]
    fn authenticate_combines_extraction_and_verification() {
        let key = demo_public();
        assert_eq!(
            authenticate(&HeaderMap::new(), Some(&key), NOW, &NoMemo),
            Ok(None)
        );
        let valid = headers(&[("x-auth-token", DEMO_TOKEN)]);
        let user = authenticate(&valid, Some(&key), NOW, &NoMemo)
            .unwrap()
            .unwrap();
        assert_eq!(user.username, "demo");
        let basic = headers(&[("authorization", "Basic dXNlcjpwdw==")]);
        assert!(matches!(
            authenticate(&basic, Some(&key), NOW, &NoMemo),
            Err(AuthError::MalformedToken(_))
        ));
    }

    /// Records what it was asked and claims to know every signature once told.
    #[derive(Default)]
    struct RecordingMemo {
        known: std::cell::RefCell<Vec<Vec<u8>>>,
    }

    impl VerifiedSignatures for RecordingMemo {
        fn is_known(&self, _: &PublicKey, _: &[u8], signature: &[u8]) -> bool {
            self.known.borrow().iter().any(|known| known == signature)
        }

        fn remember(&self, _: &PublicKey, _: &[u8], signature: &[u8]) {
            self.known.borrow_mut().push(signature.to_vec());
        }
    }

    #[test]
    fn memo_remembers_valid_signatures_only_and_time_claims_are_still_checked() {
        let key = demo_public();
        let memo = RecordingMemo::default();
        let forged = format!("{}x", &DEMO_TOKEN[..DEMO_TOKEN.len() - 1]);
        assert!(verify_token_with(&forged, Some(&key), NOW, &memo).is_err());
        assert!(
            memo.known.borrow().is_empty(),
            "a bad signature is not remembered"
        );

        assert!(verify_token_with(DEMO_TOKEN, Some(&key), NOW, &memo).is_ok());
        assert_eq!(memo.known.borrow().len(), 1);
        assert!(verify_token_with(DEMO_TOKEN, Some(&key), NOW, &memo).is_ok());
        assert_eq!(
            memo.known.borrow().len(),
            1,
            "the second check used the memo"
        );

        let expired = verify_token_with(DEMO_TOKEN, Some(&key), DEMO_EXP, &memo);
        assert_eq!(
            expired,
            Err(AuthError::InvalidClaims(vec![ClaimError::Expired]))
        );
    }
}
