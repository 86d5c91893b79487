//! The same load against cc-spin's runner and, when `spin` is on PATH, Spin itself, printed side
//! by side (docs/testing.md#benchmarks): both serve the repository's spin.toml from fresh state
//! directories at the same time, and each route runs on one and then the other, 4 concurrent
//! clients, `BENCH_SECONDS` (default 10) each.
//!
//! Routes: `GET /api/clusters/?cluster=emmy`; `POST /api/jobs/start_job/` with a new job each;
//! `POST /api/write` with one fritz node's collector batch each; start+stop pairs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cc_spin_e2e::{
    bench_agent, collector_batch, fritz_host, unix_now, Keys, Runner, RunnerConfig, SpinUp,
};
use serde_json::json;

const CLIENTS: usize = 4;

fn measure_for() -> Duration {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(seconds)
}

/// What one route did on one runner.
struct Figures {
    /// Work units per second (requests, points or jobs).
    rate: f64,
    p99: Duration,
    failures: u64,
}

/// Runs `request` from `CLIENTS` threads for `duration`; each call gets its client index and a
/// sequence number unique across the run and returns (success, work units done).
fn drive(duration: Duration, request: impl Fn(&ureq::Agent, u64) -> (bool, u64) + Sync) -> Figures {
    let sequence = AtomicU64::new(0);
    let started = Instant::now();
    let per_client: Vec<(Vec<Duration>, u64, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    let agent = bench_agent();
                    let (mut latencies, mut units, mut failures) = (Vec::new(), 0, 0);
                    while started.elapsed() < duration {
                        let number = sequence.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        let (ok, done) = request(&agent, number);
                        latencies.push(sent.elapsed());
                        units += done;
                        failures += u64::from(!ok);
                    }
                    (latencies, units, failures)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = per_client.iter().flat_map(|(l, _, _)| l.clone()).collect();
    latencies.sort();
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    Figures {
        rate: per_client.iter().map(|(_, units, _)| *units).sum::<u64>() as f64 / elapsed,
        p99,
        failures: per_client.iter().map(|(_, _, failures)| failures).sum(),
    }
}

fn post(agent: &ureq::Agent, url: &str, token: &str, body: &str) -> u16 {
    let mut response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .send(body)
        .expect("request is sent");
    response.body_mut().read_to_vec().expect("body");
    response.status().as_u16()
}

fn start_body(job_id: u64) -> String {
    json!({
        "jobId": job_id, "user": "bench", "project": "bench", "cluster": "emmy",
        "numNodes": 1, "resources": [{"hostname": "w1127"}], "startTime": 1_700_000_000,
    })
    .to_string()
}

fn stop_body(job_id: u64) -> String {
    json!({
        "jobId": job_id, "cluster": "emmy", "startTime": 1_700_000_000,
        "stopTime": 1_700_000_600, "jobState": "completed",
    })
    .to_string()
}

/// The measured loads, in the order they are printed.
#[derive(Clone, Copy)]
enum Load {
    Clusters,
    Start,
    Write,
    Pairs,
}

impl Load {
    const ALL: [Load; 4] = [Load::Clusters, Load::Start, Load::Write, Load::Pairs];

    fn route(self) -> &'static str {
        match self {
            Load::Clusters => "GET /api/clusters/?cluster=emmy",
            Load::Start => "POST /api/jobs/start_job/ (new job each)",
            Load::Write => "POST /api/write (one node's batch each)",
            Load::Pairs => "start+stop pairs",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Load::Clusters | Load::Start => "req/s",
            Load::Write => "points/s",
            Load::Pairs => "jobs/s",
        }
    }

    /// The load's figures on the app at `base`.
    fn run(self, base: &str, token: &str) -> Figures {
        let duration = measure_for();
        let start = format!("{base}/api/jobs/start_job/");
        match self {
            Load::Clusters => {
                let clusters = format!("{base}/api/clusters/?cluster=emmy");
                drive(duration, |agent, _| {
                    let mut response = agent
                        .get(&clusters)
                        .header("Authorization", &format!("Bearer {token}"))
                        .call()
                        .expect("request is sent");
                    response.body_mut().read_to_vec().expect("body");
                    (response.status() == 200, 1)
                })
            }
            Load::Start => drive(duration, |agent, number| {
                (
                    post(agent, &start, token, &start_body(1_000_000 + number)) == 201,
                    1,
                )
            }),
            Load::Write => {
                let write = format!("{base}/api/write?cluster=fritz");
                drive(duration, |agent, number| {
                    let host = fritz_host(number as usize % 500);
                    let (body, points) = collector_batch(&host, unix_now() - 60, number as f64);
                    (post(agent, &write, token, &body) == 200, points as u64)
                })
            }
            Load::Pairs => {
                let stop = format!("{base}/api/jobs/stop_job/");
                drive(duration, |agent, number| {
                    let job_id = 10_000_000 + number;
                    let started = post(agent, &start, token, &start_body(job_id)) == 201;
                    let stopped = post(agent, &stop, token, &stop_body(job_id)) == 200;
                    (started && stopped, 1)
                })
            }
        }
    }

    /// What the load should reach on Spin with 4 clients (docs/testing.md#benchmarks): minimum
    /// rate and maximum p99 in ms.
    fn spin_target(self) -> (Option<f64>, Option<f64>) {
        match self {
            Load::Clusters => (None, Some(10.0)),
            Load::Start => (Some(1_500.0), Some(20.0)),
            Load::Write => (Some(400_000.0), Some(50.0)),
            Load::Pairs => (Some(1_000.0), None),
        }
    }
}

/// The runner predicts Spin when their rates differ by at most this share.
const RUNNER_TOLERANCE: f64 = 0.10;

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "missed"
    }
}

/// One line per load: each target against Spin's figures, and whether the runner's rate is
/// within [`RUNNER_TOLERANCE`] of Spin's.
fn print_targets(measured: &[Measured]) {
    println!("\n| route | Spin rate target | Spin p99 target | runner within 10 % of Spin |");
    println!("|---|---|---|---|");
    for Measured {
        load, runner, spin, ..
    } in measured
    {
        let Some(spin) = spin else { continue };
        let (min_rate, max_p99_ms) = load.spin_target();
        let rate = min_rate.map_or_else(
            || "—".to_owned(),
            |min| format!("≥ {min:.0}: {}", verdict(spin.rate >= min)),
        );
        let p99 = max_p99_ms.map_or_else(
            || "—".to_owned(),
            |max| {
                let met = spin.p99.as_secs_f64() * 1000.0 < max;
                format!("< {max:.0} ms: {}", verdict(met))
            },
        );
        let close = (runner.rate / spin.rate - 1.0).abs() <= RUNNER_TOLERANCE;
        println!("| {} | {rate} | {p99} | {} |", load.route(), verdict(close));
    }
}

fn cell(figures: Option<&Figures>) -> String {
    figures.map_or_else(
        || "—".to_owned(),
        |f| {
            let failed = if f.failures > 0 {
                format!(", {} failed", f.failures)
            } else {
                String::new()
            };
            format!(
                "{:.0}, p99 {:.1} ms{failed}",
                f.rate,
                f.p99.as_secs_f64() * 1000.0
            )
        },
    )
}

/// Figures of one load: on the runner, on Spin, and on Spin with one file for both stores.
struct Measured {
    load: Load,
    runner: Figures,
    spin: Option<Figures>,
    spin_one_file: Option<Figures>,
}

/// The apps run side by side and each load runs on the runner and then on each Spin, so a drift
/// in the machine's speed during the run touches every column of a line alike.
fn main() {
    let keys = Keys::generate();
    let token = keys.token("bench", &["api"], 24 * 3600);
    let runner_state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&RunnerConfig::app(&keys), runner_state.path());
    let spin_state = tempfile::tempdir().unwrap();
    let spin = SpinUp::start(&keys, spin_state.path());
    let one_file_state = tempfile::tempdir().unwrap();
    let spin_one_file = spin
        .as_ref()
        .and_then(|_| SpinUp::start_with_one_file(&keys, one_file_state.path()));
    if spin.is_none() {
        println!("spin is not on PATH: only the runner's column is filled");
    }
    let on = |spin: &Option<SpinUp>, load: Load| {
        spin.as_ref().map(|spin| load.run(&spin.base_url, &token))
    };
    let measured: Vec<Measured> = Load::ALL
        .into_iter()
        .map(|load| Measured {
            load,
            runner: load.run(runner.base_url.trim_end_matches('/'), &token),
            spin: on(&spin, load),
            spin_one_file: on(&spin_one_file, load),
        })
        .collect();

    println!(
        "\n{CLIENTS} clients, {} s per route; rate, p99 latency\n",
        measure_for().as_secs()
    );
    println!("| route | unit | cc-spin runner | spin | runner ÷ spin | spin, key-value in the database file |");
    println!("|---|---|---|---|---|---|");
    for line in &measured {
        let ratio = line.spin.as_ref().map_or_else(
            || "—".to_owned(),
            |s| format!("{:.2}", line.runner.rate / s.rate),
        );
        println!(
            "| {} | {} | {} | {} | {ratio} | {} |",
            line.load.route(),
            line.load.unit(),
            cell(Some(&line.runner)),
            cell(line.spin.as_ref()),
            cell(line.spin_one_file.as_ref())
        );
    }
    print_targets(&measured);
}
