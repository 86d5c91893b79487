//! The places where cc-backend's answers spell things as Go's standard library does: its error
//! texts, quoting and number formats reach clients verbatim, so they are reproduced here, once.
//!
//! - [`strconv`] — `strconv.ParseInt` / `strconv.Atoi` with Go's error texts.
//! - [`duration`] — `time.ParseDuration`.
//! - [`quote`] — `%q` (`strconv.Quote`, `strconv.QuoteRune`).
//! - [`float`] — the float spelling of Go's `encoding/json`.
//! - `decode` (feature `json`) — request bodies decoded with the rules of `encoding/json`.
//! - `json` (feature `json`) — serde output byte-identical to Go's `encoding/json` encoder.

#[cfg(feature = "json")]
pub mod decode;
pub mod duration;
pub mod float;
#[cfg(feature = "json")]
pub mod json;
pub mod quote;
pub mod strconv;

#[cfg(feature = "json")]
pub use decode::decode_like_go;
pub use duration::{parse_duration, DurationError};
pub use float::{format_float_v, write_json_float};
#[cfg(feature = "json")]
pub use json::{finite_f64, null_as_default, to_go_json};
pub use quote::{quote, quote_byte};
pub use strconv::{atoi, parse_int};
