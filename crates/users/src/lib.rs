//! Users in cc-backend's `hpc_user` table: the repository (bcrypt passwords, roles, projects) that
//! the admin CLI and the routes share, and (feature `http`, on by default) the `/api` user routes.
//! The rules are described in `docs/nodes-users.md`.

#[cfg(feature = "http")]
pub mod http;
mod password;
mod user;

pub use password::{hash_password, verify_password, HashError};
pub use user::{
    add_user, delete_user, get_user, list_users, set_password, update_user, NewUser, UserError,
    UserRecord, UserUpdate,
};
