//! Authentication and authorisation rules of the ClusterCockpit REST API (docs/auth.md#authentication-and-authorisation).
//!
//! Everything here is pure: the current time and the request headers are passed in, so the crate
//! behaves identically natively and inside a `wasm32-wasip2` component.

mod error;
mod groups;
mod ip;
mod keys;
pub mod session;
mod token;
mod user;

pub use error::{AuthError, ClaimError};
pub use groups::{authorize, Group};
pub use ip::{parse_address_list, AddressListError, IpPolicy, PEER_ADDRESS_HEADER};
pub use keys::{generate_key_pair, KeyError, KeyKind, PrivateKey, PublicKey};
pub use token::{
    authenticate, extract_token, mint_token, verify_token, verify_token_with, NoMemo,
    VerifiedSignatures,
};
pub use user::{job_scope, JobScope, JobScopeError, Role, User};
