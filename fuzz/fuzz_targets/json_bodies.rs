//! Every JSON request body type through the one Go-compatible decoder: any bytes decode or fail
//! with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

use cc_gocompat::decode_like_go;

fuzz_target!(|body: &[u8]| {
    let _ = decode_like_go::<cc_model::StartJobRequest>(body);
    let _ = decode_like_go::<cc_jobs::StopJobRequest>(body);
    let _ = decode_like_go::<cc_jobs::EditMetaRequest>(body);
    let _ = decode_like_go::<cc_jobs::MetaEntry>(body);
    let _ = decode_like_go::<cc_jobs::DeleteJobRequest>(body);
    let _ = decode_like_go::<Vec<cc_jobs::TagRequest>>(body);
    let _ = decode_like_go::<cc_nodes::NodeStateUpdate>(body);
    let _ = decode_like_go::<Vec<String>>(body);
    let _ = serde_json::from_slice::<Vec<Vec<String>>>(body);
    if let Ok(request) = decode_like_go::<cc_model::StartJobRequest>(body) {
        let _ = request.into_job();
    }
});
