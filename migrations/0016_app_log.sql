-- The application log (docs/applog.md): notable events of every component, since a component has no system
-- journal. `time_us` is microseconds since the epoch, `priority` a syslog level, `unit` the component id.
-- Pruned by age and row count on every 1000th insert; the index serves both the pruning and the reads, which
-- always take a time range newest first.
CREATE TABLE IF NOT EXISTS app_log (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 7),
    unit TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS app_log_time ON app_log (time_us);
