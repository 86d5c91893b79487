//! JSON form of job data (docs/metricstore.md#job-data-json).
//!
//! The reference writes `Series` by hand and every number of a series or statistics series with
//! exactly two decimals (`0.10`, `1234.00`), which no serde number type produces. Those parts
//! are therefore built as text and handed to the serializer as [`RawValue`]s, so the types still
//! serialize through any `serde_json` serializer (including `cc_model::to_go_json`). Strings go
//! through the serializer and are escaped; the reference inserts host names and ids unescaped.
//!
//! Input accepts numbers or `null` (→ NaN) in series data and statistics series, `null` or a
//! missing key for every collection, and series without `statistics` (zero statistics, as in
//! older archives), like the reference's decoder.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use cc_model::Unit;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{JobMetric, MetricStatistics, Series, StatsSeries};

/// A number printed with exactly two decimals; `null` when not finite (the reference would
/// print `NaN` or `+Inf`, which is not JSON).
struct TwoDecimals(f64);

impl fmt::Display for TwoDecimals {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() {
            write!(formatter, "{:.2}", self.0)
        } else {
            formatter.write_str("null")
        }
    }
}

/// Writes a series value the way the reference does: reduced to 32-bit float precision, then
/// with two decimals. A 32-bit float times 100 is exact in an f64, so rounding that product to
/// an integer (ties to even, as the exact decimal formatting does) gives the digits without the
/// general float formatter, which dominated encoding large job data.
fn write_series_value(json: &mut String, value: f64) {
    let reduced = value as f32;
    let hundredths = f64::from(reduced) * 100.0;
    if !hundredths.is_finite() || hundredths.abs() >= 1e15 {
        // Writing into a String cannot fail.
        let _ = write!(json, "{}", TwoDecimals(f64::from(reduced)));
        return;
    }
    let digits = hundredths.round_ties_even().abs() as u64;
    if reduced.is_sign_negative() {
        json.push('-');
    }
    let _ = write!(json, "{}.{:02}", digits / 100, digits % 100);
}

fn write_two_decimals(json: &mut String, value: f64) {
    let _ = write!(json, "{}", TwoDecimals(value));
}

fn two_decimals_array(values: &[f64], write_value: fn(&mut String, f64)) -> String {
    let mut json = String::with_capacity(2 + values.len() * 8);
    json.push('[');
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        write_value(&mut json, *value);
    }
    json.push(']');
    json
}

fn raw<E: serde::ser::Error>(json: String) -> Result<Box<RawValue>, E> {
    RawValue::from_string(json).map_err(E::custom)
}

impl Serialize for Series {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let MetricStatistics { min, avg, max } = self.statistics;
        let statistics = format!(
            r#"{{"min":{},"avg":{},"max":{}}}"#,
            TwoDecimals(min),
            TwoDecimals(avg),
            TwoDecimals(max)
        );
        let data = two_decimals_array(&self.data, write_series_value);

        let mut series = serializer.serialize_struct("Series", 4)?;
        series.serialize_field("hostname", &self.hostname)?;
        match &self.id {
            Some(id) => series.serialize_field("id", id)?,
            None => series.skip_field("id")?,
        }
        series.serialize_field("statistics", &raw::<S::Error>(statistics)?)?;
        series.serialize_field("data", &raw::<S::Error>(data)?)?;
        series.end()
    }
}

/// Outside a series the statistics are plain numbers in the reference's field order.
impl Serialize for MetricStatistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut statistics = serializer.serialize_struct("MetricStatistics", 3)?;
        statistics.serialize_field("avg", &self.avg)?;
        statistics.serialize_field("min", &self.min)?;
        statistics.serialize_field("max", &self.max)?;
        statistics.end()
    }
}

impl Serialize for StatsSeries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let array =
            |values: &[f64]| raw::<S::Error>(two_decimals_array(values, write_two_decimals));

        let mut stats = serializer.serialize_struct("StatsSeries", 5)?;
        if self.percentiles.is_empty() {
            stats.skip_field("percentiles")?;
        } else {
            let percentiles = self
                .percentiles
                .iter()
                .map(|(percentile, values)| Ok((percentile, array(values)?)))
                .collect::<Result<BTreeMap<_, _>, S::Error>>()?;
            stats.serialize_field("percentiles", &percentiles)?;
        }
        let mean = self.mean.as_deref().map(array).transpose()?;
        stats.serialize_field("mean", &mean)?;
        stats.serialize_field("median", &array(&self.median)?)?;
        stats.serialize_field("min", &array(&self.min)?)?;
        stats.serialize_field("max", &array(&self.max)?)?;
        stats.end()
    }
}

impl Serialize for JobMetric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut metric = serializer.serialize_struct("JobMetric", 4)?;
        match &self.statistics_series {
            Some(statistics_series) => {
                metric.serialize_field("statisticsSeries", statistics_series)?
            }
            None => metric.skip_field("statisticsSeries")?,
        }
        metric.serialize_field("unit", &self.unit)?;
        metric.serialize_field("series", &self.series)?;
        metric.serialize_field("timestep", &self.timestep)?;
        metric.end()
    }
}

/// An array of numbers in which `null` stands for NaN.
#[derive(Default)]
struct Floats(Vec<f64>);

impl<'de> Deserialize<'de> for Floats {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FloatsVisitor;

        impl<'de> Visitor<'de> for FloatsVisitor {
            type Value = Floats;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an array of numbers or nulls")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Floats, A::Error> {
                let mut values = Vec::with_capacity(items.size_hint().unwrap_or(0));
                while let Some(value) = items.next_element::<Option<f64>>()? {
                    values.push(value.unwrap_or(f64::NAN));
                }
                Ok(Floats(values))
            }
        }

        deserializer.deserialize_seq(FloatsVisitor)
    }
}

/// `null` or absent → empty.
fn floats<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    Ok(Option::<Floats>::deserialize(deserializer)?
        .unwrap_or_default()
        .0)
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct SeriesInput {
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    statistics: MetricStatistics,
    #[serde(default, deserialize_with = "floats")]
    data: Vec<f64>,
}

impl<'de> Deserialize<'de> for Series {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = SeriesInput::deserialize(deserializer)?;
        Ok(Series {
            hostname: input.hostname,
            id: input.id,
            statistics: input.statistics,
            data: input.data,
        })
    }
}

/// Statistics are plain `float64`s in the reference: `null` or a missing key leaves 0.
#[derive(Deserialize)]
struct MetricStatisticsInput {
    #[serde(default, deserialize_with = "null_as_default")]
    avg: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    min: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    max: f64,
}

impl<'de> Deserialize<'de> for MetricStatistics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = MetricStatisticsInput::deserialize(deserializer)?;
        Ok(MetricStatistics {
            min: input.min,
            avg: input.avg,
            max: input.max,
        })
    }
}

#[derive(Deserialize)]
struct StatsSeriesInput {
    #[serde(default, deserialize_with = "null_as_default")]
    percentiles: BTreeMap<String, Floats>,
    #[serde(default)]
    mean: Option<Floats>,
    #[serde(default, deserialize_with = "floats")]
    median: Vec<f64>,
    #[serde(default, deserialize_with = "floats")]
    min: Vec<f64>,
    #[serde(default, deserialize_with = "floats")]
    max: Vec<f64>,
}

impl<'de> Deserialize<'de> for StatsSeries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = StatsSeriesInput::deserialize(deserializer)?;
        Ok(StatsSeries {
            percentiles: input
                .percentiles
                .into_iter()
                .map(|(percentile, values)| (percentile, values.0))
                .collect(),
            mean: input.mean.map(|mean| mean.0),
            median: input.median,
            min: input.min,
            max: input.max,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobMetricInput {
    #[serde(default, deserialize_with = "null_as_default")]
    unit: Unit,
    #[serde(default, deserialize_with = "null_as_default")]
    timestep: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    series: Vec<Series>,
    #[serde(default)]
    statistics_series: Option<StatsSeries>,
}

impl<'de> Deserialize<'de> for JobMetric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = JobMetricInput::deserialize(deserializer)?;
        Ok(JobMetric {
            unit: input.unit,
            timestep: input.timestep,
            series: input.series,
            statistics_series: input.statistics_series,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::metric;
    use cc_model::{to_go_json, MetricScope};

    use super::super::JobData;
    use super::*;

    #[test]
    fn fast_series_formatting_matches_the_exact_formatter() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values: Vec<f64> =
            vec![0.0, -0.0, 0.005, -0.005, 0.125, 2.675, -1e-9, 1e13, -3.5e14];
        for _ in 0..200_000 {
            let bits = next();
            // Mix raw f32 bit patterns with values in the usual measurement range.
            values.push(f64::from(f32::from_bits(bits as u32)));
            values.push((bits % 2_000_000) as f64 / 997.0 - 1000.0);
        }
        for value in values {
            let mut fast = String::new();
            write_series_value(&mut fast, value);
            assert_eq!(
                fast,
                TwoDecimals(f64::from(value as f32)).to_string(),
                "{value:e}"
            );
        }
    }

    fn go_json(value: &impl Serialize) -> String {
        String::from_utf8(to_go_json(value).expect("encodable")).expect("utf-8")
    }

    fn series(hostname: &str, id: Option<&str>, data: Vec<f64>) -> Series {
        Series {
            hostname: hostname.to_owned(),
            id: id.map(str::to_owned),
            statistics: MetricStatistics {
                min: 0.1,
                avg: 0.2,
                max: 0.3,
            },
            data,
        }
    }

    #[test]
    fn series_numbers_have_two_decimals_and_nan_is_null() {
        let encoded = go_json(&series("h1", Some("0"), vec![0.1, f64::NAN, 1234.0]));
        assert_eq!(
            encoded,
            r#"{"hostname":"h1","id":"0","statistics":{"min":0.10,"avg":0.20,"max":0.30},"data":[0.10,null,1234.00]}"#
                .to_owned()
                + "\n"
        );
    }

    #[test]
    fn series_without_id_omits_it() {
        let encoded = serde_json::to_string(&series("h1", None, vec![])).expect("encodable");
        assert_eq!(
            encoded,
            r#"{"hostname":"h1","statistics":{"min":0.10,"avg":0.20,"max":0.30},"data":[]}"#
        );
    }

    #[test]
    fn series_data_is_reduced_to_f32_before_rounding() {
        // 0.005 is just above the tie as f64 but just below it as f32; infinities are no JSON.
        let mut encoded_series = series("h1", None, vec![0.1 + 0.2, 0.005, -0.001, 1e39]);
        encoded_series.statistics = MetricStatistics {
            min: 0.005,
            avg: f64::NAN,
            max: 0.125,
        };
        let encoded = serde_json::to_string(&encoded_series).expect("encodable");
        assert_eq!(
            encoded,
            r#"{"hostname":"h1","statistics":{"min":0.01,"avg":null,"max":0.12},"data":[0.30,0.00,-0.00,null]}"#
        );
    }

    #[test]
    fn strings_are_escaped() {
        let encoded = go_json(&series("a\"<b>", Some("x\\y"), vec![1.0]));
        assert!(
            encoded.starts_with(r#"{"hostname":"a\"\u003cb\u003e","id":"x\\y","#),
            "{encoded}"
        );
        let decoded: Series = serde_json::from_str(&encoded).expect("valid JSON");
        assert_eq!(decoded.hostname, "a\"<b>");
        assert_eq!(decoded.id.as_deref(), Some("x\\y"));
    }

    #[test]
    fn job_metric_key_order_and_unit() {
        let mut with_stats = metric(vec![series("h1", None, vec![2.0])]);
        assert_eq!(
            serde_json::to_string(&with_stats).expect("encodable"),
            r#"{"unit":{"base":"F/s","prefix":"G"},"series":[{"hostname":"h1","statistics":{"min":0.10,"avg":0.20,"max":0.30},"data":[2.00]}],"timestep":60}"#
        );
        with_stats.unit.prefix.clear();
        with_stats.series.clear();
        with_stats.statistics_series = Some(StatsSeries {
            percentiles: BTreeMap::from([
                ("10".to_owned(), vec![1.0]),
                ("90".to_owned(), vec![f64::NAN]),
            ]),
            mean: Some(vec![1.005]),
            median: vec![f64::NAN, 2.5],
            min: vec![0.0],
            max: vec![1234.567],
        });
        assert_eq!(
            serde_json::to_string(&with_stats).expect("encodable"),
            r#"{"statisticsSeries":{"percentiles":{"10":[1.00],"90":[null]},"mean":[1.00],"median":[null,2.50],"min":[0.00],"max":[1234.57]},"unit":{"base":"F/s"},"series":[],"timestep":60}"#
        );
    }

    #[test]
    fn stats_series_without_percentiles_and_mean() {
        let stats = StatsSeries {
            median: vec![1.0],
            ..StatsSeries::default()
        };
        assert_eq!(
            serde_json::to_string(&stats).expect("encodable"),
            r#"{"mean":null,"median":[1.00],"min":[],"max":[]}"#
        );
    }

    #[test]
    fn plain_metric_statistics_use_shortest_numbers() {
        let statistics = MetricStatistics {
            min: 0.5,
            avg: 1.0,
            max: 0.1 + 0.2,
        };
        assert_eq!(
            go_json(&statistics),
            "{\"avg\":1,\"min\":0.5,\"max\":0.30000000000000004}\n"
        );
        let decoded: MetricStatistics =
            serde_json::from_str(r#"{"max":3,"avg":null}"#).expect("valid");
        assert_eq!(
            decoded,
            MetricStatistics {
                min: 0.0,
                avg: 0.0,
                max: 3.0
            }
        );
    }

    #[test]
    fn job_data_scope_keys_round_trip() {
        let data: JobData = BTreeMap::from([(
            "flops_any".to_owned(),
            BTreeMap::from([
                (
                    MetricScope::Node,
                    metric(vec![series("h1", None, vec![1.5])]),
                ),
                (
                    MetricScope::MemoryDomain,
                    metric(vec![series("h1", Some("0"), vec![f64::NAN, 0.25])]),
                ),
            ]),
        )]);
        let encoded = go_json(&data);
        assert!(
            encoded.starts_with(r#"{"flops_any":{"memoryDomain":{"unit""#),
            "{encoded}"
        );
        assert!(encoded.contains(r#"},"node":{"unit""#), "{encoded}");
        let decoded: JobData = serde_json::from_str(&encoded).expect("valid JSON");
        assert_eq!(go_json(&decoded), encoded);
        let memory_domain = &decoded["flops_any"][&MetricScope::MemoryDomain];
        assert!(memory_domain.series[0].data[0].is_nan());
        assert_eq!(memory_domain.series[0].data[1], 0.25);
        assert!(serde_json::from_str::<JobData>(r#"{"m":{"die":{}}}"#).is_err());
    }

    #[test]
    fn decoding_is_lenient_like_the_reference() {
        let decoded: JobMetric = serde_json::from_str(
            r#"{"unit":{"base":"load"},"timestep":60,"series":[
                {"data":[1,null,2.5],"hostname":"h1","extra":true},
                {"hostname":"h2","id":null,"statistics":null,"data":null}
            ],"statisticsSeries":{"mean":[1,null],"min":null}}"#,
        )
        .expect("valid job metric");
        assert_eq!(decoded.series.len(), 2);
        assert_eq!(decoded.series[0].statistics, MetricStatistics::default());
        assert_eq!(decoded.series[0].data[0], 1.0);
        assert!(decoded.series[0].data[1].is_nan());
        assert_eq!(decoded.series[1].id, None);
        assert!(decoded.series[1].data.is_empty());
        let stats = decoded.statistics_series.expect("statistics series");
        let mean = stats.mean.expect("mean");
        assert_eq!(mean[0], 1.0);
        assert!(mean[1].is_nan());
        assert!(stats.min.is_empty() && stats.median.is_empty());

        let empty: JobMetric =
            serde_json::from_str(r#"{"series":null}"#).expect("valid job metric");
        assert_eq!(
            empty,
            JobMetric {
                unit: Unit::default(),
                timestep: 0,
                series: Vec::new(),
                statistics_series: None,
            }
        );
        assert!(serde_json::from_str::<JobMetric>(r#"{"series":[{"data":["x"]}]}"#).is_err());
    }
}
