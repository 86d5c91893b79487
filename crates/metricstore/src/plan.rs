//! Loading a job's data from the sample store (spec metricstore.md §4.2 and §4.4): the job's
//! resources and its sub-cluster's topology decide which series to read for every metric and
//! scope (scope transformation), the reads are assembled into [`JobData`] and post-processed.
//!
//! Deliberate differences from the reference (spec §6 recommendations):
//! - a series' id belongs to the selector it was read for, so a selector without samples leaves
//!   no gap that shifts the ids of later series;
//! - combined series carry the id of the unit they stand for (core, socket or memory domain),
//!   node-level series carry none;
//! - core → socket combines the socket's core ids (the reference uses its hwthread ids);
//! - units touched by a job are listed in ascending id order (the reference's order is random).
//!
//! A topology without a `core` list knows no cores, as in the reference: core-level selections
//! are empty, so such reads are left out and yield no series.

use std::collections::BTreeMap;
use std::fmt;

use cc_model::{Cluster, Job, JobState, MetricConfig, MetricScope, Resource, Topology, Unit};

use crate::jobdata::lttb::{resample, MINIMUM_POINTS};
use crate::jobdata::stats::{post_process, series_statistics};
use crate::jobdata::{JobData, JobMetric, Series};
use crate::source::{SampleSource, Selector, SeriesQuery};

/// What to load of a job.
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest<'a> {
    /// Metric names; `None`: every metric of the cluster, in configuration order.
    pub metrics: Option<&'a [String]>,
    /// Requested scopes; empty: `node` (the reference's default for a missing list).
    pub scopes: &'a [MetricScope],
    /// Target seconds between values (LTTB down-sampling); 0 keeps the native timestep.
    pub resolution: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("METRICDATA/INTERNAL-CCMS > no resources allocated for job {job_id}")]
    NoResources { job_id: i64 },
    #[error("subcluster '{sub_cluster}' not found for cluster '{cluster}', or cluster '{cluster}' not configured")]
    UnknownSubCluster {
        cluster: String,
        sub_cluster: String,
    },
    #[error("METRICDATA/INTERNAL-CCMS > unsupported scope transformation: native-scope={native}, requested-scope={requested}")]
    UnsupportedTransformation {
        native: MetricScope,
        requested: MetricScope,
    },
    /// The topology lists a memory domain whose first hwthread is in no socket.
    #[error(
        "METRICDATA/INTERNAL-CCMS > memory domain {domain} could not be assigned to any socket"
    )]
    UnassignedMemoryDomain { domain: usize },
    /// Reads failed and nothing at all was loaded.
    #[error("METRICDATA/INTERNAL-CCMS > Errors: {}", join(.0))]
    Fetch(Vec<FetchFailure>),
}

/// A read (or the resampling of its result) that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchFailure {
    pub metric: String,
    pub host: String,
    pub reason: String,
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "failed to fetch '{}' from host '{}': {}",
            self.metric, self.host, self.reason
        )
    }
}

fn join(failures: &[FetchFailure]) -> String {
    let messages: Vec<String> = failures.iter().map(ToString::to_string).collect();
    messages.join(", ")
}

/// The job's data from the sample store over `[start, start + duration]`; a running job's
/// duration is `now - start`. Reads that fail are left out unless nothing at all was loaded.
pub fn load_from_store(
    source: &dyn SampleSource,
    job: &Job,
    cluster: &Cluster,
    request: &LoadRequest<'_>,
    now: i64,
) -> Result<JobData, LoadError> {
    let scopes: &[MetricScope] = if request.scopes.is_empty() {
        &[MetricScope::Node]
    } else {
        request.scopes
    };
    let reads = plan_reads(job, cluster, request.metrics, scopes)?;
    let from = job.start_time;
    let to = if job.job_state == JobState::Running {
        now
    } else {
        job.start_time + job.duration
    };

    let mut data = JobData::new();
    let mut failures = Vec::new();
    for read in &reads {
        let failure = |reason: String| FetchFailure {
            metric: read.metric.name.clone(),
            host: read.host.to_owned(),
            reason,
        };
        let query = SeriesQuery {
            cluster: &cluster.name,
            host: read.host,
            metric: &read.metric.name,
            selector: read.selection.as_ref().map(|selection| Selector {
                kind: selection.kind.as_str(),
                ids: &selection.ids,
                combine: selection.combined.is_some(),
            }),
            from,
            to,
            aggregation: read.metric.aggregation,
        };
        let results = match source.read(&query) {
            Ok(results) => results,
            Err(error) => {
                failures.push(failure(error.to_string()));
                continue;
            }
        };
        for (id, raw) in read.series_ids().into_iter().zip(results) {
            let Some(raw) = raw else { continue };
            let statistics = series_statistics(&raw.data);
            let (values, timestep) =
                match resample(&raw.data, raw.timestep, request.resolution, MINIMUM_POINTS) {
                    Ok(resampled) => resampled,
                    Err(error) => {
                        failures.push(failure(error.to_string()));
                        continue;
                    }
                };
            data.entry(read.metric.name.clone())
                .or_default()
                .entry(read.scope)
                .or_insert_with(|| JobMetric {
                    unit: read.unit.clone(),
                    timestep,
                    series: Vec::new(),
                    statistics_series: None,
                })
                .series
                .push(Series {
                    hostname: read.host.to_owned(),
                    id,
                    statistics,
                    data: values,
                });
        }
    }
    if !failures.is_empty() {
        if data.is_empty() {
            return Err(LoadError::Fetch(failures));
        }
        // Partial data is served; the failures are only worth a log line (spec §4.2).
        eprintln!(
            "job {} loaded with errors: {}",
            job.job_id,
            LoadError::Fetch(failures)
        );
    }

    post_process(&mut data, scopes.contains(&MetricScope::Node));
    Ok(data)
}

/// One read of the plan and where its series belong.
struct PlannedRead<'a> {
    /// Cluster-level configuration: scope, aggregation and name.
    metric: &'a MetricConfig,
    /// Unit of the metric on the job's sub-cluster.
    unit: &'a Unit,
    /// The effective scope the series are filed under.
    scope: MetricScope,
    host: &'a str,
    /// `None`: the host level itself.
    selection: Option<Selection>,
}

/// Hardware units below a host.
struct Selection {
    kind: MetricScope,
    ids: Vec<String>,
    /// `None`: one series per id. `Some(id)`: all ids combined into one series with that id.
    combined: Option<Option<String>>,
}

impl PlannedRead<'_> {
    /// The id of every series the read answers, in answer order.
    fn series_ids(&self) -> Vec<Option<String>> {
        match &self.selection {
            None => vec![None],
            Some(Selection {
                combined: Some(id), ..
            }) => vec![id.clone()],
            Some(Selection { ids, .. }) => ids.iter().cloned().map(Some).collect(),
        }
    }
}

impl Selection {
    fn each<T: ToString>(kind: MetricScope, ids: impl IntoIterator<Item = T>) -> Self {
        Selection {
            kind,
            ids: ids.into_iter().map(|id| id.to_string()).collect(),
            combined: None,
        }
    }

    fn combined<T: ToString>(
        kind: MetricScope,
        ids: impl IntoIterator<Item = T>,
        series_id: Option<usize>,
    ) -> Self {
        Selection {
            combined: Some(series_id.map(|id| id.to_string())),
            ..Selection::each(kind, ids)
        }
    }
}

/// Every read for the requested metrics and scopes, in metric, scope, host order. Fails before
/// anything is read if one transformation is unsupported.
fn plan_reads<'a>(
    job: &'a Job,
    cluster: &'a Cluster,
    metrics: Option<&[String]>,
    scopes: &[MetricScope],
) -> Result<Vec<PlannedRead<'a>>, LoadError> {
    let resources = job.resources.as_deref().unwrap_or_default();
    if resources.is_empty() {
        return Err(LoadError::NoResources { job_id: job.job_id });
    }
    let sub_cluster =
        cluster
            .subcluster(&job.sub_cluster)
            .ok_or_else(|| LoadError::UnknownSubCluster {
                cluster: cluster.name.clone(),
                sub_cluster: job.sub_cluster.clone(),
            })?;
    let topology = &sub_cluster.topology;

    let mut names: Vec<&str> = match metrics {
        Some(names) => names.iter().map(String::as_str).collect(),
        None => cluster
            .metric_config
            .iter()
            .map(|metric| metric.name.as_str())
            .collect(),
    };
    // A name listed twice would otherwise file every series twice.
    let mut seen = Vec::new();
    names.retain(|name| {
        let first = !seen.contains(name);
        seen.push(*name);
        first
    });

    let mut reads = Vec::new();
    for name in names {
        let (Some(metric), Some(on_sub_cluster)) = (cluster.metric(name), sub_cluster.metric(name))
        else {
            continue;
        };
        if metric.scope == MetricScope::Accelerator && job.num_acc == 0 {
            continue;
        }
        let mut handled = Vec::new();
        for &requested in scopes {
            let scope = metric.scope.max(requested);
            if handled.contains(&scope) {
                continue;
            }
            handled.push(scope);
            for resource in resources {
                let selections =
                    host_selections(metric.scope, scope, requested, topology, resource)?;
                reads.extend(
                    selections
                        .into_iter()
                        .filter(|selection| {
                            selection.as_ref().is_none_or(|below| !below.ids.is_empty())
                        })
                        .map(|selection| PlannedRead {
                            metric,
                            unit: &on_sub_cluster.unit,
                            scope,
                            host: &resource.hostname,
                            selection,
                        }),
                );
            }
        }
    }
    Ok(reads)
}

/// The reads of one host turning `native`-scope samples into `scope` series (spec §4.2 table);
/// `None` reads the host level itself.
fn host_selections(
    native: MetricScope,
    scope: MetricScope,
    requested: MetricScope,
    topology: &Topology,
    resource: &Resource,
) -> Result<Vec<Option<Selection>>, LoadError> {
    use MetricScope::{Accelerator, Core, HwThread, MemoryDomain, Node, Socket};

    let hwthreads: &[i64] = if resource.hwthreads.is_empty() {
        &topology.node
    } else {
        &resource.hwthreads
    };
    let cores = topology.core.as_deref().unwrap_or_default();
    let accelerators = &resource.accelerators;
    let selections = match (native, scope) {
        (Accelerator, Accelerator) => vec![Selection::each(Accelerator, accelerators)],
        (Accelerator, Node) => vec![Selection::combined(Accelerator, accelerators, None)],
        (Accelerator, _) => Vec::new(),
        (HwThread, HwThread) => vec![Selection::each(HwThread, hwthreads)],
        (HwThread, Core) => touched(cores, hwthreads)
            .into_iter()
            .map(|core| Selection::combined(HwThread, &cores[core], Some(core)))
            .collect(),
        (HwThread, Socket) => touched(&topology.socket, hwthreads)
            .into_iter()
            .map(|socket| Selection::combined(HwThread, &topology.socket[socket], Some(socket)))
            .collect(),
        (HwThread, Node) => vec![Selection::combined(HwThread, hwthreads, None)],
        (Core, Core) => vec![Selection::each(Core, touched(cores, hwthreads))],
        (Core, Socket) => {
            let core_hwthreads: Vec<i64> = touched(cores, hwthreads)
                .into_iter()
                .flat_map(|core| cores[core].iter().copied())
                .collect();
            touched(&topology.socket, &core_hwthreads)
                .into_iter()
                .map(|socket| {
                    let socket_cores = touched(cores, &topology.socket[socket]);
                    Selection::combined(Core, socket_cores, Some(socket))
                })
                .collect()
        }
        (Core, Node) => vec![Selection::combined(Core, touched(cores, hwthreads), None)],
        (MemoryDomain, MemoryDomain) => vec![Selection::each(
            MemoryDomain,
            touched(&topology.memory_domain, hwthreads),
        )],
        (MemoryDomain, Socket) => {
            let mut domains_by_socket: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for domain in touched(&topology.memory_domain, hwthreads) {
                let socket = topology.memory_domain[domain]
                    .first()
                    .and_then(|first| {
                        topology
                            .socket
                            .iter()
                            .position(|members| members.contains(first))
                    })
                    .ok_or(LoadError::UnassignedMemoryDomain { domain })?;
                domains_by_socket.entry(socket).or_default().push(domain);
            }
            domains_by_socket
                .into_iter()
                .map(|(socket, domains)| Selection::combined(MemoryDomain, domains, Some(socket)))
                .collect()
        }
        (MemoryDomain, Node) => vec![Selection::combined(
            MemoryDomain,
            touched(&topology.memory_domain, hwthreads),
            None,
        )],
        (Socket, Socket) => vec![Selection::each(
            Socket,
            touched(&topology.socket, hwthreads),
        )],
        (Socket, Node) => vec![Selection::combined(
            Socket,
            touched(&topology.socket, hwthreads),
            None,
        )],
        (Node, Node) => return Ok(vec![None]),
        _ => return Err(LoadError::UnsupportedTransformation { native, requested }),
    };
    Ok(selections.into_iter().map(Some).collect())
}

/// Indices of the groups (cores, sockets, memory domains) holding any of `hwthreads`, ascending.
fn touched(groups: &[Vec<i64>], hwthreads: &[i64]) -> Vec<usize> {
    groups
        .iter()
        .enumerate()
        .filter(|(_, members)| members.iter().any(|member| hwthreads.contains(member)))
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
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
    fn series_ids(
        data: &JobData,
        metric: &str,
        scope: MetricScope,
    ) -> Vec<(String, Option<String>)> {
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
}
