//! The NATS bridge's message decoder (job, node-state and metric subjects): any payload is judged
//! line by line without panicking; every event it keeps is a non-empty body within the limit, and
//! every metric line it keeps decodes cleanly as `/api/write` would read it.
#![no_main]

use cc_nats_message::{decode_events, decode_metric_lines, EventKind};
use libfuzzer_sys::fuzz_target;

const MAX_EVENT_BYTES: usize = 4096;

fuzz_target!(|payload: &[u8]| {
    // A lone carriage return starts another entry for the line-protocol decoder, so entries are
    // bounded by line feeds and carriage returns together.
    let lines = payload.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
    for kind in [EventKind::Job, EventKind::NodeState] {
        let decoded = decode_events(kind, payload, MAX_EVENT_BYTES);
        assert!(decoded.events.len() + decoded.dropped.len() <= lines + 1);
        for event in &decoded.events {
            assert!(!event.body.is_empty() && event.body.len() <= MAX_EVENT_BYTES);
        }
    }
    let metrics = decode_metric_lines(payload);
    assert!(metrics.lines <= lines);
    let mut decoder = cc_lineproto::Decoder::new(metrics.body.as_bytes());
    while decoder.next_line() {
        decoder.measurement().expect("a kept line has a measurement");
        while decoder.next_tag().expect("a kept line's tags decode").is_some() {}
        while decoder.next_field().expect("a kept line's fields decode").is_some() {}
        decoder.timestamp().expect("a kept line's timestamp decodes");
    }
});
