//! Spin backend: the host's `default` SQLite database and key-value store, as declared in spin.toml.

use spin_sdk::key_value::{self, Store};
use spin_sdk::sqlite3::{self as sqlite, Connection};

use crate::{Kv, QueryResult, Sql, StoreError, Value};

fn sqlite_error(error: sqlite::Error) -> StoreError {
    match error {
        sqlite::Error::NoSuchDatabase => StoreError::NoSuchStore("sqlite database".into()),
        sqlite::Error::AccessDenied => StoreError::AccessDenied("sqlite database".into()),
        sqlite::Error::InvalidConnection => StoreError::Database("invalid connection".into()),
        sqlite::Error::DatabaseFull => StoreError::DatabaseFull,
        sqlite::Error::Io(message) => StoreError::Database(message),
    }
}

fn kv_error(error: key_value::Error) -> StoreError {
    match error {
        key_value::Error::NoSuchStore => StoreError::NoSuchStore("key-value store".into()),
        key_value::Error::AccessDenied => StoreError::AccessDenied("key-value store".into()),
        key_value::Error::StoreTableFull => StoreError::DatabaseFull,
        key_value::Error::Other(message) => StoreError::Database(message),
    }
}

pub struct SpinSql {
    conn: Connection,
}

impl SpinSql {
    /// Opens the `default` database with foreign keys enforced (SQLite's default is off, and the
    /// schema relies on `ON DELETE CASCADE`).
    pub fn open_default() -> Result<Self, StoreError> {
        let db = Self {
            conn: Connection::open("default").map_err(sqlite_error)?,
        };
        db.execute("PRAGMA foreign_keys = ON", &[])?;
        Ok(db)
    }
}

fn to_spin(value: &Value) -> sqlite::Value {
    match value {
        Value::Null => sqlite::Value::Null,
        Value::Integer(i) => sqlite::Value::Integer(*i),
        Value::Real(f) => sqlite::Value::Real(*f),
        Value::Text(s) => sqlite::Value::Text(s.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn from_spin(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(i) => Value::Integer(i),
        sqlite::Value::Real(f) => Value::Real(f),
        sqlite::Value::Text(s) => Value::Text(s),
        sqlite::Value::Blob(b) => Value::Blob(b),
    }
}

impl Sql for SpinSql {
    fn execute(&self, statement: &str, params: &[Value]) -> Result<QueryResult, StoreError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_spin).collect();
        let result = self
            .conn
            .execute(statement, &params)
            .map_err(sqlite_error)?;
        Ok(QueryResult {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }

    fn last_insert_rowid(&self) -> i64 {
        self.conn.last_insert_rowid()
    }

    fn changes(&self) -> u64 {
        self.conn.changes()
    }
}

pub struct SpinKv {
    store: Store,
}

impl SpinKv {
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open_default().map_err(kv_error)?,
        })
    }
}

impl Kv for SpinKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key).map_err(kv_error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value).map_err(kv_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).map_err(kv_error)
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.store.exists(key).map_err(kv_error)
    }

    fn get_keys(&self) -> Result<Vec<String>, StoreError> {
        self.store.get_keys().map_err(kv_error)
    }
}
