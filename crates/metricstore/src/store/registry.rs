//! Which metrics the store accepts and on which time grid (docs/metricstore.md#metric-registry-and-sample-grid): every
//! metric of any configured cluster is known; a sample lands on the timestep its cluster
//! configures for it, or, for a cluster that does not configure it, on the largest timestep any
//! cluster configures (the reference's single global frequency).
//!
//! Building the registry parses every cluster.json; a write request must not pay that, so the
//! registry is kept in the key-value store together with a fingerprint of the cluster files
//! (name, size, modification time) and rebuilt only when they change. Even the fingerprint
//! (a directory listing and a stat per cluster, ~1 ms inside a component) is taken at most once
//! per [`RECHECK_SECONDS`]: cluster files change by redeploying, not per request.

use std::collections::BTreeMap;
use std::path::Path;

use cc_model::{load_clusters, Aggregation, Cluster, ClusterError};
use cc_store::{Kv, StoreError};
use serde::{Deserialize, Serialize};

const CACHE_KEY: &str = "metricstore/registry";

/// Seconds a cached registry is used without comparing the cluster files.
pub const RECHECK_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub timestep: i64,
    pub aggregation: Aggregation,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    clusters: BTreeMap<String, BTreeMap<String, MetricInfo>>,
    global: BTreeMap<String, MetricInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("reading cluster directory {path} failed: {message}")]
    ClusterDir { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize, Deserialize)]
struct CachedRegistry {
    fingerprint: String,
    /// Unix time the fingerprint was last compared with the files.
    checked_at: i64,
    registry: Registry,
}

impl Registry {
    pub fn from_clusters(clusters: &[Cluster]) -> Registry {
        let mut registry = Registry::default();
        for cluster in clusters {
            let metrics = registry.clusters.entry(cluster.name.clone()).or_default();
            for metric in &cluster.metric_config {
                let info = MetricInfo {
                    timestep: metric.timestep,
                    aggregation: metric.aggregation,
                };
                metrics.insert(metric.name.clone(), info);
                registry
                    .global
                    .entry(metric.name.clone())
                    .and_modify(|known| known.timestep = known.timestep.max(info.timestep))
                    .or_insert(info);
            }
        }
        registry
    }

    /// The registry of the clusters in `dir` at `now`, from the key-value cache when the cluster
    /// files are unchanged (or were checked less than [`RECHECK_SECONDS`] ago).
    pub fn load(dir: &Path, cache: &dyn Kv, now: i64) -> Result<Registry, RegistryError> {
        let cached = cache
            .get(CACHE_KEY)?
            .and_then(|bytes| serde_json::from_slice::<CachedRegistry>(&bytes).ok());
        if let Some(cached) = &cached {
            if (0..RECHECK_SECONDS).contains(&(now - cached.checked_at)) {
                return Ok(cached.registry.clone());
            }
        }
        let fingerprint = fingerprint(dir)?;
        let registry = match cached {
            Some(cached) if cached.fingerprint == fingerprint => cached.registry,
            _ => Registry::from_clusters(&load_clusters(dir)?),
        };
        let cached = CachedRegistry {
            fingerprint,
            checked_at: now,
            registry,
        };
        let bytes = serde_json::to_vec(&cached).expect("the registry serialises");
        cache.set(CACHE_KEY, &bytes)?;
        Ok(cached.registry)
    }

    pub fn is_known(&self, metric: &str) -> bool {
        self.global.contains_key(metric)
    }

    /// The metric's grid and aggregation for samples of `cluster`.
    pub fn metric(&self, cluster: &str, metric: &str) -> Option<MetricInfo> {
        self.clusters
            .get(cluster)
            .and_then(|metrics| metrics.get(metric))
            .or_else(|| self.global.get(metric))
            .copied()
    }
}

/// Names, sizes and modification times of every `<dir>/<cluster>/cluster.json`.
fn fingerprint(dir: &Path) -> Result<String, RegistryError> {
    let unreadable = |error: std::io::Error| RegistryError::ClusterDir {
        path: dir.display().to_string(),
        message: error.to_string(),
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let Ok(meta) = std::fs::metadata(entry.path().join("cluster.json")) else {
            continue;
        };
        let modified = meta
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |elapsed| elapsed.as_nanos());
        entries.push(format!(
            "{}:{}:{modified}",
            entry.file_name().to_string_lossy(),
            meta.len()
        ));
    }
    entries.sort();
    Ok(entries.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeKv;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters")
    }

    #[test]
    fn cluster_timesteps_win_and_unknown_clusters_use_the_largest() {
        let registry = Registry::from_clusters(&load_clusters(&fixtures()).unwrap());
        assert!(registry.is_known("load_one"));
        assert!(!registry.is_known("no_such_metric"));
        let load_one = registry.metric("testcluster", "load_one").unwrap();
        assert_eq!(load_one.timestep, 60);
        assert_eq!(load_one.aggregation, Aggregation::Avg);
        assert!(registry.metric("unconfigured", "load_one").is_some());
        assert_eq!(registry.metric("testcluster", "no_such_metric"), None);
    }

    #[test]
    fn cached_registry_is_rebuilt_when_a_cluster_file_changes_after_the_recheck_interval() {
        let state = tempfile::tempdir().unwrap();
        let clusters = state.path().join("clusters");
        std::fs::create_dir_all(clusters.join("testcluster")).unwrap();
        let source = fixtures().join("testcluster/cluster.json");
        std::fs::copy(&source, clusters.join("testcluster/cluster.json")).unwrap();
        let kv = NativeKv::open(&state.path().join("kv.db"), "default").unwrap();

        let first = Registry::load(&clusters, &kv, 1000).unwrap();
        assert!(first.is_known("load_one"));
        assert!(kv.get(CACHE_KEY).unwrap().is_some());
        assert_eq!(Registry::load(&clusters, &kv, 1001).unwrap(), first);

        let renamed = std::fs::read_to_string(&source)
            .unwrap()
            .replace("\"load_one\"", "\"load_five\"");
        std::fs::write(clusters.join("testcluster/cluster.json"), renamed).unwrap();
        // Within the recheck interval the cached registry is used as it is.
        let cached = Registry::load(&clusters, &kv, 1000 + RECHECK_SECONDS - 1).unwrap();
        assert!(cached.is_known("load_one"));
        let second = Registry::load(&clusters, &kv, 1000 + RECHECK_SECONDS).unwrap();
        assert!(second.is_known("load_five"));
        assert!(!second.is_known("load_one"));
    }
}
