//! Node health from the metric store (docs/nodes-users.md#node-health).

use cc_metricstore::store::{host_health, MetricHealth};
use cc_model::MetricConfig;
use cc_store::Sql;
use serde::Serialize;

use crate::node_state::{HealthState, NodeHealth, NodeHealthSource};

/// Health as the samples in the shared database show it at `now`.
pub struct StoredHealth<'a> {
    pub db: &'a dyn Sql,
    pub now: i64,
}

#[derive(Serialize)]
struct HealthMetrics<'a> {
    degraded: Vec<&'a str>,
    missing: Vec<&'a str>,
}

/// State and report from the per-metric findings, in expected-metric order.
fn assess(expected: &[&MetricConfig], findings: &[MetricHealth]) -> NodeHealth {
    let named = |wanted: MetricHealth| -> Vec<&str> {
        expected
            .iter()
            .zip(findings)
            .filter(|(_, found)| **found == wanted)
            .map(|(metric, _)| metric.name.as_str())
            .collect()
    };
    let report = HealthMetrics {
        degraded: named(MetricHealth::Degraded),
        missing: named(MetricHealth::Missing),
    };
    let healthy = findings.contains(&MetricHealth::Healthy);
    let state = if report.degraded.is_empty() && report.missing.is_empty() {
        HealthState::Full
    } else if !healthy {
        HealthState::Failed
    } else {
        HealthState::Partial
    };
    NodeHealth {
        state,
        metrics: serde_json::to_string(&report).expect("string lists serialise"),
    }
}

impl NodeHealthSource for StoredHealth<'_> {
    fn node_health(
        &self,
        cluster: &str,
        hostname: &str,
        expected_metrics: &[&MetricConfig],
    ) -> NodeHealth {
        let expected: Vec<(&str, i64)> = expected_metrics
            .iter()
            .map(|metric| (metric.name.as_str(), metric.timestep))
            .collect();
        match host_health(self.db, cluster, hostname, &expected, self.now) {
            Ok(Some(findings)) => assess(expected_metrics, &findings),
            Ok(None) => NodeHealth::unchecked(),
            Err(error) => {
                eprintln!("health check of {cluster}/{hostname} failed: {error}");
                NodeHealth::unchecked()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use cc_metricstore::store::{write_lines, Registry};
    use cc_model::load_clusters;
    use cc_store::native::NativeSql;

    const NOW: i64 = 1_700_000_000;

    fn database() -> NativeSql {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        db
    }

    fn richcluster_metrics() -> Vec<MetricConfig> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
        let clusters = load_clusters(&dir).unwrap();
        let rich = clusters.iter().find(|c| c.name == "richcluster").unwrap();
        rich.sub_clusters[0].metric_config.clone()
    }

    fn health(db: &NativeSql, host: &str, metrics: &[MetricConfig]) -> NodeHealth {
        let expected: Vec<&MetricConfig> = metrics.iter().collect();
        StoredHealth { db, now: NOW }.node_health("richcluster", host, &expected)
    }

    fn write(db: &NativeSql, body: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
        let registry = Registry::from_clusters(&load_clusters(&dir).unwrap());
        write_lines(db, &registry, body.as_bytes(), "richcluster", NOW).unwrap();
    }

    #[test]
    fn unknown_hosts_fail_and_recent_samples_make_a_node_healthy() {
        let db = database();
        let metrics = richcluster_metrics();
        assert_eq!(health(&db, "r01", &metrics), NodeHealth::unchecked());

        let all: String = metrics
            .iter()
            .map(|metric| format!("{},hostname=r01 value=1 {}\n", metric.name, NOW - 30))
            .collect();
        write(&db, &all);
        let full = health(&db, "r01", &metrics);
        assert_eq!(full.state, HealthState::Full);
        assert_eq!(full.metrics, r#"{"degraded":[],"missing":[]}"#);
    }

    #[test]
    fn stale_and_absent_metrics_make_a_node_partial_or_failed() {
        let db = database();
        let metrics = richcluster_metrics();
        let (first, second) = (&metrics[0], &metrics[1]);
        // first: fresh; second: last sample ten time steps ago; the rest never seen.
        write(
            &db,
            &format!(
                "{},hostname=r02 value=1 {}\n{},hostname=r02 value=1 {}\n",
                first.name,
                NOW,
                second.name,
                NOW - 10 * second.timestep
            ),
        );
        let partial = health(&db, "r02", &metrics);
        assert_eq!(partial.state, HealthState::Partial);
        let missing: Vec<String> = metrics[2..]
            .iter()
            .map(|metric| format!("{:?}", metric.name))
            .collect();
        assert_eq!(
            partial.metrics,
            format!(
                r#"{{"degraded":[{:?}],"missing":[{}]}}"#,
                second.name,
                missing.join(",")
            )
        );

        write(
            &db,
            &format!("{},hostname=r03 value=1 {}\n", second.name, NOW - 3600),
        );
        assert_eq!(health(&db, "r03", &metrics).state, HealthState::Failed);
    }
}
