//! Loading cluster configurations from a job-archive style directory: every sub-directory of the
//! root is a cluster directory holding `cluster.json` (docs/nodes-users.md#cluster-files-and-validation).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::schema::{check_cluster, Violation};
use super::{Cluster, MetricConfig, SubCluster};

const CONFIG_FILE: &str = "cluster.json";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No cluster of that name; the message is the API's error text.
    #[error("unknown cluster: {0}")]
    UnknownCluster(String),
    #[error("{}: directory name is not a valid cluster name", .0.display())]
    InvalidDirectoryName(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", file.display())]
    Json {
        file: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {field}: {problem}", file.display())]
    Invalid {
        file: PathBuf,
        field: String,
        problem: String,
    },
    #[error("{}: cluster name {name:?} differs from its directory name {directory:?}", file.display())]
    NameMismatch {
        file: PathBuf,
        name: String,
        directory: String,
    },
}

/// Loads every cluster below `dir`, ordered by directory name. Plain files in `dir` (such as
/// `version.txt`) are ignored; every directory must hold a valid `cluster.json` whose `name`
/// equals the directory name.
pub fn load_clusters(dir: &Path) -> Result<Vec<Cluster>, ClusterError> {
    let io_error = |source| ClusterError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if !path.is_dir() {
            continue;
        }
        match path.file_name().and_then(|name| name.to_str()) {
            Some(name) if is_cluster_name(name) => names.push(name.to_owned()),
            _ => return Err(ClusterError::InvalidDirectoryName(path)),
        }
    }
    names.sort_unstable();
    names.iter().map(|name| read_cluster(dir, name)).collect()
}

/// Loads the single cluster `name` below `dir` without looking at the others. Names that are not
/// a plain directory name (`../x`, `a/b`, `.`) are unknown clusters, so a caller can pass a
/// request parameter unchecked.
pub fn load_cluster(dir: &Path, name: &str) -> Result<Cluster, ClusterError> {
    if !is_cluster_name(name) || !dir.join(name).is_dir() {
        return Err(ClusterError::UnknownCluster(name.to_owned()));
    }
    read_cluster(dir, name)
}

/// Validates a `cluster.json` document and adds the derived per-sub-cluster data; `file` only
/// names the document in error messages.
pub fn parse_cluster(file: &Path, json: &[u8]) -> Result<Cluster, ClusterError> {
    let json_error = |source| ClusterError::Json {
        file: file.to_owned(),
        source,
    };
    let document: Value = serde_json::from_slice(json).map_err(json_error)?;
    check_cluster(&document).map_err(|Violation { field, problem }| ClusterError::Invalid {
        file: file.to_owned(),
        field,
        problem,
    })?;
    let ClusterFile {
        name,
        metric_config,
        sub_clusters,
    } = serde_json::from_value(document).map_err(json_error)?;
    Ok(Cluster {
        name,
        metric_config,
        sub_clusters,
    }
    .with_sub_cluster_metrics())
}

/// The file shape; a [`Cluster`] additionally carries the derived data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterFile {
    name: String,
    metric_config: Vec<MetricConfig>,
    sub_clusters: Vec<SubCluster>,
}

fn read_cluster(dir: &Path, name: &str) -> Result<Cluster, ClusterError> {
    let file = dir.join(name).join(CONFIG_FILE);
    let json = fs::read(&file).map_err(|source| ClusterError::Io {
        path: file.clone(),
        source,
    })?;
    let cluster = parse_cluster(&file, &json)?;
    if cluster.name != name {
        return Err(ClusterError::NameMismatch {
            file,
            name: cluster.name,
            directory: name.to_owned(),
        });
    }
    Ok(cluster)
}

/// A single path component made of ASCII letters, digits, `-`, `_` and `.`, not starting with
/// a dot: such a name can never leave the cluster root.
fn is_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}
