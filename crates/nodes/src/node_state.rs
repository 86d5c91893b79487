//! Node-state updates from the batch system (docs/nodes-users.md#node-state-updates): the scheduler state
//! of each node, its health, and one `node_state` history row per reported node.

use std::collections::HashSet;

use cc_model::{Cluster, MetricConfig};
use cc_store::{in_transaction, Sql, StoreError, Value};
use serde::Deserialize;

use cc_gocompat::null_as_default;

/// The body of `POST|PUT /api/nodestate/` and `POST /api/healthcheck`, decoded strictly: every
/// field may be absent or `null` (then empty or zero); unknown fields are refused.
#[derive(Debug, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeStateUpdate {
    /// Not validated: an unknown cluster only means no node can be registered.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub cluster: String,
    /// The reported nodes.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub nodes: Vec<NodePayload>,
}

/// One node as the batch system reports it.
#[derive(Debug, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePayload {
    /// The node's host name.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub hostname: String,
    /// The batch system's states of the node (`allocated`, `reserved`, `idle`, `mixed`, `down`,
    /// anything else counts as unknown), case-insensitive.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub states: Vec<String>,
    /// Allocated cores.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub cpus_allocated: i64,
    /// Allocated memory in MB.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub memory_allocated: i64,
    /// Allocated accelerators.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub gpus_allocated: i64,
    /// Jobs running on the node.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub jobs_running: i64,
}

/// The `node_state` column: one state per node, derived from the batch system's state list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerState {
    Allocated,
    Reserved,
    Idle,
    Mixed,
    Down,
    Unknown,
}

impl SchedulerState {
    pub const fn as_str(self) -> &'static str {
        match self {
            SchedulerState::Allocated => "allocated",
            SchedulerState::Reserved => "reserved",
            SchedulerState::Idle => "idle",
            SchedulerState::Mixed => "mixed",
            SchedulerState::Down => "down",
            SchedulerState::Unknown => "unknown",
        }
    }

    /// cc-backend's `determineState` (docs/nodes-users.md#scheduler-state): the first matching rule over the lower-cased
    /// states wins; Slurm spellings such as `alloc` or `idle+drain` are `unknown`.
    pub fn from_reported(states: &[String]) -> SchedulerState {
        let states: HashSet<String> = states.iter().map(|state| state.to_lowercase()).collect();
        let has = |state: SchedulerState| states.contains(state.as_str());
        use SchedulerState::*;
        if has(Allocated) {
            Allocated
        } else if has(Reserved) {
            Reserved
        } else if has(Idle) && has(Down) {
            Down
        } else if has(Idle) {
            Idle
        } else if has(Down) {
            Down
        } else if has(Mixed) {
            Mixed
        } else {
            Unknown
        }
    }
}

/// The `health_state` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Full,
    Partial,
    Failed,
}

impl HealthState {
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthState::Full => "full",
            HealthState::Partial => "partial",
            HealthState::Failed => "failed",
        }
    }
}

/// A node's health as stored: the state and the `health_metrics` text, which is `""` or the JSON
/// `{"degraded":[…],"missing":[…]}` a metric store reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHealth {
    pub state: HealthState,
    pub metrics: String,
}

impl NodeHealth {
    /// A node whose metrics were not (or could not be) checked.
    pub fn unchecked() -> NodeHealth {
        NodeHealth {
            state: HealthState::Failed,
            metrics: String::new(),
        }
    }
}

/// Where node health comes from (docs/nodes-users.md#node-health): asked once per node that is not down and
/// belongs to a sub-cluster, with the names of that sub-cluster's effective metrics.
pub trait NodeHealthSource {
    fn node_health(
        &self,
        cluster: &str,
        hostname: &str,
        expected_metrics: &[&MetricConfig],
    ) -> NodeHealth;
}

/// What an update stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NodeStateReport {
    /// `node_state` rows written.
    pub stored: usize,
    /// Hosts not yet known that match no sub-cluster of the cluster (or whose cluster is unknown):
    /// not stored, as in cc-backend, because a node's sub-cluster is fixed when it is first seen.
    pub unmapped: Vec<String>,
}

/// One reported node with everything derived before the transaction starts.
struct PlannedRow<'a> {
    node: &'a NodePayload,
    state: SchedulerState,
    health: NodeHealth,
    sub_cluster: Option<&'a str>,
}

/// Health of one node. Down nodes are `failed` without a check: cc-backend reports them `full`,
/// docs/compatibility.md#down-nodes-are-failed, and a down node delivers no metrics.
fn node_health(
    health: &dyn NodeHealthSource,
    cluster: Option<&Cluster>,
    node: &NodePayload,
    state: SchedulerState,
) -> NodeHealth {
    if state == SchedulerState::Down {
        return NodeHealth::unchecked();
    }
    let Some((cluster, sub_cluster)) = cluster.and_then(|cluster| {
        cluster
            .subcluster_for_host(&node.hostname)
            .map(|sub_cluster| (cluster, sub_cluster))
    }) else {
        return NodeHealth::unchecked();
    };
    let expected: Vec<&MetricConfig> = sub_cluster.metric_config.iter().collect();
    health.node_health(&cluster.name, &node.hostname, &expected)
}

/// Older cc-backend databases (such as its sample `job.db`) lack `node_state.health_metrics`;
/// their rows are written without it rather than failing.
fn has_health_metrics_column(db: &dyn Sql) -> Result<bool, StoreError> {
    let result = db.execute(
        "SELECT count(*) FROM pragma_table_info('node_state') WHERE name = 'health_metrics'",
        &[],
    )?;
    Ok(result.scalar().and_then(Value::as_i64).unwrap_or(0) > 0)
}

fn node_id(
    db: &dyn Sql,
    hostname: &str,
    cluster: &str,
    sub_cluster: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let found = db.execute(
        "SELECT id FROM node WHERE hostname = ? AND cluster = ?",
        &[hostname.into(), cluster.into()],
    )?;
    if let Some(id) = found.scalar().and_then(Value::as_i64) {
        return Ok(Some(id));
    }
    let Some(sub_cluster) = sub_cluster else {
        return Ok(None);
    };
    db.execute(
        "INSERT INTO node (hostname, cluster, subcluster) VALUES (?, ?, ?)",
        &[hostname.into(), cluster.into(), sub_cluster.into()],
    )?;
    Ok(Some(db.last_insert_rowid()))
}

/// Records an update (docs/nodes-users.md#recording-node-states): health is determined first, then one transaction registers
/// new nodes with the sub-cluster their host list gives (`cluster` is the loaded configuration of
/// `update.cluster`, `None` when unknown) and appends one `node_state` row per reported node, in
/// order, stamped `now` (unix seconds).
pub fn record_node_states(
    db: &dyn Sql,
    cluster: Option<&Cluster>,
    update: &NodeStateUpdate,
    health: &dyn NodeHealthSource,
    now: i64,
) -> Result<NodeStateReport, StoreError> {
    if update.nodes.is_empty() {
        return Ok(NodeStateReport::default());
    }
    let planned: Vec<PlannedRow> = update
        .nodes
        .iter()
        .map(|node| {
            let state = SchedulerState::from_reported(&node.states);
            PlannedRow {
                node,
                state,
                health: node_health(health, cluster, node, state),
                sub_cluster: cluster
                    .and_then(|cluster| cluster.subcluster_for_host(&node.hostname))
                    .map(|sub_cluster| sub_cluster.name.as_str()),
            }
        })
        .collect();
    in_transaction(db, || {
        let with_metrics = has_health_metrics_column(db)?;
        let insert = if with_metrics {
            "INSERT INTO node_state (time_stamp, node_state, health_state, health_metrics, \
             cpus_allocated, memory_allocated, gpus_allocated, jobs_running, node_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        } else {
            "INSERT INTO node_state (time_stamp, node_state, health_state, \
             cpus_allocated, memory_allocated, gpus_allocated, jobs_running, node_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        };
        let mut report = NodeStateReport::default();
        for row in &planned {
            let node = row.node;
            let Some(id) = node_id(db, &node.hostname, &update.cluster, row.sub_cluster)? else {
                report.unmapped.push(node.hostname.clone());
                continue;
            };
            let mut values: Vec<Value> = vec![
                now.into(),
                row.state.as_str().into(),
                row.health.state.as_str().into(),
            ];
            if with_metrics {
                values.push(row.health.metrics.as_str().into());
            }
            values.extend([
                node.cpus_allocated.into(),
                node.memory_allocated.into(),
                node.gpus_allocated.into(),
                node.jobs_running.into(),
                id.into(),
            ]);
            db.execute(insert, &values)?;
            report.stored += 1;
        }
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;

    use super::*;
    use cc_model::Nodes;
    use cc_store::native::NativeSql;

    fn database() -> NativeSql {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        db
    }

    /// `testcluster`: sub-cluster `sc1` with hosts host123..host125 and the metric `load_one`.
    fn test_cluster() -> Cluster {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
        cc_model::load_cluster(&dir, "testcluster").unwrap()
    }

    fn node(hostname: &str, states: &[&str]) -> NodePayload {
        NodePayload {
            hostname: hostname.into(),
            states: states.iter().map(|state| state.to_string()).collect(),
            ..NodePayload::default()
        }
    }

    fn update(cluster: &str, nodes: Vec<NodePayload>) -> NodeStateUpdate {
        NodeStateUpdate {
            cluster: cluster.into(),
            nodes,
        }
    }

    /// No metric store: every checked node is `failed` with no metric report (docs/nodes-users.md#node-health).
    struct NoMetricStore;

    impl NodeHealthSource for NoMetricStore {
        fn node_health(&self, _: &str, _: &str, _: &[&MetricConfig]) -> NodeHealth {
            NodeHealth::unchecked()
        }
    }

    /// Reports every node `partial` and remembers what it was asked.
    #[derive(Default)]
    struct RecordingSource {
        asked: RefCell<Vec<(String, String, Vec<String>)>>,
    }

    impl NodeHealthSource for RecordingSource {
        fn node_health(
            &self,
            cluster: &str,
            hostname: &str,
            expected: &[&MetricConfig],
        ) -> NodeHealth {
            self.asked.borrow_mut().push((
                cluster.into(),
                hostname.into(),
                expected.iter().map(|metric| metric.name.clone()).collect(),
            ));
            NodeHealth {
                state: HealthState::Partial,
                metrics: r#"{"degraded":[],"missing":["load_one"]}"#.into(),
            }
        }
    }

    type StateRow = (
        String,
        String,
        String,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
        i64,
    );

    /// The rows `sql` selects, each read by `read`.
    fn select<T>(db: &NativeSql, sql: &str, read: impl Fn(&[Value]) -> T) -> Vec<T> {
        let result = db.execute(sql, &[]).unwrap();
        result.rows.iter().map(|row| read(row)).collect()
    }

    /// Column `index`, which must be text.
    fn text(row: &[Value], index: usize) -> String {
        row[index].as_str().unwrap().to_owned()
    }

    /// Column `index`, which must be an integer.
    fn int(row: &[Value], index: usize) -> i64 {
        row[index].as_i64().unwrap()
    }

    fn state_rows(db: &NativeSql) -> Vec<StateRow> {
        select(
            db,
            "SELECT n.hostname, s.node_state, s.health_state, s.health_metrics, \
             s.cpus_allocated, s.memory_allocated, s.gpus_allocated, s.jobs_running, \
             s.time_stamp FROM node_state s JOIN node n ON n.id = s.node_id ORDER BY s.id",
            |row| {
                (
                    text(row, 0),
                    text(row, 1),
                    text(row, 2),
                    row[3].as_str().map(str::to_owned),
                    int(row, 4),
                    int(row, 5),
                    int(row, 6),
                    int(row, 7),
                    int(row, 8),
                )
            },
        )
    }

    fn nodes(db: &NativeSql) -> Vec<(String, String, String)> {
        select(
            db,
            "SELECT hostname, cluster, subcluster FROM node ORDER BY id",
            |row| (text(row, 0), text(row, 1), text(row, 2)),
        )
    }

    #[test]
    fn scheduler_state_follows_the_first_matching_rule() {
        let cases: &[(&[&str], SchedulerState)] = &[
            (&["idle", "ALLOCATED"], SchedulerState::Allocated),
            (&["reserved", "idle"], SchedulerState::Reserved),
            (&["Idle", "down"], SchedulerState::Down),
            (&["mixed", "idle"], SchedulerState::Idle),
            (&["down", "mixed"], SchedulerState::Down),
            (&["MIXED"], SchedulerState::Mixed),
            (&[], SchedulerState::Unknown),
            (&["alloc"], SchedulerState::Unknown),
            (&["idle+drain"], SchedulerState::Unknown),
            (&["drain"], SchedulerState::Unknown),
        ];
        for (states, expected) in cases {
            let states: Vec<String> = states.iter().map(|state| state.to_string()).collect();
            assert_eq!(
                SchedulerState::from_reported(&states),
                *expected,
                "{states:?}"
            );
        }
    }

    #[test]
    fn decodes_strictly_with_go_defaults() {
        let update: NodeStateUpdate = cc_web::decode_strict(
            br#"{"cluster":"testcluster","nodes":[{"hostname":"host123","states":null,"cpusAllocated":8,"memoryAllocated":16384,"gpusAllocated":null,"jobsRunning":1}]}"#,
        )
        .unwrap();
        assert_eq!(
            update.nodes,
            [NodePayload {
                hostname: "host123".into(),
                states: vec![],
                cpus_allocated: 8,
                memory_allocated: 16384,
                gpus_allocated: 0,
                jobs_running: 1,
            }]
        );
        let unknown =
            cc_web::decode_strict::<NodeStateUpdate>(br#"{"nodes":[{"hostname":"a","cpus":1}]}"#);
        assert_eq!(unknown.unwrap_err(), r#"json: unknown field "cpus""#);
        let overflow = cc_web::decode_strict::<NodeStateUpdate>(
            br#"{"nodes":[{"jobsRunning":99999999999999999999}]}"#,
        );
        assert!(overflow.is_err());
        let wrong_type =
            cc_web::decode_strict::<NodeStateUpdate>(br#"{"cluster":"c","nodes":"not an array"}"#);
        assert!(wrong_type.is_err());
    }

    #[test]
    fn registers_nodes_and_appends_rows_in_request_order() {
        let db = database();
        let cluster = test_cluster();
        let mut busy = node("host124", &["allocated"]);
        busy.cpus_allocated = 4;
        busy.memory_allocated = 8192;
        busy.gpus_allocated = 1;
        busy.jobs_running = 1;
        let request = update(
            "testcluster",
            vec![
                node("host123", &["idle"]),
                busy,
                node("host123", &["mixed"]),
            ],
        );
        let report =
            record_node_states(&db, Some(&cluster), &request, &NoMetricStore, 1_700_000_000)
                .unwrap();
        assert_eq!(
            report,
            NodeStateReport {
                stored: 3,
                unmapped: vec![]
            }
        );
        assert_eq!(
            nodes(&db),
            [
                ("host123".into(), "testcluster".into(), "sc1".into()),
                ("host124".into(), "testcluster".into(), "sc1".into()),
            ]
        );
        let failed = |host: &str, state: &str, cpus, memory, gpus, jobs| -> StateRow {
            (
                host.into(),
                state.into(),
                "failed".into(),
                Some(String::new()),
                cpus,
                memory,
                gpus,
                jobs,
                1_700_000_000,
            )
        };
        assert_eq!(
            state_rows(&db),
            [
                failed("host123", "idle", 0, 0, 0, 0),
                failed("host124", "allocated", 4, 8192, 1, 1),
                failed("host123", "mixed", 0, 0, 0, 0),
            ]
        );
    }

    #[test]
    fn unmapped_hosts_and_unknown_clusters_are_not_stored() {
        let db = database();
        let cluster = test_cluster();
        let request = update(
            "testcluster",
            vec![
                node("node1", &["idle"]),
                node("host-ñ123", &["idle"]),
                node("host125", &["idle"]),
            ],
        );
        let report = record_node_states(&db, Some(&cluster), &request, &NoMetricStore, 1).unwrap();
        assert_eq!(report.stored, 1);
        assert_eq!(report.unmapped, ["node1", "host-ñ123"]);

        let unknown = update("nocluster", vec![node("host123", &["idle"])]);
        let report = record_node_states(&db, None, &unknown, &NoMetricStore, 2).unwrap();
        assert_eq!(report.unmapped, ["host123"]);
        assert_eq!(state_rows(&db).len(), 1);
        let empty = record_node_states(&db, None, &update("", vec![]), &NoMetricStore, 3).unwrap();
        assert_eq!(empty, NodeStateReport::default());
    }

    #[test]
    fn known_nodes_keep_their_sub_cluster_even_when_no_longer_listed() {
        let db = database();
        db.execute(
            "INSERT INTO node (hostname, cluster, subcluster) VALUES ('retired', 'testcluster', 'old')",
            &[],
        )
        .unwrap();
        let request = update("testcluster", vec![node("retired", &["down"])]);
        let report =
            record_node_states(&db, Some(&test_cluster()), &request, &NoMetricStore, 5).unwrap();
        assert_eq!(report.stored, 1);
        assert_eq!(nodes(&db)[0].2, "old");
        assert_eq!(state_rows(&db)[0].1, "down");
    }

    #[test]
    fn wildcard_sub_clusters_take_any_host() {
        for wildcard in ["*", ""] {
            let db = database();
            let mut cluster = test_cluster();
            cluster.sub_clusters[0].nodes = Nodes::parse(wildcard).unwrap();
            let request = update("testcluster", vec![node("anything", &["idle"])]);
            record_node_states(&db, Some(&cluster), &request, &NoMetricStore, 1).unwrap();
            assert_eq!(nodes(&db)[0].2, "sc1", "nodes {wildcard:?}");
        }
    }

    #[test]
    fn health_is_asked_for_mapped_nodes_that_are_not_down() {
        let db = database();
        let cluster = test_cluster();
        let source = RecordingSource::default();
        let request = update(
            "testcluster",
            vec![
                node("host123", &["allocated"]),
                node("host124", &["down"]),
                node("elsewhere", &["idle"]),
            ],
        );
        record_node_states(&db, Some(&cluster), &request, &source, 9).unwrap();
        assert_eq!(
            *source.asked.borrow(),
            [(
                "testcluster".to_owned(),
                "host123".to_owned(),
                vec!["load_one".to_owned()]
            )]
        );
        let rows = state_rows(&db);
        assert_eq!(rows[0].2, "partial");
        assert_eq!(
            rows[0].3.as_deref(),
            Some(r#"{"degraded":[],"missing":["load_one"]}"#)
        );
        assert_eq!(
            (rows[1].2.as_str(), rows[1].3.as_deref()),
            ("failed", Some(""))
        );
    }

    #[test]
    fn writes_to_databases_without_health_metrics_column() {
        let db = database();
        db.execute("ALTER TABLE node_state DROP COLUMN health_metrics", &[])
            .unwrap();
        let request = update("testcluster", vec![node("host123", &["idle"])]);
        let report =
            record_node_states(&db, Some(&test_cluster()), &request, &NoMetricStore, 1).unwrap();
        assert_eq!(report.stored, 1);
        let count = db.execute("SELECT count(*) FROM node_state", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(1)));
    }

    #[test]
    fn a_failing_row_rolls_back_the_whole_update() {
        let db = database();
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON node_state WHEN NEW.cpus_allocated < 0 \
             BEGIN SELECT RAISE(ABORT, 'negative'); END",
            &[],
        )
        .unwrap();
        let mut broken = node("host124", &["idle"]);
        broken.cpus_allocated = -1;
        let request = update("testcluster", vec![node("host123", &["idle"]), broken]);
        let error = record_node_states(&db, Some(&test_cluster()), &request, &NoMetricStore, 1)
            .unwrap_err();
        assert_eq!(error, StoreError::Database("negative".into()));
        assert!(nodes(&db).is_empty());
        assert!(state_rows(&db).is_empty());
    }
}
