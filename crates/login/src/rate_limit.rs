//! The login rate limit (docs/auth.md#login-rate-limit): per client address and username a token
//! bucket of 5 attempts refilled by one every 3 minutes, as cc-backend's. The bucket is one row
//! taken by a single conditional upsert, so any number of instances share it exactly.

use cc_store::{Sql, StoreError, Value};

pub const LOGIN_BURST: f64 = 5.0;
pub const LOGIN_REFILL_SECONDS: f64 = 180.0;
/// Buckets idle this long are full again, so they are dropped (cc-backend discards them after 24 h).
const IDLE_SECONDS: i64 = 24 * 3600;

/// Takes one attempt for `attempt_key` at `now`; `false` when the bucket is empty. Every attempt
/// counts, successful ones too.
pub fn take_login_attempt(db: &dyn Sql, attempt_key: &str, now: i64) -> Result<bool, StoreError> {
    db.execute(
        "DELETE FROM login_limit WHERE updated_at < ?",
        &[Value::Integer(now - IDLE_SECONDS)],
    )?;
    // The refilled level is min(burst, tokens + elapsed / refill); the update only happens when
    // it holds a whole token, and RETURNING tells whether it did.
    let taken = db.execute(
        "INSERT INTO login_limit (attempt_key, tokens, updated_at) VALUES (?1, ?2 - 1, ?3) \
         ON CONFLICT (attempt_key) DO UPDATE \
         SET tokens = min(?2, tokens + (?3 - updated_at) / ?4) - 1, updated_at = ?3 \
         WHERE min(?2, tokens + (?3 - updated_at) / ?4) >= 1 \
         RETURNING tokens",
        &[
            attempt_key.into(),
            Value::Real(LOGIN_BURST),
            Value::Integer(now),
            Value::Real(LOGIN_REFILL_SECONDS),
        ],
    )?;
    Ok(!taken.rows.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::database;

    #[test]
    fn five_attempts_then_one_per_three_minutes() {
        let (_dir, db) = database();
        for attempt in 0..5 {
            assert!(
                take_login_attempt(&db, "1.2.3.4:alice", 1000).unwrap(),
                "{attempt}"
            );
        }
        assert!(!take_login_attempt(&db, "1.2.3.4:alice", 1000).unwrap());
        assert!(!take_login_attempt(&db, "1.2.3.4:alice", 1179).unwrap());
        assert!(take_login_attempt(&db, "1.2.3.4:alice", 1180).unwrap());
        assert!(!take_login_attempt(&db, "1.2.3.4:alice", 1181).unwrap());
        assert!(
            take_login_attempt(&db, "1.2.3.4:bob", 1181).unwrap(),
            "buckets are per key"
        );
    }

    #[test]
    fn a_refill_never_exceeds_the_burst_and_idle_buckets_are_dropped() {
        let (_dir, db) = database();
        assert!(take_login_attempt(&db, "k", 0).unwrap());
        let hours_later = 10 * 3600;
        for _ in 0..5 {
            assert!(take_login_attempt(&db, "k", hours_later).unwrap());
        }
        assert!(!take_login_attempt(&db, "k", hours_later).unwrap());
        assert!(take_login_attempt(&db, "other", hours_later + IDLE_SECONDS + 1).unwrap());
        let rows = db.execute("SELECT count(*) FROM login_limit", &[]).unwrap();
        assert_eq!(rows.scalar().and_then(Value::as_i64), Some(1));
    }
}
