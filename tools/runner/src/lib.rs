//! `cc-spin`: a small Spin-compatible runner for local development and the end-to-end tests.
//!
//! It serves the HTTP components of a Spin manifest (v2) on wasmtime the way `spin up` does:
//! the same routing, `spin-*` request headers, variables, `files`, `allowed_outbound_hosts`, and
//! Spin's state files (`.spin/sqlite_key_value.db`, `.spin/sqlite_db.db`) for the `default`
//! key-value store and SQLite database, so `spin up` and `cc-spin up` can take turns on the same
//! data. It provides WASI 0.2, `wasi:http`, `fermyon:spin/key-value@2.0.0`,
//! `fermyon:spin/variables@2.0.0` and `spin:sqlite/sqlite@3.0.0`.
//!
//! A Spin runtime-config file may put the key-value store on Redis and the database file elsewhere
//! (`runtime_config`). It is not a production engine: no TLS, no other trigger types, no libSQL, no
//! remote component sources, no labels other than `default`.

pub mod component_build;
pub mod engine;
pub mod files;
pub mod host;
pub mod manifest;
pub mod outbound;
pub mod redis_kv;
pub mod routing;
pub mod runtime_config;
pub mod server;
pub mod up;
pub mod variables;

pub use up::{Runner, UpError, UpOptions};
