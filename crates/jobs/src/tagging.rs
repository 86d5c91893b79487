//! Applying the taggers of cc-taggers to stored jobs (docs/taggers.md): the application
//! tagger on a job's `jobScript` metadata, the job-class tagger on its archived statistics
//! with the limits of its cluster configuration. Matches become `global` tags (`app`,
//! `jobClass`); job-class hints go into the metadata key `message`.
//!
//! A run over all non-running jobs works in batches in id order. Its progress lives in the
//! key-value store under `tagger/<name>`: a run counts as running while its progress was
//! updated within [`STALE_AFTER_SECONDS`]; progress older than that belongs to an instance that
//! ended, and the next run request resumes after its last job.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cc_applog::{report, Priority};
use cc_auth::JobScope;
use cc_model::{load_cluster, Cluster, Job};
use cc_store::{in_transaction, Kv, Sql, StoreError, Value};
use cc_taggers::{AppTagger, JobClassTagger, JobFacts, Limits, MetricFacts, RuleError};
use serde::{Deserialize, Serialize};

use crate::archive::{archived_statistics, API_UNIT};
use crate::error::JobsError;
use crate::meta::{edit_meta, MetaEntry};
use crate::repo::{find_by_id, unix_now};
use crate::tags::{attach_tag, find_or_create_tag, TagKey, GLOBAL_SCOPE};

/// Jobs one batch of a run handles.
pub const BATCH_SIZE: i64 = 200;
/// Seconds without progress after which a run is taken to have died with its instance.
pub const STALE_AFTER_SECONDS: i64 = 60;

/// The built-in taggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagger {
    App,
    JobClass,
}

impl Tagger {
    /// Every tagger, sorted by name.
    pub const ALL: [Tagger; 2] = [Tagger::App, Tagger::JobClass];

    pub fn name(self) -> &'static str {
        match self {
            Tagger::App => "AppTagger",
            Tagger::JobClass => "JobClassTagger",
        }
    }

    /// When the tagger runs on its own: at job start or after archiving.
    pub fn kind(self) -> &'static str {
        match self {
            Tagger::App => "start",
            Tagger::JobClass => "stop",
        }
    }

    pub fn from_name(name: &str) -> Option<Tagger> {
        Tagger::ALL.into_iter().find(|tagger| tagger.name() == name)
    }

    fn tag_type(self) -> &'static str {
        match self {
            Tagger::App => "app",
            Tagger::JobClass => "jobClass",
        }
    }

    fn progress_key(self) -> String {
        format!("tagger/{}", self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaggerError {
    #[error("missing required parameter: name")]
    MissingName,
    #[error("unknown tagger: {0}")]
    Unknown(String),
    #[error("tagger {0} is already running")]
    AlreadyRunning(&'static str),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error("tagger progress is unreadable: {0}")]
    CorruptProgress(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    Jobs(#[from] JobsError),
}

/// A tagger as the listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaggerStatus {
    /// `AppTagger` or `JobClassTagger`.
    pub name: &'static str,
    /// `start` (runs when a job starts) or `stop` (after a job is archived).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether a run over the stored jobs is in progress.
    pub running: bool,
}

/// How far a run got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    /// The id of the last job handled; the next batch starts after it.
    last_id: i64,
    /// When the run last made progress (Unix seconds).
    updated_at: i64,
    /// Jobs handled so far.
    handled: i64,
}

fn read_progress(kv: &dyn Kv, tagger: Tagger) -> Result<Option<Progress>, TaggerError> {
    kv.get(&tagger.progress_key())?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|error| TaggerError::CorruptProgress(error.to_string()))
        })
        .transpose()
}

fn write_progress(kv: &dyn Kv, tagger: Tagger, progress: &Progress) -> Result<(), TaggerError> {
    let json = serde_json::to_vec(progress).expect("progress serialises");
    Ok(kv.set(&tagger.progress_key(), &json)?)
}

fn is_fresh(progress: &Progress, now: i64) -> bool {
    now - progress.updated_at < STALE_AFTER_SECONDS
}

/// Every tagger with whether a run of it is in progress, sorted by name.
pub fn tagger_statuses(kv: &dyn Kv, now: i64) -> Result<Vec<TaggerStatus>, TaggerError> {
    Tagger::ALL
        .into_iter()
        .map(|tagger| {
            Ok(TaggerStatus {
                name: tagger.name(),
                kind: tagger.kind(),
                running: read_progress(kv, tagger)?
                    .is_some_and(|progress| is_fresh(&progress, now)),
            })
        })
        .collect()
}

/// A tagger with its rules loaded.
pub enum LoadedTagger {
    App(AppTagger),
    JobClass {
        rules: JobClassTagger,
        clusters_dir: PathBuf,
    },
}

impl LoadedTagger {
    /// Loads the rules of `tagger` from `taggers_dir`.
    pub fn load(
        tagger: Tagger,
        taggers_dir: &Path,
        clusters_dir: &Path,
    ) -> Result<LoadedTagger, RuleError> {
        Ok(match tagger {
            Tagger::App => LoadedTagger::App(AppTagger::load(taggers_dir)?),
            Tagger::JobClass => LoadedTagger::JobClass {
                rules: JobClassTagger::load(taggers_dir)?,
                clusters_dir: clusters_dir.to_owned(),
            },
        })
    }

    fn tagger(&self) -> Tagger {
        match self {
            LoadedTagger::App(_) => Tagger::App,
            LoadedTagger::JobClass { .. } => Tagger::JobClass,
        }
    }

    /// Applies the tagger to the jobs `ids` (clusters read once per call); per-job failures are
    /// reported as `unit`'s.
    fn apply(&self, db: &dyn Sql, unit: &str, ids: &[i64]) -> Result<(), TaggerError> {
        let mut clusters = HashMap::new();
        let statistics = match self {
            LoadedTagger::App(_) => HashMap::new(),
            LoadedTagger::JobClass { .. } => archived_statistics(db, ids)?,
        };
        for &id in ids {
            let Some(job) = find_by_id(db, id, &JobScope::All, true, unix_now())? else {
                continue;
            };
            match self {
                LoadedTagger::App(apps) => apply_app(db, unit, apps, &job)?,
                LoadedTagger::JobClass {
                    rules,
                    clusters_dir,
                } => {
                    let Some(statistics) = statistics.get(&id) else {
                        continue;
                    };
                    let cluster = clusters
                        .entry(job.cluster.clone())
                        .or_insert_with(|| load_cluster(clusters_dir, &job.cluster).ok());
                    if let Some(cluster) = cluster {
                        apply_job_class(db, unit, rules, cluster, &job, statistics)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Attaches the global tag `tag_type`/`name` to job `id` unless it is there already.
fn attach_global_tag(
    db: &dyn Sql,
    unit: &str,
    id: i64,
    tag_type: &str,
    name: &str,
) -> Result<(), TaggerError> {
    let key = TagKey::new(tag_type, name, GLOBAL_SCOPE);
    let attached = in_transaction(db, || {
        let tag = find_or_create_tag(db, &key)?;
        attach_tag(db, id, tag)
    });
    // A tag of that type and name in a private scope blocks the global one: the job stays
    // untagged rather than failing the whole run.
    if let Err(error) = attached {
        let message = format!("tagging job {id} with {tag_type} {name:?} failed: {error}");
        report(db, Priority::Warning, unit, &message);
    }
    Ok(())
}

fn apply_app(db: &dyn Sql, unit: &str, apps: &AppTagger, job: &Job) -> Result<(), TaggerError> {
    let script = job
        .meta_data
        .as_ref()
        .and_then(|meta| meta.get("jobScript"));
    if let Some(application) = script.and_then(|script| apps.detect(script)) {
        attach_global_tag(
            db,
            unit,
            job.id.unwrap_or_default(),
            Tagger::App.tag_type(),
            application,
        )?;
    }
    Ok(())
}

/// The statistics of a job's metrics with the limits its sub-cluster configures (metrics the
/// cluster does not configure are left out).
fn metric_facts(
    cluster: &Cluster,
    job: &Job,
    statistics: &BTreeMap<String, cc_model::JobStatistics>,
) -> BTreeMap<String, MetricFacts> {
    let sub_cluster = cluster.subcluster(&job.sub_cluster);
    statistics
        .iter()
        .filter_map(|(name, stats)| {
            let config = match sub_cluster {
                Some(sub_cluster) => sub_cluster.metric(name),
                None => cluster.metric(name),
            }?;
            let facts = MetricFacts {
                min: stats.min,
                max: stats.max,
                avg: stats.avg,
                limits: Limits {
                    peak: config.peak,
                    normal: config.normal,
                    caution: config.caution,
                    alert: config.alert,
                },
            };
            Some((name.clone(), facts))
        })
        .collect()
}

fn apply_job_class(
    db: &dyn Sql,
    unit: &str,
    rules: &JobClassTagger,
    cluster: &Cluster,
    job: &Job,
    statistics: &BTreeMap<String, cc_model::JobStatistics>,
) -> Result<(), TaggerError> {
    let id = job.id.unwrap_or_default();
    let facts = JobFacts {
        shared: job.shared.clone(),
        duration: job.duration,
        num_cores: job.num_hwthreads,
        num_nodes: job.num_nodes,
        job_state: job.job_state.as_str().to_owned(),
        num_acc: job.num_acc,
        smt: job.smt,
    };
    let outcome = rules.classify(&facts, &metric_facts(cluster, job, statistics));
    for failure in &outcome.failures {
        report(
            db,
            Priority::Warning,
            unit,
            &format!("classifying job {id}: {failure}"),
        );
    }
    if outcome.classifications.is_empty() {
        return Ok(());
    }
    for class in &outcome.classifications {
        attach_global_tag(db, unit, id, Tagger::JobClass.tag_type(), &class.tag)?;
    }
    let hints: Vec<&str> = outcome
        .classifications
        .iter()
        .map(|class| class.hint.as_str())
        .collect();
    let message = MetaEntry {
        key: Some("message".to_owned()),
        value: Some(hints.join("\n")),
    };
    edit_meta(db, id, &JobScope::All, || Ok(message))?;
    Ok(())
}

/// Runs the application tagger on a newly started job (when taggers are enabled). Failures
/// are reported: a start never fails for its tagging.
pub(crate) fn tag_started_job(db: &dyn Sql, taggers_dir: &Path, id: i64) {
    let outcome = AppTagger::load(taggers_dir)
        .map_err(TaggerError::from)
        .and_then(|apps| LoadedTagger::App(apps).apply(db, API_UNIT, &[id]));
    if let Err(error) = outcome {
        let message = format!("application tagger on job {id} failed: {error}");
        report(db, Priority::Warning, API_UNIT, &message);
    }
}

/// Runs the job-class tagger on a just archived job (when taggers are enabled). Failures are
/// reported.
pub(crate) fn classify_archived_job(
    db: &dyn Sql,
    taggers_dir: &Path,
    clusters_dir: &Path,
    id: i64,
) {
    let outcome = LoadedTagger::load(Tagger::JobClass, taggers_dir, clusters_dir)
        .map_err(TaggerError::from)
        .and_then(|tagger| tagger.apply(db, API_UNIT, &[id]));
    if let Err(error) = outcome {
        let message = format!("job-class tagger on job {id} failed: {error}");
        report(db, Priority::Warning, API_UNIT, &message);
    }
}

/// Whether a run has jobs left after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Finished,
    Pending,
}

/// Starts a run of `tagger` over the stored non-running jobs (or resumes one whose instance
/// died) and does its first batch. Refused while a run with fresh progress exists. Two
/// requests at the same instant may both start; tagging twice changes nothing. What the run
/// reports is `unit`'s.
pub fn start_run(
    db: &dyn Sql,
    kv: &dyn Kv,
    unit: &str,
    tagger: &LoadedTagger,
    batch_size: i64,
    now: i64,
) -> Result<RunState, TaggerError> {
    let kind = tagger.tagger();
    let progress = match read_progress(kv, kind)? {
        Some(progress) if is_fresh(&progress, now) => {
            return Err(TaggerError::AlreadyRunning(kind.name()))
        }
        Some(stale) => Progress {
            updated_at: now,
            ..stale
        },
        None => Progress {
            last_id: 0,
            updated_at: now,
            handled: 0,
        },
    };
    write_progress(kv, kind, &progress)?;
    next_batch(db, kv, unit, tagger, progress, batch_size, now)
}

/// Does the next batch of a started run; the run ends (its progress is removed, its job count
/// reported as `unit`'s) once no job is left.
pub fn run_batch(
    db: &dyn Sql,
    kv: &dyn Kv,
    unit: &str,
    tagger: &LoadedTagger,
    batch_size: i64,
    now: i64,
) -> Result<RunState, TaggerError> {
    match read_progress(kv, tagger.tagger())? {
        Some(progress) => next_batch(db, kv, unit, tagger, progress, batch_size, now),
        None => Ok(RunState::Finished),
    }
}

/// The batch after `progress`, which the caller has just read or written.
fn next_batch(
    db: &dyn Sql,
    kv: &dyn Kv,
    unit: &str,
    tagger: &LoadedTagger,
    progress: Progress,
    batch_size: i64,
    now: i64,
) -> Result<RunState, TaggerError> {
    let kind = tagger.tagger();
    let ids: Vec<i64> = db
        .execute(
            "SELECT id FROM job WHERE job_state <> 'running' AND id > ? ORDER BY id LIMIT ?",
            &[Value::Integer(progress.last_id), Value::Integer(batch_size)],
        )?
        .rows
        .iter()
        .filter_map(|row| row.first().and_then(Value::as_i64))
        .collect();
    tagger.apply(db, unit, &ids)?;
    let handled = progress.handled + ids.len() as i64;
    match ids.last() {
        Some(&last_id) if ids.len() as i64 == batch_size => {
            let next = Progress {
                last_id,
                updated_at: now,
                handled,
            };
            write_progress(kv, kind, &next)?;
            Ok(RunState::Pending)
        }
        _ => {
            kv.delete(&kind.progress_key())?;
            let message = format!("tagger {} finished: {handled} jobs handled", kind.name());
            report(db, Priority::Info, unit, &message);
            Ok(RunState::Finished)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use cc_web::{Platform, Variables};

    use super::*;
    use crate::archive::tests::logged;
    use crate::test_app::{an_hour_ago, load_samples, App};

    /// A rule over testcluster's only metric (`load_one`, peak 8).
    const BUSY_RULE: &str = r#"{
        "name": "Busy node", "tag": "busy", "parameters": ["busy_factor"], "metrics": ["load_one"],
        "requirements": ["job.shared == \"none\"", "job.duration > 60"],
        "variables": [{"name": "threshold", "expr": "load_one.limits.peak * busy_factor"}],
        "rule": "load_one.avg > threshold",
        "hint": "load {{.load_one.avg}} above {{.threshold}} for {{.job.duration}} s"
    }"#;

    /// The app with the shipped application patterns and [`BUSY_RULE`]; taggers enabled.
    fn app_with_taggers() -> App {
        let mut app = App::api();
        let dir = app.platform.taggers_dir();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taggers/apps");
        fs::create_dir_all(dir.join("apps")).unwrap();
        for entry in fs::read_dir(shipped).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.join("apps").join(path.file_name().unwrap())).unwrap();
        }
        fs::create_dir_all(dir.join("jobclasses")).unwrap();
        fs::write(
            dir.join("jobclasses/parameters.json"),
            r#"{"busy_factor": 0.1}"#,
        )
        .unwrap();
        fs::write(dir.join("jobclasses/busy.json"), BUSY_RULE).unwrap();
        app.platform
            .variables
            .insert(Variables::ENABLE_JOB_TAGGERS.to_owned(), "true".to_owned());
        app
    }

    /// The `type:name` of the tags of job `id`.
    fn tags_of(app: &App, id: i64) -> Vec<String> {
        app.db()
            .execute(
                "SELECT tag_type || ':' || tag_name || ':' || tag_scope FROM tag \
                 JOIN jobtag ON tag.id = jobtag.tag_id WHERE job_id = ? ORDER BY tag.id",
                &[Value::Integer(id)],
            )
            .unwrap()
            .rows
            .into_iter()
            .map(|row| row[0].as_str().unwrap().to_owned())
            .collect()
    }

    fn script(text: &str) -> String {
        format!(
            r#","metaData":{{"jobScript":{}}}"#,
            serde_json::to_string(text).unwrap()
        )
    }

    #[test]
    fn started_jobs_get_their_application_tag_when_enabled() {
        let mut app = app_with_taggers();
        let start = an_hour_ago();
        let vasp = app.start_job(1, start, &script("#!/bin/bash\nsrun VASP_STD"));
        let unknown = app.start_job(2, start, &script("./a.out"));
        assert_eq!(tags_of(&app, vasp), ["app:vasp:global"]);
        assert_eq!(tags_of(&app, unknown), Vec::<String>::new());
        app.platform.variables.remove(Variables::ENABLE_JOB_TAGGERS);
        let disabled = app.start_job(3, start, &script("srun vasp_std"));
        assert_eq!(tags_of(&app, disabled), Vec::<String>::new());
    }

    #[test]
    fn archived_jobs_are_classified_with_their_hint() {
        let app = app_with_taggers();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 10));
        let id = app.start_job(1, start, "");
        app.stop_job(1, start + 600);
        assert_eq!(app.monitoring_status(id), 3);
        assert_eq!(tags_of(&app, id), ["jobClass:busy:global"]);
        // Samples 0.5, 1.5, …, 9.5 over the job's ten minutes: average 5 (JSON `5`).
        let average = app.scalar(
            "SELECT json_extract(meta, '$.statistics.load_one.avg') FROM job_archive WHERE job_id = ?",
            &[Value::Integer(id)],
        );
        assert_eq!(average, Value::Integer(5));
        let expected = "load 5 above 0.8 for 600 s";
        let message = |sql: &str| app.scalar(sql, &[Value::Integer(id)]);
        assert_eq!(
            message("SELECT json_extract(meta_data, '$.message') FROM job WHERE id = ?"),
            Value::from(expected)
        );
        assert_eq!(
            message(
                "SELECT json_extract(meta, '$.metaData.message') FROM job_archive WHERE job_id = ?"
            ),
            Value::from(expected)
        );
    }

    fn stopped_vasp_jobs(app: &App, count: i64) -> Vec<i64> {
        let start = an_hour_ago();
        (1..=count)
            .map(|job_id| {
                let id = app.start_job(
                    job_id,
                    start,
                    &format!(r#","monitoringStatus":0{}"#, script("vasp_gam")),
                );
                app.stop_job(job_id, start + 100);
                id
            })
            .collect()
    }

    #[test]
    fn a_run_works_in_batches_and_refuses_a_second_run_meanwhile() {
        let app = App::api();
        let ids = stopped_vasp_jobs(&app, 3);
        // One job still running is skipped.
        app.start_job(99, an_hour_ago(), &script("vasp_gam"));
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taggers");
        let tagger = LoadedTagger::load(Tagger::App, &shipped, &app.platform.clusters_dir).unwrap();
        let (db, kv) = (app.db(), app.platform.kv().unwrap());
        let (db, kv) = (db.as_ref(), kv.as_ref());
        let now = unix_now();
        let running = |now| {
            tagger_statuses(kv, now)
                .unwrap()
                .into_iter()
                .map(|status| (status.name, status.kind, status.running))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            running(now),
            [
                ("AppTagger", "start", false),
                ("JobClassTagger", "stop", false)
            ]
        );

        assert_eq!(
            start_run(db, kv, "config", &tagger, 2, now).unwrap(),
            RunState::Pending
        );
        assert_eq!(tags_of(&app, ids[0]), ["app:vasp:global"]);
        assert_eq!(tags_of(&app, ids[2]), Vec::<String>::new());
        assert_eq!(running(now)[0], ("AppTagger", "start", true));
        let refused =
            start_run(db, kv, "config", &tagger, 2, now + STALE_AFTER_SECONDS - 1).unwrap_err();
        assert_eq!(refused.to_string(), "tagger AppTagger is already running");

        // The instance died: its stale progress is resumed after the last job it handled.
        let later = now + STALE_AFTER_SECONDS;
        assert!(!running(later)[0].2);
        assert_eq!(
            start_run(db, kv, "config", &tagger, 2, later).unwrap(),
            RunState::Finished
        );
        assert_eq!(tags_of(&app, ids[2]), ["app:vasp:global"]);
        assert!(!running(later)[0].2);
        assert_eq!(kv.get("tagger/AppTagger").unwrap(), None);
        let running_job = app.scalar("SELECT id FROM job WHERE job_id = 99", &[]);
        assert_eq!(
            tags_of(&app, running_job.as_i64().unwrap()),
            Vec::<String>::new()
        );

        // A new run tags nothing twice.
        assert_eq!(
            start_run(db, kv, "config", &tagger, 2, later).unwrap(),
            RunState::Pending
        );
        assert_eq!(
            run_batch(db, kv, "config", &tagger, 2, later).unwrap(),
            RunState::Finished
        );
        assert_eq!(tags_of(&app, ids[0]), ["app:vasp:global"]);
        let finished = (
            Priority::Info as u8,
            "config".to_owned(),
            "tagger AppTagger finished: 3 jobs handled".to_owned(),
        );
        assert_eq!(logged(&app), [finished.clone(), finished]);
    }

    #[test]
    fn tagger_names_and_kinds() {
        assert_eq!(Tagger::from_name("JobClassTagger"), Some(Tagger::JobClass));
        assert_eq!(Tagger::from_name("apptagger"), None);
        assert_eq!(Tagger::App.progress_key(), "tagger/AppTagger");
    }
}
