-- Levels emptied by /api/free (docs/storage.md#metric-store-tables): freeing releases a level's samples but
-- keeps the level, so the debug dump still shows it, as cc-backend keeps its level tree.
CREATE TABLE metric_freed_level (
    cluster TEXT NOT NULL,
    host TEXT NOT NULL,
    level TEXT NOT NULL,
    sublevel TEXT NOT NULL,
    PRIMARY KEY (cluster, host, level, sublevel)
) WITHOUT ROWID;
