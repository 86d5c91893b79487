//! Store behaviour through its public functions on a migrated in-memory database.

use std::path::Path;

use cc_model::{load_clusters, Aggregation};
use cc_store::native::NativeSql;
use cc_store::{Sql, Value};

use super::*;
use crate::source::{RawSeries, SampleSource, Selector, SeriesQuery};

const NOW: i64 = 1_700_000_040;

fn database() -> NativeSql {
    let db = NativeSql::open_in_memory().unwrap();
    cc_store::migrate(&db).unwrap();
    db
}

fn registry() -> Registry {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/clusters");
    Registry::from_clusters(&load_clusters(&dir).unwrap())
}

fn write(db: &NativeSql, body: &str) -> Result<WriteOutcome, WriteError> {
    write_lines(db, &registry(), body.as_bytes(), "testcluster", NOW)
}

fn count(db: &NativeSql, table: &str) -> i64 {
    db.execute(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .scalar()
        .and_then(Value::as_i64)
        .unwrap()
}

fn query<'a>(host: &'a str, metric: &'a str, from: i64, to: i64) -> SeriesQuery<'a> {
    SeriesQuery {
        cluster: "testcluster",
        host,
        metric,
        selector: None,
        from,
        to,
        aggregation: Aggregation::Avg,
    }
}

fn read_one(db: &NativeSql, query: &SeriesQuery<'_>) -> Option<RawSeries> {
    StoredSamples::new(db).read(query).unwrap().pop().unwrap()
}

#[test]
fn samples_land_on_the_grid_and_read_back_with_gaps() {
    let db = database();
    // 1_700_000_040 is slot 28_333_334 × 60; times round to the nearest slot.
    let body = "load_one,hostname=host123 value=1\n\
                load_one,hostname=host123 value=2 1700000095\n\
                load_one,hostname=host123 value=4i 1700000220\n";
    assert_eq!(
        write(&db, body).unwrap(),
        WriteOutcome {
            stored: 3,
            skipped: 0
        }
    );
    let series = read_one(&db, &query("host123", "load_one", NOW - 600, NOW + 600)).unwrap();
    assert_eq!(series.from, NOW);
    assert_eq!(series.timestep, 60);
    assert_eq!(series.data[..2], [1.0, 2.0]);
    assert!(series.data[2].is_nan());
    assert_eq!(series.data[3], 4.0);
    assert_eq!(series.data.len(), 4);
    // The end is exclusive and the start moves to the first sample.
    let cut = read_one(&db, &query("host123", "load_one", NOW + 60, NOW + 180)).unwrap();
    assert_eq!((cut.from, cut.data.len()), (NOW + 60, 1));
    assert_eq!(
        read_one(&db, &query("host124", "load_one", NOW - 60, NOW + 60)),
        None
    );
}

#[test]
fn merged_chunks_and_pending_batches_read_the_same() {
    let db = database();
    for step in 0..(COMPACT_AFTER as i64 + 3) {
        let body = format!(
            "load_one,hostname=host123 value={step} {}\n",
            NOW + step * 60
        );
        write(&db, &body).unwrap();
    }
    assert!(count(&db, "metric_chunk") >= 1);
    assert_eq!(count(&db, "metric_batch"), 3);
    let series = read_one(&db, &query("host123", "load_one", NOW, NOW + 3600)).unwrap();
    let expected: Vec<f64> = (0..COMPACT_AFTER as i64 + 3)
        .map(|step| step as f64)
        .collect();
    assert_eq!(series.data, expected);
    // A later write of an already merged slot overwrites it.
    write(&db, &format!("load_one,hostname=host123 value=99 {NOW}\n")).unwrap();
    let series = read_one(&db, &query("host123", "load_one", NOW, NOW + 60)).unwrap();
    assert_eq!(series.data, [99.0]);
}

#[test]
fn levels_below_the_host_combine_by_aggregation() {
    let db = database();
    let body = format!(
        "load_one,hostname=h1,type=hwthread,type-id=0 value=1 {NOW}\n\
         load_one,hostname=h1,type=hwthread,type-id=1 value=3 {NOW}\n\
         load_one,hostname=h1,type=socket,type-id=0,stype=core,stype-id=5 value=10 {NOW}\n"
    );
    write(&db, &body).unwrap();
    let source = StoredSamples::new(&db);
    let ids = ["0".to_owned(), "1".to_owned(), "7".to_owned()];
    let per_id = source
        .read(&SeriesQuery {
            selector: Some(Selector {
                kind: "hwthread",
                ids: &ids,
                combine: false,
            }),
            ..query("h1", "load_one", NOW, NOW + 60)
        })
        .unwrap();
    let values: Vec<Option<Vec<f64>>> = per_id.into_iter().map(|s| s.map(|s| s.data)).collect();
    assert_eq!(values, [Some(vec![1.0]), Some(vec![3.0]), None]);
    let combined = source
        .read(&SeriesQuery {
            selector: Some(Selector {
                kind: "hwthread",
                ids: &ids,
                combine: true,
            }),
            aggregation: Aggregation::Sum,
            ..query("h1", "load_one", NOW, NOW + 60)
        })
        .unwrap();
    assert_eq!(combined[0].as_ref().unwrap().data, [4.0]);
    // The host level has no samples of its own: its children (hwthread0, hwthread1, socket0) average.
    let host = read_one(&db, &query("h1", "load_one", NOW, NOW + 60)).unwrap();
    assert_eq!(host.data, [(1.0 + 3.0 + 10.0) / 3.0]);
    // A level with only sub-levels reads as their combination.
    let socket = source
        .read(&SeriesQuery {
            selector: Some(Selector {
                kind: "socket",
                ids: &["0".to_owned()],
                combine: false,
            }),
            ..query("h1", "load_one", NOW, NOW + 60)
        })
        .unwrap();
    assert_eq!(socket[0].as_ref().unwrap().data, [10.0]);
}

#[test]
fn bad_lines_store_nothing_and_unknown_metrics_are_skipped() {
    let db = database();
    let good = format!("load_one,hostname=host123 value=1 {NOW}\n");
    for (bad, message) in [
        (
            format!("{good}load_one,hostname=host123 other=1 {NOW}\n"),
            "host host123: unknown field: 'other' (value: ",
        ),
        (
            format!("{good}load_one,hostname=host123 value=\"x\" {NOW}\n"),
            "host host123: unsupported value type in message: String",
        ),
        (
            format!("{good}load_one,hostname=host123 value=true {NOW}\n"),
            "host host123: unsupported value type in message: Bool",
        ),
        (format!("{good}load_one,hostname=host123 value=1 1.5\n"), ""),
    ] {
        let error = write(&db, &bad).unwrap_err();
        assert!(error.is_bad_request());
        assert!(error.to_string().starts_with(message), "{error}");
    }
    assert_eq!(count(&db, "metric_batch"), 0);
    let outcome = write(
        &db,
        &format!(
            "{good}no_such_metric,host=x value=\"ignored\" oops\nload_one,hostname=../x value=1\n"
        ),
    )
    .unwrap();
    assert_eq!(
        outcome,
        WriteOutcome {
            stored: 1,
            skipped: 2
        }
    );
}

#[test]
fn free_deletes_what_ended_before_and_debug_shows_the_tree() {
    let db = database();
    write(
        &db,
        &format!(
            "load_one,hostname=host123 value=1 {NOW}\n\
             load_one,hostname=host124,type=hwthread,type-id=3 value=2 {NOW}\n"
        ),
    )
    .unwrap();
    let dump = debug_dump(&db, &[]).unwrap();
    assert_eq!(
        dump["data"]["testcluster"]["host123"]["load_one"][0],
        serde_json::json!({"start": NOW, "len": 1, "end": NOW + 60, "pending": true})
    );
    assert!(dump["data"]["testcluster"]["host124"]["hwthread3"]["load_one"].is_array());
    let too_deep: Vec<String> = ["testcluster", "host124", "hwthread3", "x", "y"]
        .map(str::to_owned)
        .to_vec();
    assert!(matches!(
        debug_dump(&db, &too_deep),
        Err(DebugError::NotFound(_))
    ));
    let missing = debug_dump(&db, &["testcluster".into(), "nohost".into()]).unwrap_err();
    assert_eq!(
        missing.to_string(),
        r#"[METRICSTORE]> not found: []string{"testcluster", "nohost"}"#
    );

    let selector = vec![vec!["testcluster".to_owned(), "host123".to_owned()]];
    assert_eq!(free_buffers(&db, &selector, NOW).unwrap(), 0);
    assert_eq!(free_buffers(&db, &selector, NOW + 61).unwrap(), 1);
    assert_eq!(
        read_one(&db, &query("host123", "load_one", NOW, NOW + 60)),
        None
    );
    // The freed host keeps its level, without samples.
    let dump = debug_dump(&db, &["testcluster".into()]).unwrap();
    assert_eq!(dump["data"]["host123"], serde_json::json!({}));
    assert_eq!(
        dump["data"]["host124"]["hwthread3"]["load_one"][0]["len"],
        1
    );
    assert_eq!(free_buffers(&db, &[vec![]], NOW + 61).unwrap(), 1);
    assert_eq!(count(&db, "metric_chunk") + count(&db, "metric_batch"), 0);
    assert_eq!(
        debug_dump(&db, &["testcluster".into(), "host124".into()]).unwrap(),
        serde_json::json!({"data": {"hwthread3": {}}})
    );
    // Freeing an unknown level does not create it.
    free_buffers(
        &db,
        &[vec!["testcluster".into(), "nohost".into()]],
        NOW + 61,
    )
    .unwrap();
    assert!(matches!(
        debug_dump(&db, &["testcluster".into(), "nohost".into()]),
        Err(DebugError::NotFound(_))
    ));
}

#[test]
fn retention_keeps_hosts_of_long_running_jobs_and_runs_once_per_interval() {
    let db = database();
    let old = NOW - 7200;
    write(
        &db,
        &format!(
            "load_one,hostname=host123 value=1 {old}\n\
             load_one,hostname=host124 value=2 {old}\n\
             load_one,hostname=host125 value=3 {NOW}\n"
        ),
    )
    .unwrap();
    db.execute(
        "INSERT INTO job (job_id, cluster, subcluster, hpc_user, project, resources, job_state, \
         start_time, duration, walltime, num_nodes, num_hwthreads, num_acc, smt, shared) \
         VALUES (1, 'testcluster', 'sc1', 'u', 'p', '[{\"hostname\":\"host124\"}]', 'running', \
         ?1, 0, 0, 1, 1, 0, 1, 'none')",
        &[Value::Integer(old - 60)],
    )
    .unwrap();
    let report = run_retention_if_due(&db, NOW, 3600).unwrap().unwrap();
    assert_eq!(report.batches, 1);
    assert_eq!(run_retention_if_due(&db, NOW + 1, 3600).unwrap(), None);
    assert_eq!(
        read_one(&db, &query("host123", "load_one", old, NOW + 60)),
        None
    );
    assert!(read_one(&db, &query("host124", "load_one", old, NOW + 60)).is_some());
    assert!(read_one(&db, &query("host125", "load_one", old, NOW + 60)).is_some());
    assert!(run_retention_if_due(&db, NOW + RETENTION_INTERVAL, 3600)
        .unwrap()
        .is_some());
}
