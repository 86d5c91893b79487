use serde::de::DeserializeOwned;

/// Decodes a request body the way cc-backend's decoder does (Go's `encoding/json` with unknown
/// fields disallowed; the rules are in `cc_gocompat::decode`). Every JSON request body of every
/// route goes through here. Types opt in to refusing unknown keys with
/// `#[serde(deny_unknown_fields)]`; the error is Go's text, which handlers prefix.
pub fn decode_strict<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    cc_gocompat::decode_like_go(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(rename = "jobId")]
        job_id: i64,
    }

    #[test]
    fn reads_the_first_value_only() {
        assert_eq!(
            decode_strict::<Body>(br#"{"jobId": 5} trailing garbage"#),
            Ok(Body { job_id: 5 })
        );
    }

    #[test]
    fn reports_errors_like_go() {
        assert_eq!(decode_strict::<Body>(b""), Err("EOF".into()));
        assert_eq!(decode_strict::<Body>(b"  "), Err("EOF".into()));
        assert_eq!(
            decode_strict::<Body>(br#"{"jobId": 5"#),
            Err("unexpected EOF".into())
        );
        assert_eq!(
            decode_strict::<Body>(br#"{"jobId": 5, "foo": 1}"#),
            Err("json: unknown field \"foo\"".into())
        );
        assert_eq!(
            decode_strict::<Body>(br#"{"jobId": "x"}"#),
            Err(
                "json: cannot unmarshal string into Go struct field Body.jobId of type int64"
                    .into()
            )
        );
        assert_eq!(
            decode_strict::<Body>(b"[]"),
            Err("json: cannot unmarshal array into Go value of type Body".into())
        );
    }
}
