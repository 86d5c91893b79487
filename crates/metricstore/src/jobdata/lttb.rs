//! Down-sampling with "largest triangle three buckets" (docs/metricstore.md#lttb-down-sampling), with the
//! bucket arithmetic and NaN behaviour of cc-lib's `resampler.LargestTriangleThreeBucket`.

/// Series shorter than this are never down-sampled (`main.resampling.minimum-points` default).
pub const MINIMUM_POINTS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("new sampling frequency ({new}) must be a multiple of old frequency ({old})")]
pub struct ResampleError {
    pub old: i64,
    pub new: i64,
}

/// Down-samples `data` sampled every `old_timestep` seconds to one value every `new_timestep`
/// seconds. Returns the values and their timestep; when nothing is to be done (a timestep is 0,
/// `new_timestep <= old_timestep`, fewer than `minimum_points` values or no shorter result) a
/// copy of `data` and `old_timestep`.
pub fn resample(
    data: &[f64],
    old_timestep: i64,
    new_timestep: i64,
    minimum_points: usize,
) -> Result<(Vec<f64>, i64), ResampleError> {
    let unchanged = || Ok((data.to_vec(), old_timestep));
    if old_timestep == 0 || new_timestep == 0 || new_timestep <= old_timestep {
        return unchanged();
    }
    if new_timestep % old_timestep != 0 {
        return Err(ResampleError {
            old: old_timestep,
            new: new_timestep,
        });
    }
    // Negative timesteps only come from broken configurations; leave such data alone.
    let Ok(step) = usize::try_from(new_timestep / old_timestep) else {
        return unchanged();
    };
    let new_length = data.len() / step;
    if new_length == 0 || data.len() < minimum_points || new_length >= data.len() {
        return unchanged();
    }
    Ok((
        largest_triangle_three_buckets(data, new_length),
        new_timestep,
    ))
}

/// Keeps the first and last value and picks one value from each of `new_length - 2` buckets in
/// between. Requires `2 <= data.len()` and `1 <= new_length < data.len()`; for `new_length < 3`
/// there are no buckets and the result has two values, like the reference's.
fn largest_triangle_three_buckets(data: &[f64], new_length: usize) -> Vec<f64> {
    let last = data.len() - 1;
    let bucket_size = (data.len() - 2) as f64 / (new_length as f64 - 2.0);

    let mut sampled = Vec::with_capacity(new_length.max(2));
    sampled.push(data[0]);

    // The current bucket is `bucket_low..bucket_middle`, the next one
    // `bucket_middle..=bucket_high`. Both bounds only grow and stay below `last`, so the
    // slices below are always in range.
    let mut bucket_low = 1;
    let mut bucket_middle = bucket_size.floor() as usize + 1;
    let mut previous = 0;
    for bucket in 0..new_length.saturating_sub(2) {
        let bucket_high = (((bucket + 2) as f64 * bucket_size).floor() as usize + 1).min(last - 1);
        let (average_x, average_y) =
            average_point(&data[bucket_middle..=bucket_high], bucket_middle);

        let mut max_area = -1.0;
        let mut max_area_index = 0;
        for candidate in bucket_low..bucket_middle {
            let area = triangle_area(
                (previous as f64, data[previous]),
                (average_x, average_y),
                (candidate as f64, data[candidate]),
            );
            // A NaN area wins over everything before it.
            if area > max_area || area.is_nan() {
                max_area = area;
                max_area_index = candidate;
            }
        }
        sampled.push(data[max_area_index]);
        previous = max_area_index;

        bucket_low = bucket_middle;
        bucket_middle = bucket_high;
    }

    sampled.push(data[last]);
    sampled
}

fn triangle_area(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> f64 {
    (((a.0 - c.0) * (b.1 - a.1) - (a.0 - b.0) * (c.1 - a.1)) * 0.5).abs()
}

/// The centroid of `values` placed at x = `first_x`, `first_x + 1`, …; y is NaN if any value
/// is (the sum propagates it), both are NaN for an empty slice.
fn average_point(values: &[f64], first_x: usize) -> (f64, f64) {
    let mut sum_x = 0.0;
    let mut sum_y = 0.0;
    for (offset, value) in values.iter().enumerate() {
        sum_x += (first_x + offset) as f64;
        sum_y += value;
    }
    let count = values.len() as f64;
    (sum_x / count, sum_y / count)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::assert_same;
    use super::*;

    #[test]
    fn picks_the_point_of_the_largest_triangle() {
        // Bucket size 3: buckets 1..4 and 4..6. First bucket against a = (0, 0) and the average
        // (5, 4/3) of the next bucket: areas 1.83, 11.17, 3 → index 2. Second bucket against
        // (2, 5) and (6, 1): areas 6 and 2 → index 4.
        let data = [0.0, 1.0, 5.0, 2.0, 0.0, 3.0, 1.0, 0.0];
        let (sampled, timestep) = resample(&data, 1, 2, 0).expect("multiple");
        assert_eq!(timestep, 2);
        assert_same(&sampled, &[0.0, 5.0, 0.0, 0.0]);
    }

    #[test]
    fn nan_area_wins() {
        // Index 2 is NaN and wins its bucket; with a NaN point a every area of the next bucket
        // is NaN and the last one wins.
        let data = [0.0, 1.0, f64::NAN, 2.0, 0.0, 3.0, 1.0, 0.0];
        let (sampled, _) = resample(&data, 1, 2, 8).expect("multiple");
        assert_same(&sampled, &[0.0, f64::NAN, 3.0, 0.0]);
    }

    #[test]
    fn nan_in_next_bucket_makes_every_area_nan() {
        // The NaN at index 4 poisons the first average (last candidate 3 wins), then wins its own
        // bucket against the finite area of index 5.
        let data = [0.0, 1.0, 5.0, 2.0, f64::NAN, 3.0, 1.0, 0.0];
        let (sampled, _) = resample(&data, 1, 2, 8).expect("multiple");
        assert_same(&sampled, &[0.0, 2.0, f64::NAN, 0.0]);
    }

    #[test]
    fn uneven_buckets_follow_the_reference_arithmetic() {
        // 11 values to 5: bucket size 3 → buckets 1..4, 4..7, 7..9 (the last next-bucket is
        // clipped to index 9).
        let data = [0.0, 0.0, 9.0, 0.0, 0.0, -4.0, 0.0, 0.0, 2.0, 0.0, 1.0];
        let (sampled, timestep) = resample(&data, 10, 20, 11).expect("multiple");
        assert_eq!(timestep, 20);
        assert_same(&sampled, &[0.0, 9.0, -4.0, 2.0, 1.0]);
    }

    #[test]
    fn fewer_than_three_points_keeps_first_and_last() {
        let (sampled, timestep) = resample(&[1.0, 2.0, 3.0, 4.0], 1, 4, 0).expect("multiple");
        assert_eq!((sampled, timestep), (vec![1.0, 4.0], 4));
    }

    #[test]
    fn no_change_cases_return_a_copy_and_the_old_timestep() {
        let data: Vec<f64> = (0..2000).map(f64::from).collect();
        for (old, new, minimum) in [
            (0, 120, MINIMUM_POINTS),
            (60, 0, MINIMUM_POINTS),
            (60, 60, MINIMUM_POINTS),
            (120, 60, MINIMUM_POINTS),
            (60, 120, 2001),
            (1, 2001, 0),
            (-60, 120, 0),
        ] {
            let (sampled, timestep) = resample(&data, old, new, minimum).expect("no error");
            assert_eq!(timestep, old, "{old} → {new}");
            assert_eq!(sampled, data);
        }
    }

    #[test]
    fn default_minimum_points() {
        let short: Vec<f64> = (0..999).map(f64::from).collect();
        assert_eq!(
            resample(&short, 60, 120, MINIMUM_POINTS),
            Ok((short.clone(), 60))
        );
        let long: Vec<f64> = (0..1000).map(f64::from).collect();
        let (sampled, timestep) = resample(&long, 60, 120, MINIMUM_POINTS).expect("multiple");
        assert_eq!((sampled.len(), timestep), (500, 120));
        assert_eq!((sampled[0], sampled[499]), (0.0, 999.0));
    }

    #[test]
    fn timestep_must_be_a_multiple() {
        let error = resample(&[1.0; 10], 60, 90, 0).expect_err("not a multiple");
        assert_eq!(
            error.to_string(),
            "new sampling frequency (90) must be a multiple of old frequency (60)"
        );
    }
}
