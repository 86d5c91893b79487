//! Node health from the stored samples (docs/metricstore.md#node-health-check).

use std::collections::HashMap;

use cc_store::{Sql, StoreError, Value};

use super::batch::for_each_sample;
use super::{slot_of, WINDOW_SLOTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricHealth {
    /// Every series of the metric below the host has a recent sample.
    Healthy,
    /// Some series of the metric stopped delivering.
    Degraded,
    /// No series of the metric exists.
    Missing,
}

/// A series is stale when its newest sample is more than five time steps old.
fn is_stale(now: i64, last_time: i64, timestep: i64) -> bool {
    now - (last_time + timestep) > 5 * timestep
}

/// The health of each of `expected` (metric name, configured timestep) on a host; `None` when
/// the store holds nothing at all for the host.
pub fn host_health(
    db: &dyn Sql,
    cluster: &str,
    host: &str,
    expected: &[(&str, i64)],
    now: i64,
) -> Result<Option<Vec<MetricHealth>>, StoreError> {
    let host_params = [Value::from(cluster), Value::from(host)];
    // Newest sample per series. Only recent windows are read; a series without one is stale.
    let longest = expected.iter().map(|(_, step)| *step).max().unwrap_or(60);
    let recent = now - (WINDOW_SLOTS + 6) * longest;
    // (metric, level, sublevel) → (newest sample time, timestep)
    let mut newest: HashMap<(String, String, String), (i64, i64)> = HashMap::new();
    let mut record = |metric: &str, level: &str, sublevel: &str, time: i64, timestep: i64| {
        let entry = newest
            .entry((metric.to_owned(), level.to_owned(), sublevel.to_owned()))
            .or_insert((time, timestep));
        entry.0 = entry.0.max(time);
    };
    let rows = db.execute(
        "SELECT metric, level, sublevel, timestep, max(last_time) FROM metric_chunk \
         WHERE cluster = ?1 AND host = ?2 AND window_start >= ?3 \
         GROUP BY metric, level, sublevel",
        &[cluster.into(), host.into(), Value::Integer(recent)],
    )?;
    for row in rows.rows {
        if let (Some(metric), Some(level), Some(sublevel), Some(timestep), Some(last)) = (
            row[0].as_str(),
            row[1].as_str(),
            row[2].as_str(),
            row[3].as_i64(),
            row[4].as_i64(),
        ) {
            record(metric, level, sublevel, last, timestep);
        }
    }
    let batches = db.execute(
        "SELECT samples FROM metric_batch WHERE cluster = ?1 AND host = ?2",
        &host_params,
    )?;
    for row in &batches.rows {
        if let Value::Blob(bytes) = &row[0] {
            let _ = for_each_sample(bytes, |sample| {
                let time = slot_of(sample.time, sample.timestep) * sample.timestep;
                record(
                    sample.metric,
                    sample.level,
                    sample.sublevel,
                    time,
                    sample.timestep,
                );
            });
        }
    }
    let mut by_metric: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for ((metric, _, _), newest_sample) in newest {
        by_metric.entry(metric).or_default().push(newest_sample);
    }
    let has_any = !by_metric.is_empty()
        || db
            .execute(
                "SELECT 1 FROM metric_chunk WHERE cluster = ?1 AND host = ?2 LIMIT 1",
                &host_params,
            )?
            .scalar()
            .is_some();
    if !has_any {
        return Ok(None);
    }
    let mut report = Vec::with_capacity(expected.len());
    for (metric, _) in expected {
        let health = match by_metric.get(*metric) {
            Some(series)
                if series
                    .iter()
                    .any(|(last, step)| is_stale(now, *last, *step)) =>
            {
                MetricHealth::Degraded
            }
            Some(_) => MetricHealth::Healthy,
            None => {
                let stored_earlier = db
                    .execute(
                        "SELECT 1 FROM metric_chunk WHERE cluster = ?1 AND host = ?2 AND metric = ?3 LIMIT 1",
                        &[cluster.into(), host.into(), (*metric).into()],
                    )?
                    .scalar()
                    .is_some();
                if stored_earlier {
                    MetricHealth::Degraded
                } else {
                    MetricHealth::Missing
                }
            }
        };
        report.push(health);
    }
    Ok(Some(report))
}
