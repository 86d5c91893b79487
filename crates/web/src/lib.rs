//! What every component shares between receiving a request and answering it: the route table with
//! chi's 404/405 rules, the cc-backend error JSON, strict body decoding, group authentication, the
//! response headers cc-backend adds everywhere, and access to variables and stores via [`Platform`].

mod auth;
mod decode;
mod deferred;
mod error;
mod platform;
mod respond;
mod router;
#[cfg(target_arch = "wasm32")]
mod spin_entry;

pub use auth::authenticate;
pub use decode::decode_strict;
pub use deferred::{after_response, run_after_response};
pub use error::{error_response, ApiError};
pub use platform::{Platform, Variables};
pub use respond::{endpoint_not_found, json_response, text_response, with_content_type};
pub use router::{dispatch, Ctx, Handler, Params, Route};

#[cfg(feature = "native")]
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
/// (`wasi:http/incoming-handler`), served on the Spin host platform. The component crate depends on
/// `spin-sdk` for the wasm target, which the attribute macro expands against.
#[macro_export]
macro_rules! spin_entry_point {
    ($handle:path) => {
        #[cfg(target_arch = "wasm32")]
        #[spin_sdk::http_component]
        async fn spin_entry_point(
            request: spin_sdk::http::IncomingRequest,
            response_out: spin_sdk::http::ResponseOutparam,
        ) {
            $crate::serve_spin(request, response_out, $handle).await
        }
    };
}
