//! Integer parsing with the error texts of Go's `strconv`, which the API passes on verbatim
//! (`strconv.ParseInt: parsing "x": invalid syntax`).

use std::num::IntErrorKind;

fn parse_like_go(function: &str, text: &str) -> Result<i64, String> {
    text.parse::<i64>().map_err(|error| {
        let reason = match error.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        format!("strconv.{function}: parsing {text:?}: {reason}")
    })
}

/// Go's `strconv.ParseInt(text, 10, 64)`.
pub fn parse_int(text: &str) -> Result<i64, String> {
    parse_like_go("ParseInt", text)
}

/// Go's `strconv.Atoi` (64-bit `int`).
pub fn atoi(text: &str) -> Result<i64, String> {
    parse_like_go("Atoi", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(atoi("007"), Ok(7));
    }

    #[test]
    fn errors_read_like_go() {
        assert_eq!(
            parse_int("abc").unwrap_err(),
            "strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            parse_int("").unwrap_err(),
            "strconv.ParseInt: parsing \"\": invalid syntax"
        );
        assert_eq!(
            parse_int("9223372036854775808").unwrap_err(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"
        );
        assert_eq!(
            atoi("1.5").unwrap_err(),
            "strconv.Atoi: parsing \"1.5\": invalid syntax"
        );
        assert_eq!(
            atoi("-99999999999999999999").unwrap_err(),
            "strconv.Atoi: parsing \"-99999999999999999999\": value out of range"
        );
    }
}
