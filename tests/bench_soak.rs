//! Soak benchmark (prints figures, asserts nothing about speed): mixed start/stop, write and list
//! traffic from 4 clients through the runner, first at full speed for a short while to find the
//! peak, then paced at half of it for `SOAK_SECONDS`. Prints the runner's RSS and the database
//! size at the start and the end of the soak, and every failed request.
//!
//! Run with `./dev soak [SECONDS]` (default 600); `cargo bench` without `SOAK_SECONDS` skips it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cc_spin_e2e::{try_send, unix_now, workspace_root, Keys, Runner, RunnerConfig};
use serde_json::json;

const CLIENTS: u64 = 4;
const PEAK_PROBE: Duration = Duration::from_secs(15);

/// Counts of one phase: mixed rounds completed and requests that did not succeed.
#[derive(Default)]
struct Tally {
    rounds: AtomicU64,
    failures: AtomicU64,
}

/// One round of a client: start a job, write a batch of samples for its host, list running jobs,
/// stop the job. Returns how many of the four requests failed.
fn round(base: &str, auth: &str, client: u64, n: u64) -> u64 {
    let job_id = (client * 100_000_000 + n) as i64;
    let now = unix_now();
    let host = format!("soak{client}");
    let start = json!({"jobId": job_id, "user": "soak", "project": "soak", "cluster": "testcluster",
        "numNodes": 1, "resources": [{"hostname": "host123"}], "startTime": now - 60});
    let lines: Vec<String> = (0..64)
        .map(|m| format!("load_one,cluster=testcluster,hostname={host},type=node value={m} {now}"))
        .collect();
    let stop = json!({"jobId": job_id, "cluster": "testcluster", "startTime": now - 60,
        "jobState": "completed", "stopTime": now});
    let requests = [
        (
            "POST",
            "/api/jobs/start_job/".to_owned(),
            start.to_string(),
            201,
        ),
        ("POST", "/api/write".to_owned(), lines.join("\n"), 200),
        (
            "GET",
            "/api/jobs/?state=running&items-per-page=10".to_owned(),
            String::new(),
            200,
        ),
        (
            "POST",
            "/api/jobs/stop_job/".to_owned(),
            stop.to_string(),
            200,
        ),
    ];
    requests
        .iter()
        .filter(|(method, path, body, expected)| {
            let reply = try_send(
                method,
                &format!("{base}{path}"),
                &[("Authorization", auth)],
                body.as_bytes(),
            );
            match reply {
                Ok(reply) if reply.status == *expected => false,
                Ok(reply) => {
                    eprintln!("{method} {path}: {} {}", reply.status, reply.text());
                    true
                }
                Err(error) => {
                    eprintln!("{method} {path}: {error}");
                    true
                }
            }
        })
        .count() as u64
}

/// Runs rounds from every client for `length`; with `pace`, each client waits so that it does
/// not exceed `pace` rounds per second.
fn run(base: &str, auth: &str, length: Duration, pace: Option<f64>, first_n: u64) -> Tally {
    let tally = Tally::default();
    let began = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let tally = &tally;
            scope.spawn(move || {
                let mut n = first_n;
                while began.elapsed() < length {
                    let failed = round(base, auth, client, n);
                    tally.failures.fetch_add(failed, Ordering::Relaxed);
                    tally.rounds.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                    if let Some(per_second) = pace {
                        let due =
                            began + Duration::from_secs_f64((n - first_n) as f64 / per_second);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                }
            });
        }
    });
    tally
}

fn database_bytes(state: &std::path::Path) -> u64 {
    ["sqlite_db.db", "sqlite_db.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(state.join(name)).ok())
        .map(|meta| meta.len())
        .sum()
}

fn main() {
    let Some(seconds) = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|text| text.parse().ok())
    else {
        println!("soak skipped: run it with ./dev soak [SECONDS]");
        return;
    };
    let soak = Duration::from_secs(seconds);
    let state = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let runner = Runner::start(
        &RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
            variables: vec![("jwt_public_key".into(), keys.public.clone())],
        },
        state.path(),
    );
    let auth = format!("Bearer {}", keys.token("soak", &["api"], 24 * 3600));

    let peak = run(&runner.base_url, &auth, PEAK_PROBE, None, 0);
    let peak_rounds = peak.rounds.load(Ordering::Relaxed) as f64 / PEAK_PROBE.as_secs_f64();
    let per_client = peak_rounds / 2.0 / CLIENTS as f64;
    println!(
        "peak: {peak_rounds:.0} rounds/s ({:.0} requests/s), {} failed requests",
        peak_rounds * 4.0,
        peak.failures.load(Ordering::Relaxed)
    );

    let (rss_before, db_before) = (runner.rss_kib(), database_bytes(state.path()));
    let soaked = run(&runner.base_url, &auth, soak, Some(per_client), 10_000_000);
    let (rss_after, db_after) = (runner.rss_kib(), database_bytes(state.path()));
    let rounds = soaked.rounds.load(Ordering::Relaxed);
    println!(
        "soak: {} s at half the peak ({:.0} rounds/s): {rounds} rounds, {} requests, {} failed",
        soak.as_secs(),
        rounds as f64 / soak.as_secs_f64(),
        rounds * 4,
        soaked.failures.load(Ordering::Relaxed)
    );
    println!(
        "runner RSS: {} MiB at the start of the soak, {} MiB at the end",
        rss_before.map_or("?".into(), |kib| (kib / 1024).to_string()),
        rss_after.map_or("?".into(), |kib| (kib / 1024).to_string())
    );
    println!(
        "database: {:.1} MiB at the start of the soak, {:.1} MiB at the end",
        db_before as f64 / 1048576.0,
        db_after as f64 / 1048576.0
    );
    runner.stop();
}
