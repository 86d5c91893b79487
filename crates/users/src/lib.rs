//! Users in cc-backend's `hpc_user` table: the repository (bcrypt passwords, roles, projects) that
//! the admin CLI and the routes share, the users' UI settings, API tokens for users, and (feature
//! `http`, on by default) the user routes of the `/api`, `/config` and `/frontend` groups.
//! The rules are described in `docs/nodes-users.md`.

mod configuration;
#[cfg(feature = "http")]
pub mod http;
mod password;
mod token;
mod user;

pub use configuration::set_configuration;
pub use password::{hash_password, verify_password, HashError};
pub use token::{issue_token, TokenError};
pub use user::{
    add_user, assignable_roles, delete_user, get_user, list_users, set_password, update_user,
    NewUser, UserError, UserRecord, UserUpdate,
};
