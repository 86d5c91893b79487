//! Any bytes sent to any route are answered with a success or a JSON 4xx, never a 5xx or a trap:
//! every route of every route table (the same tables the components mount) gets random bytes,
//! JSON of the wrong shape and mutations of real request bodies, as an admin with every role.

use cc_spin_e2e::{workspace_root, RunnerConfig, TestApp};

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const SHAPES: &[&str] = &[
    "",
    "null",
    "[]",
    "{}",
    "[{}]",
    "\"x\"",
    "0",
    "-1e400",
    "true",
    "{\"jobId\":null,\"cluster\":[],\"startTime\":\"x\"}",
    "{\"jobId\":1.5}",
    "{\"JOBID\":9223372036854775807,\"cluster\":\"testcluster\",\"startTime\":-1}",
    "[[\"testcluster\",\"host123\"]]",
    "{\"key\":\"k\",\"value\":\"v\"}",
    "[{\"type\":\"t\",\"name\":\"n\",\"scope\":\"nobody\"}]",
    "{\"cluster\":\"testcluster\",\"nodes\":[{\"hostname\":\"host123\",\"states\":[\"\"]}]}",
    "load_one,hostname=host123 value=1 1",
    "\u{0}\u{1}\u{2}",
];

/// Request bodies: fixed odd shapes, real payloads with bytes flipped, and noise.
fn bodies(noise: &mut Noise, seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = SHAPES
        .iter()
        .map(|shape| shape.as_bytes().to_vec())
        .collect();
    for seed in seeds {
        for _ in 0..4 {
            let mut mutated = seed.clone();
            for _ in 0..=noise.below(4) {
                let at = noise.below(mutated.len());
                mutated[at] = noise.next() as u8;
            }
            bodies.push(mutated);
        }
    }
    for _ in 0..6 {
        let len = noise.below(300);
        bodies.push(noise.bytes(len));
    }
    bodies.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes());
    bodies
}

/// A concrete path for a route pattern: parameters filled with values that exist, or not.
fn concrete(pattern: &str, noise: &mut Noise) -> String {
    let values = [
        "1",
        "999999",
        "-1",
        "x",
        "testcluster",
        "host123",
        "%00",
        "1e3",
    ];
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                values[noise.below(values.len())].to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn any_body_on_any_route_is_a_success_or_a_json_4xx() {
    let app = TestApp::start(|keys| {
        RunnerConfig {
            manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
            variables: vec![("jwt_public_key".into(), keys.public.clone())],
        }
        .variable("machine_state_enabled", "true")
    });
    let token = app.token("root", &["admin", "api", "user", "manager", "support"]);
    let seeds: Vec<Vec<u8>> = ["startJobPayload.json", "stopJobPayload.json"]
        .iter()
        .map(|name| {
            std::fs::read(workspace_root().join("tests/fixtures/payloads").join(name)).unwrap()
        })
        .collect();
    let mut noise = Noise(0x5eed_cafe_f00d_d00d);
    let mut answered = 0;
    for route in cc_openapi::route_tables()
        .into_iter()
        .flat_map(|(_, table)| table.iter())
    {
        for body in bodies(&mut noise, &seeds) {
            let path = concrete(route.path, &mut noise);
            let query = [
                "",
                "?to=",
                "?cluster=%ff",
                "?ts=x&page=-1&items-per-page=0",
                "?all-metrics=true&scope=x",
            ][noise.below(5)];
            let body = String::from_utf8_lossy(&body).into_owned();
            let reply = app.call(
                route.method.as_str(),
                &format!("{path}{query}"),
                &token,
                &body,
            );
            assert!(
                reply.status < 500,
                "{} {path}{query} with {body:?}: {} {}",
                route.method,
                reply.status,
                reply.text()
            );
            if reply.status >= 400 && reply.status != 405 {
                let json = reply.json();
                assert!(
                    json["error"].is_string(),
                    "{} {path}: {}",
                    route.method,
                    reply.text()
                );
            }
            answered += 1;
        }
    }
    assert!(answered > 500, "{answered} requests");
}
