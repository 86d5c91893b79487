use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Measurement resolution of a metric.
///
/// Variants are declared from finest to coarsest, so the derived order compares granularity the
/// way the reference does (node > socket > memoryDomain > core > hwthread > accelerator):
/// `native.max(requested)` is the scope at which a metric can be delivered. Accelerator ranks
/// below hwthread because no conversion between the two exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub enum MetricScope {
    Accelerator,
    #[schema(rename = "hwthread")]
    HwThread,
    Core,
    MemoryDomain,
    Socket,
    /// Also the scope of metrics whose configuration names none.
    #[default]
    Node,
}

/// A scope name that is none of the six scopes. The message is the reference's, so callers can
/// prefix it (`unmarshaling scope failed: SCHEMA/METRICS > x is not a valid MetricScope`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCHEMA/METRICS > {0} is not a valid MetricScope")]
pub struct InvalidScope(pub String);

impl MetricScope {
    /// All scopes, coarsest first.
    pub const ALL: [MetricScope; 6] = [
        MetricScope::Node,
        MetricScope::Socket,
        MetricScope::MemoryDomain,
        MetricScope::Core,
        MetricScope::HwThread,
        MetricScope::Accelerator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricScope::Node => "node",
            MetricScope::Socket => "socket",
            MetricScope::MemoryDomain => "memoryDomain",
            MetricScope::Core => "core",
            MetricScope::HwThread => "hwthread",
            MetricScope::Accelerator => "accelerator",
        }
    }
}

impl FromStr for MetricScope {
    type Err = InvalidScope;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        MetricScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| InvalidScope(name.to_owned()))
    }
}

impl fmt::Display for MetricScope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for MetricScope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MetricScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `scope` of a configured metric: a missing or empty value means node scope (docs/nodes-users.md#cluster-files-and-validation).
pub(super) fn node_if_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<MetricScope, D::Error> {
    let name = String::deserialize(deserializer)?;
    if name.is_empty() {
        Ok(MetricScope::Node)
    } else {
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let names: Vec<&str> = MetricScope::ALL
            .iter()
            .map(|scope| scope.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "node",
                "socket",
                "memoryDomain",
                "core",
                "hwthread",
                "accelerator"
            ]
        );
        for scope in MetricScope::ALL {
            assert_eq!(scope.to_string().parse::<MetricScope>(), Ok(scope));
            let json = serde_json::to_string(&scope).expect("serializable");
            assert_eq!(json, format!("\"{scope}\""));
            assert_eq!(serde_json::from_str::<MetricScope>(&json).ok(), Some(scope));
        }
    }

    #[test]
    fn unknown_names_are_rejected_with_reference_message() {
        for name in ["", "Node", "hwThread", "memorydomain", "gpu"] {
            let error = name.parse::<MetricScope>().expect_err("invalid scope");
            assert_eq!(
                error.to_string(),
                format!("SCHEMA/METRICS > {name} is not a valid MetricScope")
            );
        }
        assert!(serde_json::from_str::<MetricScope>("\"die\"").is_err());
    }

    #[test]
    fn order_follows_granularity() {
        let mut finest_first = MetricScope::ALL;
        finest_first.reverse();
        let mut sorted = MetricScope::ALL;
        sorted.sort();
        assert_eq!(sorted, finest_first);
        assert!(MetricScope::Node > MetricScope::Socket);
        assert!(MetricScope::MemoryDomain > MetricScope::Core);
        assert!(MetricScope::HwThread > MetricScope::Accelerator);
        assert_eq!(
            MetricScope::HwThread.max(MetricScope::Socket),
            MetricScope::Socket
        );
        assert_eq!(MetricScope::Node.max(MetricScope::Core), MetricScope::Node);
        assert_eq!(
            MetricScope::Accelerator.max(MetricScope::Accelerator),
            MetricScope::Accelerator
        );
    }

    #[test]
    fn empty_configured_scope_means_node() {
        #[derive(Deserialize)]
        struct Configured {
            #[serde(deserialize_with = "node_if_empty")]
            scope: MetricScope,
        }
        let parse = |json: &str| serde_json::from_str::<Configured>(json).map(|c| c.scope);
        assert_eq!(parse(r#"{"scope":""}"#).ok(), Some(MetricScope::Node));
        assert_eq!(parse(r#"{"scope":"core"}"#).ok(), Some(MetricScope::Core));
        assert!(parse(r#"{"scope":"rack"}"#).is_err());
    }
}
