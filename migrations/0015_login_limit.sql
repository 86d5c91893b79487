-- Login attempts per client address and username (docs/auth.md#login-rate-limit): a token bucket held in
-- one row, taken by a single conditional upsert so concurrent instances cannot overspend it.
CREATE TABLE IF NOT EXISTS login_limit (
    attempt_key TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Idle buckets are dropped by age at every attempt.
CREATE INDEX IF NOT EXISTS login_limit_updated_at ON login_limit (updated_at);
