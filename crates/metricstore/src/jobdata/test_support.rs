//! Helpers shared by the job-data tests.

use cc_model::Unit;

use super::{JobMetric, Series};

/// A GF/s metric at 60 s with the given series.
pub(crate) fn metric(series: Vec<Series>) -> JobMetric {
    JobMetric {
        unit: Unit {
            base: "F/s".to_owned(),
            prefix: "G".to_owned(),
        },
        timestep: 60,
        series,
        statistics_series: None,
    }
}

/// Equal element by element, NaN equal to NaN.
pub(crate) fn assert_same(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            a == e || (a.is_nan() && e.is_nan()),
            "{actual:?} vs {expected:?}"
        );
    }
}
