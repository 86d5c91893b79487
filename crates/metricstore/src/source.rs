//! What job data loading asks of the sample storage (docs/metricstore.md#reading-series): the series of
//! one metric on one host, at the host level or below it, over a time range.

use cc_model::Aggregation;

/// One read: `metric` on `host` of `cluster` between `from` (inclusive) and `to` (exclusive),
/// unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesQuery<'a> {
    pub cluster: &'a str,
    pub host: &'a str,
    pub metric: &'a str,
    /// The level below the host, e.g. `hwthread` with ids `["0","1"]` reads the levels
    /// `hwthread0` and `hwthread1`. `None`: the host level itself; when the host level holds no
    /// samples of the metric, the samples of all levels below it are combined.
    pub selector: Option<Selector<'a>>,
    pub from: i64,
    pub to: i64,
    /// How several levels combine into one series (sum or average; `None` refuses to combine).
    pub aggregation: Aggregation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Selector<'a> {
    /// Scope spelling of the cluster config: `hwthread`, `core`, `socket`, `memoryDomain`,
    /// `accelerator`.
    pub kind: &'a str,
    pub ids: &'a [String],
    /// `true`: all ids combined into one series; `false`: one series per id.
    pub combine: bool,
}

/// Samples on the metric's timestep grid: `data[i]` is the value at `from + i * timestep`;
/// NaN where no sample was written.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSeries {
    pub from: i64,
    pub timestep: i64,
    pub data: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// Storage of samples. `read` answers one entry per requested series (one per id, or one when
/// combined or without selector), in request order; `None` where no sample exists for it.
pub trait SampleSource {
    fn read(&self, query: &SeriesQuery<'_>) -> Result<Vec<Option<RawSeries>>, ReadError>;
}
