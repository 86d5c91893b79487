//! Runs the `cc-admin` binary end to end.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use cc_auth::{verify_token, PrivateKey, PublicKey};

const PUBLIC_VARIABLE: &str = "SPIN_VARIABLE_JWT_PUBLIC_KEY";
const PRIVATE_VARIABLE: &str = "SPIN_VARIABLE_JWT_PRIVATE_KEY";
const LEGACY_PRIVATE_VARIABLE: &str = "JWT_PRIVATE_KEY";

/// The binary with no key variables inherited from the environment.
fn cc_admin(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cc-admin"));
    command
        .args(args)
        .env_remove(PRIVATE_VARIABLE)
        .env_remove(LEGACY_PRIVATE_VARIABLE);
    command
}

fn succeed(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn fail(command: &mut Command) -> String {
    let output: Output = command.output().unwrap();
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Parses keygen output into (public, private) base64 strings; the third line is a session key.
fn parse_key_lines(text: &str) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let session_key = lines[2]
        .strip_prefix("SPIN_VARIABLE_SESSION_KEY=")
        .unwrap_or_else(|| panic!("expected the session key, got {}", lines[2]));
    assert!(
        cc_auth::session::SessionKey::from_base64(Some(session_key)).is_ok(),
        "{session_key}"
    );
    let value = |line: &str, name: &str| {
        line.strip_prefix(&format!("{name}="))
            .unwrap_or_else(|| panic!("expected {name}=…, got {line}"))
            .to_owned()
    };
    (
        value(lines[0], PUBLIC_VARIABLE),
        value(lines[1], PRIVATE_VARIABLE),
    )
}

fn generate_keys() -> (String, String) {
    parse_key_lines(&succeed(&mut cc_admin(&["keygen"])))
}

#[test]
fn keygen_prints_a_matching_key_pair() {
    let (public, private) = generate_keys();
    let public_key = PublicKey::from_base64(&public).unwrap();
    let private_key = PrivateKey::from_base64(&private).unwrap();
    assert_eq!(private_key.public_key().to_base64(), public_key.to_base64());
    assert_ne!(generate_keys().0, public);
}

#[test]
fn keygen_writes_a_private_file_once() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("keys.env");
    let path_arg = path.to_str().unwrap();
    let stdout = succeed(&mut cc_admin(&["keygen", "--out", path_arg]));
    assert!(stdout.is_empty());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (public, private) = parse_key_lines(&std::fs::read_to_string(&path).unwrap());
    let private_key = PrivateKey::from_base64(&private).unwrap();
    assert_eq!(private_key.public_key().to_base64(), public);

    let error = fail(&mut cc_admin(&["keygen", "--out", path_arg]));
    assert!(error.contains("cannot create key file"), "{error}");
    assert_eq!(
        parse_key_lines(&std::fs::read_to_string(&path).unwrap()).1,
        private
    );
}

#[test]
fn minted_token_verifies_with_user_roles_and_ttl() {
    let (public, private) = generate_keys();
    let public_key = PublicKey::from_base64(&public).unwrap();
    let issued_after = now();
    let stdout = succeed(&mut cc_admin(&[
        "token",
        "--user",
        "alice",
        "--roles",
        "admin,api",
        "--ttl",
        "24h",
        "--private-key",
        &private,
    ]));
    let token = stdout.trim_end();
    assert_eq!(stdout, format!("{token}\n"), "only the token is printed");
    let user = verify_token(token, Some(&public_key), issued_after).unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.roles, ["admin", "api"]);
    let day = 86_400;
    assert!(verify_token(token, Some(&public_key), issued_after + day - 60).is_ok());
    assert!(verify_token(token, Some(&public_key), issued_after + day + 60).is_err());
}

#[test]
fn private_key_comes_from_spin_variable_before_legacy_variable() {
    let (spin_public, spin_private) = generate_keys();
    let (legacy_public, legacy_private) = generate_keys();
    let mint = |command: &mut Command| {
        succeed(command.args(["token", "--user", "bob", "--roles", "api"]))
            .trim_end()
            .to_owned()
    };

    let both = mint(
        cc_admin(&[])
            .env(PRIVATE_VARIABLE, &spin_private)
            .env(LEGACY_PRIVATE_VARIABLE, &legacy_private),
    );
    let spin_key = PublicKey::from_base64(&spin_public).unwrap();
    let user = verify_token(&both, Some(&spin_key), u64::MAX).unwrap();
    assert_eq!(user.username, "bob");
    assert_eq!(user.roles, ["api"]);

    let legacy_only = mint(cc_admin(&[]).env(LEGACY_PRIVATE_VARIABLE, &legacy_private));
    let legacy_key = PublicKey::from_base64(&legacy_public).unwrap();
    assert!(verify_token(&legacy_only, Some(&legacy_key), u64::MAX).is_ok());
}

#[test]
fn token_errors_are_explained() {
    let (_, private) = generate_keys();
    let no_key = fail(&mut cc_admin(&["token", "--user", "a", "--roles", "api"]));
    assert!(no_key.contains("no private key"), "{no_key}");

    let bad_key = fail(&mut cc_admin(&[
        "token",
        "--user",
        "a",
        "--roles",
        "api",
        "--private-key",
        "abc",
    ]));
    assert!(
        bad_key.contains("invalid private key in --private-key"),
        "{bad_key}"
    );

    let bad_ttl = fail(&mut cc_admin(&[
        "token",
        "--user",
        "a",
        "--roles",
        "api",
        "--ttl",
        "7d",
        "--private-key",
        &private,
    ]));
    assert!(bad_ttl.contains(r#"unknown unit "d""#), "{bad_ttl}");

    let bad_role = fail(&mut cc_admin(&[
        "token",
        "--user",
        "a",
        "--roles",
        "Admin",
        "--private-key",
        &private,
    ]));
    assert!(bad_role.contains(r#"unknown role "Admin""#), "{bad_role}");
}
