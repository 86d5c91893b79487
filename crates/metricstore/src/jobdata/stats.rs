//! Statistics of series and the post-processing every job data load ends with
//! (docs/metricstore.md#post-processing).

use cc_model::MetricScope;

use super::{JobData, JobMetric, MetricStatistics, Series, StatsSeries};

/// A metric gets a statistics series once it has this many series.
const STATISTICS_SERIES_MIN_SERIES: usize = 8;

/// Fewer non-NaN values at a time index leave the statistics series NaN there.
const STATISTICS_SERIES_MIN_VALUES: usize = 3;

/// Metrics that get a node scope summed up from finer scopes when node scope was requested.
const NODE_SUM_METRICS: [&str; 2] = ["flops_any", "mem_bw"];

/// The reference folds minima and maxima starting from ±`math.MaxFloat32`.
const FOLD_START: f64 = f32::MAX as f64;

/// Go's `math.Min`: NaN if either value is NaN (`f64::min` would ignore it).
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Go's `math.Max`: NaN if either value is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Smallest `min` and largest `max` of the series' statistics, from the reference's start
/// values (so ±`f32::MAX` when there are no series).
pub(super) fn min_max_of_statistics<'a>(
    series: impl IntoIterator<Item = &'a Series>,
) -> (f64, f64) {
    series
        .into_iter()
        .fold((FOLD_START, -FOLD_START), |(min, max), series| {
            (
                go_min(min, series.statistics.min),
                go_max(max, series.statistics.max),
            )
        })
}

/// `math.Round(x*100)/100`: two decimals, halves away from zero.
pub(super) fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Minimum, average and maximum over the non-NaN values; all three 0 when there is none.
pub fn series_statistics(data: &[f64]) -> MetricStatistics {
    let (count, sum, min, max) = data.iter().filter(|value| !value.is_nan()).fold(
        (0_usize, 0.0, f64::INFINITY, f64::NEG_INFINITY),
        |(count, sum, min, max), &value| (count + 1, sum + value, min.min(value), max.max(value)),
    );
    let statistics = MetricStatistics {
        min,
        avg: sum / count as f64,
        max,
    };
    // No values: avg is 0/0.
    if [statistics.min, statistics.avg, statistics.max]
        .iter()
        .any(|value| value.is_nan())
    {
        MetricStatistics::default()
    } else {
        statistics
    }
}

/// Adds per-time-step min, median and max over the series of a metric with at least eight
/// series and no statistics series yet (docs/metricstore.md#post-processing). The median is taken over the non-NaN values
/// only (the reference counts NaN as 0); indices with fewer than three values and indices beyond
/// the shortest series are NaN; no mean is computed.
pub fn add_statistics_series(metric: &mut JobMetric) {
    if metric.statistics_series.is_some() || metric.series.len() < STATISTICS_SERIES_MIN_SERIES {
        return;
    }
    let longest = metric.series.iter().map(|series| series.data.len()).max();
    let shortest = metric.series.iter().map(|series| series.data.len()).min();
    let (Some(longest), Some(shortest)) = (longest, shortest) else {
        return;
    };

    let mut statistics = StatsSeries {
        median: vec![f64::NAN; longest],
        min: vec![f64::NAN; longest],
        max: vec![f64::NAN; longest],
        ..StatsSeries::default()
    };
    let mut values = Vec::with_capacity(metric.series.len());
    for index in 0..shortest {
        values.clear();
        values.extend(
            metric
                .series
                .iter()
                .map(|series| series.data[index])
                .filter(|value| !value.is_nan()),
        );
        if values.len() < STATISTICS_SERIES_MIN_VALUES {
            continue;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        statistics.median[index] = if values.len() % 2 == 0 {
            (values[middle - 1] + values[middle]) / 2.0
        } else {
            values[middle]
        };
        statistics.min[index] = values.iter().fold(FOLD_START, |min, &value| min.min(value));
        statistics.max[index] = values
            .iter()
            .fold(-FOLD_START, |max, &value| max.max(value));
    }
    metric.statistics_series = Some(statistics);
}

/// For `flops_any` and `mem_bw` without node scope: a node scope summed up from the coarsest
/// scope present (docs/metricstore.md#post-processing). Per host (in order of first appearance): the element-wise sum of its
/// series (NaN beyond the shortest), min of mins, mean of averages, max of maxes. The caller
/// decides whether node scope was requested.
pub fn add_node_scope_sums(data: &mut JobData) {
    for name in NODE_SUM_METRICS {
        let Some(scopes) = data.get_mut(name) else {
            continue;
        };
        let Some((&coarsest, metric)) = scopes.last_key_value() else {
            continue;
        };
        if coarsest == MetricScope::Node {
            continue;
        }
        let node = JobMetric {
            unit: metric.unit.clone(),
            timestep: metric.timestep,
            series: hosts_in_order(&metric.series)
                .into_iter()
                .map(|hostname| node_sum(hostname, &metric.series))
                .collect(),
            statistics_series: None,
        };
        scopes.insert(MetricScope::Node, node);
    }
}

fn hosts_in_order(series: &[Series]) -> Vec<&str> {
    let mut hosts: Vec<&str> = Vec::new();
    for series in series {
        if !hosts.contains(&series.hostname.as_str()) {
            hosts.push(&series.hostname);
        }
    }
    hosts
}

fn node_sum(hostname: &str, all_series: &[Series]) -> Series {
    let host_series: Vec<&Series> = all_series
        .iter()
        .filter(|series| series.hostname == hostname)
        .collect();
    let longest = host_series.iter().map(|series| series.data.len()).max();
    let shortest = host_series.iter().map(|series| series.data.len()).min();
    let (longest, shortest) = (longest.unwrap_or(0), shortest.unwrap_or(0));

    let mut data = vec![f64::NAN; longest];
    for (index, value) in data.iter_mut().enumerate().take(shortest) {
        *value = host_series
            .iter()
            .fold(0.0, |sum, series| sum + series.data[index]);
    }
    let (min, max) = min_max_of_statistics(host_series.iter().copied());
    let avg_sum: f64 = host_series
        .iter()
        .map(|series| series.statistics.avg)
        .fold(0.0, |sum, avg| sum + avg);
    Series {
        hostname: hostname.to_owned(),
        id: None,
        statistics: MetricStatistics {
            min,
            avg: avg_sum / host_series.len() as f64,
            max,
        },
        data,
    }
}

/// Rounds every series' statistics to two decimals (docs/metricstore.md#post-processing).
pub fn round_statistics(data: &mut JobData) {
    let all_series = data
        .values_mut()
        .flat_map(|scopes| scopes.values_mut())
        .flat_map(|metric| metric.series.iter_mut());
    for series in all_series {
        let statistics = &mut series.statistics;
        statistics.min = round2(statistics.min);
        statistics.avg = round2(statistics.avg);
        statistics.max = round2(statistics.max);
    }
}

/// The post-processing of every load, store or archive (docs/metricstore.md#post-processing), in the reference's order:
/// statistics series, node-scope sums when node scope was among the requested scopes, rounding.
pub fn post_process(data: &mut JobData, node_scope_requested: bool) {
    for metric in data.values_mut().flat_map(|scopes| scopes.values_mut()) {
        add_statistics_series(metric);
    }
    if node_scope_requested {
        add_node_scope_sums(data);
    }
    round_statistics(data);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_same, metric};
    use std::collections::BTreeMap;

    use super::*;

    const NAN: f64 = f64::NAN;

    fn series(hostname: &str, id: &str, data: Vec<f64>) -> Series {
        Series {
            hostname: hostname.to_owned(),
            id: Some(id.to_owned()),
            statistics: series_statistics(&data),
            data,
        }
    }

    #[test]
    fn series_statistics_skip_nan() {
        assert_eq!(
            series_statistics(&[1.0, NAN, 4.0, -2.0]),
            MetricStatistics {
                min: -2.0,
                avg: 1.0,
                max: 4.0
            }
        );
        for no_values in [
            &[][..],
            &[NAN, NAN][..],
            &[f64::INFINITY, f64::NEG_INFINITY][..],
        ] {
            assert_eq!(series_statistics(no_values), MetricStatistics::default());
        }
    }

    #[test]
    fn statistics_series_needs_eight_series() {
        let mut seven = metric(
            (0..7)
                .map(|i| series("h", &i.to_string(), vec![1.0]))
                .collect(),
        );
        add_statistics_series(&mut seven);
        assert_eq!(seven.statistics_series, None);

        let existing = StatsSeries {
            median: vec![42.0],
            ..StatsSeries::default()
        };
        let mut eight = metric(
            (0..8)
                .map(|i| series("h", &i.to_string(), vec![1.0]))
                .collect(),
        );
        eight.statistics_series = Some(existing.clone());
        add_statistics_series(&mut eight);
        assert_eq!(eight.statistics_series, Some(existing));
    }

    #[test]
    fn statistics_series_min_median_max() {
        // Columns: all values; an even count of non-NaN values (median of the middle two, not
        // counting NaN as 0); only two values (NaN); then the ragged tail (NaN).
        let rows = [
            vec![5.0, 1.0, NAN, 7.0],
            vec![3.0, NAN, NAN],
            vec![8.0, 2.0, NAN],
            vec![1.0, 9.0, 4.0, 1.0],
            vec![2.0, NAN, NAN],
            vec![7.0, 4.0, NAN],
            vec![4.0, NAN, NAN],
            vec![6.0, NAN, 6.0],
        ];
        let mut metric = metric(
            rows.iter()
                .enumerate()
                .map(|(i, data)| series("h", &i.to_string(), data.clone()))
                .collect(),
        );
        add_statistics_series(&mut metric);
        let statistics = metric.statistics_series.expect("eight series");
        assert_same(&statistics.min, &[1.0, 1.0, NAN, NAN]);
        assert_same(&statistics.median, &[4.5, 3.0, NAN, NAN]);
        assert_same(&statistics.max, &[8.0, 9.0, NAN, NAN]);
        assert_eq!(statistics.mean, None);
        assert!(statistics.percentiles.is_empty());
    }

    #[test]
    fn node_scope_summed_from_coarsest_scope() {
        let mut h1_socket0 = series("h1", "0", vec![1.0, 2.0, 3.0]);
        h1_socket0.statistics = MetricStatistics {
            min: 1.0,
            avg: 2.0,
            max: 3.0,
        };
        let mut h1_socket1 = series("h1", "1", vec![10.0, NAN]);
        h1_socket1.statistics = MetricStatistics {
            min: 5.0,
            avg: 10.0,
            max: 10.0,
        };
        let h0_socket0 = series("h0", "0", vec![4.0]);
        let core = metric(vec![series("h1", "0", vec![99.0])]);
        let mut data: JobData = BTreeMap::from([
            (
                "mem_bw".to_owned(),
                BTreeMap::from([
                    (MetricScope::Core, core),
                    (
                        MetricScope::Socket,
                        metric(vec![h1_socket0, h0_socket0, h1_socket1]),
                    ),
                ]),
            ),
            (
                "flops_any".to_owned(),
                BTreeMap::from([(
                    MetricScope::Node,
                    metric(vec![series("h1", "0", vec![1.0])]),
                )]),
            ),
            (
                "cpu_load".to_owned(),
                BTreeMap::from([(
                    MetricScope::Core,
                    metric(vec![series("h1", "0", vec![1.0])]),
                )]),
            ),
        ]);
        let flops_before = data["flops_any"].clone();
        add_node_scope_sums(&mut data);

        let node = &data["mem_bw"][&MetricScope::Node];
        assert_eq!(node.timestep, 60);
        assert_eq!(node.unit.base, "F/s");
        assert_eq!(node.statistics_series, None);
        let hosts: Vec<&str> = node.series.iter().map(|s| s.hostname.as_str()).collect();
        assert_eq!(hosts, ["h1", "h0"]);
        assert_eq!(node.series[0].id, None);
        assert_same(&node.series[0].data, &[11.0, NAN, NAN]);
        assert_eq!(
            node.series[0].statistics,
            MetricStatistics {
                min: 1.0,
                avg: 6.0,
                max: 10.0
            }
        );
        assert_same(&node.series[1].data, &[4.0]);
        assert_eq!(data["flops_any"], flops_before);
        assert!(!data["cpu_load"].contains_key(&MetricScope::Node));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let mut rounded = series("h", "0", vec![]);
        rounded.statistics = MetricStatistics {
            min: -0.125,
            avg: 2.675,
            max: 0.5049,
        };
        let mut data: JobData = BTreeMap::from([(
            "m".to_owned(),
            BTreeMap::from([(MetricScope::Node, metric(vec![rounded]))]),
        )]);
        round_statistics(&mut data);
        // 2.675 is 2.67499… in binary, and 267.49999… * 100 rounds to 267.5 → 268 like in Go.
        assert_eq!(
            data["m"][&MetricScope::Node].series[0].statistics,
            MetricStatistics {
                min: -0.13,
                avg: 2.68,
                max: 0.5
            }
        );
    }

    #[test]
    fn post_process_runs_all_steps() {
        let socket_series = (0..8)
            .map(|i| {
                series(
                    &format!("h{}", i / 2),
                    &(i % 2).to_string(),
                    vec![1.0 / 3.0],
                )
            })
            .collect();
        let mut data: JobData = BTreeMap::from([(
            "flops_any".to_owned(),
            BTreeMap::from([(MetricScope::Socket, metric(socket_series))]),
        )]);
        let mut without_node = data.clone();

        post_process(&mut data, true);
        let socket = &data["flops_any"][&MetricScope::Socket];
        assert!(socket.statistics_series.is_some());
        assert_eq!(socket.series[0].statistics.avg, 0.33);
        let node = &data["flops_any"][&MetricScope::Node];
        assert_eq!(node.series.len(), 4);
        assert_eq!(node.series[0].statistics.avg, 0.33);
        assert_same(&node.series[0].data, &[2.0 / 3.0]);

        post_process(&mut without_node, false);
        assert!(!without_node["flops_any"].contains_key(&MetricScope::Node));
    }
}
