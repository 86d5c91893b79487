//! Benchmark (prints figures, asserts nothing about speed) of the NATS bridge: publish-to-stored
//! throughput of start+stop pairs through one bridge (core NATS, 8 workers) against the same
//! pairs posted directly over REST by 8 clients, and metric lines per second through a metric
//! subject against direct `/api/write` requests of the same size, and the bridge's memory before
//! and after 100,000 more job events.
//!
//! Run with `cargo bench -p cc-spin-e2e --bench nats` (needs `nats-server` on PATH).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cc_spin_e2e::{
    binary, free_port, get, rss_kib, send, unix_now, workspace_root, Keys, Runner, RunnerConfig,
};
use serde_json::{json, Value};

const PAIRS: i64 = 2000;
const REST_CLIENTS: i64 = 8;
const METRIC_MESSAGES: usize = 500;
const LINES_PER_MESSAGE: usize = 100;
/// Job events (start+stop pairs) published between the two readings of the bridge's memory.
const MEMORY_EVENTS: i64 = 100_000;
/// Events published before waiting for the bridge to receive them: core NATS drops messages for a
/// subscriber that falls too far behind, so the flood is paced by what the bridge has taken.
const MEMORY_CHUNK: i64 = 2_000;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_line(subject_function: &str, body: &Value) -> String {
    let escaped = body.to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!("job,function={subject_function} event=\"{escaped}\"")
}

fn start_body(job_id: i64) -> Value {
    json!({"jobId": job_id, "user": "bench", "project": "bench", "cluster": "testcluster",
           "partition": "main", "walltime": 3600, "numNodes": 1, "numHwthreads": 8, "numAcc": 0,
           "shared": "none", "monitoringStatus": 1, "smt": 1,
           "resources": [{"hostname": "host123", "hwthreads": [0, 1, 2, 3, 4, 5, 6, 7]}],
           "startTime": 1_700_000_000 + job_id})
}

fn stop_body(job_id: i64) -> Value {
    json!({"jobId": job_id, "cluster": "testcluster", "startTime": 1_700_000_000 + job_id,
           "jobState": "completed", "stopTime": 1_700_000_060 + job_id})
}

fn completed(state: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(state.join("sqlite_db.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.query_row(
        "SELECT count(*) FROM job WHERE job_state = 'completed'",
        [],
        |row| row.get(0),
    )
    .unwrap_or(0)
}

/// One line: `count` items through the bridge and directly, as rates and their ratio.
fn print_rates(what: &str, count: i64, bridged: Duration, direct_label: &str, direct: Duration) {
    let rate = |elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!(
        "{what}: bridge {:.0}/s, {direct_label} {:.0}/s, ratio {:.2}",
        rate(bridged),
        rate(direct),
        rate(bridged) / rate(direct)
    );
}

fn main() {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "cc-nats-bridge"])
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(status.success());

    let nats_port = free_port();
    let store = tempfile::tempdir().unwrap();
    let _nats = Killed(
        Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &nats_port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH"),
    );
    while TcpStream::connect(("127.0.0.1", nats_port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    let keys = Keys::generate();
    let state = tempfile::tempdir().unwrap();
    let config = RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
        variables: vec![("jwt_public_key".into(), keys.public.clone())],
    };
    let runner = Runner::start(&config, state.path());
    let health = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(binary("cc-nats-bridge"))
        .args(["--nats-url", &format!("nats://127.0.0.1:{nats_port}")])
        .args(["--app-url", &runner.base_url, "--health-listen", &health])
        .args([
            "--metrics",
            "cc.metrics.test=testcluster",
            "--stats-interval",
            "0",
        ])
        .env("SPIN_VARIABLE_JWT_PRIVATE_KEY", &keys.private)
        .env("RUST_LOG", "warn,cc_nats_bridge=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("bridge starts");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let bridge_pid = child.id();
    let _bridge = Killed(child);
    while !log.lock().unwrap().contains("bridge ready") {
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut nats = TcpStream::connect(("127.0.0.1", nats_port)).unwrap();
    let mut reader = BufReader::new(nats.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    nats.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
    let mut publish = |subject: &str, payload: &str| {
        let frame = format!("PUB {subject} {}\r\n{payload}\r\n", payload.len());
        nats.write_all(frame.as_bytes()).unwrap();
    };

    // 1. start+stop pairs through the bridge.
    let started = Instant::now();
    for job_id in 1..=PAIRS {
        publish(
            "cc.job.event",
            &start_line("start_job", &start_body(job_id)),
        );
        publish("cc.job.event", &start_line("stop_job", &stop_body(job_id)));
    }
    while completed(state.path()) < PAIRS {
        std::thread::sleep(Duration::from_millis(10));
    }
    let bridged = started.elapsed();

    // 2. the same pairs (other job ids) over REST.
    let token = keys.token("bench", &["api"], 3600);
    let auth = format!("Bearer {token}");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..REST_CLIENTS {
            let (runner, auth) = (&runner, &auth);
            scope.spawn(move || {
                let mut job_id = PAIRS + 1 + client;
                while job_id <= 2 * PAIRS {
                    for (path, body) in [
                        ("/api/jobs/start_job/", start_body(job_id)),
                        ("/api/jobs/stop_job/", stop_body(job_id)),
                    ] {
                        let reply = send(
                            "POST",
                            &runner.url(path),
                            &[("Authorization", auth)],
                            body.to_string().as_bytes(),
                        );
                        assert!(reply.status < 300, "{}", reply.text());
                    }
                    job_id += REST_CLIENTS;
                }
            });
        }
    });
    print_rates(
        "start+stop pairs",
        PAIRS,
        bridged,
        &format!("direct REST ({REST_CLIENTS} clients)"),
        started.elapsed(),
    );

    // 3. metric lines: through a metric subject, then direct writes of the same bodies.
    let now = unix_now();
    let body = |message: usize, host: &str| -> String {
        (0..LINES_PER_MESSAGE)
            .map(|n| {
                format!(
                    "load_one,hostname={host}{message} value={n} {}\n",
                    now - n as i64
                )
            })
            .collect()
    };
    let lines = (METRIC_MESSAGES * LINES_PER_MESSAGE) as i64;
    let started = Instant::now();
    for message in 0..METRIC_MESSAGES {
        publish("cc.metrics.test", &body(message, "nats"));
    }
    let health_url = format!("http://{health}/healthz");
    let forwarded = || get(&health_url, &[]).json()["forwarded"].as_i64().unwrap();
    while forwarded() < 2 * PAIRS + lines {
        std::thread::sleep(Duration::from_millis(10));
    }
    let bridged = started.elapsed();
    let started = Instant::now();
    for message in 0..METRIC_MESSAGES {
        let reply = send(
            "POST",
            &runner.url("/api/write?cluster=testcluster"),
            &[("Authorization", &auth)],
            body(message, "rest").as_bytes(),
        );
        assert!(reply.status < 300, "{}", reply.text());
    }
    print_rates(
        &format!("metric lines ({LINES_PER_MESSAGE} per message)"),
        lines,
        bridged,
        "direct /api/write (1 client)",
        started.elapsed(),
    );

    // 4. the bridge's memory after warming up (above) and after 100,000 more job events.
    let rss_before = rss_kib(bridge_pid);
    let received = || get(&health_url, &[]).json()["received"].as_i64().unwrap();
    let first_job = 2 * PAIRS + 1;
    let mut published = received();
    let started = Instant::now();
    for job_id in first_job..first_job + MEMORY_EVENTS / 2 {
        publish(
            "cc.job.event",
            &start_line("start_job", &start_body(job_id)),
        );
        publish("cc.job.event", &start_line("stop_job", &stop_body(job_id)));
        published += 2;
        if (job_id - first_job + 1) % (MEMORY_CHUNK / 2) == 0 {
            while received() < published {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    while completed(state.path()) < 2 * PAIRS + MEMORY_EVENTS / 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib(bridge_pid);
    let mib =
        |kib: Option<u64>| kib.map_or("?".into(), |kib| format!("{:.1}", kib as f64 / 1024.0));
    println!(
        "bridge RSS: {} MiB before, {} MiB after {MEMORY_EVENTS} more job events ({:.0} events/s), ratio {}",
        mib(rss_before),
        mib(rss_after),
        MEMORY_EVENTS as f64 / elapsed.as_secs_f64(),
        match (rss_before, rss_after) {
            (Some(before), Some(after)) => format!("{:.2}", after as f64 / before as f64),
            _ => "?".into(),
        }
    );
}
