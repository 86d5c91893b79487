//! `GET /api/debug?selector=a:b` (docs/metricstore.md#debug-dump): the stored structure below a level
//! as valid JSON (the reference leaves trailing commas): `{"data": level}` where a level maps
//! each metric to its stored parts `{"start","len","end"}` (oldest first; parts not yet merged
//! carry `"pending": true`) and each child level to its own object.

use serde_json::{json, Map, Value as Json};

use cc_store::{Sql, StoreError, Value};

use super::batch::for_each_sample;
use super::{selector_conditions, slot_of, where_all};

#[derive(Debug, thiserror::Error)]
pub enum DebugError {
    #[error("[METRICSTORE]> not found: []string{{{}}}", quoted(.0))]
    NotFound(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One stored part of a series, at its path `[cluster, host, level?, sublevel?]`.
struct Part {
    path: Vec<String>,
    metric: String,
    start: i64,
    end: i64,
    timestep: i64,
    pending: bool,
}

fn path_of(cluster: &str, host: &str, level: &str, sublevel: &str) -> Vec<String> {
    let mut path = vec![cluster.to_owned(), host.to_owned()];
    path.extend(
        [level, sublevel]
            .into_iter()
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
    );
    path
}

fn stored_parts(db: &dyn Sql, selector: &[String]) -> Result<Vec<Part>, StoreError> {
    let (conditions, params) = selector_conditions(selector);
    let rows = db.execute(
        &format!(
            "SELECT cluster, host, level, sublevel, metric, first_time, last_time, timestep \
             FROM metric_chunk {} ORDER BY window_start",
            where_all(&conditions)
        ),
        &params,
    )?;
    let mut parts = Vec::new();
    for row in rows.rows {
        let text = |index: usize| row[index].as_str().unwrap_or_default().to_owned();
        let integer = |index: usize| row[index].as_i64().unwrap_or_default();
        let timestep = integer(7);
        parts.push(Part {
            path: path_of(&text(0), &text(1), &text(2), &text(3)),
            metric: text(4),
            start: integer(5),
            end: integer(6) + timestep,
            timestep,
            pending: false,
        });
    }
    let host_selector = &selector[..selector.len().min(2)];
    let (conditions, params) = selector_conditions(host_selector);
    let batches = db.execute(
        &format!(
            "SELECT cluster, host, samples FROM metric_batch {} ORDER BY id",
            where_all(&conditions)
        ),
        &params,
    )?;
    // Pending samples of one series are shown as one part spanning them.
    let mut pending: Vec<Part> = Vec::new();
    let mut pending_index: std::collections::HashMap<(Vec<String>, String), usize> =
        std::collections::HashMap::new();
    for row in &batches.rows {
        let (Some(cluster), Some(host), Value::Blob(bytes)) =
            (row[0].as_str(), row[1].as_str(), &row[2])
        else {
            continue;
        };
        let _ = for_each_sample(bytes, |sample| {
            let path = path_of(cluster, host, sample.level, sample.sublevel);
            if !path.starts_with(selector) {
                return;
            }
            let time = slot_of(sample.time, sample.timestep) * sample.timestep;
            let key = (path.clone(), sample.metric.to_owned());
            match pending_index.get(&key) {
                Some(index) => {
                    let part = &mut pending[*index];
                    part.start = part.start.min(time);
                    part.end = part.end.max(time + sample.timestep);
                }
                None => {
                    pending_index.insert(key, pending.len());
                    pending.push(Part {
                        path,
                        metric: sample.metric.to_owned(),
                        start: time,
                        end: time + sample.timestep,
                        timestep: sample.timestep,
                        pending: true,
                    });
                }
            }
        });
    }
    parts.extend(pending);
    Ok(parts)
}

/// The dump below the level named by `selector` (empty: everything).
pub fn debug_dump(db: &dyn Sql, selector: &[String]) -> Result<Json, DebugError> {
    // Nothing is stored deeper than [cluster, host, level, sublevel].
    let (parts, freed) = if selector.len() > 4 {
        (Vec::new(), Vec::new())
    } else {
        (stored_parts(db, selector)?, freed_levels(db, selector)?)
    };
    if parts.is_empty() && freed.is_empty() && !selector.is_empty() {
        return Err(DebugError::NotFound(selector.to_vec()));
    }
    let mut root = Map::new();
    for path in freed {
        level_at(&mut root, &path[selector.len()..]);
    }
    for part in parts {
        let level = level_at(&mut root, &part.path[selector.len()..]);
        let mut entry = json!({
            "start": part.start,
            "len": (part.end - part.start) / part.timestep,
            "end": part.end,
        });
        if part.pending {
            entry["pending"] = Json::Bool(true);
        }
        if let Some(Json::Array(entries)) = level.map(|level| {
            level
                .entry(part.metric)
                .or_insert_with(|| Json::Array(Vec::new()))
        }) {
            entries.push(entry);
        }
    }
    Ok(json!({ "data": root }))
}

/// The object of the level `names` below `root`, created on the way; `None` where a metric of
/// the same name is in the way (a metric and a level of one name cannot both be shown: the
/// metric wins).
fn level_at<'a>(
    root: &'a mut Map<String, Json>,
    names: &[String],
) -> Option<&'a mut Map<String, Json>> {
    let mut level = Some(root);
    for name in names {
        level = level.and_then(|level| {
            level
                .entry(name.clone())
                .or_insert_with(|| Json::Object(Map::new()))
                .as_object_mut()
        });
    }
    level
}

/// The paths of levels `/api/free` emptied below `selector` (shown even without samples).
fn freed_levels(db: &dyn Sql, selector: &[String]) -> Result<Vec<Vec<String>>, StoreError> {
    let (conditions, params) = selector_conditions(selector);
    let rows = db.execute(
        &format!(
            "SELECT cluster, host, level, sublevel FROM metric_freed_level {}",
            where_all(&conditions)
        ),
        &params,
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|row| {
            let text = |index: usize| row[index].as_str().unwrap_or_default();
            path_of(text(0), text(1), text(2), text(3))
        })
        .collect())
}
