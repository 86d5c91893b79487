//! Sample storage in the shared SQLite database (tables in migrations/0013_metric_store.sql).
//!
//! A write stores each host's samples as one `metric_batch` row. Once a host has
//! [`COMPACT_AFTER`] pending batches, the write that noticed merges them into `metric_chunk`
//! rows (one per series and window of [`WINDOW_SLOTS`] time steps), so reads touch few rows and
//! writes stay one insert. Times are unix seconds; a sample lands on its metric's grid: slot
//! `round(time / timestep)`.

use cc_store::Value;

pub mod batch;
mod chunk;
mod debug;
mod health;
mod housekeeping;
mod read;
pub mod registry;
mod write;

pub use debug::{debug_dump, DebugError};
pub use health::{host_health, MetricHealth};
pub use housekeeping::{free_buffers, run_retention_if_due, RETENTION_INTERVAL};
pub use read::StoredSamples;
pub use registry::{MetricInfo, Registry, RegistryError};
pub use write::{write_lines, WriteError, WriteOutcome};

/// Time steps per `metric_chunk` row: 128 × 4 bytes; at 60 s a row covers about two hours.
pub const WINDOW_SLOTS: i64 = 128;

/// Pending batches of one host that trigger merging them into chunks.
pub const COMPACT_AFTER: usize = 16;

/// The grid slot a time falls on (nearest multiple of `timestep`, halves rounded up).
pub(crate) fn slot_of(time: i64, timestep: i64) -> i64 {
    (time + timestep / 2).div_euclid(timestep)
}

/// Conditions (`column = ?`) and parameters selecting what lies below a level path
/// `[cluster, host, level, sublevel]` (any prefix; names beyond the fourth select nothing more).
pub(crate) fn selector_conditions(selector: &[String]) -> (Vec<String>, Vec<Value>) {
    const COLUMNS: [&str; 4] = ["cluster", "host", "level", "sublevel"];
    COLUMNS
        .iter()
        .zip(selector)
        .map(|(column, name)| (format!("{column} = ?"), Value::from(name.as_str())))
        .unzip()
}

/// `WHERE a AND b …`, or nothing for no conditions.
pub(crate) fn where_all(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    }
}

/// Host and cluster names that could address other levels are refused (docs/metricstore.md#per-line-rules).
pub(crate) fn is_safe_name(name: &str) -> bool {
    !(name.contains("..") || name.contains('/') || name.contains('\\'))
}

#[cfg(test)]
mod tests;
