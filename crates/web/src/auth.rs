use cc_auth::{authorize, parse_address_list, Group, IpPolicy, PublicKey, User};

use crate::{ApiError, Platform, Request, Variables};

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
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

fn verification_key(platform: &dyn Platform) -> Result<Option<PublicKey>, ApiError> {
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

/// The group's authentication middleware (spec auth.md §5): the JWT of `/api`, the metric store
/// and `/userapi`, then the IP allow-list (main `/api` group only), then the group's role rule.
/// `/config` and `/frontend` authenticate by session cookie, which no route uses yet, so they
/// see no user.
pub fn authenticate(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
) -> Result<Option<User>, ApiError> {
    let user = match group {
        Group::Api | Group::MetricStore | Group::UserApi => {
            let key = verification_key(platform)?;
            cc_auth::authenticate(request.headers(), key.as_ref(), unix_now())?
        }
        Group::Config | Group::Frontend => None,
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
