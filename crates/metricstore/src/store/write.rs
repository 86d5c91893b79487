//! `POST /api/write`: line protocol → pending batches (spec metricstore.md §2).
//!
//! Better than the reference: the whole body is decoded and checked before anything is stored,
//! so a 400 leaves the store unchanged; every line resolves its own cluster and host (§2.5);
//! timestamps are read by magnitude and garbage is refused (§2.4).

use std::collections::BTreeMap;

use cc_store::{Sql, StoreError, Value};

use super::batch::{BatchBuilder, Sample};
use super::chunk::compact_host;
use super::registry::Registry;
use super::{is_safe_name, COMPACT_AFTER};
use crate::lineproto::{Decoder, FieldValue, SyntaxError};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("host {host}: unknown field: '{field}' (value: {value})")]
    UnknownField {
        host: String,
        field: String,
        value: String,
    },
    #[error("host {host}: unsupported value type in message: {kind}")]
    UnsupportedValue { host: String, kind: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WriteError {
    /// Whether the request was at fault (400) rather than the store (500).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, WriteError::Store(_))
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Samples stored.
    pub stored: usize,
    /// Lines skipped: unknown metric, or a cluster/host name that is not allowed.
    pub skipped: usize,
}

/// The tags of one line that place its sample.
#[derive(Default)]
struct Placement {
    cluster: Option<String>,
    host: String,
    kind: Option<String>,
    kind_id: Option<String>,
    subkind: Option<String>,
    subkind_id: Option<String>,
}

impl Placement {
    /// The `<type><type-id>` and `<stype><stype-id>` levels below the host ('' when absent);
    /// `type=node` means the host itself.
    fn levels(&self) -> (String, String) {
        let selector = |kind: &Option<String>, id: &Option<String>| match (kind, id) {
            (None, None) => None,
            (kind, id) => Some(format!(
                "{}{}",
                kind.as_deref().unwrap_or_default(),
                id.as_deref().unwrap_or_default()
            )),
        };
        if self.kind.as_deref() == Some("node") {
            return (String::new(), String::new());
        }
        match selector(&self.kind, &self.kind_id) {
            None => (String::new(), String::new()),
            Some(level) => (
                level,
                selector(&self.subkind, &self.subkind_id).unwrap_or_default(),
            ),
        }
    }
}

/// A decoded line ready to store.
struct Line {
    cluster: String,
    host: String,
    metric: String,
    level: String,
    sublevel: String,
    timestep: i64,
    time: i64,
    value: f32,
}

fn sample_value(host: &str, field: &str, value: FieldValue<'_>) -> Result<f64, WriteError> {
    if field != "value" {
        return Err(WriteError::UnknownField {
            host: host.to_owned(),
            field: field.to_owned(),
            value: value.go_display(),
        });
    }
    match value {
        FieldValue::Float(value) => Ok(value),
        FieldValue::Int(value) => Ok(value as f64),
        FieldValue::Uint(value) => Ok(value as f64),
        other => Err(WriteError::UnsupportedValue {
            host: host.to_owned(),
            kind: other.kind(),
        }),
    }
}

/// Decodes every line of `body`; `Ok(None)` entries are skipped lines.
fn decode_body(
    body: &[u8],
    registry: &Registry,
    default_cluster: &str,
    now: i64,
) -> Result<Vec<Option<Line>>, WriteError> {
    let mut decoder = Decoder::new(body);
    let mut lines = Vec::new();
    while decoder.next_line() {
        let metric = decoder.measurement()?;
        if !registry.is_known(&metric) {
            lines.push(None);
            continue;
        }
        let mut placement = Placement::default();
        while let Some((key, value)) = decoder.next_tag()? {
            let value = value.into_owned();
            match key.as_ref() {
                "cluster" => placement.cluster = Some(value),
                "hostname" | "host" => placement.host = value,
                "type" => placement.kind = Some(value),
                "type-id" => placement.kind_id = Some(value),
                "stype" => placement.subkind = Some(value),
                "stype-id" => placement.subkind_id = Some(value),
                _ => {}
            }
        }
        let mut sample = None;
        while let Some((field, value)) = decoder.next_field()? {
            sample = Some(sample_value(&placement.host, &field, value)?);
        }
        let time = decoder.timestamp()?.unwrap_or(now);
        let cluster = placement
            .cluster
            .clone()
            .unwrap_or_else(|| default_cluster.to_owned());
        let (Some(value), Some(info)) = (sample, registry.metric(&cluster, &metric)) else {
            lines.push(None);
            continue;
        };
        if !is_safe_name(&cluster) || !is_safe_name(&placement.host) {
            lines.push(None);
            continue;
        }
        let (level, sublevel) = placement.levels();
        lines.push(Some(Line {
            cluster,
            host: placement.host,
            metric: metric.into_owned(),
            level,
            sublevel,
            timestep: info.timestep,
            time,
            value: value as f32,
        }));
    }
    Ok(lines)
}

/// Stores the samples of a line-protocol body. Lines without a `cluster` tag belong to
/// `default_cluster`; lines without a timestamp were taken at `now`.
pub fn write_lines(
    db: &dyn Sql,
    registry: &Registry,
    body: &[u8],
    default_cluster: &str,
    now: i64,
) -> Result<WriteOutcome, WriteError> {
    let lines = decode_body(body, registry, default_cluster, now)?;
    let mut outcome = WriteOutcome::default();
    let mut hosts: BTreeMap<(&str, &str), BatchBuilder> = BTreeMap::new();
    for line in &lines {
        let Some(line) = line else {
            outcome.skipped += 1;
            continue;
        };
        outcome.stored += 1;
        hosts
            .entry((line.cluster.as_str(), line.host.as_str()))
            .or_default()
            .push(&Sample {
                metric: &line.metric,
                timestep: line.timestep,
                level: &line.level,
                sublevel: &line.sublevel,
                time: line.time,
                value: line.value,
            });
    }
    if hosts.is_empty() {
        return Ok(outcome);
    }
    // One statement for all hosts: the body is stored entirely or not at all.
    let rows = vec!["(?,?,?,?,?)"; hosts.len()].join(",");
    let mut params = Vec::with_capacity(hosts.len() * 5);
    for ((cluster, host), batch) in &hosts {
        let (first, last) = batch.time_range();
        params.extend([
            Value::from(*cluster),
            Value::from(*host),
            Value::Integer(first),
            Value::Integer(last),
            Value::Blob(batch.encode()),
        ]);
    }
    db.execute(
        &format!(
            "INSERT INTO metric_batch (cluster, host, first_time, last_time, samples) VALUES {rows}"
        ),
        &params,
    )?;
    for (cluster, host) in hosts.keys() {
        let pending = db
            .execute(
                "SELECT count(*) FROM metric_batch WHERE cluster = ?1 AND host = ?2",
                &[(*cluster).into(), (*host).into()],
            )?
            .scalar()
            .and_then(Value::as_i64)
            .unwrap_or_default();
        if pending as usize >= COMPACT_AFTER {
            compact_host(db, cluster, host, COMPACT_AFTER)?;
        }
    }
    Ok(outcome)
}
