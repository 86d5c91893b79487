//! Per-route-group role rules (docs/auth.md#group-role-rules): "has admin and api" uses set
//! semantics and an empty role list gives one 401 body (docs/compatibility.md#role-rules-use-set-semantics).

use crate::error::AuthError;
use crate::user::{Role, User};

/// The route groups that carry an authentication middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `/api` main group (JWT, IP allow-list).
    Api,
    /// `/api/free`, `/api/write`, … (JWT).
    MetricStore,
    /// `/userapi` (JWT).
    UserApi,
    /// `/config/*` (session, admin only).
    Config,
    /// `/frontend/*` (session, any user).
    Frontend,
}

/// What a group demands of the roles of an authenticated user.
enum RoleRule {
    /// Exactly `["api"]`, or both `admin` and `api`.
    ApiOrAdminAndApi,
    /// Exactly `["api"]`, or `api` together with one of the listed roles.
    ApiOrApiWithOneOf(&'static [Role]),
    Holds(Role),
    AnyUser,
}

impl RoleRule {
    fn allows(&self, user: &User) -> bool {
        match self {
            RoleRule::ApiOrAdminAndApi => {
                user.is_api_only() || (user.has_role(Role::Admin) && user.has_role(Role::Api))
            }
            RoleRule::ApiOrApiWithOneOf(companions) => {
                user.is_api_only()
                    || (user.has_role(Role::Api)
                        && companions.iter().any(|&role| user.has_role(role)))
            }
            RoleRule::Holds(role) => user.has_role(*role),
            RoleRule::AnyUser => true,
        }
    }
}

struct GroupPolicy {
    without_user: AuthError,
    roles: RoleRule,
}

impl Group {
    fn policy(self) -> GroupPolicy {
        match self {
            Group::Api => GroupPolicy {
                without_user: AuthError::NoUserForSecuredCheck,
                roles: RoleRule::ApiOrAdminAndApi,
            },
            Group::MetricStore => GroupPolicy {
                without_user: AuthError::Unauthorized,
                roles: RoleRule::ApiOrApiWithOneOf(&[Role::User, Role::Manager, Role::Admin]),
            },
            Group::UserApi => GroupPolicy {
                without_user: AuthError::Unauthorized,
                roles: RoleRule::ApiOrApiWithOneOf(&[
                    Role::User,
                    Role::Manager,
                    Role::Support,
                    Role::Admin,
                ]),
            },
            Group::Config => GroupPolicy {
                without_user: AuthError::Unauthorized,
                roles: RoleRule::Holds(Role::Admin),
            },
            Group::Frontend => GroupPolicy {
                without_user: AuthError::Unauthorized,
                roles: RoleRule::AnyUser,
            },
        }
    }
}

/// Decides whether `user` (None: no credentials were presented) may use `group`. For
/// [`Group::Api`] the caller runs the IP allow-list check before this, and only when a user exists.
pub fn authorize(group: Group, user: Option<&User>) -> Result<(), AuthError> {
    let policy = group.policy();
    let user = user.ok_or(policy.without_user)?;
    if policy.roles.allows(user) {
        Ok(())
    } else {
        Err(AuthError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::tests::user_with;

    const GROUPS: [Group; 5] = [
        Group::Api,
        Group::MetricStore,
        Group::UserApi,
        Group::Config,
        Group::Frontend,
    ];

    /// docs/auth.md#truth-table, extended by the config (admin) and
    /// frontend (any user) columns. Columns follow `GROUPS`.
    const TRUTH_TABLE: &[(&[&str], [bool; 5])] = &[
        (&["api"], [true, true, true, false, true]),
        (&["admin", "api"], [true, true, true, true, true]),
        (&["admin", "support", "api"], [true, true, true, true, true]),
        (&["api", "user"], [false, true, true, false, true]),
        (&["api", "manager"], [false, true, true, false, true]),
        (&["api", "support"], [false, false, true, false, true]),
        (&["admin"], [false, false, false, true, true]),
        (&["user"], [false, false, false, false, true]),
        (&["admin", "user"], [false, false, false, true, true]),
        (&["support"], [false, false, false, false, true]),
        // Reference quirk: passes /api because it counts two matches; no admin here.
        (&["api", "api"], [false, false, false, false, true]),
        // Reference quirk: passes /api although it lacks api.
        (&["admin", "admin"], [false, false, false, true, true]),
        // Reference quirk: fails /api because it counts three matches.
        (&["admin", "api", "api"], [true, true, true, true, true]),
        (&[], [false, false, false, false, true]),
        (&["API"], [false, false, false, false, true]),
    ];

    #[test]
    fn truth_table_holds_for_every_group() {
        for (roles, expected) in TRUTH_TABLE {
            let user = user_with(roles, &[]);
            for (group, allowed) in GROUPS.iter().zip(expected) {
                let outcome = authorize(*group, Some(&user));
                if *allowed {
                    assert_eq!(outcome, Ok(()), "{group:?} with {roles:?}");
                } else {
                    assert_eq!(
                        outcome,
                        Err(AuthError::Unauthorized),
                        "{group:?} with {roles:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn missing_user_messages_depend_on_the_group() {
        for group in GROUPS {
            let expected = match group {
                Group::Api => "no user for secured check",
                _ => "unauthorized",
            };
            let error = authorize(group, None).unwrap_err();
            assert_eq!(error.to_string(), expected, "{group:?}");
        }
    }
}
