use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Job {
    #[serde(default)]
    job_id: Option<i64>,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    num_nodes: Option<i32>,
    #[serde(default)]
    meta_data: Option<BTreeMap<String, String>>,
    #[serde(default)]
    resources: Option<Vec<Resource>>,
    #[serde(default)]
    energy: Option<f64>,
    #[serde(default = "yes")]
    exclusive: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Resource {
    hostname: String,
    #[serde(default)]
    hwthreads: Vec<i32>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Tag {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

fn job(body: &str) -> Result<Job, String> {
    decode_like_go(body.as_bytes())
}

fn job_id(id: i64) -> Job {
    Job {
        job_id: Some(id),
        exclusive: true,
        ..Job::default()
    }
}

#[test]
fn keys_match_exactly_then_case_insensitively() {
    assert_eq!(job(r#"{"jobId": 1}"#), Ok(job_id(1)));
    assert_eq!(job(r#"{"JobID": 2}"#), Ok(job_id(2)));
    assert_eq!(job(r#"{"JOBID": 3}"#), Ok(job_id(3)));
    let decoded = job(r#"{"metadata": {"JobScript": "x"}}"#).unwrap();
    // Map keys are data, not field names: they stay as sent.
    assert_eq!(
        decoded.meta_data,
        Some(BTreeMap::from([("JobScript".to_owned(), "x".to_owned())]))
    );
    let nested = job(r#"{"Resources": [{"HostName": "h1", "HWThreads": [1]}]}"#).unwrap();
    assert_eq!(
        nested.resources,
        Some(vec![Resource {
            hostname: "h1".into(),
            hwthreads: vec![1]
        }])
    );
}

#[test]
fn only_keys_matching_no_field_are_unknown() {
    assert_eq!(
        job(r#"{"jobId": 1, "foo": 2}"#),
        Err(r#"json: unknown field "foo""#.into())
    );
    assert_eq!(
        job(r#"{"resources": [{"hostname": "h", "cpus": 1}]}"#),
        Err(r#"json: unknown field "cpus""#.into())
    );
    assert_eq!(
        job(r#"{"job_id": 1}"#),
        Err(r#"json: unknown field "job_id""#.into())
    );
}

#[test]
fn a_repeated_key_takes_the_last_value() {
    assert_eq!(job(r#"{"jobId": 1, "jobId": 2}"#), Ok(job_id(2)));
    assert_eq!(job(r#"{"jobId": 1, "JOBID": 4}"#), Ok(job_id(4)));
}

#[test]
fn null_leaves_the_default() {
    assert_eq!(job(r#"{"jobId": 5, "exclusive": null}"#), Ok(job_id(5)));
    assert_eq!(job(r#"{"jobId": 5, "cluster": null}"#), Ok(job_id(5)));
    assert_eq!(job("null"), Ok(job_id_none()));
    assert_eq!(decode_like_go::<Vec<Tag>>(b"null"), Ok(vec![]));
    let zeros =
        job(r#"{"metaData": {"a": null}, "resources": [{"hostname": "h", "hwthreads": null}]}"#)
            .unwrap();
    assert_eq!(
        zeros.meta_data,
        Some(BTreeMap::from([("a".to_owned(), String::new())]))
    );
    assert_eq!(zeros.resources.unwrap()[0].hwthreads, Vec::<i32>::new());
}

fn job_id_none() -> Job {
    Job {
        exclusive: true,
        ..Job::default()
    }
}

#[test]
fn wrong_json_types_are_go_type_errors() {
    let cases = [
        (
            "[]",
            "json: cannot unmarshal array into Go value of type Job",
        ),
        (
            r#""x""#,
            "json: cannot unmarshal string into Go value of type Job",
        ),
        (
            "7",
            "json: cannot unmarshal number into Go value of type Job",
        ),
        (
            r#"{"jobId": "7"}"#,
            "json: cannot unmarshal string into Go struct field Job.jobId of type int64",
        ),
        (
            r#"{"jobId": 1.5}"#,
            "json: cannot unmarshal number 1.5 into Go struct field Job.jobId of type int64",
        ),
        (
            r#"{"jobId": 1e30}"#,
            "json: cannot unmarshal number 1e+30 into Go struct field Job.jobId of type int64",
        ),
        (
            r#"{"numNodes": 2147483648}"#,
            "json: cannot unmarshal number 2147483648 into Go struct field Job.numNodes of type \
             int32",
        ),
        (
            r#"{"jobId": 18446744073709551615}"#,
            "json: cannot unmarshal number 18446744073709551615 into Go struct field Job.jobId \
             of type int64",
        ),
        (
            r#"{"energy": "high"}"#,
            "json: cannot unmarshal string into Go struct field Job.energy of type float64",
        ),
        (
            r#"{"exclusive": 1}"#,
            "json: cannot unmarshal number into Go struct field Job.exclusive of type bool",
        ),
        (
            r#"{"resources": {}}"#,
            "json: cannot unmarshal object into Go struct field Job.resources of type slice",
        ),
        (
            r#"{"resources": [{"hostname": 5}]}"#,
            "json: cannot unmarshal number into Go struct field Resource.resources.hostname of \
             type string",
        ),
        (
            r#"{"metaData": []}"#,
            "json: cannot unmarshal array into Go struct field Job.metaData of type map",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(job(body), Err(message.to_owned()), "{body}");
    }
    assert_eq!(
        decode_like_go::<Vec<Tag>>(br#"{"name": "x"}"#),
        Err("json: cannot unmarshal object into Go value of type slice".into())
    );
}

#[test]
fn only_the_first_value_is_read_and_eof_reads_like_go() {
    assert_eq!(job(r#"{"jobId": 9} {"jobId": 10} garbage"#), Ok(job_id(9)));
    assert_eq!(job(""), Err("EOF".into()));
    assert_eq!(job(" \n"), Err("EOF".into()));
    assert_eq!(job(r#"{"jobId": 9"#), Err("unexpected EOF".into()));
    assert!(job("{x}").unwrap_err().starts_with("json: "));
}

#[test]
fn integers_accept_every_width_in_range() {
    assert_eq!(
        job(r#"{"jobId": -9223372036854775808, "numNodes": -2147483648}"#)
            .map(|j| (j.job_id, j.num_nodes)),
        Ok((Some(i64::MIN), Some(i32::MIN)))
    );
    assert_eq!(job(r#"{"energy": 3}"#).map(|j| j.energy), Ok(Some(3.0)));
}

#[test]
fn renamed_fields_and_lists_of_structs() {
    assert_eq!(
        decode_like_go::<Vec<Tag>>(br#"[{"Type": "app", "NAME": "x"}]"#),
        Ok(vec![Tag {
            name: "x".into(),
            kind: "app".into()
        }])
    );
}
