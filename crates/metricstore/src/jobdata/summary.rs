//! The pure parts of the job archive: job statistics, footprint and energy computed when a job
//! is archived (docs/jobs.md#archiving-after-stop), the `data.json[.gz]` file format, and the
//! selection of archived data for a read (docs/metricstore.md#archived-job-data).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use cc_model::{
    to_go_json, Cluster, EnergyKind, Footprint, JobStatistics, MetricScope, SubCluster,
};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::lttb::{resample, ResampleError, MINIMUM_POINTS};
use super::stats::{min_max_of_statistics, round2};
use super::JobData;

pub const DATA_FILE: &str = "data.json";
pub const COMPRESSED_DATA_FILE: &str = "data.json.gz";

/// Encoded job data longer than this is stored compressed.
const COMPRESSION_THRESHOLD: usize = 2000;

/// The job data file of an archived job, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// [`DATA_FILE`] or [`COMPRESSED_DATA_FILE`].
    pub name: &'static str,
    pub contents: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    #[error("job data JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("job data gzip: {0}")]
    Gzip(#[from] io::Error),
}

/// Statistics per metric over the job, from node-scope series only (metrics without node scope
/// are left out): average of the series averages over `num_nodes` (two decimals), min of mins,
/// max of maxes, unit of the cluster's metric configuration (the data's own unit for a metric the
/// cluster does not configure).
pub fn job_statistics(
    data: &JobData,
    cluster: &Cluster,
    num_nodes: i64,
) -> BTreeMap<String, JobStatistics> {
    data.iter()
        .filter_map(|(name, scopes)| {
            let node = scopes.get(&MetricScope::Node)?;
            let avg_sum = node
                .series
                .iter()
                .fold(0.0, |sum, series| sum + series.statistics.avg);
            let (min, max) = min_max_of_statistics(&node.series);
            let unit = cluster
                .metric(name)
                .map_or_else(|| node.unit.clone(), |config| config.unit.clone());
            let statistics = JobStatistics {
                unit,
                avg: round2(avg_sum / num_nodes as f64),
                min,
                max,
            };
            Some((name.clone(), statistics))
        })
        .collect()
}

/// The job's footprint: for every footprint metric of the sub-cluster `<metric>_<stat>` → that
/// statistic of the job (0 when the job has no statistics for the metric).
pub fn footprint(
    statistics: &BTreeMap<String, JobStatistics>,
    sub_cluster: &SubCluster,
) -> BTreeMap<String, f64> {
    sub_cluster
        .footprint
        .iter()
        .filter_map(|name| {
            let config = sub_cluster.metric(name)?;
            let job = statistics.get(name);
            let (stat, value) = match config.footprint {
                Footprint::None => return None,
                Footprint::Avg => ("avg", job.map(|job| job.avg)),
                Footprint::Min => ("min", job.map(|job| job.min)),
                Footprint::Max => ("max", job.map(|job| job.max)),
            };
            Some((format!("{name}_{stat}"), value.unwrap_or(0.0)))
        })
        .collect()
}

/// The job's energy in kWh per energy metric of the sub-cluster and in total, each rounded to
/// two decimals. A power metric contributes `avg × num_nodes × duration / 3600 / 1000`; metrics
/// that measure energy themselves contribute 0, as in the reference (not implemented there).
pub fn energy(
    statistics: &BTreeMap<String, JobStatistics>,
    sub_cluster: &SubCluster,
    num_nodes: i64,
    duration: i64,
) -> (BTreeMap<String, f64>, f64) {
    let mut per_metric = BTreeMap::new();
    let mut total = 0.0;
    for name in &sub_cluster.energy_footprint {
        let kind = sub_cluster.metric(name).map(|config| config.energy);
        let metric_energy = match kind {
            Some(EnergyKind::Power) => {
                let avg = statistics.get(name).map_or(0.0, |job| job.avg);
                // Same operation order as the reference, for identical rounding.
                round2(((avg * num_nodes as f64) * (duration as f64 / 3600.0)) / 1000.0)
            }
            Some(EnergyKind::Energy | EnergyKind::None) | None => 0.0,
        };
        per_metric.insert(name.clone(), metric_energy);
        total += metric_energy;
    }
    (per_metric, round2(total))
}

/// Encodes job data like the reference's archive: Go-style JSON with a trailing newline,
/// gzip-compressed as [`COMPRESSED_DATA_FILE`] when longer than 2000 bytes.
pub fn encode_data_file(data: &JobData) -> Result<DataFile, DataFileError> {
    let json = to_go_json(data)?;
    if json.len() <= COMPRESSION_THRESHOLD {
        return Ok(DataFile {
            name: DATA_FILE,
            contents: json,
        });
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
    encoder.write_all(&json)?;
    Ok(DataFile {
        name: COMPRESSED_DATA_FILE,
        contents: encoder.finish()?,
    })
}

/// Decodes the contents of [`DATA_FILE`] or, with `compressed`, [`COMPRESSED_DATA_FILE`].
pub fn decode_data_file(contents: &[u8], compressed: bool) -> Result<JobData, DataFileError> {
    if !compressed {
        return Ok(serde_json::from_slice(contents)?);
    }
    let mut json = Vec::with_capacity(contents.len() * 8);
    GzDecoder::new(contents).read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// Archived job data prepared for a read (docs/metricstore.md#archived-job-data): every series down-sampled to `resolution`
/// (the metric's timestep becomes the resulting one; a metric without series keeps its stored
/// timestep), then, if `metrics` or `scopes` is given, only the requested metrics (all when
/// `metrics` is `None`) and, for metrics stored at several scopes, only the requested scopes
/// (all if none of them is stored). A failed down-sampling fails the whole read.
pub fn select_archived(
    mut data: JobData,
    metrics: Option<&[String]>,
    scopes: Option<&[MetricScope]>,
    resolution: i64,
) -> Result<JobData, ResampleError> {
    for metric in data.values_mut().flat_map(|scopes| scopes.values_mut()) {
        let mut timestep = metric.timestep;
        for series in &mut metric.series {
            (series.data, timestep) =
                resample(&series.data, metric.timestep, resolution, MINIMUM_POINTS)?;
        }
        metric.timestep = timestep;
    }
    if metrics.is_none() && scopes.is_none() {
        return Ok(data);
    }

    let requested_scopes = scopes.unwrap_or_default();
    let names: Vec<String> = match metrics {
        Some(metrics) => metrics.to_vec(),
        None => data.keys().cloned().collect(),
    };
    let mut selected = JobData::new();
    for name in names {
        let Some(mut stored) = data.remove(&name) else {
            continue;
        };
        if stored.len() > 1 {
            let requested: BTreeMap<_, _> = requested_scopes
                .iter()
                .filter_map(|scope| stored.remove_entry(scope))
                .collect();
            if !requested.is_empty() {
                stored = requested;
            }
        }
        selected.insert(name, stored);
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use cc_model::{load_cluster, Unit};

    use super::super::{JobMetric, MetricStatistics, Series};
    use super::*;

    const ARCHIVED_DATA: &[u8] = include_bytes!("../../testdata/emmy-1403244/data.json.gz");
    const ARCHIVED_META: &[u8] = include_bytes!("../../testdata/emmy-1403244/meta.json");

    fn richcluster() -> Cluster {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
        load_cluster(&dir, "richcluster").expect("fixture cluster")
    }

    fn unit(base: &str, prefix: &str) -> Unit {
        Unit {
            base: base.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    fn series(hostname: &str, min: f64, avg: f64, max: f64, data: Vec<f64>) -> Series {
        Series {
            hostname: hostname.to_owned(),
            id: None,
            statistics: MetricStatistics { min, avg, max },
            data,
        }
    }

    fn metric(timestep: i64, series: Vec<Series>) -> JobMetric {
        JobMetric {
            unit: unit("x", ""),
            timestep,
            series,
            statistics_series: None,
        }
    }

    fn job_data(entries: Vec<(&str, MetricScope, JobMetric)>) -> JobData {
        let mut data = JobData::new();
        for (name, scope, metric) in entries {
            data.entry(name.to_owned())
                .or_default()
                .insert(scope, metric);
        }
        data
    }

    fn statistics(base: &str, prefix: &str, avg: f64, min: f64, max: f64) -> JobStatistics {
        JobStatistics {
            unit: unit(base, prefix),
            avg,
            min,
            max,
        }
    }

    #[test]
    fn job_statistics_from_node_scope() {
        let data = job_data(vec![
            (
                "cpu_load",
                MetricScope::Node,
                metric(
                    60,
                    vec![
                        series("rg0001", 1.0, 2.0, 3.0, vec![]),
                        series("rg0002", 0.5, 2.015, 4.25, vec![]),
                    ],
                ),
            ),
            (
                "mem_bw",
                MetricScope::Node,
                metric(60, vec![series("rg0001", 10.0, 30.0, 50.0, vec![])]),
            ),
            (
                "mem_bw",
                MetricScope::Socket,
                metric(60, vec![series("rg0001", 0.0, 99.0, 99.0, vec![])]),
            ),
            (
                "ipc",
                MetricScope::Core,
                metric(60, vec![series("rg0001", 1.0, 1.0, 1.0, vec![])]),
            ),
            (
                "unconfigured",
                MetricScope::Node,
                metric(60, vec![series("rg0001", 1.0, 1.0, 1.0, vec![])]),
            ),
        ]);
        let result = job_statistics(&data, &richcluster(), 2);
        assert_eq!(
            result,
            BTreeMap::from([
                // (2 + 2.015) / 2 = 2.0075 → 2.01
                ("cpu_load".to_owned(), statistics("", "", 2.01, 0.5, 4.25)),
                // Divided by the job's node count, not the number of series.
                (
                    "mem_bw".to_owned(),
                    statistics("B/s", "G", 15.0, 10.0, 50.0)
                ),
                (
                    "unconfigured".to_owned(),
                    statistics("x", "", 0.5, 1.0, 1.0)
                ),
            ])
        );
    }

    #[test]
    fn footprint_uses_the_configured_statistic() {
        let cluster = richcluster();
        let sub_cluster = cluster.subcluster("gpu").expect("gpu sub-cluster");
        assert_eq!(sub_cluster.footprint, ["cpu_load", "mem_used", "mem_bw"]);
        let job = BTreeMap::from([
            ("cpu_load".to_owned(), statistics("", "", 2.5, 1.0, 4.0)),
            (
                "mem_used".to_owned(),
                statistics("B", "G", 20.0, 10.0, 30.0),
            ),
            ("ipc".to_owned(), statistics("IPC", "", 1.0, 1.0, 1.0)),
        ]);
        assert_eq!(
            footprint(&job, sub_cluster),
            BTreeMap::from([
                ("cpu_load_avg".to_owned(), 2.5),
                ("mem_used_max".to_owned(), 30.0),
                ("mem_bw_avg".to_owned(), 0.0),
            ])
        );
    }

    #[test]
    fn energy_of_power_metrics() {
        let cluster = richcluster();
        let mut sub_cluster = cluster.subcluster("gpu").expect("gpu sub-cluster").clone();
        assert!(sub_cluster.energy_footprint.is_empty());
        assert_eq!(
            energy(&BTreeMap::new(), &sub_cluster, 2, 3600),
            (BTreeMap::new(), 0.0)
        );

        // Make acc_power a power metric and cpu_load an energy metric.
        for (name, kind) in [
            ("acc_power", EnergyKind::Power),
            ("cpu_load", EnergyKind::Energy),
        ] {
            sub_cluster
                .metric_config
                .iter_mut()
                .find(|config| config.name == name)
                .expect("configured metric")
                .energy = kind;
            sub_cluster.energy_footprint.push(name.to_owned());
        }
        let job = BTreeMap::from([
            (
                "acc_power".to_owned(),
                statistics("W", "", 250.0, 0.0, 300.0),
            ),
            ("cpu_load".to_owned(), statistics("", "", 2.0, 0.0, 4.0)),
        ]);
        // 250 W × 2 nodes × 5000 s = 0.69444 kWh
        let (per_metric, total) = energy(&job, &sub_cluster, 2, 5000);
        assert_eq!(
            per_metric,
            BTreeMap::from([("acc_power".to_owned(), 0.69), ("cpu_load".to_owned(), 0.0)])
        );
        assert_eq!(total, 0.69);
        let (per_metric, total) = energy(&BTreeMap::new(), &sub_cluster, 2, 5000);
        assert_eq!(per_metric["acc_power"], 0.0);
        assert_eq!(total, 0.0);
    }

    #[test]
    fn select_archived_resamples_and_filters() {
        let long: Vec<f64> = (0..1200).map(f64::from).collect();
        let data = job_data(vec![
            (
                "a",
                MetricScope::Node,
                metric(60, vec![series("h1", 0.0, 0.0, 0.0, long.clone())]),
            ),
            (
                "a",
                MetricScope::Core,
                metric(60, vec![series("h1", 0.0, 0.0, 0.0, vec![1.0, 2.0])]),
            ),
            ("b", MetricScope::Node, metric(60, vec![])),
            (
                "c",
                MetricScope::Socket,
                metric(60, vec![series("h1", 0.0, 0.0, 0.0, long.clone())]),
            ),
        ]);

        let all = select_archived(data.clone(), None, None, 120).expect("multiple");
        let node = &all["a"][&MetricScope::Node];
        assert_eq!((node.timestep, node.series[0].data.len()), (120, 600));
        // Too short to resample: unchanged, stored timestep.
        assert_eq!(all["a"][&MetricScope::Core].timestep, 60);
        assert_eq!(all["a"][&MetricScope::Core].series[0].data, [1.0, 2.0]);
        assert_eq!(all["b"][&MetricScope::Node].timestep, 60);
        assert_eq!(all["c"][&MetricScope::Socket].timestep, 120);

        let names = ["a".to_owned(), "b".to_owned(), "missing".to_owned()];
        let core_only = select_archived(data.clone(), Some(&names), Some(&[MetricScope::Core]), 0)
            .expect("no resampling");
        assert_eq!(core_only.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            core_only["a"].keys().collect::<Vec<_>>(),
            [&MetricScope::Core]
        );
        assert_eq!(
            core_only["a"][&MetricScope::Core].series[0].data,
            [1.0, 2.0]
        );
        // A single stored scope is kept whatever was requested.
        assert!(core_only["b"].contains_key(&MetricScope::Node));

        let unknown_scope = select_archived(data.clone(), None, Some(&[MetricScope::HwThread]), 0)
            .expect("no resampling");
        assert_eq!(unknown_scope["a"].len(), 2);
        assert_eq!(unknown_scope.len(), 3);
        assert_eq!(
            unknown_scope["c"][&MetricScope::Socket].series[0].data,
            long
        );

        let error = select_archived(data, None, None, 90).expect_err("not a multiple");
        assert_eq!(error, ResampleError { old: 60, new: 90 });
    }

    #[test]
    fn small_data_file_is_plain_json() {
        let data = job_data(vec![(
            "m",
            MetricScope::Node,
            metric(60, vec![series("h1", 1.0, 1.5, 2.0, vec![1.0, 2.0])]),
        )]);
        let file = encode_data_file(&data).expect("encodable");
        assert_eq!(file.name, DATA_FILE);
        assert_eq!(
            String::from_utf8(file.contents.clone()).expect("utf-8"),
            "{\"m\":{\"node\":{\"unit\":{\"base\":\"x\"},\"series\":[{\"hostname\":\"h1\",\
             \"statistics\":{\"min\":1.00,\"avg\":1.50,\"max\":2.00},\"data\":[1.00,2.00]}],\
             \"timestep\":60}}}\n"
        );
        assert_eq!(
            decode_data_file(&file.contents, false).expect("decodable"),
            data
        );
        let empty = encode_data_file(&JobData::new()).expect("encodable");
        assert_eq!((empty.name, empty.contents), (DATA_FILE, b"{}\n".to_vec()));
    }

    /// Equal with NaN equal to NaN; `tolerance` for the values of one metric.
    fn assert_equal_data(actual: &JobData, expected: &JobData, tolerant_metric: &str) {
        assert_eq!(
            actual.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (name, scopes) in expected {
            for (scope, expected_metric) in scopes {
                let actual_metric = &actual[name][scope];
                assert_eq!(actual_metric.unit, expected_metric.unit);
                assert_eq!(actual_metric.timestep, expected_metric.timestep);
                assert_eq!(actual_metric.series.len(), expected_metric.series.len());
                let tolerance = if name == tolerant_metric { 0.005 } else { 0.0 };
                for (a, e) in actual_metric.series.iter().zip(&expected_metric.series) {
                    assert_eq!((&a.hostname, &a.id), (&e.hostname, &e.id));
                    assert_eq!(a.statistics, e.statistics, "{name} {}", e.hostname);
                    assert_eq!(a.data.len(), e.data.len());
                    for (x, y) in a.data.iter().zip(&e.data) {
                        assert!(
                            (x.is_nan() && y.is_nan()) || (x - y).abs() <= tolerance,
                            "{name} {}: {x} vs {y}",
                            e.hostname
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reference_archive_round_trips() {
        let decoded = decode_data_file(ARCHIVED_DATA, true).expect("reference data.json.gz");
        let meta: serde_json::Value = serde_json::from_slice(ARCHIVED_META).expect("meta.json");
        let hosts: Vec<&str> = meta["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|resource| resource["hostname"].as_str().expect("hostname"))
            .collect();
        assert_eq!(hosts.len(), 32);
        assert_eq!(decoded.len(), 9);
        for (name, scopes) in &decoded {
            let node = &scopes[&MetricScope::Node];
            assert_eq!(node.timestep, 60, "{name}");
            let series_hosts: Vec<&str> = node.series.iter().map(|s| s.hostname.as_str()).collect();
            assert_eq!(series_hosts, hosts, "{name}");
            assert!(node.series.iter().all(|s| s.data.len() == 1441), "{name}");
        }
        let cpu_load = &decoded["cpu_load"][&MetricScope::Node].series[0];
        assert_eq!(
            cpu_load.statistics,
            MetricStatistics {
                min: 4.01,
                avg: 17.98,
                max: 19.42
            }
        );
        assert!(cpu_load.data[3].is_nan());
        // ipc series carry no statistics in this archive.
        let ipc = &decoded["ipc"][&MetricScope::Node].series[0];
        assert_eq!(ipc.statistics, MetricStatistics::default());

        let file = encode_data_file(&decoded).expect("encodable");
        assert_eq!(file.name, COMPRESSED_DATA_FILE);
        let again = decode_data_file(&file.contents, true).expect("own data.json.gz");
        // ipc values have up to 14 decimals; the format keeps two.
        assert_equal_data(&again, &decoded, "ipc");
        // The encoding is a fixed point from the first round on.
        assert_eq!(encode_data_file(&again).expect("encodable"), file);

        let json = String::from_utf8(to_go_json(&decoded).expect("encodable")).expect("utf-8");
        assert!(json.starts_with(
            "{\"clock\":{\"node\":{\"unit\":{\"base\":\"Hz\",\"prefix\":\"M\"},\"series\":[{\"hostname\":\"e0102\",\"statistics\":{\"min\":"
        ));
        assert!(json.contains(
            "{\"hostname\":\"e0102\",\"statistics\":{\"min\":4.01,\"avg\":17.98,\"max\":19.42},\"data\":[4.01,14.37,16.29,null,18.14,"
        ));
        assert!(json.contains("{\"hostname\":\"e0102\",\"statistics\":{\"min\":0.00,\"avg\":0.00,\"max\":0.00},\"data\":["));
    }
}
