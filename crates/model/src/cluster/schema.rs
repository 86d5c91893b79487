//! Checks a parsed `cluster.json` before it is decoded, so that every problem is reported with
//! the path of the offending field.
//!
//! The rules combine the start-up validation of docs/nodes-users.md#cluster-files-and-validation (non-empty names, at least one metric
//! and sub-cluster, `timestep >= 1`, valid scopes, parsable host lists) with the required keys
//! and value types of `cluster.schema.json`. Deliberately not enforced: the schema's unit and
//! accelerator-type enumerations (the reference's own sample clusters use units such as
//! `Flops/s`), and the schema's requirement of `scope`, which docs/nodes-users.md#cluster-files-and-validation defaults to `node`.

use std::fmt;

use serde_json::Value;

use crate::hostlist::Nodes;

/// A rule broken by the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Violation {
    /// Path of the field, e.g. `metricConfig[2].timestep`.
    pub field: String,
    pub problem: String,
}

pub(super) fn check_cluster(document: &Value) -> Result<(), Violation> {
    check(document, &CLUSTER, &FieldPath::Root)
}

#[derive(Clone, Copy)]
enum Kind {
    String,
    NonEmptyString,
    OneOf(&'static [&'static str]),
    Number,
    Integer,
    IntegerAtLeast(i64),
    Bool,
    Array(&'static Kind),
    NonEmptyArray(&'static Kind),
    Object(&'static [Field]),
    /// A sub-cluster's `nodes`: a host list, `*` or empty.
    Nodes,
}

#[derive(Clone, Copy)]
struct Field {
    key: &'static str,
    kind: Kind,
    required: bool,
}

const fn required(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: true,
    }
}

const fn optional(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: false,
    }
}

const UNIT: Kind = Kind::Object(&[
    required("base", Kind::String),
    optional("prefix", Kind::String),
]);

const FOOTPRINT: Kind = Kind::OneOf(&["", "avg", "min", "max"]);
const ENERGY: Kind = Kind::OneOf(&["", "power", "energy"]);

const SUB_CLUSTER_CONFIG: Kind = Kind::Object(&[
    required("name", Kind::String),
    optional("unit", UNIT),
    optional("peak", Kind::Number),
    optional("normal", Kind::Number),
    optional("caution", Kind::Number),
    optional("alert", Kind::Number),
    optional("footprint", FOOTPRINT),
    optional("energy", ENERGY),
    optional("lowerIsBetter", Kind::Bool),
    optional("restrict", Kind::Bool),
    optional("remove", Kind::Bool),
]);

const METRIC_CONFIG: Kind = Kind::Object(&[
    required("name", Kind::NonEmptyString),
    required("unit", UNIT),
    required("peak", Kind::Number),
    required("normal", Kind::Number),
    required("caution", Kind::Number),
    required("alert", Kind::Number),
    optional("energy", ENERGY),
    optional(
        "scope",
        Kind::OneOf(&[
            "",
            "node",
            "socket",
            "memoryDomain",
            "core",
            "hwthread",
            "accelerator",
        ]),
    ),
    required("aggregation", Kind::OneOf(&["", "sum", "avg"])),
    optional("footprint", FOOTPRINT),
    optional("subClusters", Kind::Array(&SUB_CLUSTER_CONFIG)),
    required("timestep", Kind::IntegerAtLeast(1)),
    optional("restrict", Kind::Bool),
    optional("lowerIsBetter", Kind::Bool),
]);

const METRIC_VALUE: Kind = Kind::Object(&[optional("unit", UNIT), optional("value", Kind::Number)]);

const IDS: Kind = Kind::Array(&Kind::Integer);
const ID_GROUPS: Kind = Kind::Array(&IDS);

const TOPOLOGY: Kind = Kind::Object(&[
    required("node", IDS),
    required("socket", ID_GROUPS),
    required("memoryDomain", ID_GROUPS),
    optional("die", ID_GROUPS),
    optional("core", ID_GROUPS),
    optional(
        "accelerators",
        Kind::Array(&Kind::Object(&[
            required("id", Kind::String),
            required("type", Kind::String),
            required("model", Kind::String),
        ])),
    ),
]);

const SUB_CLUSTER: Kind = Kind::Object(&[
    required("name", Kind::NonEmptyString),
    required("nodes", Kind::Nodes),
    required("processorType", Kind::String),
    required("topology", TOPOLOGY),
    required("flopRateScalar", METRIC_VALUE),
    required("flopRateSimd", METRIC_VALUE),
    required("memoryBandwidth", METRIC_VALUE),
    optional("metricConfig", Kind::Array(&METRIC_CONFIG)),
    optional("footprint", Kind::Array(&Kind::String)),
    optional("energyFootprint", Kind::Array(&Kind::String)),
    required("socketsPerNode", Kind::Integer),
    required("coresPerSocket", Kind::Integer),
    required("threadsPerCore", Kind::Integer),
]);

const CLUSTER: Kind = Kind::Object(&[
    required("name", Kind::NonEmptyString),
    required("metricConfig", Kind::NonEmptyArray(&METRIC_CONFIG)),
    required("subClusters", Kind::NonEmptyArray(&SUB_CLUSTER)),
]);

/// Location of a value in the document; rendered only when a rule is broken.
enum FieldPath<'a> {
    Root,
    Key(&'a FieldPath<'a>, &'a str),
    Index(&'a FieldPath<'a>, usize),
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Root => formatter.write_str("(document)"),
            FieldPath::Key(FieldPath::Root, key) => formatter.write_str(key),
            FieldPath::Key(parent, key) => write!(formatter, "{parent}.{key}"),
            FieldPath::Index(parent, index) => write!(formatter, "{parent}[{index}]"),
        }
    }
}

fn check(value: &Value, kind: &Kind, path: &FieldPath<'_>) -> Result<(), Violation> {
    let violation = |problem: String| Violation {
        field: path.to_string(),
        problem,
    };
    let wrong_type = || {
        violation(format!(
            "expected {}, found {}",
            kind.expected(),
            found(value)
        ))
    };
    let type_matches = |matches: bool| if matches { Ok(()) } else { Err(wrong_type()) };
    match kind {
        Kind::String => type_matches(value.is_string()),
        Kind::NonEmptyString => match value.as_str() {
            Some("") => Err(violation("must not be empty".to_owned())),
            Some(_) => Ok(()),
            None => Err(wrong_type()),
        },
        Kind::OneOf(allowed) => {
            let text = value.as_str().ok_or_else(wrong_type)?;
            if allowed.contains(&text) {
                Ok(())
            } else {
                let allowed: Vec<String> = allowed.iter().map(|name| format!("{name:?}")).collect();
                Err(violation(format!(
                    "{text:?} is not one of {}",
                    allowed.join(", ")
                )))
            }
        }
        Kind::Number => type_matches(value.is_number()),
        Kind::Integer => type_matches(value.as_i64().is_some()),
        Kind::IntegerAtLeast(minimum) => match value.as_i64() {
            Some(number) if number < *minimum => Err(violation(format!(
                "must be at least {minimum}, found {number}"
            ))),
            Some(_) => Ok(()),
            None => Err(wrong_type()),
        },
        Kind::Bool => type_matches(value.is_boolean()),
        Kind::Array(items) | Kind::NonEmptyArray(items) => {
            let elements = value.as_array().ok_or_else(wrong_type)?;
            if elements.is_empty() && matches!(kind, Kind::NonEmptyArray(_)) {
                return Err(violation("must contain at least one entry".to_owned()));
            }
            elements
                .iter()
                .enumerate()
                .try_for_each(|(index, element)| {
                    check(element, items, &FieldPath::Index(path, index))
                })
        }
        Kind::Object(fields) => {
            let object = value.as_object().ok_or_else(wrong_type)?;
            fields.iter().try_for_each(|field| {
                let field_path = FieldPath::Key(path, field.key);
                match object.get(field.key) {
                    Some(member) => check(member, &field.kind, &field_path),
                    None if field.required => Err(Violation {
                        field: field_path.to_string(),
                        problem: "required key is missing".to_owned(),
                    }),
                    None => Ok(()),
                }
            })
        }
        Kind::Nodes => {
            let text = value.as_str().ok_or_else(wrong_type)?;
            match Nodes::parse(text) {
                Ok(_) => Ok(()),
                Err(error) => Err(violation(format!("invalid host list {text:?}: {error}"))),
            }
        }
    }
}

impl Kind {
    fn expected(&self) -> &'static str {
        match self {
            Kind::String | Kind::NonEmptyString | Kind::OneOf(_) | Kind::Nodes => "a string",
            Kind::Number => "a number",
            Kind::Integer | Kind::IntegerAtLeast(_) => "an integer",
            Kind::Bool => "a boolean",
            Kind::Array(_) | Kind::NonEmptyArray(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violation(document: Value) -> (String, String) {
        let Violation { field, problem } =
            check_cluster(&document).expect_err("document breaks a rule");
        (field, problem)
    }

    fn metric() -> Value {
        json!({"name": "cpu_load", "unit": {"base": ""}, "scope": "node", "aggregation": "avg",
               "timestep": 60, "peak": 72, "normal": 72, "caution": 36, "alert": 20})
    }

    fn sub_cluster() -> Value {
        let value = json!({"unit": {"base": "F/s", "prefix": "G"}, "value": 432});
        json!({"name": "main", "nodes": "f[0101-0188]", "processorType": "Intel Icelake",
               "socketsPerNode": 1, "coresPerSocket": 2, "threadsPerCore": 1,
               "flopRateScalar": value, "flopRateSimd": value, "memoryBandwidth": value,
               "topology": {"node": [0, 1], "socket": [[0, 1]], "memoryDomain": [[0, 1]],
                            "core": [[0], [1]]}})
    }

    fn cluster() -> Value {
        json!({"name": "fritz", "metricConfig": [metric()], "subClusters": [sub_cluster()]})
    }

    fn with(path: &[&str], replacement: Option<Value>) -> Value {
        let mut document = cluster();
        let (last, parents) = path.split_last().expect("non-empty path");
        let mut target = &mut document;
        for key in parents {
            target = match key.parse::<usize>() {
                Ok(index) => &mut target[index],
                Err(_) => &mut target[*key],
            };
        }
        let object = target.as_object_mut().expect("object");
        match replacement {
            Some(value) => object.insert((*last).to_owned(), value),
            None => object.remove(*last),
        };
        document
    }

    #[test]
    fn valid_document_passes() {
        assert_eq!(check_cluster(&cluster()), Ok(()));
    }

    #[test]
    fn optional_keys_and_empty_scope_are_accepted() {
        assert_eq!(
            check_cluster(&with(&["metricConfig", "0", "scope"], None)),
            Ok(())
        );
        assert_eq!(
            check_cluster(&with(&["metricConfig", "0", "scope"], Some(json!("")))),
            Ok(())
        );
        assert_eq!(
            check_cluster(&with(&["subClusters", "0", "nodes"], Some(json!("*")))),
            Ok(())
        );
        assert_eq!(
            check_cluster(&with(&["subClusters", "0", "topology", "core"], None)),
            Ok(())
        );
        let custom_unit = json!({"base": "packets/s"});
        assert_eq!(
            check_cluster(&with(&["metricConfig", "0", "unit"], Some(custom_unit))),
            Ok(())
        );
    }

    #[test]
    fn violations_name_the_field() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!([]),
                "(document)",
                "expected an object, found an array",
            ),
            (
                with(&["name"], Some(json!(""))),
                "name",
                "must not be empty",
            ),
            (with(&["name"], None), "name", "required key is missing"),
            (
                with(&["metricConfig"], Some(json!([]))),
                "metricConfig",
                "must contain at least one entry",
            ),
            (
                with(&["subClusters"], Some(json!([]))),
                "subClusters",
                "must contain at least one entry",
            ),
            (
                with(&["metricConfig", "0", "name"], Some(json!(""))),
                "metricConfig[0].name",
                "must not be empty",
            ),
            (
                with(&["metricConfig", "0", "timestep"], Some(json!(0))),
                "metricConfig[0].timestep",
                "must be at least 1, found 0",
            ),
            (
                with(&["metricConfig", "0", "timestep"], Some(json!(1.5))),
                "metricConfig[0].timestep",
                "expected an integer, found 1.5",
            ),
            (
                with(&["metricConfig", "0", "scope"], Some(json!("rack"))),
                "metricConfig[0].scope",
                "\"rack\" is not one of \"\", \"node\", \"socket\", \"memoryDomain\", \"core\", \"hwthread\", \"accelerator\"",
            ),
            (
                with(&["metricConfig", "0", "aggregation"], None),
                "metricConfig[0].aggregation",
                "required key is missing",
            ),
            (
                with(&["metricConfig", "0", "peak"], Some(json!("72"))),
                "metricConfig[0].peak",
                "expected a number, found a string",
            ),
            (
                with(&["metricConfig", "0", "unit"], Some(json!({"prefix": "G"}))),
                "metricConfig[0].unit.base",
                "required key is missing",
            ),
            (
                with(
                    &["metricConfig", "0", "subClusters"],
                    Some(json!([{"name": "main", "remove": "yes"}])),
                ),
                "metricConfig[0].subClusters[0].remove",
                "expected a boolean, found a string",
            ),
            (
                with(&["subClusters", "0", "nodes"], Some(json!("f[0101-0188"))),
                "subClusters[0].nodes",
                "invalid host list \"f[0101-0188\": unclosed '['",
            ),
            (
                with(&["subClusters", "0", "threadsPerCore"], Some(json!(null))),
                "subClusters[0].threadsPerCore",
                "expected an integer, found null",
            ),
            (
                with(&["subClusters", "0", "topology", "socket"], Some(json!([[0, "1"]]))),
                "subClusters[0].topology.socket[0][1]",
                "expected an integer, found a string",
            ),
            (
                with(&["subClusters", "0", "topology", "memoryDomain"], None),
                "subClusters[0].topology.memoryDomain",
                "required key is missing",
            ),
            (
                with(
                    &["subClusters", "0", "topology", "accelerators"],
                    Some(json!([{"id": "0", "type": "Nvidia GPU"}])),
                ),
                "subClusters[0].topology.accelerators[0].model",
                "required key is missing",
            ),
            (
                with(&["subClusters", "0", "flopRateSimd"], Some(json!(9216))),
                "subClusters[0].flopRateSimd",
                "expected an object, found 9216",
            ),
        ];
        for (document, field, problem) in cases {
            assert_eq!(
                violation(document),
                (field.to_owned(), problem.to_owned()),
                "expected {field}: {problem}"
            );
        }
    }
}
