//! Benchmark (prints figures, asserts nothing about speed) of the job routes through the runner
//! and the wasm components (tests/fixtures/testcluster-spin.toml):
//!
//! 1. start_job + stop_job pairs per second with 4 concurrent keep-alive clients;
//! 2. `GET /api/jobs/?state=running&items-per-page=25` and
//!    `GET /api/jobs/?cluster=X&start-time=a-b` latencies (p50/p99) with 100,000 jobs stored.
//!
//! Run with `cargo bench -p cc-spin-e2e --bench jobs`.

use std::time::{Duration, Instant};

use cc_spin_e2e::{bench_agent, workspace_root, Keys, Runner, RunnerConfig};
use rusqlite::params;
use serde_json::json;

const CLIENTS: usize = 4;
const START_STOP_PAIRS_PER_CLIENT: i64 = 1500;
const STORED_JOBS: i64 = 100_000;
const QUERY_WARM_UP: usize = 100;
const QUERY_SAMPLES: usize = 2000;

fn start_runner(keys: &Keys, state: &std::path::Path) -> Runner {
    let config = RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/testcluster-spin.toml"),
        variables: vec![("jwt_public_key".into(), keys.public.clone())],
    };
    Runner::start(&config, state)
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: &str) -> u16 {
    let mut response = agent
        .post(url)
        .header("X-Auth-Token", token)
        .send(body)
        .expect("request succeeds");
    response.body_mut().read_to_vec().expect("body");
    response.status().as_u16()
}

fn start_stop_throughput(runner: &Runner, token: &str) {
    let start_url = runner.url("/api/jobs/start_job/");
    let stop_url = runner.url("/api/jobs/stop_job/");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..CLIENTS as i64 {
            let (start_url, stop_url) = (&start_url, &stop_url);
            scope.spawn(move || {
                let agent = bench_agent();
                for n in 0..START_STOP_PAIRS_PER_CLIENT {
                    let job_id = client * 1_000_000 + n;
                    let start = json!({
                        "jobId": job_id, "user": "bench", "project": "bench",
                        "cluster": "testcluster", "numNodes": 1, "numHwthreads": 8,
                        "resources": [{"hostname": "host123", "hwthreads": [0, 1, 2, 3, 4, 5, 6, 7]}],
                        "metaData": {"jobScript": "#!/bin/sh"}, "startTime": 1_700_000_000 + n
                    });
                    assert_eq!(post(&agent, start_url, token, &start.to_string()), 201);
                    let stop = json!({"jobId": job_id, "cluster": "testcluster",
                        "startTime": 1_700_000_000 + n, "stopTime": 1_700_000_100 + n});
                    assert_eq!(post(&agent, stop_url, token, &stop.to_string()), 200);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let pairs = CLIENTS as f64 * START_STOP_PAIRS_PER_CLIENT as f64;
    println!(
        "start_job + stop_job, {CLIENTS} clients: {:.0} jobs/s ({pairs} pairs in {:.2} s, {:.2} ms per pair per client)",
        pairs / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 * CLIENTS as f64 / pairs,
    );
}

/// 100,000 jobs over three clusters and a year, one in ten running, written directly.
fn store_jobs(db_path: &std::path::Path) {
    let mut db = rusqlite::Connection::open(db_path).unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    let transaction = db.transaction().unwrap();
    {
        let mut insert = transaction
            .prepare(
                "INSERT INTO job (job_id, cluster, subcluster, start_time, hpc_user, project, \
                 cluster_partition, array_job_id, duration, walltime, job_state, meta_data, \
                 resources, num_nodes, num_hwthreads, num_acc, smt, shared, monitoring_status, \
                 energy, footprint) \
                 VALUES (?1, ?2, 'sc1', ?3, ?4, ?5, 'main', 0, 3600, 86400, ?6, 'null', \
                 '[{\"hostname\":\"host123\",\"hwthreads\":[0,1,2,3]}]', 1, 4, 0, 1, 'none', 1, 0, 'null')",
            )
            .unwrap();
        let clusters = ["testcluster", "richcluster", "synccluster"];
        for n in 0..STORED_JOBS {
            let state = if n % 10 == 0 { "running" } else { "completed" };
            insert
                .execute(params![
                    10_000_000 + n,
                    clusters[(n % 3) as usize],
                    1_672_531_200 + n * 315,
                    format!("user{}", n % 200),
                    format!("project{}", n % 50),
                    state,
                ])
                .unwrap();
        }
    }
    transaction.commit().unwrap();
    db.execute_batch("ANALYZE").unwrap();
}

fn latencies(runner: &Runner, token: &str, path: &str) {
    let agent = bench_agent();
    let url = runner.url(path);
    let mut samples = Vec::with_capacity(QUERY_SAMPLES);
    for round in 0..QUERY_WARM_UP + QUERY_SAMPLES {
        let sent = Instant::now();
        let mut response = agent
            .get(&url)
            .header("X-Auth-Token", token)
            .call()
            .unwrap();
        let body = response.body_mut().read_to_vec().unwrap();
        let elapsed = sent.elapsed();
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(&body));
        if round == 0 {
            let jobs: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(jobs["jobs"].as_array().unwrap().len(), 25);
        }
        if round >= QUERY_WARM_UP {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let percentile = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "GET {path}, {} jobs stored: p50 {:.2} ms, p99 {:.2} ms",
        STORED_JOBS,
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
    );
}

fn main() {
    let keys = Keys::generate();
    let token = keys.token("bench", &["api"], 3600);

    let state = tempfile::tempdir().unwrap();
    let runner = start_runner(&keys, state.path());
    start_stop_throughput(&runner, &token);
    drop(runner);

    let state = tempfile::tempdir().unwrap();
    let runner = start_runner(&keys, state.path());
    // The first request creates the schema; the jobs are then written beside the running runner.
    create_schema(&runner, &token);
    store_jobs(&state.path().join("sqlite_db.db"));
    latencies(
        &runner,
        &token,
        "/api/jobs/?state=running&items-per-page=25",
    );
    latencies(
        &runner,
        &token,
        "/api/jobs/?cluster=richcluster&start-time=1680000000-1690000000&items-per-page=25",
    );
}

fn create_schema(runner: &Runner, token: &str) {
    let mut response = bench_agent()
        .get(&runner.url("/api/jobs/"))
        .header("X-Auth-Token", token)
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.body_mut().read_to_vec().unwrap();
}
