//! The line-protocol decoder of `/api/write` (and of NATS messages): any body is decoded line by
//! line, recovering after each syntax error, without panicking or looping.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let mut decoder = cc_lineproto::Decoder::new(body);
    let mut lines = 0;
    while decoder.next_line() {
        lines += 1;
        assert!(lines <= body.len() + 1, "more lines than bytes");
        if decoder.measurement().is_err() {
            continue;
        }
        while let Ok(Some(_)) = decoder.next_tag() {}
        while let Ok(Some((_, value))) = decoder.next_field() {
            let _ = value.go_display();
        }
        let _ = decoder.timestamp();
    }
});
