//! Go's `encoding/json` spelling of floats.

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
