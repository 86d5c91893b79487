//! JSON output that matches Go's `encoding/json` encoder byte for byte.
//!
//! Differences from plain `serde_json` that this module removes:
//! * Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings (HTML-safe output);
//! * Go formats floats like ECMAScript (`100` instead of `100.0`, `1e+21` instead of `1e21`);
//! * Go's `Encoder` terminates every value with a newline.
//!
//! Go refuses to encode NaN and ±Inf while `serde_json` silently writes `null`; fields that must
//! keep Go's behaviour use [`finite_f64`].

use std::io::{self, Write};

use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;

/// Serializes `value` the way Go's `json.NewEncoder(w).Encode(value)` writes it, including the
/// trailing newline.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut serializer)?;
    out.push(b'\n');
    Ok(out)
}

/// `serialize_with` helper for `f64` fields: rejects NaN and infinities with Go's error text
/// (`json: unsupported value: NaN`) instead of letting `serde_json` turn them into `null`.
pub fn finite_f64<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        let go_spelling = if value.is_nan() {
            "NaN"
        } else if value.is_sign_positive() {
            "+Inf"
        } else {
            "-Inf"
        };
        Err(S::Error::custom(format!(
            "json: unsupported value: {go_spelling}"
        )))
    }
}

/// `serde_json` formatter producing Go's number and string spelling.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        crate::float::write_json_float(writer, value)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut unescaped_from = 0;
        for (index, character) in fragment.char_indices() {
            let escape = match character {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[unescaped_from..index])?;
            writer.write_all(escape.as_bytes())?;
            unescaped_from = index + character.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[unescaped_from..])
    }
}

/// Go's decoder leaves a field at its zero value when the JSON value is `null`; serde would
/// refuse. Use as `#[serde(default, deserialize_with = "null_as_default")]`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    fn go(value: impl Serialize) -> String {
        String::from_utf8(to_go_json(&value).expect("encodable")).expect("utf-8")
    }

    #[test]
    fn floats_are_formatted_like_go() {
        // Expected strings are what Go 1.24 `json.Marshal(float64(x))` prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.125, "123456789.125"),
            (1250000.0, "1250000"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e21, "1e+21"),
            (-1e21, "-1e+21"),
            (1.5e21, "1.5e+21"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.000001, "0.000001"),
            (0.0000012345, "0.0000012345"),
            (0.00000099, "9.9e-7"),
            (1e-7, "1e-7"),
            (-1e-7, "-1e-7"),
            (1.25e-10, "1.25e-10"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9007199254740992"),
            (4.35, "4.35"),
        ];
        for (value, expected) in cases {
            assert_eq!(go(value), format!("{expected}\n"), "formatting {value:?}");
        }
    }

    #[test]
    fn floats_inside_structures_use_go_format() {
        let series = vec![1.0, 2.5, 1e21];
        assert_eq!(go(&series), "[1,2.5,1e+21]\n");
        let parsed: serde_json::Value = serde_json::from_str(r#"{"v":1e2}"#).expect("valid");
        assert_eq!(go(&parsed), "{\"v\":100}\n");
    }

    #[test]
    fn html_characters_and_line_separators_are_escaped() {
        assert_eq!(
            go("<a href=\"x\">&amp;</a>"),
            "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\"\n"
        );
        assert_eq!(
            go("line\u{2028}para\u{2029}end"),
            "\"line\\u2028para\\u2029end\"\n"
        );
        assert_eq!(go("ümlaut °C"), "\"ümlaut °C\"\n");
    }

    #[test]
    fn control_characters_are_escaped_like_go() {
        assert_eq!(
            go("tab\tnl\ncr\rbs\u{8}ff\u{c}nul\u{0}us\u{1f}del\u{7f}"),
            "\"tab\\tnl\\ncr\\rbs\\bff\\fnul\\u0000us\\u001fdel\u{7f}\"\n"
        );
    }

    #[test]
    fn map_keys_are_escaped_and_sorted() {
        let map = BTreeMap::from([("b<", 1), ("a&", 2)]);
        assert_eq!(go(&map), "{\"a\\u0026\":2,\"b\\u003c\":1}\n");
    }

    #[test]
    fn output_ends_with_exactly_one_newline() {
        assert_eq!(go(()), "null\n");
        assert_eq!(go(Vec::<u8>::new()), "[]\n");
    }

    #[derive(Serialize)]
    struct Threshold {
        #[serde(serialize_with = "finite_f64")]
        peak: f64,
    }

    #[test]
    fn finite_f64_accepts_finite_values() {
        assert_eq!(go(Threshold { peak: 72.0 }), "{\"peak\":72}\n");
    }

    #[test]
    fn finite_f64_rejects_nan_and_infinities_with_go_message() {
        for (value, spelling) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            let error = to_go_json(&Threshold { peak: value }).expect_err("not encodable");
            assert_eq!(
                error.to_string(),
                format!("json: unsupported value: {spelling}")
            );
        }
    }
}
