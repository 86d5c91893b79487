//! Cluster configuration loading (`cluster.json` with its validation and derived data) and
//! host lists: any file is a configuration or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|json: &[u8]| {
    if let Ok(cluster) = cc_model::cluster::parse_cluster(Path::new("fuzz/cluster.json"), json) {
        let _ = cluster.subcluster_for_host("host123");
        let _ = cc_gocompat::to_go_json(&cluster);
    }
    let _ = cc_model::HostList::parse(&String::from_utf8_lossy(json));
});
