//! `cc-admin token`: mint an API token with the deployment's private key.

use std::env;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use cc_auth::{PrivateKey, Role};

use crate::{LEGACY_PRIVATE_KEY_VARIABLE, PRIVATE_KEY_VARIABLE};

#[derive(clap::Args)]
pub struct Args {
    /// Username, stored as the `sub` claim.
    #[arg(long)]
    user: String,
    /// Comma-separated roles, e.g. `admin,api` (exact lower-case names).
    #[arg(long)]
    roles: String,
    /// Lifetime as a Go duration (`30m`, `24h`, `1h30m`); `0` issues a token without expiry.
    #[arg(long, default_value = "0")]
    ttl: String,
    /// Base64 Go-format private key; defaults to $SPIN_VARIABLE_JWT_PRIVATE_KEY, then
    /// $JWT_PRIVATE_KEY.
    #[arg(long, value_name = "B64")]
    private_key: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let roles = parse_roles(&args.roles)?;
    let ttl = parse_ttl(&args.ttl)?;
    let key = load_private_key(args.private_key)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    println!(
        "{}",
        cc_auth::mint_token(&key, &args.user, &roles, ttl, now)
    );
    Ok(())
}

/// Rejects names that no role check would recognise (role checks are case-sensitive).
pub(crate) fn parse_roles(list: &str) -> anyhow::Result<Vec<String>> {
    let roles: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = roles.iter().find(|role| Role::from_name(role).is_none()) {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        bail!("unknown role {unknown:?} (known: {})", known.join(", "));
    }
    Ok(roles)
}

fn parse_ttl(text: &str) -> anyhow::Result<Option<Duration>> {
    let ttl = cc_gocompat::parse_duration(text).context("invalid --ttl")?;
    Ok((!ttl.is_zero()).then_some(ttl))
}

fn load_private_key(flag: Option<String>) -> anyhow::Result<PrivateKey> {
    let non_empty_variable = |name: &str| {
        env::var(name)
            .ok()
            .filter(|value| !value.is_empty())
            .map(|value| (value, format!("${name}")))
    };
    let (encoded, source) = flag
        .map(|value| (value, "--private-key".to_owned()))
        .or_else(|| non_empty_variable(PRIVATE_KEY_VARIABLE))
        .or_else(|| non_empty_variable(LEGACY_PRIVATE_KEY_VARIABLE))
        .with_context(|| {
            format!(
                "no private key: pass --private-key or set {PRIVATE_KEY_VARIABLE} or \
                 {LEGACY_PRIVATE_KEY_VARIABLE} (see `cc-admin keygen`)"
            )
        })?;
    PrivateKey::from_base64(&encoded).with_context(|| format!("invalid private key in {source}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_split_trimmed_and_checked() {
        assert_eq!(parse_roles(" admin, api ,").unwrap(), ["admin", "api"]);
        assert!(parse_roles("").unwrap().is_empty());
        let error = parse_roles("api,API").unwrap_err().to_string();
        assert!(
            error.starts_with(r#"unknown role "API" (known: anonymous, api"#),
            "{error}"
        );
    }

    #[test]
    fn ttl_zero_means_no_expiry() {
        assert_eq!(parse_ttl("0").unwrap(), None);
        assert_eq!(parse_ttl("0s").unwrap(), None);
        assert_eq!(parse_ttl("24h").unwrap(), Some(Duration::from_secs(86_400)));
        assert_eq!(
            parse_ttl("1h30m").unwrap(),
            Some(Duration::from_secs(5_400))
        );
        let error = format!("{:#}", parse_ttl("3d").unwrap_err());
        assert_eq!(
            error,
            r#"invalid --ttl: time: unknown unit "d" in duration "3d""#
        );
    }
}
