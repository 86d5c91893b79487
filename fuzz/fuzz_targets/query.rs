//! Query strings and the values read from them: job-list filters, `omit-tagged`, integers and Go
//! durations. Any query is a filter or a 400, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|query: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query).into_owned().collect();
    let _ = cc_jobs::JobQuery::parse(&pairs);
    for (_, value) in &pairs {
        let _ = cc_jobs::OmitTagged::parse(Some(value));
        let _ = cc_gocompat::parse_int(value);
        let _ = cc_gocompat::parse_duration(value);
    }
});
