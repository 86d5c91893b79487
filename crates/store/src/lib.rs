//! Storage behind small traits: components talk to Spin's key-value store and SQLite database through
//! [`Kv`] and [`Sql`], so the same business logic runs inside a component (Spin backend) and natively
//! (rusqlite backend, used by unit tests, the admin CLI and the runner's host implementation).

mod migrate;
#[cfg(feature = "native")]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod spin;
mod transaction;

pub use migrate::{migrate, migrations, split_statements, Migration};
pub use transaction::in_transaction;

/// A SQLite value, as Spin's `spin:sqlite/sqlite@3.0.0` interface carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// Text, or a blob holding UTF-8 (cc-backend writes JSON columns as blobs).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            Value::Blob(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

/// The rows a statement produced (empty for statements that return none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl QueryResult {
    /// The first column of the first row, for `SELECT count(*)`-style queries.
    pub fn scalar(&self) -> Option<&Value> {
        self.rows.first().and_then(|row| row.first())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("no such store or database: {0}")]
    NoSuchStore(String),
    #[error("access to store or database {0} denied")]
    AccessDenied(String),
    #[error("database full")]
    DatabaseFull,
    #[error("{0}")]
    Database(String),
    #[error("migration {version} ({name}) failed: {message}")]
    Migration {
        version: u32,
        name: &'static str,
        message: String,
    },
    #[error("database schema version {found} is newer than the newest known version {supported}")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("database schema version {0} is marked dirty by an interrupted migration")]
    SchemaDirty(u32),
}

/// A connection to a SQL database. A connection lives as long as the value, so a caller may run
/// `BEGIN IMMEDIATE` … `COMMIT` across several `execute` calls.
pub trait Sql {
    /// Runs one statement with positional (`?`) parameters.
    fn execute(&self, statement: &str, params: &[Value]) -> Result<QueryResult, StoreError>;
    /// The rowid of the most recent successful INSERT on this connection.
    fn last_insert_rowid(&self) -> i64;
    /// Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
    fn changes(&self) -> u64;
}

/// An open key-value store.
pub trait Kv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    fn exists(&self, key: &str) -> Result<bool, StoreError>;
    fn get_keys(&self) -> Result<Vec<String>, StoreError>;
}
