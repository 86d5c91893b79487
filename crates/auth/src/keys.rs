//! Ed25519 keys in cc-backend's environment-variable formats (docs/auth.md#keys).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jwt_simple::prelude::{Ed25519KeyPair, Ed25519PublicKey, EdDSAKeyPairLike, EdDSAPublicKeyLike};

const PUBLIC_KEY_BYTES: usize = 32;
/// Go's `ed25519.PrivateKey`: 32-byte seed followed by the 32-byte public key.
const PRIVATE_KEY_BYTES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Public,
    Private,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Public => "public",
            KeyKind::Private => "private",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{kind} key is not valid standard base64: {reason}")]
    InvalidBase64 {
        kind: KeyKind,
        reason: base64::DecodeError,
    },
    #[error("{kind} key must decode to {expected} bytes, got {actual}")]
    WrongLength {
        kind: KeyKind,
        expected: usize,
        actual: usize,
    },
    #[error("public key is not a usable Ed25519 point")]
    InvalidPublicKey,
    #[error("private key: the embedded public key (last 32 bytes) does not belong to the seed")]
    PublicHalfMismatch,
}

/// Decodes standard padded base64; surrounding whitespace (a trailing newline from a file) is
/// tolerated.
fn decode_key(kind: KeyKind, encoded: &str, expected: usize) -> Result<Vec<u8>, KeyError> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|reason| KeyError::InvalidBase64 { kind, reason })?;
    if bytes.len() != expected {
        return Err(KeyError::WrongLength {
            kind,
            expected,
            actual: bytes.len(),
        });
    }
    Ok(bytes)
}

/// The key that verifies API tokens (`JWT_PUBLIC_KEY`).
#[derive(Debug, Clone)]
pub struct PublicKey(Ed25519PublicKey);

impl PublicKey {
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = decode_key(KeyKind::Public, encoded, PUBLIC_KEY_BYTES)?;
        Ed25519PublicKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// Plain Ed25519 signature check; jwt-simple's token verification is not used because its
    /// claim rules (iat drift, typ, typed claims) differ from the reference's.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let key = self.0.public_key().as_ref();
        match signature.try_into() {
            Ok(signature) => key.verify(message, &signature).is_ok(),
            Err(_) => false,
        }
    }
}

/// The key that signs tokens (`JWT_PRIVATE_KEY`).
#[derive(Debug, Clone)]
pub struct PrivateKey(Ed25519KeyPair);

impl PrivateKey {
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = decode_key(KeyKind::Private, encoded, PRIVATE_KEY_BYTES)?;
        Ed25519KeyPair::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyError::PublicHalfMismatch)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key())
    }

    /// Deterministic RFC 8032 signature, as Go's `ed25519.Sign` produces.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.key_pair().as_ref().sk.sign(message, None).to_vec()
    }
}

/// A fresh key pair as `(public, private)` base64 strings in the formats of docs/auth.md#keys.
pub fn generate_key_pair() -> (String, String) {
    let private = PrivateKey(Ed25519KeyPair::generate());
    (private.public_key().to_base64(), private.to_base64())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The reference's demo key pair (env-template.txt) — public test keys, never for production.
    pub(crate) const DEMO_PUBLIC_KEY: &str = "kzfYrYy+TzpanWZHJ5qSdMj5uKUWgq74BWhQG6copP0=";
    pub(crate) const DEMO_PRIVATE_KEY: &str =
        "dtPC/6dWJFKZK7KZ78CvWuynylOmjBFyMsUWArwmodOTN9itjL5POlqdZkcnmpJ0yPm4pRaCrvgFaFAbpyik/Q==";

    #[test]
    fn demo_keys_parse_and_belong_together() {
        let public = PublicKey::from_base64(DEMO_PUBLIC_KEY).unwrap();
        let private = PrivateKey::from_base64(DEMO_PRIVATE_KEY).unwrap();
        assert_eq!(public.to_base64(), DEMO_PUBLIC_KEY);
        assert_eq!(private.to_base64(), DEMO_PRIVATE_KEY);
        assert_eq!(private.public_key().to_base64(), DEMO_PUBLIC_KEY);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let public = PublicKey::from_base64(&format!(" {DEMO_PUBLIC_KEY}\n")).unwrap();
        assert_eq!(public.to_base64(), DEMO_PUBLIC_KEY);
    }

    #[test]
    fn bad_base64_is_rejected() {
        let error = PublicKey::from_base64("not base64!").unwrap_err();
        assert!(matches!(
            error,
            KeyError::InvalidBase64 {
                kind: KeyKind::Public,
                ..
            }
        ));
        // Unpadded input is not the standard padded encoding.
        let unpadded = DEMO_PUBLIC_KEY.trim_end_matches('=');
        assert!(matches!(
            PublicKey::from_base64(unpadded),
            Err(KeyError::InvalidBase64 { .. })
        ));
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        // The private key where a public key is expected and vice versa.
        assert_eq!(
            PublicKey::from_base64(DEMO_PRIVATE_KEY).unwrap_err(),
            KeyError::WrongLength {
                kind: KeyKind::Public,
                expected: 32,
                actual: 64
            }
        );
        assert_eq!(
            PrivateKey::from_base64(DEMO_PUBLIC_KEY).unwrap_err(),
            KeyError::WrongLength {
                kind: KeyKind::Private,
                expected: 64,
                actual: 32
            }
        );
    }

    #[test]
    fn private_key_with_foreign_public_half_is_rejected() {
        let (other_public, _) = generate_key_pair();
        let mut bytes = STANDARD.decode(DEMO_PRIVATE_KEY).unwrap();
        bytes[32..].copy_from_slice(&STANDARD.decode(other_public).unwrap());
        assert_eq!(
            PrivateKey::from_base64(&STANDARD.encode(bytes)).unwrap_err(),
            KeyError::PublicHalfMismatch
        );
    }

    #[test]
    fn generated_pairs_use_go_formats() {
        let (public_b64, private_b64) = generate_key_pair();
        let public = STANDARD.decode(&public_b64).unwrap();
        let private = STANDARD.decode(&private_b64).unwrap();
        assert_eq!(public.len(), 32);
        assert_eq!(private.len(), 64);
        assert_eq!(&private[32..], &public[..]);
        let parsed = PrivateKey::from_base64(&private_b64).unwrap();
        assert_eq!(parsed.public_key().to_base64(), public_b64);
        assert_ne!(generate_key_pair().0, public_b64, "pairs must be random");
    }

    #[test]
    fn signatures_verify_only_for_the_signed_message() {
        let private = PrivateKey::from_base64(DEMO_PRIVATE_KEY).unwrap();
        let public = private.public_key();
        let signature = private.sign(b"message");
        assert_eq!(signature.len(), 64);
        assert!(public.verifies(b"message", &signature));
        assert!(!public.verifies(b"massage", &signature));
        assert!(!public.verifies(b"message", &signature[..63]));
    }
}
