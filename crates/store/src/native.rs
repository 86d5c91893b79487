//! rusqlite backend, with the files and table layout Spin uses for its local state, so a state
//! directory is shared between `spin up`, `cc-spin up` and the admin CLI.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params_from_iter, types::ValueRef, Connection};

use crate::{Kv, QueryResult, Sql, StoreError, Value};

/// How often a connection retries a locked database before giving up: with the pauses of
/// [`wait_for_lock`] this is about 30 seconds.
const BUSY_ATTEMPTS: i32 = 30_000;

/// Many component instances write at once, each holding the write lock for well under a
/// millisecond. SQLite's own busy timeout sleeps 1, 2, 5, 10 … ms between retries, which caps
/// contended writes at a few hundred per second; short pauses first keep the lock busy instead.
fn wait_for_lock(attempt: i32) -> bool {
    let pause = match attempt {
        0..=19 => Duration::from_micros(50),
        20..=199 => Duration::from_micros(250),
        _ => Duration::from_millis(1),
    };
    std::thread::sleep(pause);
    attempt < BUSY_ATTEMPTS
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DatabaseFull,
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// Switching a new file to WAL needs an exclusive lock, and SQLite reports a concurrent opener's
/// lock at once instead of calling the busy handler: retry with the same pauses.
fn switch_to_wal(conn: &Connection) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(error)
                if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && wait_for_lock(attempt) =>
            {
                attempt += 1;
            }
            outcome => return Ok(outcome?),
        }
    }
}

fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Database(format!("creating {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// A connection tuned for native callers (tests, the admin CLI): short busy pauses, WAL,
/// `synchronous = NORMAL`, foreign keys.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    create_parent_dir(path)?;
    let mut conn = Connection::open(path)?;
    conn.busy_handler(Some(wait_for_lock))?;
    switch_to_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A connection as Spin's SQLite hosts open one: rusqlite's defaults (a 5 s busy timeout, so
/// SQLite's sleeping busy handler), the journal mode the file has, nothing else set. A
/// component sets what it needs itself.
fn open_like_spin(path: &Path) -> Result<Connection, StoreError> {
    create_parent_dir(path)?;
    Ok(Connection::open(path)?)
}

/// One connection to a SQLite database file (Spin's `sqlite_db.db` for the `default` database).
pub struct NativeSql {
    conn: Connection,
}

impl NativeSql {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            conn: open_connection(path)?,
        })
    }

    /// A fresh connection as Spin's host gives a component for each `open` ([`open_like_spin`]).
    pub fn open_like_spin(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            conn: open_like_spin(path)?,
        })
    }

    /// A private in-memory database, for unit tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Self { conn })
    }
}

fn to_sql_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null => V::Null,
        Value::Integer(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn from_sql_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(s) => Value::Text(String::from_utf8_lossy(s).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl Sql for NativeSql {
    fn execute(&self, statement: &str, params: &[Value]) -> Result<QueryResult, StoreError> {
        let mut stmt = self.conn.prepare_cached(statement)?;
        let columns: Vec<String> = stmt.column_names().map(String::from).collect();
        let mut rows = stmt.query(params_from_iter(params.iter().map(to_sql_value)))?;
        let mut result = QueryResult {
            rows: Vec::new(),
            columns,
        };
        while let Some(row) = rows.next()? {
            let values = (0..result.columns.len())
                .map(|i| row.get_ref(i).map(from_sql_value))
                .collect::<Result<Vec<_>, _>>()?;
            result.rows.push(values);
        }
        Ok(result)
    }

    fn last_insert_rowid(&self) -> i64 {
        self.conn.last_insert_rowid()
    }

    fn changes(&self) -> u64 {
        self.conn.changes()
    }
}

/// One named store inside Spin's key-value file (`sqlite_key_value.db`, table `spin_key_value`).
pub struct NativeKv {
    conn: Connection,
    store: String,
}

impl NativeKv {
    pub fn open(path: &Path, store: &str) -> Result<Self, StoreError> {
        Self::with_table(open_connection(path)?, store)
    }

    /// The store on a connection as Spin's host opens it ([`open_like_spin`]).
    pub fn open_like_spin(path: &Path, store: &str) -> Result<Self, StoreError> {
        Self::with_table(open_like_spin(path)?, store)
    }

    fn with_table(conn: Connection, store: &str) -> Result<Self, StoreError> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL,
                key   TEXT NOT NULL,
                value BLOB NOT NULL,
                PRIMARY KEY (store, key)
            )",
            [],
        )?;
        Ok(Self {
            conn,
            store: store.to_owned(),
        })
    }
}

impl Kv for NativeKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?;
        let mut rows = stmt.query((&self.store, key))?;
        Ok(match rows.next()? {
            Some(row) => Some(row.get(0)?),
            None => None,
        })
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute((&self.store, key, value))?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .execute((&self.store, key))?;
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    fn get_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
        let keys = stmt
            .query_map([&self.store], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_round_trips_every_value_type() {
        let db = NativeSql::open_in_memory().unwrap();
        db.execute(
            "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)",
            &[],
        )
        .unwrap();
        let row = vec![
            Value::Integer(-7),
            Value::Real(2.5),
            Value::Text("häh".into()),
            Value::Blob(vec![0, 1, 255]),
            Value::Null,
        ];
        let inserted = db
            .execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", &row)
            .unwrap();
        assert!(inserted.rows.is_empty());
        assert_eq!(db.changes(), 1);
        assert_eq!(db.last_insert_rowid(), 1);
        let result = db.execute("SELECT * FROM t", &[]).unwrap();
        assert_eq!(result.columns, ["i", "r", "s", "b", "n"]);
        assert_eq!(result.rows, vec![row]);
    }

    #[test]
    fn sql_errors_carry_sqlite_message() {
        let db = NativeSql::open_in_memory().unwrap();
        let err = db.execute("SELECT * FROM missing", &[]).unwrap_err();
        assert_eq!(err, StoreError::Database("no such table: missing".into()));
    }

    #[test]
    fn transactions_span_execute_calls() {
        let db = NativeSql::open_in_memory().unwrap();
        db.execute("CREATE TABLE t (x INTEGER)", &[]).unwrap();
        db.execute("BEGIN IMMEDIATE", &[]).unwrap();
        db.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
        db.execute("ROLLBACK", &[]).unwrap();
        let count = db.execute("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(0)));
    }

    #[test]
    fn kv_stores_are_separate_and_persist_in_the_spin_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sqlite_key_value.db");
        let default = NativeKv::open(&path, "default").unwrap();
        let other = NativeKv::open(&path, "other").unwrap();
        default.set("b", b"2").unwrap();
        default.set("a", b"1").unwrap();
        default.set("a", b"one").unwrap();
        assert_eq!(default.get("a").unwrap().as_deref(), Some(&b"one"[..]));
        assert!(other.get("a").unwrap().is_none());
        assert_eq!(default.get_keys().unwrap(), ["a", "b"]);
        default.delete("b").unwrap();
        assert!(!default.exists("b").unwrap());
        drop(default);

        let raw = Connection::open(&path).unwrap();
        let value: Vec<u8> = raw
            .query_row(
                "SELECT value FROM spin_key_value WHERE store = 'default' AND key = 'a'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(value, b"one");
    }
}
