//! Job data as the REST API and the archive carry it (docs/metricstore.md#job-data-json): per metric and
//! scope a [`JobMetric`] with one [`Series`] per host (and hardware unit).

mod json;
pub mod lttb;
pub mod stats;
pub mod summary;
#[cfg(test)]
mod test_support;

use std::collections::BTreeMap;

use cc_model::{MetricScope, Unit};

pub use lttb::{resample, ResampleError, MINIMUM_POINTS};
pub use stats::{
    add_node_scope_sums, add_statistics_series, post_process, round_statistics, series_statistics,
};
pub use summary::{
    decode_data_file, encode_data_file, energy, footprint, job_statistics, select_archived,
    DataFile, DataFileError, COMPRESSED_DATA_FILE, DATA_FILE,
};

/// metric name → scope → data. Ordered maps, so output is deterministic.
pub type JobData = BTreeMap<String, BTreeMap<MetricScope, JobMetric>>;

/// The data of one metric at one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct JobMetric {
    pub unit: Unit,
    /// Seconds between the values of every series.
    pub timestep: i64,
    pub series: Vec<Series>,
    pub statistics_series: Option<StatsSeries>,
}

/// One host's (or hardware unit's) values; NaN where there is no value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub hostname: String,
    pub id: Option<String>,
    pub statistics: MetricStatistics,
    pub data: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricStatistics {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// Per-time-step statistics over the series of a metric with many series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsSeries {
    pub percentiles: BTreeMap<String, Vec<f64>>,
    pub mean: Option<Vec<f64>>,
    pub median: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}
