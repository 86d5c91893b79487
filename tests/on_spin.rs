//! The app on real Spin (`spin up` on the repository's spin.toml), for what depends on the host:
//! Spin's SQLite host (a new connection per `open`, its sleeping busy handler), its shared
//! key-value connection and its HTTP server. Skipped when `spin` is not on PATH; `.ci/run`
//! installs it when the workplace provides a Spin binary (docs/testing.md#real-spin).

use cc_spin_e2e::{
    collector_batch, fritz_host, get, send, unix_now, workspace_root, Keys, Reply, SpinUp,
};
use serde_json::{json, Value};

/// Spin serving the app from a fresh state directory, with an admin+api token.
struct OnSpin {
    spin: SpinUp,
    token: String,
    state: tempfile::TempDir,
}

impl OnSpin {
    /// Spin with its default stores, or with the key-value store in the database file.
    fn start(test: &str, one_file: bool) -> Option<OnSpin> {
        let keys = Keys::generate();
        let state = tempfile::tempdir().expect("temporary state directory");
        let spin = if one_file {
            SpinUp::start_with_one_file(&keys, state.path())
        } else {
            SpinUp::start(&keys, state.path())
        };
        let Some(spin) = spin else {
            eprintln!("{test}: skipped, `spin` is not on PATH");
            return None;
        };
        Some(OnSpin {
            spin,
            token: keys.token("admin", &["admin", "api"], 3600),
            state,
        })
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        send(
            "POST",
            &format!("{}{path}", self.spin.base_url),
            &[("Authorization", &format!("Bearer {}", self.token))],
            body.as_bytes(),
        )
    }

    fn get(&self, path: &str) -> Reply {
        get(
            &format!("{}{path}", self.spin.base_url),
            &[("Authorization", &format!("Bearer {}", self.token))],
        )
    }
}

fn start_body(job_id: i64) -> String {
    json!({
        "jobId": job_id, "user": "u", "project": "p", "cluster": "emmy", "numNodes": 1,
        "resources": [{"hostname": "w1127"}], "startTime": 1_700_000_000,
    })
    .to_string()
}

fn assert_whole(reply: &Reply) {
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str()),
        "a response carries its length"
    );
}

#[test]
fn starts_and_stops_hold_their_invariants_on_spin() {
    if let Some(app) = OnSpin::start("starts_and_stops_hold_their_invariants_on_spin", false) {
        starts_and_stops_hold_their_invariants(&app);
    }
}

/// The same with the key-value store's one connection keeping the database file open, and the
/// signature memo written into it beside the jobs.
#[test]
fn starts_and_stops_hold_their_invariants_on_spin_with_one_file() {
    let test = "starts_and_stops_hold_their_invariants_on_spin_with_one_file";
    if let Some(app) = OnSpin::start(test, true) {
        starts_and_stops_hold_their_invariants(&app);
        let memo = rusqlite::Connection::open(app.state.path().join("sqlite_db.db"))
            .and_then(|db| {
                db.query_row(
                    "SELECT count(*) FROM spin_key_value WHERE key LIKE 'jwt-verified/%'",
                    [],
                    |row| row.get::<_, i64>(0),
                )
            })
            .expect("the key-value table lives in the database file");
        assert_eq!(
            memo, 1,
            "the token's verified signature is remembered there"
        );
        assert!(!app.state.path().join("sqlite_key_value.db").exists());
    }
}

fn starts_and_stops_hold_their_invariants(app: &OnSpin) {
    let started = app.post("/api/jobs/start_job/", &start_body(1));
    assert_eq!(
        (started.status, started.text()),
        (201, "{\"msg\":\"success\"}\n")
    );
    assert_whole(&started);

    // Twenty identical starts at once: one job, nineteen duplicates.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| app.post("/api/jobs/start_job/", &start_body(2)).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        19,
        "{statuses:?}"
    );

    // Twenty stops of one job at once: one succeeds, the others find it stopped.
    let stop = json!({"jobId": 2, "cluster": "emmy", "stopTime": 1_700_000_600}).to_string();
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| scope.spawn(|| app.post("/api/jobs/stop_job/", &stop)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stopped: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].json()["jobState"], "completed");
    assert_eq!(stopped[0].json()["duration"], 600);
    for refused in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(refused.status, 422, "{}", refused.text());
        assert!(refused.text().contains("job has already been stopped"));
    }

    let jobs = app.get("/api/jobs/?cluster=emmy");
    assert_eq!(jobs.status, 200, "{}", jobs.text());
    let listed: Vec<(i64, String)> = jobs.json()["jobs"]
        .as_array()
        .expect("a job list")
        .iter()
        .map(|job| (job["jobId"].as_i64().unwrap(), job["jobState"].to_string()))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&(1, "\"running\"".into())));
    assert!(listed.contains(&(2, "\"completed\"".into())));
}

#[test]
fn metric_writes_and_large_responses_on_spin() {
    let Some(app) = OnSpin::start("metric_writes_and_large_responses_on_spin", false) else {
        return;
    };
    let host = fritz_host(0);
    let (body, points) = collector_batch(&host, unix_now() - 60, 1.5);
    assert!(points > 100);
    let written = app.post("/api/write?cluster=fritz", &body);
    assert_eq!((written.status, written.text()), (200, ""));
    let tree = app.get(&format!("/api/debug?selector=fritz:{host}"));
    assert_eq!(tree.status, 200, "{}", tree.text());
    let data: &Value = &tree.json()["data"];
    assert!(
        data.as_object().is_some_and(|metrics| !metrics.is_empty()),
        "the written host's samples are stored: {data}"
    );

    // A body larger than the host's 1 MiB response buffer arrives whole.
    let bundle = get(
        &format!("{}/swagger/swagger-ui-bundle.js", app.spin.base_url),
        &[],
    );
    let expected =
        std::fs::read(workspace_root().join("components/swagger/swagger-ui/swagger-ui-bundle.js"))
            .unwrap();
    assert_eq!(bundle.status, 200);
    assert!(bundle.body == expected, "the bundle arrives byte for byte");
    assert_whole(&bundle);
}
