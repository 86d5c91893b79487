use http::StatusCode;

/// An authentication or authorisation failure. `Display` is exactly the `error` text of the
/// API's JSON error body (docs/auth.md#authentication-failures).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("token is malformed: {0}")]
    MalformedToken(String),
    #[error("token is unverifiable: signing method (alg) is unavailable")]
    UnknownAlgorithm,
    #[error("token is unverifiable: error while executing keyfunc: only Ed25519/EdDSA supported")]
    UnsupportedAlgorithm,
    #[error("token signature is invalid: key is invalid")]
    NoVerificationKey,
    #[error("token signature is invalid: ed25519: verification error")]
    BadSignature,
    #[error("token has invalid claims: {}", join_claim_errors(.0))]
    InvalidClaims(Vec<ClaimError>),
    #[error("missing 'sub' claim in JWT")]
    MissingSubject,
    #[error("no user for secured check")]
    NoUserForSecuredCheck,
    #[error("unauthorized")]
    Unauthorized,
    #[error("unknown ip: {0}")]
    UnknownIp(String),
}

impl AuthError {
    /// Every authentication failure is answered with 401 (the reference's 403 for
    /// `missing role: api` cannot occur with set semantics, docs/compatibility.md#role-rules-use-set-semantics).
    pub fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }
}

/// One failed check of a time claim (`exp`, `nbf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("token is expired")]
    Expired,
    #[error("token is not valid yet")]
    NotValidYet,
    #[error("invalid type for claim: {0} is invalid")]
    InvalidType(&'static str),
}

/// The reference collects all claim failures and joins them with newlines (Go `errors.Join`).
fn join_claim_errors(errors: &[ClaimError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_errors_are_joined_with_newlines() {
        let error = AuthError::InvalidClaims(vec![ClaimError::Expired, ClaimError::NotValidYet]);
        assert_eq!(
            error.to_string(),
            "token has invalid claims: token is expired\ntoken is not valid yet"
        );
        assert_eq!(
            AuthError::InvalidClaims(vec![ClaimError::InvalidType("exp")]).to_string(),
            "token has invalid claims: invalid type for claim: exp is invalid"
        );
    }

    #[test]
    fn every_error_is_a_401() {
        let errors = [
            AuthError::MalformedToken("x".into()),
            AuthError::UnknownAlgorithm,
            AuthError::UnsupportedAlgorithm,
            AuthError::NoVerificationKey,
            AuthError::BadSignature,
            AuthError::InvalidClaims(vec![ClaimError::Expired]),
            AuthError::MissingSubject,
            AuthError::NoUserForSecuredCheck,
            AuthError::Unauthorized,
            AuthError::UnknownIp("1.2.3.4".into()),
        ];
        for error in errors {
            assert_eq!(error.status(), StatusCode::UNAUTHORIZED, "{error}");
        }
    }
}
