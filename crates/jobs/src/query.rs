//! `GET /api/jobs/` (also `/userapi/jobs/`) and `GET /api/jobs/used_nodes` (docs/jobs.md#job-list,
//! docs/jobs.md#used-nodes).

use std::collections::{BTreeMap, BTreeSet};

use crate::archive::archived_statistics;
use cc_auth::{JobScope, User};
use cc_model::{InvalidScope, Job, JobState, Resource};
use cc_store::{Sql, Value};

use crate::error::JobsError;
use crate::repo::{job_from_row, monitoring, scope_condition, select_jobs, unix_now, visible_tags};
use cc_gocompat::{atoi, parse_int};

/// A query string the job routes reject (400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("invalid query parameter value: state")]
    InvalidState,
    #[error("invalid query parameter value: startTime")]
    InvalidStartTime,
    /// Go's strconv message, passed on as the whole error text.
    #[error("{0}")]
    Number(String),
    #[error("page must be >= 1")]
    PageTooSmall,
    #[error("items-per-page must be >= 1")]
    ItemsPerPageTooSmall,
    #[error("invalid query parameter: {0}")]
    UnknownParameter(String),
    #[error("missing required query parameter: ts")]
    MissingTimestamp,
    #[error("invalid timestamp format: {0}")]
    InvalidTimestamp(String),
    #[error("omit-tagged must be one of: none, all, user")]
    InvalidOmitTagged,
    #[error("unmarshaling scope failed: {0}")]
    InvalidScope(#[from] InvalidScope),
}

/// The filters and page of a job list request.
#[derive(Debug, Clone, PartialEq)]
pub struct JobQuery {
    pub project: Option<String>,
    pub cluster: Option<String>,
    pub states: Vec<JobState>,
    /// Inclusive range of start times.
    pub start_time: Option<(i64, i64)>,
    pub page: i64,
    pub items_per_page: i64,
    /// Any value, even `false`, asks for metadata, as in the reference.
    pub with_metadata: bool,
}

impl Default for JobQuery {
    fn default() -> Self {
        JobQuery {
            project: None,
            cluster: None,
            states: Vec::new(),
            start_time: None,
            page: 1,
            items_per_page: 25,
            with_metadata: false,
        }
    }
}

fn parse_start_time(value: &str) -> Result<(i64, i64), QueryError> {
    let parts: Vec<&str> = value.split('-').collect();
    let [from, to] = parts.as_slice() else {
        return Err(QueryError::InvalidStartTime);
    };
    Ok((
        parse_int(from).map_err(QueryError::Number)?,
        parse_int(to).map_err(QueryError::Number)?,
    ))
}

fn parse_positive(value: &str, too_small: QueryError) -> Result<i64, QueryError> {
    match atoi(value).map_err(QueryError::Number)? {
        number if number >= 1 => Ok(number),
        _ => Err(too_small),
    }
}

impl JobQuery {
    /// Reads the query parameters in request order; the first invalid one is reported. A
    /// single-valued key counts with its first value only; `state` may repeat.
    pub fn parse(pairs: &[(String, String)]) -> Result<JobQuery, QueryError> {
        let mut query = JobQuery::default();
        let mut seen = BTreeSet::new();
        for (key, value) in pairs {
            if key == "state" {
                let state = JobState::from_name(value).ok_or(QueryError::InvalidState)?;
                query.states.push(state);
                continue;
            }
            if !seen.insert(key.as_str()) {
                continue;
            }
            match key.as_str() {
                "project" => query.project = Some(value.clone()),
                "cluster" => query.cluster = Some(value.clone()),
                "start-time" => query.start_time = Some(parse_start_time(value)?),
                "page" => query.page = parse_positive(value, QueryError::PageTooSmall)?,
                "items-per-page" => {
                    query.items_per_page = parse_positive(value, QueryError::ItemsPerPageTooSmall)?;
                }
                "with-metadata" => query.with_metadata = true,
                unknown => return Err(QueryError::UnknownParameter(unknown.to_owned())),
            }
        }
        Ok(query)
    }

    /// The page as one statement, newest start first. Each filter column leads an index of the
    /// schema that also orders by start time (`jobs_jobstate_starttime_duration`,
    /// `jobs_cluster_starttime_duration`, `jobs_project_starttime_duration`), so a page never
    /// sorts the whole table.
    pub(crate) fn statement(&self, scope: &JobScope) -> (String, Vec<Value>) {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some(project) = &self.project {
            conditions.push("project = ?".to_owned());
            params.push(Value::from(project.as_str()));
        }
        if let Some(cluster) = &self.cluster {
            conditions.push("cluster = ?".to_owned());
            params.push(Value::from(cluster.as_str()));
        }
        match self.states.as_slice() {
            [] => {}
            [state] => {
                conditions.push("job_state = ?".to_owned());
                params.push(Value::from(state.as_str()));
            }
            states => {
                let placeholders = vec!["?"; states.len()].join(", ");
                conditions.push(format!("job_state IN ({placeholders})"));
                params.extend(states.iter().map(|state| Value::from(state.as_str())));
            }
        }
        if let Some((from, to)) = self.start_time {
            conditions.push("start_time BETWEEN ? AND ?".to_owned());
            params.extend([Value::Integer(from), Value::Integer(to)]);
        }
        if let Some(condition) = scope_condition(scope) {
            conditions.push(condition.sql);
            params.extend(condition.params);
        }
        let mut sql = select_jobs(self.with_metadata);
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY start_time DESC LIMIT ? OFFSET ?");
        // A page beyond i64 is simply empty.
        let offset = (self.page - 1).saturating_mul(self.items_per_page);
        params.extend([Value::Integer(self.items_per_page), Value::Integer(offset)]);
        (sql, params)
    }
}

/// One page of the jobs `scope` lets the caller see, with the tags `user` may see and, for
/// archived jobs, the statistics of their archive (one query each for the whole page). An
/// archive that cannot be read leaves `statistics` `None` (docs/compatibility.md#unreadable-archives-do-not-fail-the-job-list; the
/// reference fails the whole request).
pub(crate) fn jobs_page(
    db: &dyn Sql,
    query: &JobQuery,
    scope: &JobScope,
    user: Option<&User>,
) -> Result<Vec<Job>, JobsError> {
    let (sql, params) = query.statement(scope);
    let result = db.execute(&sql, &params).map_err(JobsError::from)?;
    let now = unix_now();
    let mut jobs = result
        .rows
        .iter()
        .map(|row| job_from_row(row, now))
        .collect::<Result<Vec<Job>, JobsError>>()?;
    let ids: Vec<i64> = jobs.iter().filter_map(|job| job.id).collect();
    let mut tags = visible_tags(db, &ids, user)?;
    let archived: Vec<i64> = jobs
        .iter()
        .filter(|job| job.monitoring_status == monitoring::ARCHIVED)
        .filter_map(|job| job.id)
        .collect();
    let mut statistics = archived_statistics(db, &archived)
        .map_err(JobsError::storage("loading archived statistics failed: "))?;
    for job in &mut jobs {
        let Some(id) = job.id else { continue };
        if let Some(job_tags) = tags.remove(&id) {
            job.tags = job_tags;
        }
        job.statistics = statistics.remove(&id);
    }
    Ok(jobs)
}

/// Per cluster the sorted hosts of jobs running and started before `ts`. Jobs whose resources
/// do not parse are skipped, as in the reference.
pub(crate) fn used_hosts(
    db: &dyn Sql,
    ts: i64,
) -> Result<BTreeMap<String, BTreeSet<String>>, JobsError> {
    let result = db
        .execute(
            "SELECT cluster, resources FROM job WHERE job_state = 'running' AND start_time < ?",
            &[Value::Integer(ts)],
        )
        .map_err(JobsError::storage("failed to get used nodes: "))?;
    let mut used_nodes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &result.rows {
        let cluster = row.first().and_then(Value::as_str).unwrap_or_default();
        let resources = row
            .get(1)
            .and_then(Value::as_str)
            .and_then(|json| serde_json::from_str::<Vec<Resource>>(json).ok());
        if let Some(resources) = resources {
            used_nodes
                .entry(cluster.to_owned())
                .or_default()
                .extend(resources.into_iter().map(|resource| resource.hostname));
        }
    }
    Ok(used_nodes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::tests::{database, insert_job};
    use crate::test_app::{an_hour_ago, load_samples, App};

    fn parse(query: &str) -> Result<JobQuery, QueryError> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect();
        JobQuery::parse(&pairs)
    }

    #[test]
    fn parameters_are_parsed_with_defaults() {
        assert_eq!(parse("").unwrap(), JobQuery::default());
        let query = parse(
            "project=p&cluster=c&state=running&state=failed&start-time=10-20&page=3&items-per-page=7&with-metadata=false",
        )
        .unwrap();
        assert_eq!(
            query,
            JobQuery {
                project: Some("p".into()),
                cluster: Some("c".into()),
                states: vec![JobState::Running, JobState::Failed],
                start_time: Some((10, 20)),
                page: 3,
                items_per_page: 7,
                with_metadata: true,
            }
        );
        assert_eq!(
            parse("page=2&page=0").unwrap().page,
            2,
            "first value counts"
        );
    }

    #[test]
    fn invalid_parameters_are_reported_with_reference_texts() {
        let error = |query| parse(query).unwrap_err().to_string();
        assert_eq!(
            error("state=runnin"),
            "invalid query parameter value: state"
        );
        assert_eq!(
            error("start-time=10"),
            "invalid query parameter value: startTime"
        );
        assert_eq!(
            error("start-time=-5-10"),
            "invalid query parameter value: startTime"
        );
        assert_eq!(
            error("start-time=a-10"),
            "strconv.ParseInt: parsing \"a\": invalid syntax"
        );
        assert_eq!(
            error("page=x"),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(error("page=0"), "page must be >= 1");
        assert_eq!(error("items-per-page=-1"), "items-per-page must be >= 1");
        assert_eq!(error("sort=asc"), "invalid query parameter: sort");
        assert_eq!(
            error("state=x&sort=asc"),
            "invalid query parameter value: state"
        );
    }

    #[test]
    fn statement_combines_filters_scope_and_page() {
        let query =
            parse("cluster=c&state=running&state=failed&start-time=1-2&page=3&items-per-page=10")
                .unwrap();
        let scope = JobScope::OwnJobs { user: "u".into() };
        let (sql, params) = query.statement(&scope);
        assert!(sql.ends_with(
            "FROM job WHERE cluster = ? AND job_state IN (?, ?) AND start_time BETWEEN ? AND ? \
             AND hpc_user = ? ORDER BY start_time DESC LIMIT ? OFFSET ?"
        ), "{sql}");
        assert!(
            sql.contains(", NULL FROM job"),
            "metadata not selected: {sql}"
        );
        assert_eq!(
            params,
            [
                Value::from("c"),
                Value::from("running"),
                Value::from("failed"),
                Value::Integer(1),
                Value::Integer(2),
                Value::from("u"),
                Value::Integer(10),
                Value::Integer(20),
            ]
        );
        let far = JobQuery {
            page: i64::MAX,
            items_per_page: i64::MAX,
            ..JobQuery::default()
        };
        assert_eq!(
            far.statement(&JobScope::All).1.last(),
            Some(&Value::Integer(i64::MAX))
        );
    }

    fn plan(db: &dyn Sql, query: &str) -> String {
        let (sql, params) = parse(query).unwrap().statement(&JobScope::All);
        let rows = db
            .execute(&format!("EXPLAIN QUERY PLAN {sql}"), &params)
            .unwrap()
            .rows;
        rows.iter()
            .map(|row| {
                row.last()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn frequent_filters_use_indexes_without_sorting() {
        let db = database();
        for (query, index) in [
            ("state=running", "jobs_jobstate_starttime_duration"),
            (
                "cluster=c&start-time=1-2",
                "jobs_cluster_starttime_duration",
            ),
            ("", "jobs_starttime"),
        ] {
            let plan = plan(&db, query);
            assert!(plan.contains(index), "{query}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{query}: {plan}");
        }
    }

    #[test]
    fn pages_are_newest_first() {
        let db = database();
        for (job_id, start) in [(1, 100), (2, 300), (3, 200)] {
            insert_job(&db, job_id, "c", "u", "completed", start);
        }
        let (sql, params) = parse("items-per-page=2&page=1")
            .unwrap()
            .statement(&JobScope::All);
        let result = db.execute(&sql, &params).unwrap();
        let job_ids: Vec<i64> = result
            .rows
            .iter()
            .map(|row| job_from_row(row, 0).unwrap().job_id)
            .collect();
        assert_eq!(job_ids, [2, 3]);
    }

    #[test]
    fn archived_jobs_are_listed_with_their_statistics() {
        let app = App::api();
        let start = an_hour_ago();
        app.write_samples(&load_samples(start, 5));
        app.start_job(1, start, "");
        app.stop_job(1, start + 300);
        app.start_job(2, start + 60, "");
        let body = app.get("/api/jobs/");
        let jobs: Vec<&str> = body.split(r#"{"cluster""#).skip(1).collect();
        assert_eq!(jobs.len(), 2, "{body}");
        assert!(
            jobs[0].contains(r#""jobId":2,"#) && jobs[0].contains(r#""statistics":null,"#),
            "running job first: {body}"
        );
        assert!(
            jobs[1].contains(concat!(
                r#""monitoringStatus":3,"numNodes":1,"#,
                r#""statistics":{"load_one":{"unit":{"base":""},"avg":2.5,"min":0.5,"max":4.5}},"#
            )),
            "{body}"
        );
    }
}
