use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use cc_metricstore::lineproto::Decoder;
use cc_metricstore::store::{write_lines, Registry};
use cc_store::native::NativeSql;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clusters");
    let registry = Registry::from_clusters(&cc_model::load_clusters(&dir).unwrap());
    let state = tempfile::tempdir().unwrap();
    let db = NativeSql::open(&state.path().join("db.sqlite")).unwrap();
    cc_store::migrate(&db).unwrap();
    let now = 1_700_000_000;
    let mut bodies = Vec::new();
    for batch in 0..1200 {
        let host = format!("f01{:02}", batch % 64);
        let time = now + (batch / 64) * 60;
        let mut body = String::new();
        for metric in [
            "cpu_user",
            "flops_any",
            "flops_sp",
            "flops_dp",
            "clock",
            "ipc",
            "vectorization_ratio",
        ] {
            for (kind, n) in [
                ("hwthread", 72),
                ("core", 36),
                ("memoryDomain", 8),
                ("socket", 2),
            ] {
                for id in 0..n {
                    writeln!(body, "{metric},cluster=fritz,hostname={host},type={kind},type-id={id} value={batch} {time}").unwrap();
                }
            }
        }
        bodies.push(body);
    }
    let started = Instant::now();
    let mut lines = 0;
    for body in &bodies {
        let mut decoder = Decoder::new(body.as_bytes());
        while decoder.next_line() {
            decoder.measurement().unwrap();
            while decoder.next_tag().unwrap().is_some() {}
            while decoder.next_field().unwrap().is_some() {}
            decoder.timestamp().unwrap();
            lines += 1;
        }
    }
    println!(
        "decode only: {:.1} µs per batch",
        started.elapsed().as_secs_f64() * 1e6 / 1200.0
    );
    let started = Instant::now();
    for body in &bodies {
        write_lines(&db, &registry, body.as_bytes(), "fritz", now).unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "write_lines: {:.1} µs per batch, {:.0} points/s ({lines} lines)",
        elapsed * 1e6 / 1200.0,
        lines as f64 / elapsed
    );
}
