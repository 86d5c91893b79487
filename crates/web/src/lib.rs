//! What every component shares between receiving a request and answering it: the route table with
//! chi's 404/405 rules, the cc-backend error JSON, strict body decoding, group authentication, the
//! response headers cc-backend adds everywhere, and access to variables and stores via [`Platform`].

pub mod applog;
mod auth;
mod body_limit;
mod decode;
mod deferred;
mod error;
mod form;
pub mod openapi;
mod platform;
mod respond;
mod router;
#[cfg(target_arch = "wasm32")]
mod spin_entry;

pub use auth::{
    authenticate, client_address, client_address_for_log, session_key, verification_key,
};
pub use body_limit::{
    append_chunk, body_limit, check_declared_length, DEFAULT_JSON_BODY_LIMIT,
    DEFAULT_WRITE_BODY_LIMIT, MAX_REQUEST_BODY_VARIABLE,
};
pub use decode::decode_strict;
pub use deferred::{after_response, run_after_response};
pub use error::{error_response, ApiError};
pub use form::Form;
pub use platform::{Platform, Variables};
pub use respond::{endpoint_not_found, json_response, text_response, with_content_type};
pub use router::{
    add_common_headers, cross_site_refusal, dispatch, is_cross_site_write, is_tls, Ctx, Handler,
    Params, Route,
};

#[cfg(any(test, feature = "native"))]
pub use platform::native::NativePlatform;
#[cfg(target_arch = "wasm32")]
pub use platform::spin::SpinPlatform;
#[cfg(target_arch = "wasm32")]
pub use spin_entry::serve_spin;

pub type Request = http::Request<Vec<u8>>;

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub type Response = http::Response<Vec<u8>>;

/// Exports a component's `handle(&Request, &dyn Platform) -> Response` as the Spin HTTP entry point
/// (`wasi:http/incoming-handler`), served on the Spin host platform, reading request bodies up to
/// `$body_limit` bytes (default [`DEFAULT_JSON_BODY_LIMIT`]; the component's
/// `max_request_body_bytes` variable overrides it). The component crate depends on `spin-sdk` for
/// the wasm target, which the attribute macro expands against.
#[macro_export]
macro_rules! spin_entry_point {
    ($handle:path) => {
        $crate::spin_entry_point!($handle, $crate::DEFAULT_JSON_BODY_LIMIT);
    };
    ($handle:path, $body_limit:expr) => {
        #[cfg(target_arch = "wasm32")]
        #[spin_sdk::http_component]
        async fn spin_entry_point(
            request: spin_sdk::http::IncomingRequest,
            response_out: spin_sdk::http::ResponseOutparam,
        ) {
            $crate::serve_spin(request, response_out, $handle, $body_limit).await
        }
    };
}
