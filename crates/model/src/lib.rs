//! Domain model shared by the cc-spin components: the cluster configuration (`cluster.json`),
//! host-list expressions, jobs and JSON output that is byte-compatible with Go's `encoding/json`.

pub mod cluster;
pub mod hostlist;
pub mod job;

pub use cc_gocompat::json::{finite_f64, to_go_json};
pub use cluster::{
    load_cluster, load_clusters, parse_cluster, Accelerator, Aggregation, Cluster, ClusterError,
    EnergyKind, Footprint, InvalidScope, MetricConfig, MetricScope, MetricValue, SubCluster,
    SubClusterConfig, Topology, Unit,
};
pub use hostlist::{HostList, HostListError, Nodes};
pub use job::{
    ConcurrentJobs, Job, JobLink, JobState, JobStatistics, Resource, StartJobRequest, Tag,
};
