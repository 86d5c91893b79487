use std::cell::RefCell;
use std::path::{Path, PathBuf};

use cc_model::{Aggregation, StartJobRequest};
use serde_json::{json, Value};

use super::*;
use crate::source::{RawSeries, ReadError};
use MetricScope::{Accelerator, Core, HwThread, MemoryDomain, Node, Socket};

const START: i64 = 1_000;
const NOW: i64 = 5_000;
const GPU0: &str = "00000000:01:00.0";

fn clusters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters")
}

fn cluster(name: &str) -> Cluster {
    cc_model::load_cluster(clusters_dir().as_path(), name).expect("fixture cluster")
}

/// richcluster with its `cluster.json` edited first.
fn richcluster_with(edit: impl FnOnce(&mut Value)) -> Cluster {
    let file = clusters_dir().join("richcluster/cluster.json");
    let mut document: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("readable")).expect("JSON");
    edit(&mut document);
    let json = serde_json::to_vec(&document).expect("serializable");
    cc_model::parse_cluster(&file, &json).expect("valid cluster")
}

/// richcluster with four memory domains per node (two per socket) and a metric measured per
/// memory domain.
fn numa_cluster() -> Cluster {
    richcluster_with(|document| {
        let numa_metric = json!({"name": "mem_numa", "unit": {"base": "B/s", "prefix": "G"},
            "scope": "memoryDomain", "aggregation": "sum", "timestep": 60,
            "peak": 100, "normal": 50, "caution": 10, "alert": 5});
        document["metricConfig"]
            .as_array_mut()
            .expect("metric list")
            .push(numa_metric);
        for sub_cluster in document["subClusters"].as_array_mut().expect("list") {
            sub_cluster["topology"]["memoryDomain"] = json!([[0, 4], [1, 5], [2, 6], [3, 7]]);
        }
    })
}

/// A job started at [`START`] that ran for 600 s.
fn job(sub_cluster: &str, num_acc: i64, resources: Value) -> Job {
    let request: StartJobRequest = serde_json::from_value(json!({
        "jobId": 42, "user": "alice", "project": "p", "cluster": "richcluster",
        "subCluster": sub_cluster, "numNodes": 1, "numAcc": num_acc,
        "resources": resources, "startTime": START, "duration": 600
    }))
    .expect("job JSON");
    let mut job = request.into_job();
    job.job_state = JobState::Completed;
    job
}

fn testcluster_job(resources: Value) -> Job {
    Job {
        cluster: "testcluster".to_owned(),
        ..job("sc1", 0, resources)
    }
}

/// The richcluster GPU job used for the transformation table: hwthreads 0, 1, 4 and 2 touch
/// cores 0, 1 and 2 and both sockets.
fn gpu_job() -> Job {
    job(
        "gpu",
        1,
        json!([{"hostname": "rg0001", "hwthreads": [0, 1, 4, 2], "accelerators": [GPU0]}]),
    )
}

/// A read the fake source received, with owned parts.
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    cluster: String,
    host: String,
    metric: String,
    kind: Option<String>,
    ids: Vec<String>,
    combine: bool,
    from: i64,
    to: i64,
    aggregation: Aggregation,
}

impl Recorded {
    /// `metric@host`, then the selector, e.g. `cpu_user@rg0001 hwthread combined(0,4)`.
    fn describe(&self) -> String {
        let target = format!("{}@{}", self.metric, self.host);
        match &self.kind {
            None => target,
            Some(kind) => {
                let grouping = if self.combine { "combined" } else { "each" };
                format!("{target} {kind} {grouping}({})", self.ids.join(","))
            }
        }
    }

    /// How many series the read answers.
    fn answers(&self) -> usize {
        if self.kind.is_none() || self.combine {
            1
        } else {
            self.ids.len()
        }
    }
}

type Answer = Box<dyn Fn(&Recorded) -> Result<Vec<Option<RawSeries>>, ReadError>>;

/// Records every read and answers it with `answer`.
struct FakeSource {
    reads: RefCell<Vec<Recorded>>,
    answer: Answer,
}

impl FakeSource {
    fn new(
        answer: impl Fn(&Recorded) -> Result<Vec<Option<RawSeries>>, ReadError> + 'static,
    ) -> Self {
        FakeSource {
            reads: RefCell::new(Vec::new()),
            answer: Box::new(answer),
        }
    }

    /// Every series exists and holds `values` at a 60 s timestep.
    fn with_values(values: Vec<f64>) -> Self {
        FakeSource::new(move |read| Ok(vec![Some(raw(values.clone())); read.answers()]))
    }

    fn described(&self) -> Vec<String> {
        self.reads.borrow().iter().map(Recorded::describe).collect()
    }
}

impl SampleSource for FakeSource {
    fn read(&self, query: &SeriesQuery<'_>) -> Result<Vec<Option<RawSeries>>, ReadError> {
        let recorded = Recorded {
            cluster: query.cluster.to_owned(),
            host: query.host.to_owned(),
            metric: query.metric.to_owned(),
            kind: query.selector.as_ref().map(|s| s.kind.to_owned()),
            ids: query
                .selector
                .as_ref()
                .map(|s| s.ids.to_vec())
                .unwrap_or_default(),
            combine: query.selector.as_ref().is_some_and(|s| s.combine),
            from: query.from,
            to: query.to,
            aggregation: query.aggregation,
        };
        let answer = (self.answer)(&recorded);
        self.reads.borrow_mut().push(recorded);
        answer
    }
}

fn raw(data: Vec<f64>) -> RawSeries {
    RawSeries {
        from: START,
        timestep: 60,
        data,
    }
}

fn default_source() -> FakeSource {
    FakeSource::with_values(vec![1.0, 2.0, 4.0])
}

fn load(
    source: &FakeSource,
    job: &Job,
    cluster: &Cluster,
    metrics: Option<&[&str]>,
    scopes: &[MetricScope],
    resolution: i64,
) -> Result<JobData, LoadError> {
    let metrics: Option<Vec<String>> =
        metrics.map(|names| names.iter().map(|name| name.to_string()).collect());
    let request = LoadRequest {
        metrics: metrics.as_deref(),
        scopes,
        resolution,
    };
    load_from_store(source, job, cluster, &request, NOW)
}

/// `(hostname, id)` of every series of a metric at a scope.
fn series_ids(data: &JobData, metric: &str, scope: MetricScope) -> Vec<(String, Option<String>)> {
    data[metric][&scope]
        .series
        .iter()
        .map(|series| (series.hostname.clone(), series.id.clone()))
        .collect()
}

fn on(host: &str, ids: &[Option<&str>]) -> Vec<(String, Option<String>)> {
    ids.iter()
        .map(|id| (host.to_owned(), id.map(str::to_owned)))
        .collect()
}

/// One row of the transformation table: what is read and which series result.
struct Row {
    metric: &'static str,
    requested: MetricScope,
    reads: &'static [&'static str],
    scope: MetricScope,
    ids: &'static [Option<&'static str>],
}

fn check_rows(cluster: &Cluster, job: &Job, rows: &[Row]) {
    for row in rows {
        let source = default_source();
        let data = load(
            &source,
            job,
            cluster,
            Some(&[row.metric]),
            &[row.requested],
            0,
        )
        .unwrap_or_else(|error| panic!("{} at {}: {error}", row.metric, row.requested));
        let context = format!("{} requested at {}", row.metric, row.requested);
        assert_eq!(source.described(), row.reads, "{context}");
        if row.reads.is_empty() {
            assert!(data.is_empty(), "{context}");
            continue;
        }
        assert_eq!(
            data[row.metric].keys().copied().collect::<Vec<_>>(),
            [row.scope],
            "{context}"
        );
        assert_eq!(
            series_ids(&data, row.metric, row.scope),
            on("rg0001", row.ids),
            "{context}"
        );
    }
}

#[test]
fn transformations_of_richcluster() {
    let rows = [
        Row {
            metric: "acc_utilization",
            requested: Accelerator,
            reads: &["acc_utilization@rg0001 accelerator each(00000000:01:00.0)"],
            scope: Accelerator,
            ids: &[Some(GPU0)],
        },
        Row {
            metric: "acc_utilization",
            requested: Core,
            reads: &[],
            scope: Core,
            ids: &[],
        },
        Row {
            metric: "acc_power",
            requested: Node,
            reads: &["acc_power@rg0001 accelerator combined(00000000:01:00.0)"],
            scope: Node,
            ids: &[None],
        },
        Row {
            metric: "cpu_user",
            requested: HwThread,
            reads: &["cpu_user@rg0001 hwthread each(0,1,4,2)"],
            scope: HwThread,
            ids: &[Some("0"), Some("1"), Some("4"), Some("2")],
        },
        Row {
            metric: "cpu_user",
            requested: Core,
            reads: &[
                "cpu_user@rg0001 hwthread combined(0,4)",
                "cpu_user@rg0001 hwthread combined(1,5)",
                "cpu_user@rg0001 hwthread combined(2,6)",
            ],
            scope: Core,
            ids: &[Some("0"), Some("1"), Some("2")],
        },
        Row {
            metric: "cpu_user",
            requested: Socket,
            reads: &[
                "cpu_user@rg0001 hwthread combined(0,1,4,5)",
                "cpu_user@rg0001 hwthread combined(2,3,6,7)",
            ],
            scope: Socket,
            ids: &[Some("0"), Some("1")],
        },
        Row {
            metric: "flops_any",
            requested: Node,
            reads: &["flops_any@rg0001 hwthread combined(0,1,4,2)"],
            scope: Node,
            ids: &[None],
        },
        Row {
            metric: "ipc",
            requested: Core,
            reads: &["ipc@rg0001 core each(0,1,2)"],
            scope: Core,
            ids: &[Some("0"), Some("1"), Some("2")],
        },
        Row {
            metric: "ipc",
            requested: Socket,
            reads: &[
                "ipc@rg0001 core combined(0,1)",
                "ipc@rg0001 core combined(2,3)",
            ],
            scope: Socket,
            ids: &[Some("0"), Some("1")],
        },
        Row {
            metric: "ipc",
            requested: Node,
            reads: &["ipc@rg0001 core combined(0,1,2)"],
            scope: Node,
            ids: &[None],
        },
        Row {
            metric: "ipc",
            requested: HwThread,
            reads: &["ipc@rg0001 core each(0,1,2)"],
            scope: Core,
            ids: &[Some("0"), Some("1"), Some("2")],
        },
        Row {
            metric: "mem_bw",
            requested: Socket,
            reads: &["mem_bw@rg0001 socket each(0,1)"],
            scope: Socket,
            ids: &[Some("0"), Some("1")],
        },
        Row {
            metric: "mem_bw",
            requested: Core,
            reads: &["mem_bw@rg0001 socket each(0,1)"],
            scope: Socket,
            ids: &[Some("0"), Some("1")],
        },
        Row {
            metric: "mem_bw",
            requested: Node,
            reads: &["mem_bw@rg0001 socket combined(0,1)"],
            scope: Node,
            ids: &[None],
        },
        Row {
            metric: "cpu_load",
            requested: Node,
            reads: &["cpu_load@rg0001"],
            scope: Node,
            ids: &[None],
        },
        Row {
            metric: "cpu_load",
            requested: HwThread,
            reads: &["cpu_load@rg0001"],
            scope: Node,
            ids: &[None],
        },
    ];
    check_rows(&cluster("richcluster"), &gpu_job(), &rows);
}

#[test]
fn transformations_of_memory_domains() {
    let rows = [
        Row {
            metric: "mem_numa",
            requested: MemoryDomain,
            reads: &["mem_numa@rg0001 memoryDomain each(0,1,2)"],
            scope: MemoryDomain,
            ids: &[Some("0"), Some("1"), Some("2")],
        },
        Row {
            metric: "mem_numa",
            requested: Core,
            reads: &["mem_numa@rg0001 memoryDomain each(0,1,2)"],
            scope: MemoryDomain,
            ids: &[Some("0"), Some("1"), Some("2")],
        },
        Row {
            metric: "mem_numa",
            requested: Socket,
            reads: &[
                "mem_numa@rg0001 memoryDomain combined(0,1)",
                "mem_numa@rg0001 memoryDomain combined(2)",
            ],
            scope: Socket,
            ids: &[Some("0"), Some("1")],
        },
        Row {
            metric: "mem_numa",
            requested: Node,
            reads: &["mem_numa@rg0001 memoryDomain combined(0,1,2)"],
            scope: Node,
            ids: &[None],
        },
    ];
    check_rows(&numa_cluster(), &gpu_job(), &rows);
}

#[test]
fn finer_than_native_memory_domains_are_unsupported_and_nothing_is_read() {
    let cluster = numa_cluster();
    for (metric, native) in [("cpu_user", HwThread), ("ipc", Core)] {
        let source = default_source();
        let error = load(
            &source,
            &gpu_job(),
            &cluster,
            Some(&["cpu_load", metric]),
            &[Node, MemoryDomain],
            0,
        )
        .expect_err("unsupported");
        assert!(matches!(
            error,
            LoadError::UnsupportedTransformation { native: n, requested: MemoryDomain } if n == native
        ));
        assert_eq!(
            error.to_string(),
            format!("METRICDATA/INTERNAL-CCMS > unsupported scope transformation: native-scope={native}, requested-scope=memoryDomain")
        );
        assert!(source.described().is_empty(), "{metric}");
    }
}

#[test]
fn memory_domain_outside_every_socket_is_an_error() {
    let mut cluster = numa_cluster();
    cluster.sub_clusters[0].topology.memory_domain = vec![vec![8, 0, 1]];
    let error = load(
        &default_source(),
        &gpu_job(),
        &cluster,
        Some(&["mem_numa"]),
        &[Socket],
        0,
    )
    .expect_err("unassigned domain");
    assert_eq!(
        error.to_string(),
        "METRICDATA/INTERNAL-CCMS > memory domain 0 could not be assigned to any socket"
    );
}

#[test]
fn testcluster_node_metric_at_every_scope_is_one_node_read() {
    let cluster = cluster("testcluster");
    let job = testcluster_job(json!([{"hostname": "host123"}]));
    for requested in MetricScope::ALL {
        let source = default_source();
        let data = load(&source, &job, &cluster, None, &[requested], 0).expect("loaded");
        assert_eq!(source.described(), ["load_one@host123"], "{requested}");
        assert_eq!(series_ids(&data, "load_one", Node), on("host123", &[None]));
    }
}

#[test]
fn read_carries_cluster_time_range_and_aggregation() {
    let cluster = cluster("testcluster");
    let mut job = testcluster_job(json!([{"hostname": "host123"}]));
    let source = default_source();
    load(&source, &job, &cluster, None, &[], 0).expect("loaded");
    job.job_state = JobState::Running;
    load(&source, &job, &cluster, None, &[], 0).expect("loaded");
    let reads = source.reads.borrow();
    let expected = Recorded {
        cluster: "testcluster".to_owned(),
        host: "host123".to_owned(),
        metric: "load_one".to_owned(),
        kind: None,
        ids: Vec::new(),
        combine: false,
        from: START,
        to: START + 600,
        aggregation: Aggregation::Avg,
    };
    assert_eq!(reads[0], expected);
    assert_eq!(
        reads[1],
        Recorded {
            to: NOW,
            ..expected
        }
    );
}

#[test]
fn defaults_load_every_metric_in_cluster_order_at_node_scope() {
    let source = default_source();
    let data = load(&source, &gpu_job(), &cluster("richcluster"), None, &[], 0).expect("data");
    assert_eq!(
        source.described(),
        [
            "cpu_load@rg0001",
            "mem_used@rg0001",
            "mem_bw@rg0001 socket combined(0,1)",
            "ipc@rg0001 core combined(0,1,2)",
            "cpu_user@rg0001 hwthread combined(0,1,4,2)",
            "flops_any@rg0001 hwthread combined(0,1,4,2)",
            "acc_utilization@rg0001 accelerator combined(00000000:01:00.0)",
            "acc_power@rg0001 accelerator combined(00000000:01:00.0)",
        ]
    );
    assert_eq!(data.len(), 8);
    assert!(data.values().all(|scopes| scopes.keys().eq([&Node])));
}

#[test]
fn hwthreads_default_to_the_topology_and_hosts_without_accelerators_are_skipped() {
    let job = job(
        "gpu",
        1,
        json!([{"hostname": "rg0001", "hwthreads": [0, 1], "accelerators": [GPU0]},
               {"hostname": "rg0002"}]),
    );
    let source = default_source();
    let data = load(
        &source,
        &job,
        &cluster("richcluster"),
        Some(&["cpu_user", "acc_power"]),
        &[Node],
        0,
    )
    .expect("data");
    assert_eq!(
        source.described(),
        [
            "cpu_user@rg0001 hwthread combined(0,1)",
            "cpu_user@rg0002 hwthread combined(0,1,2,3,4,5,6,7)",
            "acc_power@rg0001 accelerator combined(00000000:01:00.0)",
        ]
    );
    let mut expected = on("rg0001", &[None]);
    expected.extend(on("rg0002", &[None]));
    assert_eq!(series_ids(&data, "cpu_user", Node), expected);
}

#[test]
fn topology_without_cores_yields_no_core_reads() {
    let cluster = richcluster_with(|document| {
        let topology = &mut document["subClusters"][1]["topology"];
        topology.as_object_mut().expect("object").remove("core");
    });
    let job = job(
        "cpu",
        0,
        json!([{"hostname": "rc0001", "hwthreads": [0, 1]}]),
    );
    let source = default_source();
    let data = load(
        &source,
        &job,
        &cluster,
        Some(&["ipc", "cpu_user"]),
        &[Core, Socket],
        0,
    )
    .expect("data");
    assert_eq!(
        source.described(),
        ["cpu_user@rc0001 hwthread combined(0,1,4,5)"]
    );
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["cpu_user"],
        "nothing at core level"
    );
}

#[test]
fn accelerator_metrics_are_skipped_without_accelerators_or_when_removed() {
    let richcluster = cluster("richcluster");
    let gpu_without_accelerators = job(
        "gpu",
        0,
        json!([{"hostname": "rg0001", "accelerators": [GPU0]}]),
    );
    let cpu_job = job(
        "cpu",
        1,
        json!([{"hostname": "rc0001", "accelerators": [GPU0]}]),
    );
    for job in [gpu_without_accelerators, cpu_job] {
        let source = default_source();
        let data = load(
            &source,
            &job,
            &richcluster,
            Some(&["acc_utilization", "acc_power", "cpu_load"]),
            &[Accelerator, Node],
            0,
        )
        .expect("data");
        assert_eq!(
            source.described(),
            [format!(
                "cpu_load@{}",
                job.resources.as_ref().unwrap()[0].hostname
            )]
        );
        assert_eq!(data.keys().collect::<Vec<_>>(), ["cpu_load"]);
    }
}

#[test]
fn unknown_duplicate_metrics_and_duplicate_effective_scopes_are_read_once() {
    let source = default_source();
    let data = load(
        &source,
        &gpu_job(),
        &cluster("richcluster"),
        Some(&["cpu_load", "no_such_metric", "cpu_load", "mem_bw"]),
        &[Node, Core, Socket, HwThread],
        0,
    )
    .expect("data");
    assert_eq!(
        source.described(),
        [
            "cpu_load@rg0001",
            "mem_bw@rg0001 socket combined(0,1)",
            "mem_bw@rg0001 socket each(0,1)",
        ]
    );
    assert_eq!(series_ids(&data, "cpu_load", Node), on("rg0001", &[None]));
    assert_eq!(data["mem_bw"].keys().collect::<Vec<_>>(), [&Socket, &Node]);
}

#[test]
fn ids_stay_with_their_selector_when_series_are_missing() {
    let source = FakeSource::new(|read| {
        let series = |id: &str| (id != "1").then(|| raw(vec![1.0]));
        Ok(if read.combine {
            // The combined read of core 1 finds nothing.
            vec![series(&read.ids[0])]
        } else {
            read.ids.iter().map(|id| series(id)).collect()
        })
    });
    let data = load(
        &source,
        &gpu_job(),
        &cluster("richcluster"),
        Some(&["cpu_user"]),
        &[HwThread, Core],
        0,
    )
    .expect("data");
    assert_eq!(
        series_ids(&data, "cpu_user", HwThread),
        on("rg0001", &[Some("0"), Some("4"), Some("2")])
    );
    assert_eq!(
        series_ids(&data, "cpu_user", Core),
        on("rg0001", &[Some("0"), Some("2")])
    );
}

#[test]
fn metrics_without_any_series_are_dropped() {
    let source = FakeSource::new(|read| {
        Ok(vec![
            (read.metric != "cpu_load").then(|| raw(vec![1.0]));
            read.answers()
        ])
    });
    let data = load(
        &source,
        &gpu_job(),
        &cluster("richcluster"),
        Some(&["cpu_load", "mem_used"]),
        &[Node],
        0,
    )
    .expect("data");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["mem_used"]);
    let nothing = FakeSource::new(|read| Ok(vec![None; read.answers()]));
    let empty = load(&nothing, &gpu_job(), &cluster("richcluster"), None, &[], 0);
    assert!(empty.expect("no data is no error").is_empty());
}

#[test]
fn unit_and_timestep_come_from_the_configuration_and_the_samples() {
    let data = load(
        &default_source(),
        &gpu_job(),
        &cluster("richcluster"),
        Some(&["mem_used"]),
        &[Node],
        0,
    )
    .expect("data");
    let metric = &data["mem_used"][&Node];
    assert_eq!(
        metric.unit,
        Unit {
            base: "B".to_owned(),
            prefix: "G".to_owned()
        }
    );
    assert_eq!(metric.timestep, 60);
    assert_eq!(metric.series[0].data, [1.0, 2.0, 4.0]);
}

#[test]
fn unit_of_a_metric_listed_by_the_sub_cluster_is_its_own() {
    let cluster = richcluster_with(|document| {
        let entry = json!({"name": "mem_used", "unit": {"base": "B", "prefix": "M"},
            "scope": "node", "aggregation": "sum", "timestep": 60,
            "peak": 1, "normal": 1, "caution": 1, "alert": 1});
        document["subClusters"][0]["metricConfig"] = json!([entry]);
    });
    let data = load(
        &default_source(),
        &gpu_job(),
        &cluster,
        Some(&["mem_used"]),
        &[Node],
        0,
    )
    .expect("data");
    assert_eq!(data["mem_used"][&Node].unit.prefix, "M");
}

#[test]
fn statistics_are_computed_per_series_and_rounded() {
    let source = FakeSource::new(|read| {
        let data = match read.host.as_str() {
            "rg0001" => vec![1.0, 2.0, 4.0],
            "rg0002" => vec![1.0, f64::NAN, 3.0],
            _ => vec![f64::NAN, f64::NAN],
        };
        Ok(vec![Some(raw(data))])
    });
    let job = job(
        "gpu",
        0,
        json!([{"hostname": "rg0001"}, {"hostname": "rg0002"}, {"hostname": "rg0003"}]),
    );
    let data = load(
        &source,
        &job,
        &cluster("richcluster"),
        Some(&["cpu_load"]),
        &[Node],
        0,
    )
    .expect("data");
    let statistics: Vec<(f64, f64, f64)> = data["cpu_load"][&Node]
        .series
        .iter()
        .map(|series| {
            let stats = series.statistics;
            (stats.min, stats.avg, stats.max)
        })
        .collect();
    assert_eq!(
        statistics,
        [(1.0, 2.33, 4.0), (1.0, 2.0, 3.0), (0.0, 0.0, 0.0)]
    );
}

#[test]
fn series_are_resampled_to_the_resolution_after_statistics() {
    let values: Vec<f64> = (0..2000).map(f64::from).collect();
    let job = gpu_job();
    let cluster = cluster("richcluster");
    for (resolution, length, timestep) in [(0, 2000, 60), (60, 2000, 60), (120, 1000, 120)] {
        let source = FakeSource::with_values(values.clone());
        let data = load(
            &source,
            &job,
            &cluster,
            Some(&["cpu_load"]),
            &[Node],
            resolution,
        )
        .expect("data");
        let metric = &data["cpu_load"][&Node];
        assert_eq!(metric.timestep, timestep, "resolution {resolution}");
        let series = &metric.series[0];
        assert_eq!(series.data.len(), length, "resolution {resolution}");
        assert_eq!(series.data.first(), Some(&0.0));
        assert_eq!(series.data.last(), Some(&1999.0));
        assert_eq!(
            (
                series.statistics.min,
                series.statistics.avg,
                series.statistics.max
            ),
            (0.0, 999.5, 1999.0)
        );
    }
}

#[test]
fn resampling_failure_is_a_fetch_failure() {
    let values: Vec<f64> = (0..2000).map(f64::from).collect();
    let error = load(
        &FakeSource::with_values(values),
        &gpu_job(),
        &cluster("richcluster"),
        Some(&["cpu_load"]),
        &[Node],
        90,
    )
    .expect_err("90 is no multiple of 60");
    let LoadError::Fetch(failures) = error else {
        panic!("fetch failure expected: {error}");
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].metric, "cpu_load");
    assert_eq!(failures[0].host, "rg0001");
    assert_eq!(
        failures[0].reason,
        "new sampling frequency (90) must be a multiple of old frequency (60)"
    );
}

#[test]
fn statistics_series_from_eight_series_on() {
    let cluster = cluster("richcluster");
    for (hwthreads, expected) in [
        (json!([0, 1, 2, 3, 4, 5, 6, 7]), true),
        (json!([0, 1, 2, 3, 4, 5, 6]), false),
    ] {
        let job = job(
            "gpu",
            0,
            json!([{"hostname": "rg0001", "hwthreads": hwthreads}]),
        );
        let data = load(
            &default_source(),
            &job,
            &cluster,
            Some(&["cpu_user"]),
            &[HwThread],
            0,
        )
        .expect("data");
        let metric = &data["cpu_user"][&HwThread];
        assert_eq!(metric.statistics_series.is_some(), expected);
        if let Some(statistics_series) = &metric.statistics_series {
            assert_eq!(statistics_series.min, [1.0, 2.0, 4.0]);
            assert_eq!(statistics_series.max, [1.0, 2.0, 4.0]);
        }
    }
}

#[test]
fn node_scope_is_summed_up_only_when_node_is_requested() {
    // The node-level read of flops_any finds nothing; its per-core series exist.
    let source = || {
        FakeSource::new(|read| {
            let node_read = read.combine && read.ids.len() > 2;
            Ok(vec![
                (!node_read).then(|| raw(vec![1.0, 2.0, 4.0]));
                read.answers()
            ])
        })
    };
    let cluster = cluster("richcluster");
    let job = job(
        "gpu",
        0,
        json!([{"hostname": "rg0001", "hwthreads": [0, 1, 2, 3]}]),
    );
    let with_node = load(
        &source(),
        &job,
        &cluster,
        Some(&["flops_any"]),
        &[Core, Node],
        0,
    )
    .expect("data");
    assert_eq!(
        with_node["flops_any"].keys().collect::<Vec<_>>(),
        [&Core, &Node]
    );
    let node = &with_node["flops_any"][&Node];
    assert_eq!(
        series_ids(&with_node, "flops_any", Node),
        on("rg0001", &[None])
    );
    assert_eq!(node.series[0].data, [4.0, 8.0, 16.0]);

    let without_node =
        load(&source(), &job, &cluster, Some(&["flops_any"]), &[Core], 0).expect("data");
    assert_eq!(
        without_node["flops_any"].keys().collect::<Vec<_>>(),
        [&Core]
    );
}

#[test]
fn read_failures_fail_the_load_only_without_any_data() {
    let cluster = cluster("testcluster");
    let job = testcluster_job(json!([{"hostname": "host123"}, {"hostname": "host124"}]));
    let all_fail = FakeSource::new(|_| Err(ReadError("boom".to_owned())));
    let error = load(&all_fail, &job, &cluster, None, &[], 0).expect_err("no data");
    assert_eq!(
        error.to_string(),
        "METRICDATA/INTERNAL-CCMS > Errors: failed to fetch 'load_one' from host 'host123': boom, \
         failed to fetch 'load_one' from host 'host124': boom"
    );

    let one_fails = FakeSource::new(|read| {
        if read.host == "host124" {
            Err(ReadError("boom".to_owned()))
        } else {
            Ok(vec![Some(raw(vec![1.0]))])
        }
    });
    let data = load(&one_fails, &job, &cluster, None, &[], 0).expect("partial data");
    assert_eq!(series_ids(&data, "load_one", Node), on("host123", &[None]));
}

#[test]
fn job_without_resources_or_known_sub_cluster_is_an_error() {
    let cluster = cluster("richcluster");
    for resources in [json!(null), json!([])] {
        let error = load(
            &default_source(),
            &job("gpu", 0, resources),
            &cluster,
            None,
            &[],
            0,
        )
        .expect_err("no resources");
        assert_eq!(
            error.to_string(),
            "METRICDATA/INTERNAL-CCMS > no resources allocated for job 42"
        );
    }
    let error = load(
        &default_source(),
        &job("fpga", 0, json!([{"hostname": "rg0001"}])),
        &cluster,
        None,
        &[],
        0,
    )
    .expect_err("unknown sub-cluster");
    assert_eq!(
        error.to_string(),
        "subcluster 'fpga' not found for cluster 'richcluster', or cluster 'richcluster' not configured"
    );
}
