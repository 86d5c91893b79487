//! Crash safety: the runner is killed with SIGKILL while clients start and stop jobs and write
//! metrics. Restarted on the same state directory, both databases pass SQLite's integrity check,
//! every change that was answered 2xx is there exactly once, and nothing is half-written: no job
//! without the tag it was started with, no archive without its statistics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cc_spin_e2e::{try_send, unix_now, workspace_root, Keys, Reply, Runner, RunnerConfig};
use rusqlite::Connection;
use serde_json::json;

const CLIENTS: i64 = 4;

fn config(keys: &Keys) -> RunnerConfig {
    RunnerConfig {
        manifest: workspace_root().join("tests/fixtures/metricstore-spin.toml"),
        variables: vec![("jwt_public_key".into(), keys.public.clone())],
    }
}

/// What the clients were told succeeded.
#[derive(Default)]
struct Acknowledged {
    started: Vec<i64>,
    stopped: Vec<i64>,
    written_hosts: Vec<String>,
}

/// One client's loop: start a job with a tag, write a sample for a host of its own, stop the job;
/// it ends at the first transport failure (the runner is gone) or when told to.
fn client(base: &str, token: &str, client: i64, done: &AtomicBool, seen: &Mutex<Acknowledged>) {
    let auth = format!("Bearer {token}");
    let post = |path: &str, body: String| -> Result<Reply, String> {
        try_send(
            "POST",
            &format!("{base}{path}"),
            &[("Authorization", &auth)],
            body.as_bytes(),
        )
    };
    let now = unix_now();
    for n in 0.. {
        if done.load(Ordering::Relaxed) {
            return;
        }
        let job_id = client * 1_000_000 + n;
        let start = json!({
            "jobId": job_id, "user": "crash", "project": "crash", "cluster": "testcluster",
            "numNodes": 1, "resources": [{"hostname": "host123"}], "startTime": now - 3600,
            "tags": [{"type": "crash", "name": format!("client-{client}")}]
        });
        match post("/api/jobs/start_job/", start.to_string()) {
            Ok(reply) if reply.status == 201 => seen.lock().unwrap().started.push(job_id),
            Ok(reply) => panic!("start {job_id}: {} {}", reply.status, reply.text()),
            Err(_) => return,
        }
        let host = format!("crash-{client}-{n}");
        let line =
            format!("load_one,cluster=testcluster,hostname={host},type=node value={n} {now}");
        match post("/api/write", line) {
            Ok(reply) if reply.status == 200 => seen.lock().unwrap().written_hosts.push(host),
            Ok(reply) => panic!("write {host}: {} {}", reply.status, reply.text()),
            Err(_) => return,
        }
        let stop = json!({"jobId": job_id, "cluster": "testcluster", "startTime": now - 3600,
            "jobState": "completed", "stopTime": now});
        match post("/api/jobs/stop_job/", stop.to_string()) {
            Ok(reply) if reply.status == 200 => seen.lock().unwrap().stopped.push(job_id),
            Ok(reply) => panic!("stop {job_id}: {} {}", reply.status, reply.text()),
            Err(_) => return,
        }
    }
}

fn integrity(path: &std::path::Path) -> String {
    let db = Connection::open(path).unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    db.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_killed_runner_loses_nothing_it_acknowledged() {
    let state = tempfile::tempdir().unwrap();
    let keys = Keys::generate();
    let token = keys.token("adapter", &["api"], 3600);
    let runner = Runner::start(&config(&keys), state.path());
    let base = runner.base_url.clone();
    let done = AtomicBool::new(false);
    let seen = Mutex::new(Acknowledged::default());
    std::thread::scope(|scope| {
        for id in 0..CLIENTS {
            let (base, token, done, seen) = (&base, &token, &done, &seen);
            scope.spawn(move || client(base, token, id, done, seen));
        }
        std::thread::sleep(Duration::from_secs(3));
        runner.kill();
        done.store(true, Ordering::Relaxed);
    });
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.started.len() >= CLIENTS as usize && !seen.stopped.is_empty(),
        "the load ran: {} starts, {} stops",
        seen.started.len(),
        seen.stopped.len()
    );

    let db_path = state.path().join("sqlite_db.db");
    assert_eq!(integrity(&db_path), "ok");
    assert_eq!(integrity(&state.path().join("sqlite_key_value.db")), "ok");

    let runner = Runner::start(&config(&keys), state.path());
    let db = Connection::open(&db_path).unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    let count =
        |sql: &str, job_id: i64| -> i64 { db.query_row(sql, [job_id], |row| row.get(0)).unwrap() };
    for job_id in &seen.started {
        assert_eq!(
            count("SELECT count(*) FROM job WHERE job_id = ?1", *job_id),
            1,
            "started job {job_id}"
        );
    }
    for job_id in &seen.stopped {
        assert_eq!(
            count(
                "SELECT count(*) FROM job WHERE job_id = ?1 AND job_state = 'completed'",
                *job_id
            ),
            1,
            "stopped job {job_id}"
        );
    }
    let scalar = |sql: &str| -> i64 { db.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(
        scalar(
            "SELECT count(*) FROM job WHERE NOT EXISTS \
             (SELECT 1 FROM jobtag WHERE jobtag.job_id = job.id)"
        ),
        0,
        "every stored job has the tag it was started with"
    );
    assert_eq!(
        scalar("SELECT count(*) FROM job_archive WHERE json_extract(meta, '$.statistics') IS NULL"),
        0,
        "no archive without statistics"
    );
    assert_eq!(
        scalar(
            "SELECT count(*) FROM job WHERE monitoring_status = 3 \
             AND id NOT IN (SELECT job_id FROM job_archive)"
        ),
        0,
        "no job marked archived without its archive"
    );

    let auth = format!("Bearer {}", keys.token("adapter", &["api"], 3600));
    for host in &seen.written_hosts {
        let reply = try_send(
            "GET",
            &runner.url(&format!("/api/debug?selector=testcluster:{host}")),
            &[("Authorization", &auth)],
            b"",
        )
        .unwrap();
        assert_eq!(reply.status, 200, "samples of {host}: {}", reply.text());
    }
    runner.stop();
}
