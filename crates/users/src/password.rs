//! Local passwords as cc-backend stores them: bcrypt with cost 10 in the `$2a$` spelling Go's
//! `golang.org/x/crypto/bcrypt` writes, so a database stays usable by either implementation.

/// cc-backend's bcrypt cost (`bcrypt.DefaultCost`).
const COST: u32 = 10;

#[derive(Debug, thiserror::Error)]
#[error("hashing password failed: {0}")]
pub struct HashError(#[from] bcrypt::BcryptError);

pub fn hash_password(password: &str) -> Result<String, HashError> {
    Ok(bcrypt::hash_with_result(password, COST)?.format_for_version(bcrypt::Version::TwoA))
}

/// True when `password` matches a stored bcrypt hash of any version (`$2a$`, `$2b$`, `$2y$`).
/// A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_go_format_and_verifies() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert_eq!(hash.len(), 60);
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("S3cret", &hash));
        assert_ne!(hash_password("s3cret").unwrap(), hash, "salted");
    }

    #[test]
    fn accepts_2b_hashes_and_rejects_garbage() {
        let hash_2b = bcrypt::hash_with_result("pw", 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        assert!(hash_2b.starts_with("$2b$04$"));
        assert!(verify_password("pw", &hash_2b));
        assert!(!verify_password("pw", "not a hash"));
        assert!(!verify_password("pw", ""));
    }
}
