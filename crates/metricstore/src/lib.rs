//! The metric store of cc-spin. cc-backend keeps samples in process memory; a Spin component
//! lives for one request, so here the samples live in the shared SQLite database and every
//! piece of housekeeping runs as bounded work inside requests.
//!
//! - [`jobdata`]: job data (`JobData`, `JobMetric`, `Series`) with the reference's JSON format,
//!   statistics, LTTB resampling and the pure parts of archiving.
//! - [`source`]: the query interface between job data loading and sample storage.
//! - [`plan`]: turning a job and its cluster's topology into sample queries and assembling the
//!   results into job data (scope transformations).

pub mod http;
pub mod jobdata;
pub mod plan;
pub mod source;
pub mod store;
