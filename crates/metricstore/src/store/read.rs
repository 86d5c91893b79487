//! Reading series for job data (docs/metricstore.md#reading-series): chunks of the host plus its pending
//! batches, placed on the metric's grid.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cc_model::Aggregation;
use cc_store::{Sql, Value};

use super::batch::for_each_sample_of;
use super::chunk::decode_values;
use super::{slot_of, WINDOW_SLOTS};
use crate::source::{RawSeries, ReadError, SampleSource, SeriesQuery};

/// (grid slot, value) of one level in write order: a later write of a slot wins.
type Points = Vec<(i64, f32)>;

/// The samples of one metric on one host: (level, sublevel) → points, and the grid's timestep.
struct HostMetric {
    timestep: i64,
    levels: BTreeMap<(String, String), Points>,
}

/// The encoded pending batches of one host, oldest first.
type PendingBatches = Rc<Vec<Vec<u8>>>;

/// One request's reads of a (cluster, host, metric, from, to).
type HostMetricKey = (String, String, String, i64, i64);

/// Sample storage in the database, as a [`SampleSource`]. Pending batches are read once per
/// host and kept for the lifetime of this value (one request).
pub struct StoredSamples<'a> {
    db: &'a dyn Sql,
    pending: RefCell<HashMap<(String, String), PendingBatches>>,
    loaded: RefCell<HashMap<HostMetricKey, Rc<Option<HostMetric>>>>,
}

impl<'a> StoredSamples<'a> {
    pub fn new(db: &'a dyn Sql) -> Self {
        StoredSamples {
            db,
            pending: RefCell::new(HashMap::new()),
            loaded: RefCell::new(HashMap::new()),
        }
    }

    /// The host's pending batches, read once per request (job data reads every metric of a host).
    fn pending_batches(&self, cluster: &str, host: &str) -> Result<PendingBatches, ReadError> {
        let key = (cluster.to_owned(), host.to_owned());
        if let Some(batches) = self.pending.borrow().get(&key) {
            return Ok(batches.clone());
        }
        let rows = self
            .db
            .execute(
                "SELECT samples FROM metric_batch WHERE cluster = ?1 AND host = ?2 ORDER BY id",
                &[cluster.into(), host.into()],
            )
            .map_err(|error| ReadError(error.to_string()))?;
        let batches: PendingBatches = Rc::new(
            rows.rows
                .into_iter()
                .filter_map(|mut row| match row.pop() {
                    Some(Value::Blob(bytes)) => Some(bytes),
                    _ => None,
                })
                .collect(),
        );
        self.pending.borrow_mut().insert(key, batches.clone());
        Ok(batches)
    }

    /// [`Self::load_host_metric`], once per request and arguments.
    fn host_metric(
        &self,
        cluster: &str,
        host: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Rc<Option<HostMetric>>, ReadError> {
        let key = (
            cluster.to_owned(),
            host.to_owned(),
            metric.to_owned(),
            from,
            to,
        );
        if let Some(loaded) = self.loaded.borrow().get(&key) {
            return Ok(loaded.clone());
        }
        let loaded = Rc::new(self.load_host_metric(cluster, host, metric, from, to)?);
        self.loaded.borrow_mut().insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Every sample of `metric` on `host` with a grid slot in `[from, to)`.
    fn load_host_metric(
        &self,
        cluster: &str,
        host: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> Result<Option<HostMetric>, ReadError> {
        // `+window_start` and no ORDER BY (windows do not overlap): otherwise SQLite prefers the
        // window index, which visits every metric of the host, over the primary key.
        let rows = self
            .db
            .execute(
                "SELECT level, sublevel, window_start, timestep, data FROM metric_chunk \
                 WHERE cluster = ?1 AND host = ?2 AND metric = ?3 \
                 AND +window_start < ?5 AND window_start + ?6 * timestep > ?4",
                &[
                    cluster.into(),
                    host.into(),
                    metric.into(),
                    Value::Integer(from),
                    Value::Integer(to),
                    Value::Integer(WINDOW_SLOTS),
                ],
            )
            .map_err(|error| ReadError(error.to_string()))?;
        let pending = self.pending_batches(cluster, host)?;
        let mut timestep = None;
        // Keys borrow from the rows and batches; owned once per level at the end.
        let mut found: HashMap<(&str, &str), Points> = HashMap::new();
        let place =
            |timestep: &mut Option<i64>, points: &mut Points, time: i64, own: i64, value: f32| {
                let grid = *timestep.get_or_insert(own);
                let slot = slot_of(time, grid);
                if slot >= slot_of(from, grid) && slot < slot_of(to, grid) {
                    points.push((slot, value));
                }
            };
        for row in &rows.rows {
            let (Some(level), Some(sublevel), Some(start), Some(own), Value::Blob(data)) = (
                row[0].as_str(),
                row[1].as_str(),
                row[2].as_i64(),
                row[3].as_i64(),
                &row[4],
            ) else {
                continue;
            };
            let points = found.entry((level, sublevel)).or_default();
            for (offset, value) in decode_values(data).enumerate() {
                if !value.is_nan() {
                    let time = start + offset as i64 * own;
                    place(&mut timestep, points, time, own, value);
                }
            }
        }
        for batch in pending.iter() {
            // Corrupt rows are skipped; they are dropped at the next merge.
            let _ = for_each_sample_of(batch, metric, |sample| {
                let points = found.entry((sample.level, sample.sublevel)).or_default();
                place(
                    &mut timestep,
                    points,
                    sample.time,
                    sample.timestep,
                    sample.value,
                );
            });
        }
        let levels: BTreeMap<(String, String), Points> = found
            .into_iter()
            .map(|((level, sublevel), points)| ((level.to_owned(), sublevel.to_owned()), points))
            .collect();
        Ok(timestep.map(|timestep| HostMetric { timestep, levels }))
    }
}

/// The points of one level as a dense series over their own slot range (later points win).
fn dense(points: &Points) -> Option<(i64, Vec<f64>)> {
    let first = points.iter().map(|point| point.0).min()?;
    let last = points.iter().map(|point| point.0).max()?;
    let mut data = vec![f64::NAN; (last - first + 1) as usize];
    for (slot, value) in points {
        data[(slot - first) as usize] = f64::from(*value);
    }
    Some((first, data))
}

/// Combines series on the same grid slot by slot: sum or average of the values present there.
fn combine(
    series: Vec<(i64, Vec<f64>)>,
    aggregation: Aggregation,
) -> Result<Option<(i64, Vec<f64>)>, ReadError> {
    if series.len() <= 1 {
        return Ok(series.into_iter().next());
    }
    if aggregation == Aggregation::None {
        return Err(ReadError("[METRICSTORE]> invalid aggregation".into()));
    }
    let first = series
        .iter()
        .map(|(start, _)| *start)
        .min()
        .unwrap_or_default();
    let end = series
        .iter()
        .map(|(start, data)| start + data.len() as i64)
        .max()
        .unwrap_or_default();
    let mut sums = vec![0.0; (end - first) as usize];
    let mut counts = vec![0u32; sums.len()];
    for (start, data) in &series {
        for (index, value) in data.iter().enumerate() {
            if !value.is_nan() {
                let slot = (start - first) as usize + index;
                sums[slot] += value;
                counts[slot] += 1;
            }
        }
    }
    let data = sums
        .into_iter()
        .zip(counts)
        .map(|(sum, count)| match (count, aggregation) {
            (0, _) => f64::NAN,
            (count, Aggregation::Avg) => sum / f64::from(count),
            _ => sum,
        })
        .collect();
    Ok(Some((first, data)))
}

impl HostMetric {
    /// The series that make up one level: its own, else all of its sub-levels.
    fn leaves(&self, level: &str) -> Vec<(i64, Vec<f64>)> {
        // Keys sort by (level, sublevel): the level's own samples ('' sublevel) come first.
        let mut below = self
            .levels
            .range((level.to_owned(), String::new())..)
            .take_while(|((own, _), _)| own == level)
            .peekable();
        if let Some(((_, sublevel), points)) = below.peek() {
            if sublevel.is_empty() {
                return dense(points).into_iter().collect();
            }
        }
        below.filter_map(|(_, points)| dense(points)).collect()
    }

    /// One level's series: its own samples, else the combination of everything below it.
    fn level(
        &self,
        level: &str,
        aggregation: Aggregation,
    ) -> Result<Option<(i64, Vec<f64>)>, ReadError> {
        combine(self.leaves(level), aggregation)
    }

    /// The host's series: its own samples, else the combination of every series below it that
    /// has no samples of its own below it (each counts once for an average, as in the reference).
    fn host(&self, aggregation: Aggregation) -> Result<Option<(i64, Vec<f64>)>, ReadError> {
        let mut levels: Vec<&str> = self
            .levels
            .keys()
            .map(|(level, _)| level.as_str())
            .collect();
        levels.dedup();
        if levels.first() == Some(&"") {
            return combine(self.leaves(""), aggregation);
        }
        let leaves = levels
            .into_iter()
            .flat_map(|level| self.leaves(level))
            .collect();
        combine(leaves, aggregation)
    }

    fn raw(&self, series: Option<(i64, Vec<f64>)>) -> Option<RawSeries> {
        series.map(|(first, data)| RawSeries {
            from: first * self.timestep,
            timestep: self.timestep,
            data,
        })
    }
}

impl SampleSource for StoredSamples<'_> {
    fn read(&self, query: &SeriesQuery<'_>) -> Result<Vec<Option<RawSeries>>, ReadError> {
        if query.from > query.to {
            return Err(ReadError("[METRICSTORE]> invalid time range".into()));
        }
        let wanted = match &query.selector {
            Some(selector) if !selector.combine => selector.ids.len(),
            _ => 1,
        };
        let loaded = self.host_metric(
            query.cluster,
            query.host,
            query.metric,
            query.from,
            query.to,
        )?;
        let Some(samples) = loaded.as_ref() else {
            return Ok(vec![None; wanted]);
        };
        match &query.selector {
            None => Ok(vec![samples.raw(samples.host(query.aggregation)?)]),
            Some(selector) => {
                let mut series = Vec::with_capacity(selector.ids.len());
                for id in selector.ids {
                    let level = format!("{}{id}", selector.kind);
                    series.push(samples.level(&level, query.aggregation)?);
                }
                if selector.combine {
                    let found = series.into_iter().flatten().collect();
                    Ok(vec![samples.raw(combine(found, query.aggregation)?)])
                } else {
                    Ok(series.into_iter().map(|one| samples.raw(one)).collect())
                }
            }
        }
    }
}
