//! The encoding of a `metric_batch` row: the samples one write request brought for one host.
//!
//! Layout (integers as LEB128 varints): version byte, the metric table (name, timestep), the
//! level-name table, then per sample: metric index, level index, sublevel index, time offset
//! from the batch's first time, and the value as little-endian f32. A cc-metric-collector batch
//! (one timestamp, ~1,000 series) takes about 8 bytes per sample.

use std::collections::HashMap;

const VERSION: u8 = 1;

/// One sample of a batch, with names resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub metric: &'a str,
    pub timestep: i64,
    pub level: &'a str,
    pub sublevel: &'a str,
    pub time: i64,
    pub value: f32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("stored sample batch is corrupt")]
pub struct CorruptBatch;

/// Collects the samples of one host, interning names. A host's samples share one cluster, so a
/// metric name has one timestep within a batch.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    metrics: Vec<(String, i64)>,
    metric_index: HashMap<String, u64>,
    levels: Vec<String>,
    level_index: HashMap<String, u64>,
    samples: Vec<(u64, u64, u64, i64, f32)>,
}

impl BatchBuilder {
    pub fn push(&mut self, sample: &Sample<'_>) {
        let metric = self.intern_metric(sample.metric, sample.timestep);
        let level = self.intern_level(sample.level);
        let sublevel = self.intern_level(sample.sublevel);
        self.samples
            .push((metric, level, sublevel, sample.time, sample.value));
    }

    fn intern_metric(&mut self, name: &str, timestep: i64) -> u64 {
        // Collectors send a metric's lines together: the previous one is the likely match.
        if let Some(last) = self.samples.last() {
            if self.metrics[last.0 as usize].0 == name {
                return last.0;
            }
        }
        if let Some(index) = self.metric_index.get(name) {
            return *index;
        }
        let index = self.metrics.len() as u64;
        self.metrics.push((name.to_owned(), timestep));
        self.metric_index.insert(name.to_owned(), index);
        index
    }

    fn intern_level(&mut self, name: &str) -> u64 {
        if let Some(index) = self.level_index.get(name) {
            return *index;
        }
        let index = self.levels.len() as u64;
        self.levels.push(name.to_owned());
        self.level_index.insert(name.to_owned(), index);
        index
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Earliest and latest sample time.
    pub fn time_range(&self) -> (i64, i64) {
        let times = self.samples.iter().map(|sample| sample.3);
        (
            times.clone().min().unwrap_or_default(),
            times.max().unwrap_or_default(),
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let (first_time, _) = self.time_range();
        let mut out = Vec::with_capacity(16 + self.samples.len() * 8);
        out.push(VERSION);
        write_varint(&mut out, self.metrics.len() as u64);
        for (name, timestep) in &self.metrics {
            write_bytes(&mut out, name.as_bytes());
            write_varint(&mut out, *timestep as u64);
        }
        write_varint(&mut out, self.levels.len() as u64);
        for name in &self.levels {
            write_bytes(&mut out, name.as_bytes());
        }
        write_varint(&mut out, first_time as u64);
        write_varint(&mut out, self.samples.len() as u64);
        for (metric, level, sublevel, time, value) in &self.samples {
            write_varint(&mut out, *metric);
            write_varint(&mut out, *level);
            write_varint(&mut out, *sublevel);
            write_varint(&mut out, (time - first_time) as u64);
            out.extend_from_slice(&value.to_le_bytes());
        }
        out
    }
}

/// Calls `visit` for every sample of an encoded batch, in the order they were pushed.
pub fn for_each_sample<'a>(
    encoded: &'a [u8],
    visit: impl FnMut(Sample<'a>),
) -> Result<(), CorruptBatch> {
    decode_samples(encoded, None, visit)
}

/// Calls `visit` for the samples of `metric` only; a batch without the metric is not read
/// past its name tables.
pub fn for_each_sample_of<'a>(
    encoded: &'a [u8],
    metric: &str,
    visit: impl FnMut(Sample<'a>),
) -> Result<(), CorruptBatch> {
    decode_samples(encoded, Some(metric), visit)
}

fn decode_samples<'a>(
    encoded: &'a [u8],
    only: Option<&str>,
    mut visit: impl FnMut(Sample<'a>),
) -> Result<(), CorruptBatch> {
    let mut reader = Reader { bytes: encoded };
    if reader.byte()? != VERSION {
        return Err(CorruptBatch);
    }
    let metric_count = reader.varint()? as usize;
    let mut metrics = Vec::with_capacity(metric_count.min(encoded.len()));
    for _ in 0..metric_count {
        let name = reader.text()?;
        let timestep = reader.varint()? as i64;
        metrics.push((name, timestep));
    }
    let wanted = match only {
        None => None,
        Some(metric) => match metrics.iter().position(|(name, _)| *name == metric) {
            Some(index) => Some(index),
            None => return Ok(()),
        },
    };
    let level_count = reader.varint()? as usize;
    let mut levels = Vec::with_capacity(level_count.min(encoded.len()));
    for _ in 0..level_count {
        levels.push(reader.text()?);
    }
    let first_time = reader.varint()? as i64;
    let sample_count = reader.varint()?;
    for _ in 0..sample_count {
        let metric_index = reader.varint()? as usize;
        let level_index = reader.varint()? as usize;
        let sublevel_index = reader.varint()? as usize;
        let offset = reader.varint()? as i64;
        let value = f32::from_le_bytes(reader.take(4)?.try_into().map_err(|_| CorruptBatch)?);
        if wanted.is_some_and(|wanted| wanted != metric_index) {
            continue;
        }
        let (metric, timestep) = *metrics.get(metric_index).ok_or(CorruptBatch)?;
        visit(Sample {
            metric,
            timestep,
            level: levels.get(level_index).ok_or(CorruptBatch)?,
            sublevel: levels.get(sublevel_index).ok_or(CorruptBatch)?,
            time: first_time.wrapping_add(offset),
            value,
        });
    }
    Ok(())
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], CorruptBatch> {
        if self.bytes.len() < count {
            return Err(CorruptBatch);
        }
        let (head, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CorruptBatch> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, CorruptBatch> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CorruptBatch)
    }

    fn text(&mut self) -> Result<&'a str, CorruptBatch> {
        let length = self.varint()? as usize;
        std::str::from_utf8(self.take(length)?).map_err(|_| CorruptBatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(metric: &'a str, level: &'a str, time: i64, value: f32) -> Sample<'a> {
        Sample {
            metric,
            timestep: 60,
            level,
            sublevel: "",
            time,
            value,
        }
    }

    #[test]
    fn samples_round_trip_in_order() {
        let pushed = [
            sample("cpu_load", "", 1_700_000_000, 1.5),
            sample("cpu_user", "hwthread3", 1_700_000_000, f32::NAN),
            sample("cpu_load", "", 1_700_000_060, -2.25),
            Sample {
                sublevel: "core1",
                timestep: 10,
                ..sample("ipc", "socket0", 1_699_999_990, 0.5)
            },
        ];
        let mut builder = BatchBuilder::default();
        for sample in &pushed {
            builder.push(sample);
        }
        assert_eq!(builder.time_range(), (1_699_999_990, 1_700_000_060));
        let encoded = builder.encode();
        let mut decoded = Vec::new();
        for_each_sample(&encoded, |sample| {
            decoded.push((
                sample.metric.to_owned(),
                sample.timestep,
                sample.level.to_owned(),
                sample.sublevel.to_owned(),
                sample.time,
                sample.value.to_bits(),
            ))
        })
        .unwrap();
        let expected: Vec<_> = pushed
            .iter()
            .map(|sample| {
                (
                    sample.metric.to_owned(),
                    sample.timestep,
                    sample.level.to_owned(),
                    sample.sublevel.to_owned(),
                    sample.time,
                    sample.value.to_bits(),
                )
            })
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn samples_of_one_metric_are_picked_and_absent_metrics_skip_the_batch() {
        let mut builder = BatchBuilder::default();
        builder.push(&sample("cpu_load", "", 1_700_000_000, 1.0));
        builder.push(&sample("cpu_user", "hwthread0", 1_700_000_000, 2.0));
        builder.push(&sample("cpu_load", "", 1_700_000_060, 3.0));
        let encoded = builder.encode();
        let mut values = Vec::new();
        for_each_sample_of(&encoded, "cpu_load", |sample| values.push(sample.value)).unwrap();
        assert_eq!(values, [1.0, 3.0]);
        let mut none = 0;
        for_each_sample_of(&encoded, "mem_bw", |_| none += 1).unwrap();
        assert_eq!(none, 0);
    }

    #[test]
    fn one_thousand_series_of_one_timestamp_take_about_eight_bytes_each() {
        let levels: Vec<String> = (0..1000).map(|index| format!("hwthread{index}")).collect();
        let mut builder = BatchBuilder::default();
        for level in &levels {
            builder.push(&sample("cpu_user", level, 1_700_000_000, 1.0));
        }
        let size = builder.encode().len();
        assert!(size < 1000 * 8 + 1000 * 14, "{size} bytes");
    }

    #[test]
    fn truncated_or_foreign_bytes_are_corrupt_not_a_panic() {
        let mut builder = BatchBuilder::default();
        builder.push(&sample("cpu_load", "", 1_700_000_000, 1.0));
        let encoded = builder.encode();
        for length in 0..encoded.len() {
            assert_eq!(
                for_each_sample(&encoded[..length], |_| {}),
                Err(CorruptBatch)
            );
        }
        assert_eq!(for_each_sample(&[2, 0, 0], |_| {}), Err(CorruptBatch));
    }
}
