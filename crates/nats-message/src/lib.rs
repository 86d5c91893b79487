//! NATS message → events: the line-protocol rules of job, node-state and metric subjects
//! (docs/nats-bridge.md#message-rules).
//!
//! Every line is judged on its own: a bad line is dropped with its reason and the lines after it
//! are still read (the reference drops the rest of the message). A missing timestamp is accepted,
//! since its value is never used.

use std::hash::{DefaultHasher, Hash, Hasher};

use cc_lineproto::{Decoder, FieldValue, SyntaxError};
use serde::Deserialize;

/// The app route an event is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    StartJob,
    StopJob,
    NodeState,
}

impl Route {
    pub fn path(self) -> &'static str {
        match self {
            Route::StartJob => "/api/jobs/start_job/",
            Route::StopJob => "/api/jobs/stop_job/",
            Route::NodeState => "/api/nodestate/",
        }
    }
}

/// One request for the app, with the key that picks its ordered worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub route: Route,
    /// The `event` string: the JSON body of the REST request.
    pub body: String,
    /// Equal for events of the same (cluster, jobId), so they are applied in publish order.
    pub shard_key: u64,
}

/// Why a line was not turned into an event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Dropped {
    #[error("received empty message")]
    EmptyMessage,
    #[error("line {line}: {error}")]
    Syntax { line: usize, error: SyntaxError },
    #[error("line {line}: measurement {found:?} is not {expected:?}")]
    WrongMeasurement {
        line: usize,
        found: String,
        expected: &'static str,
    },
    #[error("line {line}: no string field 'event'")]
    NoEvent { line: usize },
    #[error("line {line}: job event is missing required tag 'function'")]
    MissingFunction { line: usize },
    #[error(
        "line {line}: unknown job event function '{function}', expected 'start_job' or 'stop_job'"
    )]
    UnknownFunction { line: usize, function: String },
    #[error("line {line}: payload is empty")]
    EmptyEvent { line: usize },
    #[error("line {line}: event of {size} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        line: usize,
        size: usize,
        limit: usize,
    },
    #[error("line {line}: field {field:?} must be a number named 'value'")]
    NotAMetricValue { line: usize, field: String },
}

/// Which kind of event a subject carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Job,
    NodeState,
}

impl EventKind {
    fn measurement(self) -> &'static str {
        match self {
            EventKind::Job => "job",
            EventKind::NodeState => "nodestate",
        }
    }
}

/// The events of one message and the lines that were dropped, in line order.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<Event>,
    pub dropped: Vec<Dropped>,
}

/// What one line of an event subject holds once decoded.
struct EventLine {
    measurement: String,
    function: Option<String>,
    event: Option<String>,
}

fn read_event_line(decoder: &mut Decoder<'_>) -> Result<EventLine, SyntaxError> {
    let measurement = decoder.measurement()?.into_owned();
    let mut function = None;
    while let Some((key, value)) = decoder.next_tag()? {
        if key == "function" {
            function = Some(value.into_owned());
        }
    }
    let mut event = None;
    while let Some((key, value)) = decoder.next_field()? {
        if let ("event", FieldValue::Str(text)) = (&*key, value) {
            event = Some(text.into_owned());
        }
    }
    // Read for its syntax only: a missing timestamp is fine, the value is never used.
    decoder.timestamp()?;
    Ok(EventLine {
        measurement,
        function,
        event,
    })
}

/// Decodes a message of the job or node-state subject.
pub fn decode_events(kind: EventKind, payload: &[u8], max_event_bytes: usize) -> Decoded {
    let mut decoded = Decoded::default();
    if payload.iter().all(u8::is_ascii_whitespace) {
        decoded.dropped.push(Dropped::EmptyMessage);
        return decoded;
    }
    let mut decoder = Decoder::new(payload);
    let mut line = 0;
    while decoder.next_line() {
        line += 1;
        match read_event_line(&mut decoder) {
            Ok(parts) => match event_of_line(kind, line, parts, max_event_bytes) {
                Ok(event) => decoded.events.push(event),
                Err(dropped) => decoded.dropped.push(dropped),
            },
            // The decoder skips the rest of this line on the next `next_line`.
            Err(error) => decoded.dropped.push(Dropped::Syntax { line, error }),
        }
    }
    decoded
}

fn event_of_line(
    kind: EventKind,
    line: usize,
    parts: EventLine,
    max_event_bytes: usize,
) -> Result<Event, Dropped> {
    if parts.measurement != kind.measurement() {
        return Err(Dropped::WrongMeasurement {
            line,
            found: parts.measurement,
            expected: kind.measurement(),
        });
    }
    let body = parts.event.ok_or(Dropped::NoEvent { line })?;
    let route = match kind {
        EventKind::NodeState => Route::NodeState,
        EventKind::Job => match parts.function.as_deref() {
            None => return Err(Dropped::MissingFunction { line }),
            Some("start_job") => Route::StartJob,
            Some("stop_job") => Route::StopJob,
            Some(other) => {
                return Err(Dropped::UnknownFunction {
                    line,
                    function: other.to_owned(),
                })
            }
        },
    };
    if body.trim().is_empty() {
        return Err(Dropped::EmptyEvent { line });
    }
    if body.len() > max_event_bytes {
        return Err(Dropped::Oversized {
            line,
            size: body.len(),
            limit: max_event_bytes,
        });
    }
    let shard_key = shard_key(route, &body);
    Ok(Event {
        route,
        body,
        shard_key,
    })
}

/// The fields of an event that name its job (or node-state cluster). Unknown fields are fine
/// here: the app does the strict decoding and reports its own errors.
#[derive(Deserialize)]
struct EventIdentity {
    #[serde(rename = "jobId")]
    job_id: Option<serde_json::Value>,
    cluster: Option<serde_json::Value>,
}

fn shard_key(route: Route, body: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    match serde_json::from_str::<EventIdentity>(body) {
        Ok(identity) => {
            // Starts and stops of one job share the key; node states are keyed by cluster.
            (route == Route::NodeState).hash(&mut hasher);
            identity.cluster.map(|c| c.to_string()).hash(&mut hasher);
            if route != Route::NodeState {
                identity.job_id.map(|id| id.to_string()).hash(&mut hasher);
            }
        }
        // The app rejects it anyway; any worker will do.
        Err(_) => body.hash(&mut hasher),
    }
    hasher.finish()
}

/// The valid lines of a metric message, ready to be joined into one `/api/write` body.
#[derive(Debug, Default)]
pub struct MetricLines {
    pub body: String,
    pub lines: usize,
    pub dropped: Vec<Dropped>,
}

/// Splits a metric message into lines and keeps those the app would accept syntactically: the
/// app stores nothing of a body with one bad line, so a bad line must not reach a batch.
pub fn decode_metric_lines(payload: &[u8]) -> MetricLines {
    let mut kept = MetricLines::default();
    if payload.iter().all(u8::is_ascii_whitespace) {
        kept.dropped.push(Dropped::EmptyMessage);
        return kept;
    }
    for (index, raw) in payload.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = raw.trim_ascii();
        if text.is_empty() || text.starts_with(b"#") {
            continue;
        }
        match check_metric_line(text, line) {
            Ok(()) => {
                // Valid lines are valid UTF-8: the decoder rejects anything else.
                kept.body.push_str(&String::from_utf8_lossy(text));
                kept.body.push('\n');
                kept.lines += 1;
            }
            Err(dropped) => kept.dropped.push(dropped),
        }
    }
    kept
}

fn check_metric_line(text: &[u8], line: usize) -> Result<(), Dropped> {
    let syntax = |error| Dropped::Syntax { line, error };
    let mut decoder = Decoder::new(text);
    decoder.next_line();
    decoder.measurement().map_err(syntax)?;
    while decoder.next_tag().map_err(syntax)?.is_some() {}
    while let Some((key, value)) = decoder.next_field().map_err(syntax)? {
        let numeric = matches!(
            value,
            FieldValue::Float(_) | FieldValue::Int(_) | FieldValue::Uint(_)
        );
        if key != "value" || !numeric {
            return Err(Dropped::NotAMetricValue {
                line,
                field: key.into_owned(),
            });
        }
    }
    decoder.timestamp().map_err(syntax)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str =
        r#"job,function=start_job event="{\"jobId\":1,\"cluster\":\"c\"}" 1234567890000000000"#;

    #[test]
    fn a_bad_line_does_not_drop_the_next_one() {
        let payload = format!("invalid line protocol format\n{START}\n");
        let decoded = decode_events(EventKind::Job, payload.as_bytes(), 1 << 20);
        assert_eq!(decoded.events.len(), 1);
        assert_eq!(decoded.events[0].body, r#"{"jobId":1,"cluster":"c"}"#);
        assert!(matches!(
            decoded.dropped[..],
            [Dropped::Syntax { line: 1, .. }]
        ));
    }

    /// Found by the `nats_message` fuzz target: a lone carriage return after a bad timestamp
    /// starts another entry for the line-protocol decoder (as it does for `/api/write`), so one
    /// physical line can be dropped twice. Nothing is forwarded, every entry is accounted for,
    /// and the entries are bounded by the line and carriage-return count.
    #[test]
    fn lone_carriage_returns_are_dropped_entries_of_their_own() {
        let payload = include_bytes!("../tests/fixtures/lone-carriage-returns.bin");
        let decoded = decode_events(EventKind::Job, payload, 4096);
        assert!(decoded.events.is_empty());
        let reasons: Vec<String> = decoded.dropped.iter().map(ToString::to_string).collect();
        assert_eq!(reasons.len(), 6, "{reasons:#?}");
        assert!(reasons[2].contains("invalid timestamp"), "{reasons:#?}");
        assert!(
            reasons[3].contains(r"invalid character '\r' found at start of measurement name"),
            "{reasons:#?}"
        );
        let boundaries = payload
            .iter()
            .filter(|&&b| b == b'\n' || b == b'\r')
            .count();
        assert!(reasons.len() <= boundaries + 1);
    }

    #[test]
    fn start_and_stop_of_a_job_share_a_worker() {
        let stop =
            r#"job,function=stop_job event="{\"cluster\":\"c\",\"jobId\":1,\"stopTime\":5}""#;
        let payload = format!("{START}\n{stop}");
        let decoded = decode_events(EventKind::Job, payload.as_bytes(), 1 << 20);
        assert!(decoded.dropped.is_empty(), "{:?}", decoded.dropped);
        assert_eq!(decoded.events[1].route, Route::StopJob);
        assert_eq!(decoded.events[0].shard_key, decoded.events[1].shard_key);
    }

    #[test]
    fn rules_of_event_lines() {
        let cases = [
            ("", Dropped::EmptyMessage),
            (r#"job event="{}" 1"#, Dropped::MissingFunction { line: 1 }),
            (
                r#"job,function=x event="{}""#,
                Dropped::UnknownFunction {
                    line: 1,
                    function: "x".into(),
                },
            ),
            (
                "job,function=start_job value=1.5 1",
                Dropped::NoEvent { line: 1 },
            ),
            (
                r#"job,function=start_job event="" 1"#,
                Dropped::EmptyEvent { line: 1 },
            ),
            (
                r#"other,function=start_job event="{}" 1"#,
                Dropped::WrongMeasurement {
                    line: 1,
                    found: "other".into(),
                    expected: "job",
                },
            ),
        ];
        for (payload, expected) in cases {
            let decoded = decode_events(EventKind::Job, payload.as_bytes(), 1 << 20);
            assert!(decoded.events.is_empty(), "{payload}");
            assert_eq!(decoded.dropped, [expected], "{payload}");
        }
        let oversized = decode_events(EventKind::Job, START.as_bytes(), 10);
        assert!(matches!(decoded_one(oversized), Dropped::Oversized { .. }));
    }

    fn decoded_one(decoded: Decoded) -> Dropped {
        assert!(decoded.events.is_empty());
        decoded.dropped.into_iter().next().unwrap()
    }

    #[test]
    fn escaped_quotes_reach_the_json() {
        let payload = r#"job,function=start_job event="{\"user\":\"test\\\"user\"}" 1"#;
        let decoded = decode_events(EventKind::Job, payload.as_bytes(), 1 << 20);
        assert_eq!(decoded.events[0].body, r#"{"user":"test\"user"}"#);
    }

    #[test]
    fn metric_lines_keep_only_valid_ones() {
        let payload = b"load_one,hostname=h value=1 1700000000\nbroken\nload_one,hostname=h load=2\nload_one,hostname=h value=3\n";
        let kept = decode_metric_lines(payload);
        assert_eq!(kept.lines, 2);
        assert_eq!(
            kept.body,
            "load_one,hostname=h value=1 1700000000\nload_one,hostname=h value=3\n"
        );
        assert_eq!(kept.dropped.len(), 2);
    }
}
