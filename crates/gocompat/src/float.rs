//! Go's spellings of floats: `encoding/json` and `fmt`'s `%v`.

use std::io::{self, Write};

/// Go's float encoder: shortest round-trip digits, plain notation for `1e-6 <= |f| < 1e21`,
/// otherwise exponent notation with an explicit exponent sign and no zero padding (`1e+21`,
/// `1e-7`). Rust's `Display`/`LowerExp` already produce the shortest round-trip digits.
/// Non-finite values never reach a formatter (`serde_json` writes them as `null`).
pub fn write_json_float<W: ?Sized + Write>(writer: &mut W, value: f64) -> io::Result<()> {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let exponent_form = format!("{value:e}");
        match exponent_form.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                write!(writer, "{mantissa}e+{exponent}")
            }
            _ => writer.write_all(exponent_form.as_bytes()),
        }
    } else {
        write!(writer, "{value}")
    }
}

/// Go's `fmt` spelling of a float64 for `%v` (what `text/template` prints): the shortest digits
/// that round-trip, in `%e` form when the decimal exponent is below -4 or at least 6 (`1e+06`,
/// `1.5e-05`), else plain (`123456`, `0.0001`).
pub fn format_float_v(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Go, e.g. `1.5e-5`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    if value != 0.0 && !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_like_fmt_prints_them() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (600.0, "600"),
            (1.2, "1.2"),
            (0.1 + 0.2, "0.30000000000000004"),
            (86.39999999999999, "86.39999999999999"),
            (123_456.0, "123456"),
            (1e6, "1e+06"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-2.5e21, "-2.5e+21"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, spelled) in cases {
            assert_eq!(format_float_v(value), spelled, "{value:?}");
        }
    }
}
