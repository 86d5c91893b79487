//! Benchmark (prints figures, asserts nothing about speed): `GET /api/clusters/?cluster=emmy`
//! (about 25 KB of JSON) through the runner and the wasm component, against the same handler
//! compiled natively behind a plain hyper server; plus an unrouted `/api/` path, whose cost is
//! almost only the per-request instantiation. Run with `cargo bench -p cc-spin-e2e` or `./dev bench`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cc_spin_e2e::{bench_agent, workspace_root, Keys, Runner, RunnerConfig};
use cc_web::NativePlatform;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

const CONNECTIONS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);

struct Figures {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

/// Keeps `CONNECTIONS` keep-alive clients busy for `MEASURE` after `WARM_UP`.
fn load(url: &str, token: &str) -> Figures {
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                scope.spawn(|| {
                    let agent = bench_agent();
                    let started = Instant::now();
                    let mut latencies = Vec::new();
                    while started.elapsed() < WARM_UP + MEASURE {
                        let sent = Instant::now();
                        let mut response = agent
                            .get(url)
                            .header("X-Auth-Token", token)
                            .call()
                            .expect("request succeeds");
                        let body = response.body_mut().read_to_vec().expect("body");
                        assert!(!body.is_empty());
                        if started.elapsed() > WARM_UP {
                            latencies.push(sent.elapsed());
                        }
                    }
                    latencies
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let mut sorted = latencies;
    sorted.sort();
    let percentile = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    Figures {
        requests_per_second: sorted.len() as f64 / MEASURE.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
        mean: sorted.iter().sum::<Duration>() / sorted.len() as u32,
    }
}

/// The api component's handler compiled natively, served by hyper on a loopback port.
fn start_native_server(keys: &Keys, state_dir: &std::path::Path) -> SocketAddr {
    let platform = Arc::new(NativePlatform {
        variables: HashMap::from([("jwt_public_key".to_owned(), keys.public.clone())]),
        state_dir: state_dir.to_path_buf(),
        clusters_dir: workspace_root().join("clusters"),
        taggers_dir: workspace_root().join("taggers"),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, peer) = listener.accept().await.unwrap();
                let platform = platform.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let platform = platform.clone();
                            async move {
                                let (mut parts, body) = request.into_parts();
                                let body = body.collect().await?.to_bytes().to_vec();
                                parts
                                    .headers
                                    .insert("spin-client-addr", peer.to_string().parse().unwrap());
                                let response = cc_api::handle(
                                    &http::Request::from_parts(parts, body),
                                    &*platform,
                                );
                                Ok::<_, hyper::Error>(
                                    response.map(|body| Full::new(Bytes::from(body))),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    address
}

fn report(label: &str, figures: &Figures) {
    println!(
        "{label:<44} {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms",
        figures.requests_per_second,
        figures.p50.as_secs_f64() * 1e3,
        figures.p99.as_secs_f64() * 1e3,
    );
}

fn main() {
    let keys = Keys::generate();
    let token = keys.token("bench", &["api"], 3600);
    let runner_state = tempfile::tempdir().unwrap();
    let runner = Runner::start(&RunnerConfig::app(&keys), runner_state.path());
    let native_state = tempfile::tempdir().unwrap();
    let native = format!("http://{}", start_native_server(&keys, native_state.path()));

    println!(
        "{CONNECTIONS} connections, {}s per case after {}s warm-up",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    let clusters = "/api/clusters/?cluster=emmy";
    let wasm = load(&runner.url(clusters), &token);
    report("GET /api/clusters/?cluster=emmy  runner+wasm", &wasm);
    let direct = load(&format!("{native}{clusters}"), &token);
    report("GET /api/clusters/?cluster=emmy  native", &direct);
    println!(
        "wasm path at {:.0}% of native throughput",
        100.0 * wasm.requests_per_second / direct.requests_per_second
    );

    let unrouted = "/api/unrouted/";
    let wasm_empty = load(&runner.url(unrouted), &token);
    report("GET /api/unrouted/ (JSON 404)  runner+wasm", &wasm_empty);
    let native_empty = load(&format!("{native}{unrouted}"), &token);
    report("GET /api/unrouted/ (JSON 404)  native", &native_empty);
    println!(
        "per-request cost of instantiation and host plumbing: {:.0} µs (mean latency difference)",
        (wasm_empty.mean.as_secs_f64() - native_empty.mean.as_secs_f64()) * 1e6
    );
}
