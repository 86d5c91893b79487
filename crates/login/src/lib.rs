//! Logging in and out (docs/auth.md#sessions): local passwords and API tokens become sessions in the
//! key-value store, guarded by a rate limit in the database; plus the notice shown on the login
//! page and the pages behind the login. Only `http` knows HTTP.

mod login;
mod notice;
mod rate_limit;

#[cfg(feature = "native")]
#[cfg(test)]
mod test_support;

pub mod http;

pub use login::{login_with_password, login_with_token, session_lifetime, LoginError};
pub use notice::{read_notice, write_notice, NoticeError, MAX_NOTICE_BYTES};
pub use rate_limit::{take_login_attempt, LOGIN_BURST, LOGIN_REFILL_SECONDS};
