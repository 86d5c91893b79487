//! Loading a job's data from the sample store (docs/metricstore.md#loading-job-data-from-the-store): the job's
//! resources and its sub-cluster's topology decide which series to read for every metric and
//! scope (scope transformation), the reads are assembled into [`JobData`] and post-processed.
//!
//! Deliberate differences from the reference (docs/compatibility.md#job-data):
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
        // Partial data is served; the failures are only worth a log line (docs/metricstore.md#partial-failures).
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

/// The reads of one host turning `native`-scope samples into `scope` series (docs/metricstore.md#scope-transformations);
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
mod tests;
