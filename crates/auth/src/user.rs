//! The authenticated user, role names and row-level job security (docs/auth.md#roles).

use serde::{Deserialize, Serialize};

/// The role names of docs/auth.md#roles, in enum order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Anonymous,
    Api,
    User,
    Manager,
    Support,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Anonymous,
        Role::Api,
        Role::User,
        Role::Manager,
        Role::Support,
        Role::Admin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Api => "api",
            Role::User => "user",
            Role::Manager => "manager",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    /// Exact (case-sensitive) lookup, the comparison role checks use: `"API"` is no role.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

/// The user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub roles: Vec<String>,
    pub projects: Vec<String>,
}

impl User {
    /// Case-sensitive membership test, like the reference's `HasRole`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|held| held == role.as_str())
    }

    /// True when the roles are exactly `["api"]` (duplicates count).
    pub fn is_api_only(&self) -> bool {
        matches!(self.roles.as_slice(), [only] if only == Role::Api.as_str())
    }
}

/// Which jobs a user may see (docs/auth.md#row-level-job-security).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobScope {
    All,
    OwnJobs { user: String },
    OwnAndProjects { user: String, projects: Vec<String> },
}

/// Why no job scope could be derived. The HTTP status depends on the route (docs/auth.md#row-level-job-security),
/// so it is left to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JobScopeError {
    #[error("user context is nil")]
    NoUser,
    #[error("user has no or unknown roles")]
    NoOrUnknownRoles,
}

pub fn job_scope(user: Option<&User>) -> Result<JobScope, JobScopeError> {
    let user = user.ok_or(JobScopeError::NoUser)?;
    if user.is_api_only() || user.has_role(Role::Admin) || user.has_role(Role::Support) {
        return Ok(JobScope::All);
    }
    let own = user.username.clone();
    if user.has_role(Role::Manager) {
        return Ok(if user.projects.is_empty() {
            JobScope::OwnJobs { user: own }
        } else {
            JobScope::OwnAndProjects {
                user: own,
                projects: user.projects.clone(),
            }
        });
    }
    if user.has_role(Role::User) {
        return Ok(JobScope::OwnJobs { user: own });
    }
    Err(JobScopeError::NoOrUnknownRoles)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn user_with(roles: &[&str], projects: &[&str]) -> User {
        User {
            username: "alice".into(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            projects: projects.iter().map(|project| project.to_string()).collect(),
        }
    }

    #[test]
    fn role_names_round_trip_case_sensitively() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.as_str()), Some(role));
        }
        assert_eq!(Role::from_name("API"), None);
        assert_eq!(Role::from_name("root"), None);
    }

    #[test]
    fn has_role_is_case_sensitive() {
        let user = user_with(&["API", "admin"], &[]);
        assert!(!user.has_role(Role::Api));
        assert!(user.has_role(Role::Admin));
    }

    #[test]
    fn job_scope_follows_the_precedence_of_section_6() {
        let own = || JobScope::OwnJobs {
            user: "alice".into(),
        };
        type Case = (
            &'static [&'static str],
            &'static [&'static str],
            Result<JobScope, JobScopeError>,
        );
        let cases: &[Case] = &[
            (&["api"], &[], Ok(JobScope::All)),
            (&["admin", "api"], &[], Ok(JobScope::All)),
            (&["admin", "support", "api"], &[], Ok(JobScope::All)),
            (&["api", "support"], &[], Ok(JobScope::All)),
            (&["admin", "admin"], &[], Ok(JobScope::All)),
            (&["admin", "api", "api"], &[], Ok(JobScope::All)),
            (&["support"], &[], Ok(JobScope::All)),
            (&["api", "user"], &[], Ok(own())),
            (&["api", "manager"], &[], Ok(own())),
            (
                &["manager", "user"],
                &["p1", "p2"],
                Ok(JobScope::OwnAndProjects {
                    user: "alice".into(),
                    projects: vec!["p1".into(), "p2".into()],
                }),
            ),
            (&["user"], &["p1"], Ok(own())),
            (&["api", "api"], &[], Err(JobScopeError::NoOrUnknownRoles)),
            (&["API"], &[], Err(JobScopeError::NoOrUnknownRoles)),
            (&["anonymous"], &[], Err(JobScopeError::NoOrUnknownRoles)),
            (&[], &[], Err(JobScopeError::NoOrUnknownRoles)),
        ];
        for (roles, projects, expected) in cases {
            assert_eq!(
                &job_scope(Some(&user_with(roles, projects))),
                expected,
                "roles {roles:?}"
            );
        }
    }

    #[test]
    fn job_scope_without_user_fails() {
        assert_eq!(job_scope(None), Err(JobScopeError::NoUser));
        assert_eq!(JobScopeError::NoUser.to_string(), "user context is nil");
        assert_eq!(
            JobScopeError::NoOrUnknownRoles.to_string(),
            "user has no or unknown roles"
        );
    }
}
