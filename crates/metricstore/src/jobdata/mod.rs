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

/// The data of one metric at one scope. `statisticsSeries` is left out when there is none.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct JobMetric {
    pub unit: Unit,
    /// Seconds between the values of every series.
    pub timestep: i64,
    pub series: Vec<Series>,
    #[schema(rename = "statisticsSeries", value_type = StatsSeries, required = false)]
    pub statistics_series: Option<StatsSeries>,
}

/// One host's (or hardware unit's) values; NaN where there is no value. In JSON every number
/// has two decimals and a value that is not finite is `null`; `id` is left out when there is
/// none.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct Series {
    pub hostname: String,
    #[schema(value_type = String, required = false)]
    pub id: Option<String>,
    pub statistics: MetricStatistics,
    #[schema(value_type = Vec<Option<f64>>)]
    pub data: Vec<f64>,
}

/// Minimum, average and maximum; `null` where not finite.
#[derive(Debug, Clone, Copy, PartialEq, Default, utoipa::ToSchema)]
pub struct MetricStatistics {
    #[schema(nullable)]
    pub min: f64,
    #[schema(nullable)]
    pub avg: f64,
    #[schema(nullable)]
    pub max: f64,
}

/// Per-time-step statistics over the series of a metric with many series. Values that are not
/// finite are `null`; `percentiles` is left out when empty.
#[derive(Debug, Clone, PartialEq, Default, utoipa::ToSchema)]
pub struct StatsSeries {
    #[schema(value_type = BTreeMap<String, Vec<Option<f64>>>, required = false)]
    pub percentiles: BTreeMap<String, Vec<f64>>,
    #[schema(value_type = Option<Vec<Option<f64>>>, required = true)]
    pub mean: Option<Vec<f64>>,
    #[schema(value_type = Vec<Option<f64>>)]
    pub median: Vec<f64>,
    #[schema(value_type = Vec<Option<f64>>)]
    pub min: Vec<f64>,
    #[schema(value_type = Vec<Option<f64>>)]
    pub max: Vec<f64>,
}
