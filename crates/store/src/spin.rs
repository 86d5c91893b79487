//! Spin backend: the host's `default` SQLite database and key-value store, as declared in spin.toml.

use spin_sdk::key_value::{self, Store};
use spin_sdk::sqlite3::{self as sqlite, Connection};

use std::time::{Duration, Instant};

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

/// How long a statement keeps retrying while another connection holds the lock: the 5 s of the
/// busy timeout Spin's hosts set.
const BUSY_DEADLINE: Duration = Duration::from_secs(5);
/// The first pause after a busy answer; it doubles up to [`LONGEST_BUSY_PAUSE`].
const FIRST_BUSY_PAUSE: Duration = Duration::from_micros(100);
const LONGEST_BUSY_PAUSE: Duration = Duration::from_millis(2);

/// SQLite's `SQLITE_BUSY`, as the host's rusqlite spells it (with or without its message).
fn is_busy(error: &sqlite::Error) -> bool {
    matches!(error, sqlite::Error::Io(message)
        if message.contains("database is locked") || message.contains("database file is locked"))
}

impl SpinSql {
    /// Opens the `default` database with foreign keys enforced (SQLite's default is off, and the
    /// schema relies on `ON DELETE CASCADE`), `synchronous = NORMAL`, and without the host's busy
    /// handler: Spin's sleeps
    /// 1, 2, 5, 10 … 100 ms inside SQLite while another instance writes, so a short write queues
    /// behind long naps. `execute` retries a busy statement itself with pauses of 0.1–2 ms
    /// (docs/storage.md#locking).
    pub fn open_default() -> Result<Self, StoreError> {
        let db = Self {
            conn: Connection::open("default").map_err(sqlite_error)?,
        };
        db.execute("PRAGMA foreign_keys = ON", &[])?;
        db.execute("PRAGMA busy_timeout = 0", &[])?;
        // With write-ahead logging a commit need not wait for the disk; a power cut may lose the
        // last commits but never corrupts the file (the runner's connections do the same).
        db.execute("PRAGMA synchronous = NORMAL", &[])?;
        Ok(db)
    }

    /// Runs a statement, retrying it while the database is locked by another connection (a busy
    /// statement did not run, so running it again is safe) until [`BUSY_DEADLINE`].
    fn execute_when_free(
        &self,
        statement: &str,
        params: &[sqlite::Value],
    ) -> Result<sqlite::QueryResult, sqlite::Error> {
        let started = Instant::now();
        let mut pause = FIRST_BUSY_PAUSE;
        loop {
            match self.conn.execute(statement, params) {
                Err(error) if is_busy(&error) && started.elapsed() < BUSY_DEADLINE => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(LONGEST_BUSY_PAUSE);
                }
                outcome => return outcome,
            }
        }
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
            .execute_when_free(statement, &params)
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
