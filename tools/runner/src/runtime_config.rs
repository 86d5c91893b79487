//! Spin's runtime configuration file (`--runtime-config-file`), the part this runner serves: where
//! the `default` key-value store and the `default` SQLite database live. Spin users point the
//! key-value store at Redis to share it between hosts; the same file works with `spin up`.
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"              # or "spin" with `path = "..."`
//! url = "redis://127.0.0.1:6379"
//!
//! [sqlite_database.default]
//! type = "spin"
//! path = "/srv/cc-spin/sqlite_db.db"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    #[error("cannot read runtime config {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("runtime config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Where the `default` key-value store lives.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValueBackend {
    /// Spin's SQLite file (the default: `<state dir>/sqlite_key_value.db`).
    SqliteFile(PathBuf),
    /// A Redis server, by URL.
    Redis(String),
}

/// Where the state lives; what the file does not set stays in the state directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    pub key_value: Option<KeyValueBackend>,
    pub sqlite_path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key_value_store: BTreeMap<String, StoreEntry>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, StoreEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreEntry {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
    url: Option<String>,
}

impl RuntimeConfig {
    /// Reads the file. Relative paths in it stay relative to the working directory, as Spin 4
    /// resolves them.
    pub fn load(path: &Path) -> Result<Self, RuntimeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| RuntimeConfigError::Read {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        Self::parse(&text).map_err(|message| RuntimeConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|error| error.to_string())?;
        let key_value = match only_default("key_value_store", &file.key_value_store)? {
            None => None,
            Some(entry) => Some(match (entry.kind.as_str(), &entry.path, &entry.url) {
                ("redis", None, Some(url)) => KeyValueBackend::Redis(url.clone()),
                ("spin", Some(path), None) => KeyValueBackend::SqliteFile(path.clone()),
                (kind, _, _) => {
                    return Err(format!(
                        "[key_value_store.default]: type \"{kind}\" with these fields is not \
                         supported (use type = \"redis\" with url, or type = \"spin\" with path)"
                    ))
                }
            }),
        };
        let sqlite_path = match only_default("sqlite_database", &file.sqlite_database)? {
            None => None,
            Some(entry) => match (entry.kind.as_str(), &entry.path, &entry.url) {
                ("spin", Some(path), None) => Some(path.clone()),
                (kind, _, _) => {
                    return Err(format!(
                        "[sqlite_database.default]: type \"{kind}\" with these fields is not \
                         supported by this runner (use type = \"spin\" with path; libSQL needs \
                         `spin up`)"
                    ))
                }
            },
        };
        Ok(Self {
            key_value,
            sqlite_path,
        })
    }
}

/// The `default` entry of a section; other labels are refused.
fn only_default<'a>(
    section: &str,
    labels: &'a BTreeMap<String, StoreEntry>,
) -> Result<Option<&'a StoreEntry>, String> {
    match labels.keys().find(|label| *label != "default") {
        Some(label) => Err(format!(
            "[{section}.{label}]: this runner serves only the `default` store"
        )),
        None => Ok(labels.get("default")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_key_value_and_a_sqlite_path_are_read() {
        let config = RuntimeConfig::parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://h:6379\"\n\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = \"data/db.sqlite\"\n",
        )
        .unwrap();
        assert_eq!(
            config,
            RuntimeConfig {
                key_value: Some(KeyValueBackend::Redis("redis://h:6379".into())),
                sqlite_path: Some(PathBuf::from("data/db.sqlite")),
            }
        );
        assert_eq!(RuntimeConfig::parse("").unwrap(), RuntimeConfig::default());
    }

    #[test]
    fn what_the_runner_cannot_serve_is_refused_with_a_reason() {
        for (text, expected) in [
            (
                "[key_value_store.cache]\ntype = \"redis\"\nurl = \"redis://h\"\n",
                "only the `default` store",
            ),
            (
                "[key_value_store.default]\ntype = \"azure_cosmos\"\n",
                "type \"azure_cosmos\"",
            ),
            (
                "[key_value_store.default]\ntype = \"redis\"\n",
                "type \"redis\" with these fields",
            ),
            (
                "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://x\"\n",
                "libSQL needs `spin up`",
            ),
            ("[llm_compute]\ntype = \"spin\"\n", "unknown field"),
        ] {
            let error = RuntimeConfig::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
