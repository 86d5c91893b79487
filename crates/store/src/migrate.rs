//! Versioned migrations from `migrations/NNNN_name.sql`, embedded at build time.
//!
//! Bookkeeping uses golang-migrate's table `schema_migrations(version, dirty)` with a single row, so a
//! database created by cc-backend (schema version 10 or 11) is picked up where it stands. All pending
//! migrations run in one `BEGIN IMMEDIATE` transaction: when many component instances start at once,
//! one applies them while the others wait on the write lock and then find nothing left to do.

use crate::{in_transaction, Sql, StoreError, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

static MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every embedded migration, in ascending version order.
pub fn migrations() -> &'static [Migration] {
    MIGRATIONS
}

/// Splits a migration file into statements: Spin's SQLite interface runs one statement per call.
/// A statement ends with `;` at the end of a line; a `CREATE TRIGGER` ends with a line `END;`.
/// Lines holding only a `--` comment are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line.trim_end());
        let in_trigger = current
            .trim_start()
            .get(..14)
            .is_some_and(|head| head.eq_ignore_ascii_case("CREATE TRIGGER"));
        let complete = if in_trigger {
            trimmed.eq_ignore_ascii_case("END;")
        } else {
            trimmed.ends_with(';')
        };
        if complete {
            statements.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        statements.push(current);
    }
    statements
}

fn current_version(db: &dyn Sql) -> Result<(u32, bool), StoreError> {
    let result = db.execute("SELECT version, dirty FROM schema_migrations LIMIT 1", &[])?;
    Ok(match result.rows.first() {
        Some(row) => {
            let version = row.first().and_then(Value::as_i64).unwrap_or(0);
            let dirty = row.get(1).and_then(Value::as_i64).unwrap_or(0) != 0;
            (u32::try_from(version).unwrap_or(u32::MAX), dirty)
        }
        None => (0, false),
    })
}

/// golang-migrate's table, so cc-backend recognises the database and we recognise cc-backend's.
fn create_bookkeeping(db: &dyn Sql) -> Result<(), StoreError> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool)",
        &[],
    )?;
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)",
        &[],
    )?;
    Ok(())
}

fn check_version(version: u32, dirty: bool, latest: u32) -> Result<(), StoreError> {
    if dirty {
        return Err(StoreError::SchemaDirty(version));
    }
    if version > latest {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: latest,
        });
    }
    Ok(())
}

fn apply_pending(db: &dyn Sql, from: u32, to: &[Migration]) -> Result<(), StoreError> {
    for migration in to.iter().filter(|m| m.version > from) {
        for statement in split_statements(migration.sql) {
            db.execute(&statement, &[])
                .map_err(|error| StoreError::Migration {
                    version: migration.version,
                    name: migration.name,
                    message: error.to_string(),
                })?;
        }
    }
    if let Some(last) = to.last().filter(|m| m.version > from) {
        db.execute("DELETE FROM schema_migrations", &[])?;
        db.execute(
            "INSERT INTO schema_migrations (version, dirty) VALUES (?, 0)",
            &[Value::Integer(i64::from(last.version))],
        )?;
    }
    Ok(())
}

/// Brings the database to the newest embedded schema version and returns that version.
/// Cheap when nothing is pending (one read), so it can run on every request.
pub fn migrate(db: &dyn Sql) -> Result<u32, StoreError> {
    migrate_to(db, MIGRATIONS)
}

fn migrate_to(db: &dyn Sql, available: &[Migration]) -> Result<u32, StoreError> {
    let latest = available.last().map_or(0, |m| m.version);
    // The fast path, taken by nearly every request, is this one read.
    let (version, dirty) = match current_version(db) {
        Ok(state) => state,
        Err(_) => {
            create_bookkeeping(db)?;
            current_version(db)?
        }
    };
    check_version(version, dirty, latest)?;
    if version == latest {
        return Ok(version);
    }
    // Spin creates its database in rollback-journal mode, where a commit rewrites pages under an
    // exclusive lock that also stops readers. Write-ahead logging lets readers run beside the one
    // writer; the mode is kept in the file, so switching it with the schema is enough. It cannot
    // change while another connection is mid-transaction; then it stays, and nothing depends on it
    // but speed (docs/storage.md#locking).
    let _ = db.execute("PRAGMA journal_mode = WAL", &[]);
    // Another instance may have migrated while this one waited for the write lock: read again.
    in_transaction(db, || {
        let (version, dirty) = current_version(db)?;
        check_version(version, dirty, latest)?;
        apply_pending(db, version, available)
    })?;
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::NativeSql;

    const FIRST: Migration = Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE a (x INTEGER);\n-- a comment\nINSERT INTO a VALUES (1);\n",
    };
    const SECOND: Migration = Migration {
        version: 2,
        name: "second",
        sql: "CREATE TABLE b (y INTEGER);",
    };
    const BROKEN: Migration = Migration {
        version: 3,
        name: "broken",
        sql: "CREATE TABLE c (z INTEGER);\nCREATE TABLE a (x INTEGER);",
    };

    fn version_of(db: &NativeSql) -> (u32, bool) {
        current_version(db).unwrap()
    }

    #[test]
    fn splits_statements_and_triggers() {
        let sql = "-- header\nCREATE TABLE t (\n  x INTEGER\n);\nCREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  DELETE FROM t;\n  DELETE FROM t;\nEND;\nDROP TABLE t;\n";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[0], "CREATE TABLE t (\n  x INTEGER\n);");
        assert!(statements[1].starts_with("CREATE TRIGGER") && statements[1].ends_with("END;"));
        assert_eq!(statements[2], "DROP TABLE t;");
    }

    #[test]
    fn applies_pending_migrations_once() {
        let db = NativeSql::open_in_memory().unwrap();
        assert_eq!(migrate_to(&db, &[FIRST]).unwrap(), 1);
        assert_eq!(migrate_to(&db, &[FIRST]).unwrap(), 1);
        assert_eq!(migrate_to(&db, &[FIRST, SECOND]).unwrap(), 2);
        assert_eq!(version_of(&db), (2, false));
        let rows = db.execute("SELECT count(*) FROM a", &[]).unwrap();
        assert_eq!(
            rows.scalar(),
            Some(&Value::Integer(1)),
            "first ran exactly once"
        );
        db.execute("SELECT * FROM b", &[]).unwrap();
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let db = NativeSql::open_in_memory().unwrap();
        migrate_to(&db, &[FIRST]).unwrap();
        let err = migrate_to(&db, &[FIRST, SECOND, BROKEN]).unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 3, .. }),
            "{err}"
        );
        assert_eq!(version_of(&db), (1, false));
        assert!(
            db.execute("SELECT * FROM b", &[]).is_err(),
            "second rolled back"
        );
        assert!(
            db.execute("SELECT * FROM c", &[]).is_err(),
            "broken rolled back"
        );
    }

    #[test]
    fn refuses_newer_or_dirty_schema() {
        let db = NativeSql::open_in_memory().unwrap();
        migrate_to(&db, &[FIRST, SECOND]).unwrap();
        assert_eq!(
            migrate_to(&db, &[FIRST]).unwrap_err(),
            StoreError::SchemaTooNew {
                found: 2,
                supported: 1
            }
        );
        db.execute("UPDATE schema_migrations SET dirty = 1", &[])
            .unwrap();
        assert_eq!(
            migrate_to(&db, &[FIRST, SECOND]).unwrap_err(),
            StoreError::SchemaDirty(2)
        );
    }

    #[test]
    fn concurrent_first_use_applies_each_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let db = NativeSql::open(&path).unwrap();
                    migrate_to(&db, &[FIRST, SECOND]).unwrap()
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), 2);
        }
        let db = NativeSql::open(&path).unwrap();
        let rows = db.execute("SELECT count(*) FROM a", &[]).unwrap();
        assert_eq!(rows.scalar(), Some(&Value::Integer(1)));
        let rows = db
            .execute("SELECT count(*) FROM schema_migrations", &[])
            .unwrap();
        assert_eq!(rows.scalar(), Some(&Value::Integer(1)));
    }

    #[test]
    fn embedded_migrations_apply_to_an_empty_database() {
        let db = NativeSql::open_in_memory().unwrap();
        let latest = migrations().last().map_or(0, |m| m.version);
        assert_eq!(migrate(&db).unwrap(), latest);
        assert_eq!(migrate(&db).unwrap(), latest);
    }
}
