//! Go's `time.ParseDuration`: token lifetimes (`--ttl`) and the `metric_retention` variable.

use std::fmt;
use std::time::Duration;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Go durations are signed 64-bit nanosecond counts.
const MAX_NANOS: u64 = i64::MAX as u64;

/// Why a duration was refused, in Go's words (plus one of ours: negative durations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    Invalid(String),
    MissingUnit(String),
    UnknownUnit { unit: String, duration: String },
    Negative(String),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid(text) => write!(f, "time: invalid duration {text:?}"),
            DurationError::MissingUnit(text) => {
                write!(f, "time: missing unit in duration {text:?}")
            }
            DurationError::UnknownUnit { unit, duration } => {
                write!(f, "time: unknown unit {unit:?} in duration {duration:?}")
            }
            DurationError::Negative(text) => write!(f, "negative duration {text:?} is not allowed"),
        }
    }
}

impl std::error::Error for DurationError {}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => NANOS_PER_MICRO,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        _ => return None,
    })
}

/// Splits off the leading ASCII digits.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Parses e.g. `"2000h"`, `"1h30m"`, `"1.5s"`, `"0"` the way Go does; negative durations are
/// rejected because they cannot be lifetimes.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_owned());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (integer_digits, after_integer) = split_digits(rest);
        let (fraction_digits, after_number) = match after_integer.strip_prefix('.') {
            Some(after_dot) => split_digits(after_dot),
            None => ("", after_integer),
        };
        if integer_digits.is_empty() && fraction_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(text.to_owned()));
        }
        let (unit, remainder) = after_number.split_at(unit_len);
        let unit_value = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_owned(),
            duration: text.to_owned(),
        })?;
        let integer: u64 = if integer_digits.is_empty() {
            0
        } else {
            integer_digits.parse().map_err(|_| invalid())?
        };
        let mut component = integer
            .checked_mul(unit_value)
            .filter(|&nanos| nanos <= MAX_NANOS)
            .ok_or_else(invalid)?;
        component += fraction_nanos(fraction_digits, unit_value);
        total = total
            .checked_add(component)
            .filter(|&nanos| nanos <= MAX_NANOS)
            .ok_or_else(invalid)?;
        rest = remainder;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(text.to_owned()));
    }
    Ok(Duration::from_nanos(total))
}

/// Nanoseconds contributed by the digits after the decimal point; digits beyond u64 precision are
/// ignored, as in Go.
fn fraction_nanos(digits: &str, unit_nanos: u64) -> u64 {
    let mut numerator: u64 = 0;
    let mut scale: f64 = 1.0;
    for digit in digits.bytes() {
        match numerator
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit - b'0')))
        {
            Some(value) => {
                numerator = value;
                scale *= 10.0;
            }
            None => break,
        }
    }
    (numerator as f64 * (unit_nanos as f64 / scale)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("90s", Duration::from_secs(90)),
            ("30m", Duration::from_secs(1_800)),
            ("24h", Duration::from_secs(86_400)),
            ("2000h", Duration::from_secs(7_200_000)),
            ("1h30m", Duration::from_secs(5_400)),
            ("+1h30m15s", Duration::from_secs(5_415)),
            ("1.5h", Duration::from_secs(5_400)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("250ms", Duration::from_millis(250)),
            ("3us", Duration::from_micros(3)),
            ("3µs", Duration::from_micros(3)),
            ("7ns", Duration::from_nanos(7)),
            ("0h", Duration::ZERO),
            ("2562047h", Duration::from_secs(2_562_047 * 3_600)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        let invalid = |text: &str| Err(DurationError::Invalid(text.to_owned()));
        for text in [
            "",
            "+",
            "-",
            ".",
            "h",
            ".h",
            "2562048h",
            "9999999999999999999h",
        ] {
            assert_eq!(parse_duration(text), invalid(text), "{text}");
        }
        for text in ["24", "1..5h"] {
            assert_eq!(
                parse_duration(text),
                Err(DurationError::MissingUnit(text.into()))
            );
        }
        assert_eq!(
            parse_duration("1h30").unwrap_err().to_string(),
            r#"time: missing unit in duration "1h30""#
        );
        assert_eq!(
            parse_duration("7d").unwrap_err().to_string(),
            r#"time: unknown unit "d" in duration "7d""#
        );
        assert_eq!(
            parse_duration("1 h"),
            Err(DurationError::UnknownUnit {
                unit: " h".into(),
                duration: "1 h".into()
            })
        );
        assert_eq!(
            parse_duration("-1h"),
            Err(DurationError::Negative("-1h".into()))
        );
    }
}
