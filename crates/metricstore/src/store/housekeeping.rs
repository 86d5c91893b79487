//! Retention and `POST /api/free` (docs/metricstore.md#retention). There is no background
//! process: retention runs inside write requests, at most once per [`RETENTION_INTERVAL`]
//! across all instances (the instance whose UPDATE claims the next run does it) and deleting at
//! most [`RETENTION_ROWS`] rows per table, so no request pays for a large backlog at once.

use cc_store::{in_transaction, Sql, StoreError, Value};

use super::chunk::compact_host;
use super::{selector_conditions, where_all};

/// Seconds between retention runs.
pub const RETENTION_INTERVAL: i64 = 10;

/// Rows of each table one run deletes at most.
const RETENTION_ROWS: i64 = 20_000;

/// Hosts of running jobs that started before ?1 keep their older samples (docs/metricstore.md#retention).
const PROTECTED_HOSTS: &str = "WITH protected(cluster, host) AS MATERIALIZED ( \
     SELECT DISTINCT j.cluster, json_extract(r.value, '$.hostname') \
     FROM job j, json_each(CASE WHEN json_valid(j.resources) THEN j.resources ELSE '[]' END) r \
     WHERE j.job_state = 'running' AND j.start_time < ?1) ";

/// What one retention run deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub chunks: u64,
    pub batches: u64,
}

/// Deletes samples older than `now - retention` if this call wins the next run; `None` when
/// another instance ran retention less than [`RETENTION_INTERVAL`] seconds ago.
pub fn run_retention_if_due(
    db: &dyn Sql,
    now: i64,
    retention: i64,
) -> Result<Option<RetentionReport>, StoreError> {
    // A plain read first: most writes find the next run in the future and need no write lock.
    let next = db
        .execute(
            "SELECT next_retention FROM metric_housekeeping WHERE id = 1",
            &[],
        )?
        .scalar()
        .and_then(Value::as_i64)
        .unwrap_or_default();
    if next > now {
        return Ok(None);
    }
    in_transaction(db, || {
        db.execute(
            "UPDATE metric_housekeeping SET next_retention = ?1 WHERE id = 1 AND next_retention <= ?2",
            &[Value::Integer(now + RETENTION_INTERVAL), Value::Integer(now)],
        )?;
        if db.changes() == 0 {
            return Ok(None);
        }
        let threshold = Value::Integer(now - retention);
        let limit = Value::Integer(RETENTION_ROWS);
        db.execute(
            &format!(
                "{PROTECTED_HOSTS} DELETE FROM metric_chunk \
                 WHERE (cluster, host, metric, level, sublevel, window_start) IN ( \
                 SELECT c.cluster, c.host, c.metric, c.level, c.sublevel, c.window_start \
                 FROM metric_chunk c WHERE c.window_start < ?1 AND c.last_time < ?1 AND NOT EXISTS ( \
                 SELECT 1 FROM protected p WHERE p.cluster = c.cluster AND p.host = c.host) \
                 LIMIT ?2)"
            ),
            &[threshold.clone(), limit.clone()],
        )?;
        let chunks = db.changes();
        db.execute(
            &format!(
                "{PROTECTED_HOSTS} DELETE FROM metric_batch WHERE id IN ( \
                 SELECT b.id FROM metric_batch b WHERE b.last_time < ?1 AND NOT EXISTS ( \
                 SELECT 1 FROM protected p WHERE p.cluster = b.cluster AND p.host = b.host) \
                 LIMIT ?2)"
            ),
            &[threshold, limit],
        )?;
        Ok(Some(RetentionReport {
            chunks,
            batches: db.changes(),
        }))
    })
}

/// `POST /api/free?to=`: for each selector (`[cluster, host, level, sublevel]`, any prefix, `[]`
/// for everything) deletes the stored series parts that end before `to`. Pending batches of the
/// selected hosts are merged first, so they are freed like everything else. Returns the number
/// of chunk rows deleted. The levels of the deleted rows are kept in `metric_freed_level`, so they
/// stay visible; unlike the reference, missing levels are not created.
pub fn free_buffers(db: &dyn Sql, selectors: &[Vec<String>], to: i64) -> Result<u64, StoreError> {
    let mut freed = 0;
    for selector in selectors {
        let (host_conditions, host_params) =
            selector_conditions(&selector[..selector.len().min(2)]);
        let hosts = db.execute(
            &format!(
                "SELECT DISTINCT cluster, host FROM metric_batch {}",
                where_all(&host_conditions)
            ),
            &host_params,
        )?;
        for row in &hosts.rows {
            if let (Some(cluster), Some(host)) = (row[0].as_str(), row[1].as_str()) {
                compact_host(db, cluster, host, 1)?;
            }
        }
        let (mut conditions, mut params) = selector_conditions(selector);
        conditions.push("last_time + timestep < ?".into());
        params.push(Value::Integer(to));
        let freed_windows = where_all(&conditions);
        freed += in_transaction(db, || {
            db.execute(
                &format!(
                    "INSERT OR IGNORE INTO metric_freed_level (cluster, host, level, sublevel) \
                     SELECT DISTINCT cluster, host, level, sublevel FROM metric_chunk {freed_windows}"
                ),
                &params,
            )?;
            db.execute(
                &format!("DELETE FROM metric_chunk {freed_windows}"),
                &params,
            )?;
            Ok::<_, StoreError>(db.changes())
        })?;
    }
    Ok(freed)
}
