//! Token parsing and verification: any header value is refused or accepted, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use cc_auth::{generate_key_pair, verify_token, PublicKey};

fn key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| PublicKey::from_base64(&generate_key_pair().0).expect("a fresh key parses"))
}

fuzz_target!(|token: &[u8]| {
    let text = String::from_utf8_lossy(token);
    let _ = verify_token(&text, Some(key()), 1_700_000_000);
    let _ = verify_token(&text, None, 1_700_000_000);
    let _ = PublicKey::from_base64(&text);
    let _ = cc_auth::PrivateKey::from_base64(&text);
});
