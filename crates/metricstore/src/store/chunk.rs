//! Merging pending batches into `metric_chunk` rows.

use std::collections::HashMap;

use cc_store::{in_transaction, QueryResult, Sql, StoreError, Value};

use super::batch::for_each_sample;
use super::{slot_of, WINDOW_SLOTS};

/// Identifies one chunk row of a host; the names borrow from the rows read for the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ChunkKey<'a> {
    metric: &'a str,
    level: &'a str,
    sublevel: &'a str,
    window_start: i64,
}

#[derive(Debug, Clone)]
struct Chunk {
    timestep: i64,
    first_time: i64,
    last_time: i64,
    values: Vec<f32>,
}

impl Chunk {
    fn empty(timestep: i64) -> Chunk {
        Chunk {
            timestep,
            first_time: i64::MAX,
            last_time: i64::MIN,
            values: vec![f32::NAN; WINDOW_SLOTS as usize],
        }
    }
}

/// The window (its first slot's time) and the offset in it of a sample time.
pub(crate) fn window_of(time: i64, timestep: i64) -> (i64, usize) {
    let slot = slot_of(time, timestep);
    let first_slot = slot.div_euclid(WINDOW_SLOTS) * WINDOW_SLOTS;
    (first_slot * timestep, (slot - first_slot) as usize)
}

pub(crate) fn decode_values(data: &[u8]) -> impl Iterator<Item = f32> + '_ {
    data.chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("chunks of four")))
}

fn encode_values(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// Rows per multi-row upsert: 10 parameters each stays far below SQLite's variable limit.
const UPSERT_ROWS: usize = 400;

/// Merges the pending batches of one host into its chunks, if it has at least `min_batches`.
/// One write transaction: a concurrent merge of the same host waits and then finds the batches
/// gone. Returns the number of batches merged.
pub(crate) fn compact_host(
    db: &dyn Sql,
    cluster: &str,
    host: &str,
    min_batches: usize,
) -> Result<usize, StoreError> {
    in_transaction(db, || {
        let batches = db.execute(
            "SELECT id, samples FROM metric_batch WHERE cluster = ?1 AND host = ?2 ORDER BY id",
            &[cluster.into(), host.into()],
        )?;
        if batches.rows.is_empty() || batches.rows.len() < min_batches {
            return Ok(0);
        }
        let mut updates: Vec<(ChunkKey<'_>, i64, usize, f32)> = Vec::new();
        let mut last_id = 0;
        for row in &batches.rows {
            last_id = row[0].as_i64().unwrap_or_default();
            let Value::Blob(samples) = &row[1] else {
                continue;
            };
            // A corrupt row cannot be repaired; it is dropped with the merged ones.
            let _ = for_each_sample(samples, |sample| {
                let (window_start, offset) = window_of(sample.time, sample.timestep);
                updates.push((
                    ChunkKey {
                        metric: sample.metric,
                        level: sample.level,
                        sublevel: sample.sublevel,
                        window_start,
                    },
                    sample.timestep,
                    offset,
                    sample.value,
                ));
            });
        }
        let stored = load_chunks(db, cluster, host, &updates)?;
        let mut chunks = stored_chunks(&stored);
        for (key, timestep, offset, value) in updates {
            let chunk = chunks.entry(key).or_insert_with(|| Chunk::empty(timestep));
            if chunk.timestep != timestep {
                // The cluster config changed the metric's timestep: the window starts over.
                *chunk = Chunk::empty(timestep);
            }
            chunk.values[offset] = value;
            let time = key.window_start + offset as i64 * timestep;
            chunk.first_time = chunk.first_time.min(time);
            chunk.last_time = chunk.last_time.max(time);
        }
        store_chunks(db, cluster, host, &chunks)?;
        db.execute(
            "DELETE FROM metric_batch WHERE cluster = ?1 AND host = ?2 AND id <= ?3",
            &[cluster.into(), host.into(), last_id.into()],
        )?;
        Ok(batches.rows.len())
    })
}

/// The stored chunk rows of the windows the updates touch.
fn load_chunks(
    db: &dyn Sql,
    cluster: &str,
    host: &str,
    updates: &[(ChunkKey<'_>, i64, usize, f32)],
) -> Result<Vec<QueryResult>, StoreError> {
    let mut windows: Vec<i64> = updates.iter().map(|update| update.0.window_start).collect();
    windows.sort_unstable();
    windows.dedup();
    windows
        .chunks(500)
        .map(|group| {
            let placeholders = vec!["?"; group.len()].join(",");
            let mut params: Vec<Value> = vec![cluster.into(), host.into()];
            params.extend(group.iter().map(|window| Value::Integer(*window)));
            db.execute(
                &format!(
                    "SELECT metric, level, sublevel, window_start, timestep, first_time, last_time, data \
                     FROM metric_chunk WHERE cluster = ? AND host = ? AND window_start IN ({placeholders})"
                ),
                &params,
            )
        })
        .collect()
}

fn stored_chunks(results: &[QueryResult]) -> HashMap<ChunkKey<'_>, Chunk> {
    let mut chunks = HashMap::new();
    for row in results.iter().flat_map(|result| &result.rows) {
        let text = |index: usize| row[index].as_str().unwrap_or_default();
        let integer = |index: usize| row[index].as_i64().unwrap_or_default();
        let Value::Blob(data) = &row[7] else {
            continue;
        };
        let mut values: Vec<f32> = decode_values(data).collect();
        values.resize(WINDOW_SLOTS as usize, f32::NAN);
        chunks.insert(
            ChunkKey {
                metric: text(0),
                level: text(1),
                sublevel: text(2),
                window_start: integer(3),
            },
            Chunk {
                timestep: integer(4),
                first_time: integer(5),
                last_time: integer(6),
                values,
            },
        );
    }
    chunks
}

fn store_chunks(
    db: &dyn Sql,
    cluster: &str,
    host: &str,
    chunks: &HashMap<ChunkKey<'_>, Chunk>,
) -> Result<(), StoreError> {
    let chunks: Vec<_> = chunks
        .iter()
        .filter(|(_, chunk)| chunk.first_time <= chunk.last_time)
        .collect();
    for group in chunks.chunks(UPSERT_ROWS) {
        let rows = vec!["(?,?,?,?,?,?,?,?,?,?)"; group.len()].join(",");
        let mut params = Vec::with_capacity(group.len() * 10);
        for (key, chunk) in group {
            params.extend([
                cluster.into(),
                host.into(),
                key.metric.into(),
                key.level.into(),
                key.sublevel.into(),
                Value::Integer(key.window_start),
                Value::Integer(chunk.timestep),
                Value::Integer(chunk.first_time),
                Value::Integer(chunk.last_time),
                Value::Blob(encode_values(&chunk.values)),
            ]);
        }
        db.execute(
            &format!(
                "INSERT INTO metric_chunk \
                 (cluster, host, metric, level, sublevel, window_start, timestep, first_time, last_time, data) \
                 VALUES {rows} \
                 ON CONFLICT (cluster, host, metric, level, sublevel, window_start) DO UPDATE SET \
                 timestep = excluded.timestep, first_time = excluded.first_time, \
                 last_time = excluded.last_time, data = excluded.data"
            ),
            &params,
        )?;
    }
    Ok(())
}
