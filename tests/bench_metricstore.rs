//! Benchmark (prints figures, asserts nothing about speed) of the metric store through the runner
//! and the wasm components (the app's spin.toml with the fritz cluster):
//!
//! 1. `/api/write` ingestion with cc-metric-collector-shaped batches (one host, one timestamp,
//!    ~840 lines across node/socket/memoryDomain/core/hwthread levels), 4 concurrent senders of 4
//!    hosts each (75 batches per host, so pending batches are merged several times);
//! 2. reading one metric at node scope of a running 64-node, 24-hour job at 60 s timestep;
//! 3. archiving that job with 10 metrics: time from the stop response until monitoringStatus 3;
//! 4. `all-metrics` of a 1-node job that received full batches for an hour;
//! 5. rows kept under retention while writing three hours of samples with a one-hour retention.
//!
//! Run with `cargo bench -p cc-spin-e2e --bench metricstore`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use cc_spin_e2e::{
    bench_agent, collector_batch, fritz_host, unix_now, Keys, Runner, RunnerConfig, NODE_METRICS,
};
use serde_json::json;

const SENDERS: usize = 4;
const BATCHES_PER_SENDER: usize = 300;
const HOSTS_PER_SENDER: usize = 4;
const READ_SAMPLES: usize = 30;

fn send(agent: &ureq::Agent, method: &str, url: &str, token: &str, body: &str) -> (u16, String) {
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("X-Auth-Token", token)
        .body(body.to_owned())
        .expect("valid request");
    let mut response = agent.run(request).expect("request succeeds");
    let text = response.body_mut().read_to_string().expect("body");
    (response.status().as_u16(), text)
}

fn ingestion(runner: &Runner, token: &str) {
    let url = runner.url("/api/write");
    let now = unix_now() / 60 * 60;
    let started = Instant::now();
    let lines: usize = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let url = &url;
                scope.spawn(move || {
                    let agent = bench_agent();
                    let mut lines = 0;
                    for batch in 0..BATCHES_PER_SENDER {
                        // Few hosts, many batches each: the steady state includes merging.
                        let host =
                            fritz_host(200 + sender * HOSTS_PER_SENDER + batch % HOSTS_PER_SENDER);
                        let time = now - 3 * 3600 + (batch / HOSTS_PER_SENDER) as i64 * 60;
                        let (body, count) = collector_batch(&host, time, batch as f64);
                        assert_eq!(send(&agent, "POST", url, token, &body).0, 200);
                        lines += count;
                    }
                    lines
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|sender| sender.join().unwrap())
            .sum()
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "ingestion, {SENDERS} senders, {} batches of {} lines: {:.0} points/s ({:.0} batches/s, {elapsed:.2} s)",
        SENDERS * BATCHES_PER_SENDER,
        lines / (SENDERS * BATCHES_PER_SENDER),
        lines as f64 / elapsed,
        (SENDERS * BATCHES_PER_SENDER) as f64 / elapsed,
    );
}

/// 24 hours of the node metrics and mem_bw (sockets) for 64 hosts: 10 metrics.
fn populate_day(runner: &Runner, token: &str, start: i64) {
    let url = runner.url("/api/write");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let url = &url;
            scope.spawn(move || {
                let agent = bench_agent();
                for index in (sender..64).step_by(SENDERS) {
                    let host = fritz_host(index);
                    for hour in 0..24 {
                        let mut body = String::new();
                        for minute in 0..60 {
                            let time = start + (hour * 60 + minute) * 60;
                            let value = (hour * 60 + minute) as f64 / 10.0;
                            for metric in NODE_METRICS {
                                writeln!(body, "{metric},cluster=fritz,hostname={host} value={value} {time}").unwrap();
                            }
                            for socket in 0..2 {
                                writeln!(body, "mem_bw,cluster=fritz,hostname={host},type=socket,type-id={socket} value={value} {time}").unwrap();
                            }
                        }
                        assert_eq!(send(&agent, "POST", url, token, &body).0, 200);
                    }
                }
            });
        }
    });
    println!(
        "populated 64 hosts × 24 h × 10 metrics ({} points) in {:.1} s",
        64 * 24 * 60 * 11,
        started.elapsed().as_secs_f64()
    );
}

fn start_job(
    agent: &ureq::Agent,
    runner: &Runner,
    token: &str,
    job_id: i64,
    hosts: usize,
    start: i64,
) -> i64 {
    let resources: Vec<_> = (0..hosts)
        .map(|index| json!({"hostname": fritz_host(index)}))
        .collect();
    let body = json!({
        "jobId": job_id, "user": "bench", "project": "bench", "cluster": "fritz",
        "numNodes": hosts, "resources": resources, "startTime": start
    });
    let (status, _) = send(
        agent,
        "POST",
        &runner.url("/api/jobs/start_job/"),
        token,
        &body.to_string(),
    );
    assert_eq!(status, 201);
    let (_, list) = send(
        agent,
        "GET",
        &runner.url("/api/jobs/?state=running&items-per-page=100"),
        token,
        "",
    );
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["jobId"] == job_id)
        .and_then(|job| job["id"].as_i64())
        .expect("started job is listed")
}

fn timed(agent: &ureq::Agent, url: &str, token: &str, method: &str, body: &str) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(READ_SAMPLES);
    for _ in 0..READ_SAMPLES {
        let started = Instant::now();
        let (status, text) = send(agent, method, url, token, body);
        samples.push(started.elapsed());
        assert_eq!(status, 200, "{text}");
        assert!(
            !text.contains("\"error\":{"),
            "{}",
            &text[..text.len().min(300)]
        );
    }
    samples.sort();
    samples
}

fn report(name: &str, samples: &[Duration]) {
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: p50 {:.1} ms, p99 {:.1} ms",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}

fn big_job(runner: &Runner, token: &str) {
    let agent = bench_agent();
    let start = unix_now() / 60 * 60 - 24 * 3600;
    populate_day(runner, token, start);
    let id = start_job(&agent, runner, token, 64_001, 64, start);
    let url = runner.url(&format!(
        "/api/jobs/metrics/{id}?metric=cpu_load&scope=node"
    ));
    let (_, body) = send(&agent, "GET", &url, token, "");
    let series = body.matches("\"hostname\"").count();
    let points = body.matches(',').count();
    report(
        &format!("one metric, node scope, 64 nodes × 24 h ({series} series, ~{points} values)"),
        &timed(&agent, &url, token, "GET", ""),
    );

    let stop = json!({"jobId": 64_001, "cluster": "fritz", "startTime": start,
        "stopTime": start + 24 * 3600, "jobState": "completed"});
    let stopped = Instant::now();
    let (status, _) = send(
        &agent,
        "POST",
        &runner.url("/api/jobs/stop_job/"),
        token,
        &stop.to_string(),
    );
    let response_time = stopped.elapsed();
    assert_eq!(status, 200);
    loop {
        let (_, job) = send(
            &agent,
            "GET",
            &runner.url(&format!("/api/jobs/{id}")),
            token,
            "",
        );
        let job: serde_json::Value = serde_json::from_str(&job).unwrap();
        match job["Meta"]["monitoringStatus"].as_i64() {
            Some(3) => break,
            Some(2) => panic!("archiving failed"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(120),
            "archiving takes too long"
        );
    }
    println!(
        "archiving 64 nodes × 24 h × 10 metrics: stop answered in {:.1} ms, archived {:.2} s after the stop",
        response_time.as_secs_f64() * 1000.0,
        stopped.elapsed().as_secs_f64()
    );
    let url = runner.url(&format!(
        "/api/jobs/metrics/{id}?metric=cpu_load&scope=node"
    ));
    report(
        "same metric from the archive",
        &timed(&agent, &url, token, "GET", ""),
    );
}

fn one_node_all_metrics(runner: &Runner, token: &str) {
    let agent = bench_agent();
    let start = unix_now() / 60 * 60 - 3600;
    let host = fritz_host(100);
    for minute in 0..60 {
        let (body, _) = collector_batch(&host, start + minute * 60, minute as f64);
        assert_eq!(
            send(&agent, "POST", &runner.url("/api/write"), token, &body).0,
            200
        );
    }
    let resources = json!([{"hostname": host, "hwthreads": (0..72).collect::<Vec<_>>()}]);
    let body = json!({"jobId": 1_001, "user": "bench", "project": "bench", "cluster": "fritz",
        "numNodes": 1, "numHwthreads": 72, "resources": resources, "startTime": start});
    let (status, _) = send(
        &agent,
        "POST",
        &runner.url("/api/jobs/start_job/"),
        token,
        &body.to_string(),
    );
    assert_eq!(status, 201);
    let (_, list) = send(
        &agent,
        "GET",
        &runner.url("/api/jobs/?state=running"),
        token,
        "",
    );
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["jobId"] == 1_001)
        .and_then(|job| job["id"].as_i64())
        .unwrap();
    let url = runner.url(&format!("/api/jobs/{id}?all-metrics=true"));
    let (_, data) = send(&agent, "GET", &url, token, "");
    report(
        &format!(
            "all-metrics, 1 node × 1 h of full batches (core scope, {} bytes)",
            data.len()
        ),
        &timed(&agent, &url, token, "GET", ""),
    );
}

fn bounded_by_retention(keys: &Keys, token: &str) {
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(
        &RunnerConfig::app(keys).variable("metric_retention", "1h"),
        state.path(),
    );
    let agent = bench_agent();
    let url = runner.url("/api/write");
    let now = unix_now() / 60 * 60;
    let mut written = 0;
    for minute in 0..180 {
        for index in 0..8 {
            let mut body = String::new();
            for metric in NODE_METRICS {
                writeln!(
                    body,
                    "{metric},cluster=fritz,hostname={} value=1 {}",
                    fritz_host(index),
                    now - (180 - minute) * 60
                )
                .unwrap();
                written += 1;
            }
            assert_eq!(send(&agent, "POST", &url, token, &body).0, 200);
        }
        if minute % 60 == 59 {
            // Retention runs at most every 10 s.
            std::thread::sleep(Duration::from_secs(10));
        }
    }
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(send(&agent, "POST", &url, token, "").0, 200);
    let db = rusqlite::Connection::open(state.path().join("sqlite_db.db")).unwrap();
    let chunks: i64 = db
        .query_row("SELECT count(*) FROM metric_chunk", [], |row| row.get(0))
        .unwrap();
    let batches: i64 = db
        .query_row("SELECT count(*) FROM metric_batch", [], |row| row.get(0))
        .unwrap();
    let oldest: Option<i64> = db
        .query_row("SELECT min(first_time) FROM metric_chunk", [], |row| {
            row.get(0)
        })
        .unwrap();
    println!(
        "retention 1 h, 3 h written ({written} points, 8 hosts): {chunks} chunk rows + {batches} pending batches kept, oldest sample {} min old",
        oldest.map_or(0, |oldest| (now - oldest) / 60)
    );
    runner.stop();
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    cc_spin_e2e::build_once();
    let keys = Keys::generate();
    let token = keys.token("bench", &["api"], 3600);
    let state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&RunnerConfig::app(&keys), state.path());
    ingestion(&runner, &token);
    one_node_all_metrics(&runner, &token);
    big_job(&runner, &token);
    runner.stop();
    bounded_by_retention(&keys, &token);
}
