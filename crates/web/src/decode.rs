use serde::de::DeserializeOwned;

/// Decodes a request body the way cc-backend's strict decoder does: the first JSON value only
/// (trailing bytes are ignored), unknown fields rejected (types opt in with
/// `#[serde(deny_unknown_fields)]`). Errors read like Go's decoder where clients can see it:
/// `EOF` for an empty body, `unexpected EOF` for a truncated one, `json: unknown field "x"`.
pub fn decode_strict<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<T>();
    match values.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(error)) => Err(go_decoder_message(&error)),
        None => Err("EOF".to_owned()),
    }
}

fn go_decoder_message(error: &serde_json::Error) -> String {
    if error.is_eof() {
        return "unexpected EOF".to_owned();
    }
    let text = error.to_string();
    if let Some(rest) = text.strip_prefix("unknown field `") {
        if let Some((field, _)) = rest.split_once('`') {
            return format!("json: unknown field \"{field}\"");
        }
    }
    format!("json: {text}")
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
        let type_error = decode_strict::<Body>(br#"{"jobId": "x"}"#).unwrap_err();
        assert!(
            type_error.starts_with("json: invalid type: string"),
            "{type_error}"
        );
    }
}
