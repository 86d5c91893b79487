-- Metric samples and the job archive (cc-spin; the layout is explained in docs/storage.md#metric-store-tables).
--
-- A write request stores its samples as one metric_batch row per host: one cheap insert per
-- request. When a host has collected enough batches, a later write merges them into
-- metric_chunk rows: one row per series (metric at one level below the host) and window of
-- 128 time steps, values as little-endian f32 (NaN where nothing was written). Reads combine
-- the chunks with the host's few pending batches.

CREATE TABLE metric_batch (
    id INTEGER PRIMARY KEY,
    cluster TEXT NOT NULL,
    host TEXT NOT NULL,
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    samples BLOB NOT NULL
);
CREATE INDEX metric_batch_by_host ON metric_batch (cluster, host, id);
CREATE INDEX metric_batch_by_age ON metric_batch (last_time);

CREATE TABLE metric_chunk (
    cluster TEXT NOT NULL,
    host TEXT NOT NULL,
    metric TEXT NOT NULL,
    -- '' for the host itself, else e.g. 'hwthread17' / 'socket0'
    level TEXT NOT NULL,
    -- '' unless the sample named a second level (stype)
    sublevel TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    timestep INTEGER NOT NULL CHECK (timestep > 0),
    first_time INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (cluster, host, metric, level, sublevel, window_start)
) WITHOUT ROWID;
CREATE INDEX metric_chunk_by_window ON metric_chunk (cluster, host, window_start);
-- For retention; window_start never changes, so merges do not rewrite this index (last_time would).
CREATE INDEX metric_chunk_by_start ON metric_chunk (window_start);

-- When retention last ran (one row): writers race for the next run with one UPDATE.
CREATE TABLE metric_housekeeping (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_retention INTEGER NOT NULL
);
INSERT INTO metric_housekeeping (id, next_retention) VALUES (1, 0);

-- The archive of stopped jobs: meta.json and data.json (gzip-compressed as data.json.gz above
-- 2000 bytes) of cc-backend's file archive, kept in the database every component shares.
CREATE TABLE job_archive (
    job_id INTEGER PRIMARY KEY,
    meta TEXT NOT NULL,
    data_file TEXT NOT NULL CHECK (data_file IN ('data.json', 'data.json.gz')),
    data BLOB NOT NULL
);
CREATE TRIGGER job_archive_follows_job_delete AFTER DELETE ON job
BEGIN
    DELETE FROM job_archive WHERE job_id = old.id;
END;

-- Stopped jobs still waiting for their archive (normally none for long): a later stop archives
-- those whose instance ended before archiving them.
CREATE INDEX job_awaiting_archive ON job (start_time)
    WHERE monitoring_status = 1 AND job_state <> 'running';
