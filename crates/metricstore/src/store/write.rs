//! `POST /api/write`: line protocol → pending batches (docs/metricstore.md#line-protocol-ingestion).
//!
//! Better than the reference: the whole body is decoded and checked before anything is stored,
//! so a 400 leaves the store unchanged; every line resolves its own cluster and host
//! (docs/compatibility.md#each-line-names-its-own-host);
//! timestamps are read by magnitude and garbage is refused
//! (docs/compatibility.md#timestamps-by-magnitude).

use std::borrow::Cow;

use cc_store::{Sql, StoreError, Value};

use super::batch::{BatchBuilder, Sample};
use super::chunk::compact_host;
use super::registry::Registry;
use super::{is_safe_name, COMPACT_AFTER};
use cc_lineproto::{Decoder, FieldValue, SyntaxError};

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

/// The tags of one line that place its sample; borrowed from the body unless escaped.
#[derive(Default)]
struct Placement<'a> {
    cluster: Option<Cow<'a, str>>,
    host: Cow<'a, str>,
    kind: Option<Cow<'a, str>>,
    kind_id: Option<Cow<'a, str>>,
    subkind: Option<Cow<'a, str>>,
    subkind_id: Option<Cow<'a, str>>,
}

/// Writes `<type><type-id>` into `out` ('' when neither tag is present).
fn selector_into(out: &mut String, kind: &Option<Cow<'_, str>>, id: &Option<Cow<'_, str>>) {
    out.clear();
    out.push_str(kind.as_deref().unwrap_or_default());
    out.push_str(id.as_deref().unwrap_or_default());
}

impl Placement<'_> {
    /// The levels below the host ('' when absent) into the two buffers; `type=node` means the
    /// host itself, and a second level needs a first.
    fn levels_into(&self, level: &mut String, sublevel: &mut String) {
        sublevel.clear();
        if self.kind.as_deref() == Some("node") {
            level.clear();
            return;
        }
        selector_into(level, &self.kind, &self.kind_id);
        if !level.is_empty() || self.kind.is_some() || self.kind_id.is_some() {
            selector_into(sublevel, &self.subkind, &self.subkind_id);
        }
    }
}

/// (cluster, host) of a batch.
type HostKey<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The decoded body: one batch per (cluster, host), in order of appearance.
#[derive(Default)]
struct HostBatches<'a> {
    hosts: Vec<(HostKey<'a>, BatchBuilder)>,
}

impl<'a> HostBatches<'a> {
    fn batch(&mut self, cluster: Cow<'a, str>, host: Cow<'a, str>) -> &mut BatchBuilder {
        // Collectors send one host per request: look at the latest first.
        let found = self
            .hosts
            .iter()
            .rposition(|((known_cluster, known_host), _)| {
                *known_cluster == cluster && *known_host == host
            });
        let index = found.unwrap_or_else(|| {
            self.hosts.push(((cluster, host), BatchBuilder::default()));
            self.hosts.len() - 1
        });
        &mut self.hosts[index].1
    }
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

/// Decodes every line of `body` into per-host batches; nothing is stored yet.
fn decode_body<'a>(
    body: &'a [u8],
    registry: &Registry,
    default_cluster: &'a str,
    now: i64,
    outcome: &mut WriteOutcome,
) -> Result<HostBatches<'a>, WriteError> {
    let mut decoder = Decoder::new(body);
    let mut batches = HostBatches::default();
    let (mut level, mut sublevel) = (String::new(), String::new());
    while decoder.next_line() {
        let metric = decoder.measurement()?;
        if !registry.is_known(&metric) {
            outcome.skipped += 1;
            continue;
        }
        let mut placement = Placement::default();
        while let Some((key, value)) = decoder.next_tag()? {
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
        let mut value = None;
        while let Some((field, field_value)) = decoder.next_field()? {
            value = Some(sample_value(&placement.host, &field, field_value)?);
        }
        let time = decoder.timestamp()?.unwrap_or(now);
        let cluster = placement
            .cluster
            .take()
            .unwrap_or(Cow::Borrowed(default_cluster));
        let (Some(value), Some(info)) = (value, registry.metric(&cluster, &metric)) else {
            outcome.skipped += 1;
            continue;
        };
        if !is_safe_name(&cluster) || !is_safe_name(&placement.host) {
            outcome.skipped += 1;
            continue;
        }
        placement.levels_into(&mut level, &mut sublevel);
        batches.batch(cluster, placement.host).push(&Sample {
            metric: &metric,
            timestep: info.timestep,
            level: &level,
            sublevel: &sublevel,
            time,
            value: value as f32,
        });
        outcome.stored += 1;
    }
    Ok(batches)
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
    let mut outcome = WriteOutcome::default();
    let hosts = decode_body(body, registry, default_cluster, now, &mut outcome)?.hosts;
    if hosts.is_empty() {
        return Ok(outcome);
    }
    // One statement for all hosts: the body is stored entirely or not at all. It also answers
    // how many batches each host now has pending, which saves a query per host.
    let rows = vec!["(?,?,?,?,?)"; hosts.len()].join(",");
    let mut params = Vec::with_capacity(hosts.len() * 5);
    for ((cluster, host), batch) in &hosts {
        let (first, last) = batch.time_range();
        params.extend([
            Value::from(cluster.as_ref()),
            Value::from(host.as_ref()),
            Value::Integer(first),
            Value::Integer(last),
            Value::Blob(batch.encode()),
        ]);
    }
    let stored = db.execute(
        &format!(
            "INSERT INTO metric_batch (cluster, host, first_time, last_time, samples) VALUES {rows} \
             RETURNING cluster, host, (SELECT count(*) FROM metric_batch pending \
             WHERE pending.cluster = metric_batch.cluster AND pending.host = metric_batch.host)"
        ),
        &params,
    )?;
    for row in &stored.rows {
        let [cluster, host, pending] = row.as_slice() else {
            continue;
        };
        let (Some(cluster), Some(host)) = (cluster.as_str(), host.as_str()) else {
            continue;
        };
        if pending.as_i64().unwrap_or_default() as usize >= COMPACT_AFTER {
            compact_host(db, cluster, host, COMPACT_AFTER)?;
        }
    }
    Ok(outcome)
}
