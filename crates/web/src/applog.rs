//! The HTTP side of the application log (docs/applog.md), whose table cc-applog owns: dispatch
//! records failed requests worth an administrator's attention, `GET /frontend/logs/` serves the
//! log, and [`record_event`] lets handlers record on the platform's database. cc-applog's items
//! are re-exported, so handlers need only this module.

mod failure;
mod http;

use cc_auth::Group;

use crate::Platform;

pub use cc_applog::*;
pub(crate) use failure::{record_failure, Stage};
pub use http::{ApiDoc, FRONTEND_LOG_ROUTES};

/// The id a route group's component has in spin.toml, the `unit` of what it records.
pub fn component_id(group: Group) -> &'static str {
    match group {
        Group::Api => "api",
        Group::MetricStore => "metricstore",
        Group::UserApi => "userapi",
        Group::Config => "config",
        Group::Frontend => "frontend",
    }
}

/// Records an event of `unit` (a component id, see [`component_id`]) now, on the platform's
/// database. The log is a side channel: a failure to open or write it is dropped, so it can never
/// change the outcome of the work that reports the event.
pub fn record_event(platform: &dyn Platform, priority: Priority, unit: &str, message: &str) {
    let event = Event {
        time_us: now_us(),
        priority,
        unit,
        message,
    };
    if let Ok(db) = platform.sql() {
        let _ = record(db.as_ref(), &event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids_are_those_of_the_manifest() {
        let manifest = include_str!("../../../spin.toml");
        for group in [
            Group::Api,
            Group::MetricStore,
            Group::UserApi,
            Group::Config,
            Group::Frontend,
        ] {
            let section = format!("[component.{}]", component_id(group));
            assert!(manifest.contains(&section), "{section}");
        }
    }
}
