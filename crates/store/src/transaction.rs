use crate::{Sql, StoreError};

/// Runs `work` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back when it fails. The write lock is
/// taken first, so checks and the writes that depend on them cannot interleave with those of
/// another component instance sharing the database.
pub fn in_transaction<T, E: From<StoreError>>(
    db: &dyn Sql,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    db.execute("BEGIN IMMEDIATE", &[])?;
    let outcome = work().and_then(|value| {
        db.execute("COMMIT", &[])?;
        Ok(value)
    });
    if outcome.is_err() {
        // The original failure matters more than a failed rollback (which SQLite only reports
        // when no transaction is open any more).
        let _ = db.execute("ROLLBACK", &[]);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::NativeSql;
    use crate::Value;

    fn count(db: &NativeSql) -> Option<i64> {
        db.execute("SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar()
            .and_then(Value::as_i64)
    }

    #[test]
    fn commits_on_success_and_rolls_back_on_failure() {
        let db = NativeSql::open_in_memory().unwrap();
        db.execute("CREATE TABLE t (x INTEGER)", &[]).unwrap();
        let committed: Result<(), StoreError> = in_transaction(&db, || {
            db.execute("INSERT INTO t VALUES (1)", &[])?;
            Ok(())
        });
        assert_eq!(committed, Ok(()));
        let failed: Result<(), StoreError> = in_transaction(&db, || {
            db.execute("INSERT INTO t VALUES (2)", &[])?;
            db.execute("INSERT INTO missing VALUES (3)", &[])?;
            Ok(())
        });
        assert!(failed.is_err());
        assert_eq!(count(&db), Some(1));
        // No transaction is left open: a new one can start.
        let again: Result<(), StoreError> = in_transaction(&db, || Ok(()));
        assert_eq!(again, Ok(()));
    }
}
