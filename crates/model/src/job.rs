//! Jobs as cc-backend's REST API shows and accepts them (docs/jobs.md#job-model).
//!
//! [`Job`] is the response shape: field order is the key order of the reference's JSON,
//! `skip_serializing_if` mirrors Go's `omitempty`. [`StartJobRequest`] is the body of
//! `start_job`, decoded strictly and turned into a [`Job`] with the start defaults (docs/jobs.md#decoding-and-defaults).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cluster::Unit;

/// The twelve job states (docs/jobs.md#job-states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "snake_case", description = "The state of a job.")]
pub enum JobState {
    BootFail,
    Cancelled,
    Completed,
    Deadline,
    Failed,
    NodeFail,
    OutOfMemory,
    Pending,
    Preempted,
    Running,
    Suspended,
    Timeout,
}

impl JobState {
    pub const ALL: [JobState; 12] = [
        JobState::BootFail,
        JobState::Cancelled,
        JobState::Completed,
        JobState::Deadline,
        JobState::Failed,
        JobState::NodeFail,
        JobState::OutOfMemory,
        JobState::Pending,
        JobState::Preempted,
        JobState::Running,
        JobState::Suspended,
        JobState::Timeout,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::BootFail => "boot_fail",
            JobState::Cancelled => "cancelled",
            JobState::Completed => "completed",
            JobState::Deadline => "deadline",
            JobState::Failed => "failed",
            JobState::NodeFail => "node_fail",
            JobState::OutOfMemory => "out_of_memory",
            JobState::Pending => "pending",
            JobState::Preempted => "preempted",
            JobState::Running => "running",
            JobState::Suspended => "suspended",
            JobState::Timeout => "timeout",
        }
    }

    /// Exact (case-sensitive) lookup, as the reference validates states.
    pub fn from_name(name: &str) -> Option<JobState> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Go leaves a non-pointer field untouched when the JSON says `null`; serde would reject it.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One node of a job. Unknown keys are rejected like everywhere in strictly decoded bodies.
/// In a request every key may be missing or `null` (empty); responses leave out the empty
/// optional parts and never contain `null` here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub hostname: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(nullable)]
    pub configuration: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(nullable)]
    pub hwthreads: Vec<i64>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(nullable)]
    pub accelerators: Vec<String>,
}

/// A tag attached to a job. `scope` is `global`, `admin` or a username; `id` is 0 when unknown.
/// Responses always carry all four keys; in a start request each may be missing or `null`
/// (empty, 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub scope: String,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub id: i64,
}

/// Statistics of one metric over a whole job, as the archive records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobStatistics {
    pub unit: Unit,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

/// A job running at the same time on a shared node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobLink {
    pub id: String,
    #[serde(rename = "jobId")]
    pub job_id: i64,
}

/// Jobs sharing nodes with this one. The REST API never computes them: always
/// `{"items":null,"count":0}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrentJobs {
    #[serde(default)]
    pub items: Option<Vec<JobLink>>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(nullable)]
    pub count: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// A job as the REST API returns it (docs/jobs.md#job-json). Integers are `i64` whatever their Go
/// width: the JSON is the same and rows of foreign databases always fit.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(description = "A job. Keys that are not required are left out when empty or 0.")]
pub struct Job {
    pub cluster: String,
    pub sub_cluster: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub partition: String,
    pub project: String,
    pub user: String,
    pub shared: String,
    pub job_state: JobState,
    /// Tags visible to the caller.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[schema(required = true)]
    pub resources: Option<Vec<Resource>>,
    /// Never loaded by the REST read paths, so always `null` in responses.
    #[schema(required = true)]
    pub energy_footprint: Option<BTreeMap<String, f64>>,
    #[schema(required = true)]
    pub footprint: Option<BTreeMap<String, f64>>,
    /// `null` where a route does not load it.
    #[schema(required = true)]
    pub meta_data: Option<BTreeMap<String, String>>,
    pub concurrent_jobs: ConcurrentJobs,
    pub energy: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub array_job_id: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub walltime: i64,
    pub job_id: i64,
    pub duration: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub smt: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub monitoring_status: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_acc: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_hwthreads: i64,
    pub num_nodes: i64,
    /// Only the archive has statistics.
    #[schema(required = true)]
    pub statistics: Option<BTreeMap<String, JobStatistics>>,
    /// The database id; absent for a job not stored yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64, required = false)]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub submit_time: i64,
    pub start_time: i64,
}

/// The body of `start_job` (docs/jobs.md#decoding-and-defaults): every key of [`Job`] is accepted; integer
/// widths are Go's, so an overflowing value is a decoding error. `null` keeps the default.
///
/// Fields starting with `_` are type-checked and then dropped, as the reference drops them:
/// `id` (the database assigns it), `statistics`, `concurrentJobs`, `energyFootprint`
/// (computed by archiving), `requestedMemory` (no column) and `jobState` (forced to
/// `running`). `submitTime` is stored (docs/compatibility.md#submittime-is-stored), `footprint` is
/// stored verbatim like the reference does.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(
    description = "A job to start. Every key is optional and `null` keeps its default \
    (`shared`: `none`, `monitoringStatus`: 1, others empty or 0); unknown keys are refused. \
    `id`, `statistics`, `concurrentJobs`, `energyFootprint`, `requestedMemory` and `jobState` \
    are type-checked and ignored (the job starts `running`). The 32-bit counts refuse larger \
    values."
)]
pub struct StartJobRequest {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub sub_cluster: Option<String>,
    #[serde(default)]
    pub partition: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub shared: Option<String>,
    #[serde(default, rename = "jobState")]
    _job_state: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
    #[serde(default)]
    pub resources: Option<Vec<Resource>>,
    #[serde(default, rename = "energyFootprint")]
    _energy_footprint: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub footprint: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub meta_data: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "concurrentJobs")]
    _concurrent_jobs: Option<ConcurrentJobs>,
    #[serde(default)]
    pub energy: Option<f64>,
    #[serde(default)]
    pub array_job_id: Option<i64>,
    #[serde(default)]
    pub walltime: Option<i64>,
    #[serde(default, rename = "requestedMemory")]
    _requested_memory: Option<i64>,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub duration: Option<i32>,
    #[serde(default)]
    pub smt: Option<i32>,
    #[serde(default)]
    pub monitoring_status: Option<i32>,
    #[serde(default)]
    pub num_acc: Option<i32>,
    #[serde(default)]
    pub num_hwthreads: Option<i32>,
    #[serde(default)]
    pub num_nodes: Option<i32>,
    #[serde(default, rename = "statistics")]
    _statistics: Option<BTreeMap<String, JobStatistics>>,
    #[serde(default, rename = "id")]
    _id: Option<i64>,
    #[serde(default)]
    pub submit_time: Option<i64>,
    #[serde(default)]
    pub start_time: Option<i64>,
}

/// `shared` when the start request leaves it out.
pub const DEFAULT_SHARED: &str = "none";
/// `monitoringStatus` when the start request leaves it out: running, archive when stopped.
pub const DEFAULT_MONITORING_STATUS: i64 = 1;

impl StartJobRequest {
    /// The job to store: defaults applied, state `running`, no id yet. `tags` are the tags to
    /// attach.
    pub fn into_job(self) -> Job {
        Job {
            cluster: self.cluster.unwrap_or_default(),
            sub_cluster: self.sub_cluster.unwrap_or_default(),
            partition: self.partition.unwrap_or_default(),
            project: self.project.unwrap_or_default(),
            user: self.user.unwrap_or_default(),
            shared: self.shared.unwrap_or_else(|| DEFAULT_SHARED.to_owned()),
            job_state: JobState::Running,
            tags: self.tags.unwrap_or_default(),
            resources: self.resources,
            energy_footprint: None,
            footprint: self.footprint,
            meta_data: self.meta_data,
            concurrent_jobs: ConcurrentJobs::default(),
            energy: self.energy.unwrap_or_default(),
            array_job_id: self.array_job_id.unwrap_or_default(),
            walltime: self.walltime.unwrap_or_default(),
            job_id: self.job_id.unwrap_or_default(),
            duration: self.duration.map(i64::from).unwrap_or_default(),
            smt: self.smt.map(i64::from).unwrap_or_default(),
            monitoring_status: self
                .monitoring_status
                .map_or(DEFAULT_MONITORING_STATUS, i64::from),
            num_acc: self.num_acc.map(i64::from).unwrap_or_default(),
            num_hwthreads: self.num_hwthreads.map(i64::from).unwrap_or_default(),
            num_nodes: self.num_nodes.map(i64::from).unwrap_or_default(),
            statistics: None,
            id: None,
            submit_time: self.submit_time.unwrap_or_default(),
            start_time: self.start_time.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_gocompat::to_go_json;

    fn decode(body: &str) -> Result<StartJobRequest, serde_json::Error> {
        serde_json::from_str(body)
    }

    /// The start request of docs/jobs.md#worked-example.
    const WORKED_EXAMPLE: &str = r#"{"jobId":123,"user":"testuser","project":"testproj","cluster":"testcluster","partition":"default",
 "walltime":3600,"arrayJobId":0,"numNodes":1,"numHwthreads":8,"numAcc":0,"shared":"none",
 "monitoringStatus":1,"smt":1,"resources":[{"hostname":"host123","hwthreads":[0,1,2,3,4,5,6,7]}],
 "metaData":{"jobScript":"blablabla..."},"startTime":123456789}"#;

    #[test]
    fn states_round_trip_and_are_case_sensitive() {
        for state in JobState::ALL {
            assert_eq!(JobState::from_name(state.as_str()), Some(state));
        }
        assert_eq!(JobState::from_name("out-of-memory"), None);
        assert_eq!(JobState::from_name("Running"), None);
        assert_eq!(JobState::OutOfMemory.to_string(), "out_of_memory");
    }

    #[test]
    fn stopped_job_json_matches_the_worked_example_byte_for_byte() {
        let mut job = decode(WORKED_EXAMPLE).unwrap().into_job();
        job.sub_cluster = "sc1".into();
        job.job_state = JobState::Completed;
        job.duration = 1000;
        job.id = Some(1);
        job.meta_data = None;
        let expected = concat!(
            r#"{"cluster":"testcluster","subCluster":"sc1","partition":"default","project":"testproj","#,
            r#""user":"testuser","shared":"none","jobState":"completed","#,
            r#""resources":[{"hostname":"host123","hwthreads":[0,1,2,3,4,5,6,7]}],"#,
            r#""energyFootprint":null,"footprint":null,"metaData":null,"#,
            r#""concurrentJobs":{"items":null,"count":0},"energy":0,"walltime":3600,"jobId":123,"#,
            r#""duration":1000,"smt":1,"monitoringStatus":1,"numHwthreads":8,"numNodes":1,"#,
            r#""statistics":null,"id":1,"startTime":123456789}"#,
            "\n"
        );
        assert_eq!(
            String::from_utf8(to_go_json(&job).unwrap()).unwrap(),
            expected
        );
    }

    #[test]
    fn start_defaults_apply_when_absent_or_null() {
        let job =
            decode(r#"{"jobId":1,"shared":null,"monitoringStatus":null,"jobState":"completed"}"#)
                .unwrap()
                .into_job();
        assert_eq!(job.shared, "none");
        assert_eq!(job.monitoring_status, 1);
        assert_eq!(job.job_state, JobState::Running);
        let explicit = decode(r#"{"shared":"multi_user","monitoringStatus":0}"#)
            .unwrap()
            .into_job();
        assert_eq!(explicit.shared, "multi_user");
        assert_eq!(explicit.monitoring_status, 0);
    }

    #[test]
    fn dropped_fields_are_type_checked_but_not_kept() {
        let job = decode(
            r#"{"id":77,"requestedMemory":4096,"statistics":{"cpu":{"unit":{"base":"F"},"avg":1,"min":0,"max":2}},
                "concurrentJobs":{"items":[{"id":"x","jobId":3}],"count":1},"energyFootprint":{"a":1},"submitTime":5}"#,
        )
        .unwrap()
        .into_job();
        assert_eq!(job.id, None);
        assert_eq!(job.statistics, None);
        assert_eq!(job.energy_footprint, None);
        assert_eq!(job.concurrent_jobs, ConcurrentJobs::default());
        assert_eq!(job.submit_time, 5);
        assert!(decode(r#"{"requestedMemory":"lots"}"#).is_err());
        assert!(decode(r#"{"id":1.5}"#).is_err());
    }

    #[test]
    fn strict_decoding_rejects_unknown_keys_at_every_level() {
        let unknown = decode(r#"{"jobId":1,"foo":2}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `foo`"),
            "{unknown}"
        );
        let nested = decode(r#"{"resources":[{"hostname":"a","cores":[1]}]}"#).unwrap_err();
        assert!(
            nested.to_string().contains("unknown field `cores`"),
            "{nested}"
        );
        let tag = decode(r#"{"tags":[{"type":"a","name":"b","colour":"red"}]}"#).unwrap_err();
        assert!(tag.to_string().contains("unknown field `colour`"), "{tag}");
    }

    #[test]
    fn go_integer_widths_are_enforced() {
        assert!(decode(r#"{"numNodes":2147483648}"#).is_err());
        assert!(decode(r#"{"numNodes":2147483647}"#).is_ok());
        assert!(decode(r#"{"jobId":9223372036854775808}"#).is_err());
        assert!(decode(r#"{"duration":-2147483649}"#).is_err());
    }

    #[test]
    fn null_inside_resources_and_tags_keeps_defaults() {
        let job = decode(r#"{"resources":[{"hostname":"h","configuration":null,"hwthreads":null}],"tags":[{"type":"t","name":"n","scope":null}]}"#)
            .unwrap()
            .into_job();
        let resources = job.resources.unwrap();
        assert_eq!(resources[0].hostname, "h");
        assert!(resources[0].hwthreads.is_empty());
        assert_eq!(job.tags[0].scope, "");
    }

    #[test]
    fn empty_optional_parts_are_omitted() {
        let resource = Resource {
            hostname: "h".into(),
            configuration: String::new(),
            hwthreads: Vec::new(),
            accelerators: Vec::new(),
        };
        assert_eq!(to_go_json(&resource).unwrap(), b"{\"hostname\":\"h\"}\n");
        let tag = Tag {
            kind: "app".into(),
            name: "vasp".into(),
            scope: "global".into(),
            id: 0,
        };
        assert_eq!(
            to_go_json(&tag).unwrap(),
            b"{\"type\":\"app\",\"name\":\"vasp\",\"scope\":\"global\",\"id\":0}\n"
        );
    }
}
