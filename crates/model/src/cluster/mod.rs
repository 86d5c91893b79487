//! Cluster configuration (`<archive>/<cluster>/cluster.json`, docs/nodes-users.md#clusters).
//!
//! Field order of every struct is the key order of the reference's JSON output; `skip_serializing_if`
//! mirrors Go's `omitempty`. A [`Cluster`] is only obtained through the loaders, which validate
//! the file and add the per-sub-cluster data of docs/nodes-users.md#derived-sub-cluster-data.

mod load;
mod schema;
mod scope;

use serde::{Deserialize, Serialize};

use crate::hostlist::Nodes;
use cc_gocompat::finite_f64;

pub use load::{load_cluster, load_clusters, parse_cluster, ClusterError};
pub use scope::{InvalidScope, MetricScope};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub name: String,
    pub metric_config: Vec<MetricConfig>,
    pub sub_clusters: Vec<SubCluster>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricConfig {
    pub name: String,
    pub unit: Unit,
    #[serde(serialize_with = "finite_f64")]
    pub peak: f64,
    #[serde(serialize_with = "finite_f64")]
    pub normal: f64,
    #[serde(serialize_with = "finite_f64")]
    pub caution: f64,
    #[serde(serialize_with = "finite_f64")]
    pub alert: f64,
    #[serde(default)]
    pub energy: EnergyKind,
    /// Native scope; `node` when the file names none.
    #[serde(default, deserialize_with = "scope::node_if_empty")]
    pub scope: MetricScope,
    pub aggregation: Aggregation,
    #[serde(default, skip_serializing_if = "Footprint::is_none")]
    pub footprint: Footprint,
    /// Per-sub-cluster overrides; only in the cluster-level list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_clusters: Vec<SubClusterConfig>,
    /// Seconds between two samples.
    pub timestep: i64,
    /// Hidden from plain users.
    #[serde(default)]
    pub restrict: bool,
    #[serde(default)]
    pub lower_is_better: bool,
}

/// Override of a metric's settings for one sub-cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubClusterConfig {
    pub name: String,
    /// Present in the output like in the reference, but never applied to a sub-cluster.
    #[serde(default)]
    pub unit: Unit,
    #[serde(default, serialize_with = "finite_f64")]
    pub peak: f64,
    #[serde(default, serialize_with = "finite_f64")]
    pub normal: f64,
    #[serde(default, serialize_with = "finite_f64")]
    pub caution: f64,
    #[serde(default, serialize_with = "finite_f64")]
    pub alert: f64,
    #[serde(default, skip_serializing_if = "Footprint::is_none")]
    pub footprint: Footprint,
    #[serde(default)]
    pub energy: EnergyKind,
    #[serde(default)]
    pub lower_is_better: bool,
    #[serde(default)]
    pub restrict: bool,
    /// The metric does not exist on this sub-cluster.
    #[serde(default)]
    pub remove: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    pub base: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

/// A hardware capability such as the peak flop rate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricValue {
    #[serde(default)]
    pub unit: Unit,
    #[serde(default, serialize_with = "finite_f64")]
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubCluster {
    pub name: String,
    /// A host list such as `a[0001-0064]`, or `*` for every host not listed elsewhere.
    #[schema(value_type = String)]
    pub nodes: Nodes,
    pub processor_type: String,
    pub topology: Topology,
    pub flop_rate_scalar: MetricValue,
    pub flop_rate_simd: MetricValue,
    pub memory_bandwidth: MetricValue,
    /// Effective metric configuration of this sub-cluster (entries of the file, then one derived
    /// entry per cluster-level metric that is not removed here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_config: Vec<MetricConfig>,
    /// Names of the metrics that make up a job's footprint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub footprint: Vec<String>,
    /// Names of the metrics used to compute a job's energy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub energy_footprint: Vec<String>,
    pub sockets_per_node: i64,
    pub cores_per_socket: i64,
    pub threads_per_core: i64,
}

/// Hardware-thread ids of a node, grouped by the hardware unit they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Topology {
    pub node: Vec<i64>,
    pub socket: Vec<Vec<i64>>,
    pub memory_domain: Vec<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub die: Vec<Vec<i64>>,
    /// `None` when the file lists no cores; written as `null` like the reference does.
    #[serde(default)]
    pub core: Option<Vec<Vec<i64>>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accelerators: Vec<Accelerator>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accelerator {
    pub id: String,
    /// Device family, e.g. `Nvidia GPU`.
    #[serde(rename = "type")]
    pub kind: String,
    pub model: String,
}

/// How the values of a metric are combined across hardware units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    #[default]
    #[serde(rename = "")]
    None,
    Sum,
    Avg,
}

/// Which statistic of a metric enters a job's footprint, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Footprint {
    #[default]
    #[serde(rename = "")]
    None,
    Avg,
    Min,
    Max,
}

/// The OpenAPI schema of an enumeration written as one of `values`; utoipa's derive cannot
/// spell the empty name these enums use for "none".
macro_rules! string_enum_schema {
    ($type:ty, $values:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($values))
                    .into()
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}

string_enum_schema!(Aggregation, ["", "sum", "avg"]);
string_enum_schema!(Footprint, ["", "avg", "min", "max"]);
string_enum_schema!(EnergyKind, ["", "power", "energy"]);

impl Footprint {
    pub fn is_none(&self) -> bool {
        *self == Footprint::None
    }
}

/// Whether a metric measures power or energy and thereby enters a job's energy, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnergyKind {
    #[default]
    #[serde(rename = "")]
    None,
    Power,
    Energy,
}

impl Cluster {
    /// Adds the derived data of docs/nodes-users.md#derived-sub-cluster-data: for every sub-cluster and every cluster-level metric
    /// (in cluster order) an effective entry is appended to the sub-cluster's `metricConfig`
    /// unless the metric is removed there, and footprint/energy metrics are listed.
    fn with_sub_cluster_metrics(mut self) -> Self {
        for sub_cluster in &mut self.sub_clusters {
            for metric in &self.metric_config {
                // Like the reference's lookup map, the last override for a name wins.
                let overrides = metric
                    .sub_clusters
                    .iter()
                    .rev()
                    .find(|candidate| candidate.name == sub_cluster.name);
                if overrides.is_some_and(|overrides| overrides.remove) {
                    continue;
                }
                let effective = metric.for_sub_cluster(overrides);
                if !effective.footprint.is_none() {
                    sub_cluster.footprint.push(effective.name.clone());
                }
                if effective.energy != EnergyKind::None {
                    sub_cluster.energy_footprint.push(effective.name.clone());
                }
                sub_cluster.metric_config.push(effective);
            }
        }
        self
    }

    /// The cluster-level configuration of a metric.
    pub fn metric(&self, name: &str) -> Option<&MetricConfig> {
        self.metric_config.iter().find(|metric| metric.name == name)
    }

    pub fn subcluster(&self, name: &str) -> Option<&SubCluster> {
        self.sub_clusters
            .iter()
            .find(|sub_cluster| sub_cluster.name == name)
    }

    /// The sub-cluster a host belongs to (docs/nodes-users.md#sub-cluster-of-a-host): the first whose host list names it, else
    /// the first sub-cluster if its `nodes` is a wildcard (`*` or empty, accepted for both job
    /// start and node-state updates: docs/compatibility.md#wildcard-sub-clusters).
    pub fn subcluster_for_host(&self, host: &str) -> Option<&SubCluster> {
        self.sub_clusters
            .iter()
            .find(|sub_cluster| sub_cluster.nodes.lists(host))
            .or_else(|| {
                self.sub_clusters
                    .first()
                    .filter(|first| first.nodes.is_wildcard())
            })
    }
}

impl SubCluster {
    /// The effective configuration of a metric on this sub-cluster; `None` if the cluster has
    /// no such metric or it is removed here.
    pub fn metric(&self, name: &str) -> Option<&MetricConfig> {
        self.metric_config.iter().find(|metric| metric.name == name)
    }
}

impl MetricConfig {
    /// The entry derived for a sub-cluster: a copy without overrides and visibility restriction,
    /// with thresholds, footprint, energy and `lowerIsBetter` taken from the override if any
    /// (even when the override leaves them empty or zero).
    fn for_sub_cluster(&self, overrides: Option<&SubClusterConfig>) -> MetricConfig {
        let mut effective = MetricConfig {
            sub_clusters: Vec::new(),
            restrict: false,
            ..self.clone()
        };
        if let Some(overrides) = overrides {
            effective.peak = overrides.peak;
            effective.normal = overrides.normal;
            effective.caution = overrides.caution;
            effective.alert = overrides.alert;
            effective.footprint = overrides.footprint;
            effective.energy = overrides.energy;
            effective.lower_is_better = overrides.lower_is_better;
        }
        effective
    }
}

#[cfg(test)]
mod tests;
