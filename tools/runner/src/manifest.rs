//! Spin application manifest, version 2 (`spin.toml`): the subset of fields Spin reads for HTTP
//! applications built from local Wasm files. Unknown fields are rejected, as Spin does, so a
//! manifest that relies on a feature this runner lacks fails loudly instead of half-working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::variables::{Template, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid manifest {path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid manifest {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file.
    pub path: PathBuf,
    /// The directory relative paths in the manifest are resolved against.
    pub dir: PathBuf,
    pub application: Application,
    /// Application variables by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP triggers in manifest order.
    pub http_triggers: Vec<HttpTrigger>,
    /// Components by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    /// Settings for other tools; Spin ignores them and so do we.
    #[serde(default)]
    pub tool: toml::Table,
}

/// `[variables] name = { default = "..." }` or `{ required = true }`, optionally `secret = true`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    #[serde(default)]
    pub id: String,
    pub route: RouteConfig,
    pub component: String,
}

/// `route = "/path/..."` or `route = { private = true }` (reachable only by service chaining).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RouteConfig {
    Path(String),
    Private(PrivateRoute),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateRoute {
    pub private: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    /// Path of the `.wasm` file, relative to the manifest directory.
    pub source: String,
    #[serde(default)]
    pub description: String,
    /// Component variables: name → template over application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<FilesMount>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub build: Option<BuildConfig>,
    #[serde(default)]
    pub tool: toml::Table,
}

/// `files = ["static/**/*", { source = "assets", destination = "/assets" }]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FilesMount {
    Pattern(String),
    Placement(FilesPlacement),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesPlacement {
    pub source: String,
    pub destination: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    pub command: BuildCommands,
    #[serde(default)]
    pub workdir: Option<String>,
    /// Used by `spin watch`; accepted and ignored.
    #[serde(default)]
    pub watch: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum BuildCommands {
    One(String),
    Many(Vec<String>),
}

impl BuildConfig {
    pub fn commands(&self) -> &[String] {
        match &self.command {
            BuildCommands::One(command) => std::slice::from_ref(command),
            BuildCommands::Many(commands) => commands,
        }
    }
}

impl ComponentDecl {
    /// Absolute path of the component's Wasm file.
    pub fn source_path(&self, manifest_dir: &Path) -> PathBuf {
        manifest_dir.join(&self.source)
    }
}

/// Only the version is read first, so that a v1 manifest gets a version error rather than a
/// complaint about its v1-only fields.
#[derive(Deserialize)]
struct VersionProbe {
    spin_manifest_version: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(rename = "spin_manifest_version")]
    _version: toml::Value,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
}

#[derive(Default, Deserialize)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

impl Manifest {
    /// Reads a manifest file; `path` may also be a directory holding `spin.toml`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let path = if path.is_dir() {
            path.join("spin.toml")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|error| ManifestError::Read {
            path: path.clone(),
            error,
        })?;
        let dir = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Absolute, so that paths in messages and mounts do not depend on later cwd changes.
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Self::parse(&text, &path, &dir)
    }

    /// Parses and validates manifest text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path, dir: &Path) -> Result<Self, ManifestError> {
        let syntax_error = |error: toml::de::Error| {
            let (line, column) = error
                .span()
                .map(|span| line_and_column(text, span.start))
                .unwrap_or((1, 1));
            ManifestError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: error.message().trim_end().replace('\n', " "),
            }
        };
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        };

        let probe: VersionProbe = toml::from_str(text).map_err(syntax_error)?;
        match probe.spin_manifest_version {
            Some(toml::Value::Integer(2)) => {}
            Some(other) => {
                return Err(invalid(format!(
                "spin_manifest_version {other} is not supported: cc-spin reads version 2 manifests"
            )))
            }
            None => return Err(invalid("spin_manifest_version is missing".into())),
        }

        let raw: RawManifest = toml::from_str(text).map_err(syntax_error)?;
        if let Some(kind) = raw.trigger.other.keys().next() {
            return Err(invalid(format!(
                "trigger type `{kind}` is not supported: cc-spin serves HTTP triggers only"
            )));
        }
        let manifest = Manifest {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            application: raw.application,
            variables: raw.variables,
            http_triggers: raw.trigger.http,
            components: raw.component,
        };
        manifest.validate().map_err(invalid)?;
        Ok(manifest)
    }

    /// The components that an HTTP trigger refers to, each once, in trigger order.
    pub fn triggered_components(&self) -> Vec<(&str, &ComponentDecl)> {
        let mut seen = Vec::new();
        for trigger in &self.http_triggers {
            if !seen.iter().any(|(id, _)| *id == trigger.component) {
                if let Some(component) = self.components.get(&trigger.component) {
                    seen.push((trigger.component.as_str(), component));
                }
            }
        }
        seen
    }

    fn validate(&self) -> Result<(), String> {
        for (name, variable) in &self.variables {
            check_id(name, '_', false).map_err(|e| format!("variable name `{name}`: {e}"))?;
            if variable.required && variable.default.is_some() {
                return Err(format!(
                    "variable `{name}` cannot be both `required` and have a `default`"
                ));
            }
        }
        for (id, component) in &self.components {
            check_id(id, '-', true).map_err(|e| format!("component id `{id}`: {e}"))?;
            self.validate_component(component)
                .map_err(|e| format!("component `{id}`: {e}"))?;
        }
        for trigger in &self.http_triggers {
            let route = match &trigger.route {
                RouteConfig::Path(route) => route.clone(),
                RouteConfig::Private(PrivateRoute { private: true }) => "{ private = true }".into(),
                RouteConfig::Private(PrivateRoute { private: false }) => {
                    return Err(format!(
                        "route of component `{}` must be a path or `{{ private = true }}`",
                        trigger.component
                    ))
                }
            };
            if !self.components.contains_key(&trigger.component) {
                return Err(format!(
                    "HTTP trigger with route {route} refers to unknown component `{}`",
                    trigger.component
                ));
            }
        }
        Ok(())
    }

    fn validate_component(&self, component: &ComponentDecl) -> Result<(), String> {
        for (name, value) in &component.variables {
            check_id(name, '_', false).map_err(|e| format!("variable name `{name}`: {e}"))?;
            self.check_template(value)
                .map_err(|e| format!("variable `{name}`: {e}"))?;
        }
        for host in &component.allowed_outbound_hosts {
            self.check_template(host)
                .map_err(|e| format!("allowed_outbound_hosts entry {host:?}: {e}"))?;
        }
        for label in component
            .key_value_stores
            .iter()
            .chain(&component.sqlite_databases)
        {
            if check_id(label, '-', true).is_err() && check_id(label, '_', true).is_err() {
                return Err(format!(
                    "store or database label `{label}` must be kebab-case or snake_case"
                ));
            }
        }
        for mount in &component.files {
            if let FilesMount::Placement(placement) = mount {
                if !placement.destination.starts_with('/') {
                    return Err(format!(
                        "files destination {:?} must be an absolute path",
                        placement.destination
                    ));
                }
            }
        }
        Ok(())
    }

    /// A template must parse and may only name declared application variables.
    fn check_template(&self, text: &str) -> Result<(), String> {
        let template = Template::parse(text).map_err(|e: TemplateError| e.to_string())?;
        let undeclared = template
            .variables()
            .find(|name| !self.variables.contains_key(*name))
            .map(str::to_owned);
        match undeclared {
            Some(name) => Err(format!(
                "refers to undeclared application variable `{name}`"
            )),
            None => Ok(()),
        }
    }
}

/// Spin's id rule: words separated by `delimiter`, each starting with an ASCII letter and made of
/// ASCII letters and digits, all lowercase (or, where `allow_upper`, all uppercase).
pub fn check_id(id: &str, delimiter: char, allow_upper: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    for word in id.split(delimiter) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("{delimiter:?}-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "{delimiter:?}-separated words must start with an ASCII letter"
            ));
        }
        let upper = first.is_ascii_uppercase();
        if upper && !allow_upper {
            return Err("must be lowercase".into());
        }
        for ch in chars {
            if !ch.is_ascii_alphanumeric() {
                return Err(format!(
                    "may only contain ASCII letters, digits and {delimiter:?}"
                ));
            }
            if ch.is_ascii_alphabetic() && ch.is_ascii_uppercase() != upper {
                return Err("words must be all lowercase or all uppercase".into());
            }
        }
    }
    Ok(())
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2

[application]
name = "demo"
version = "1.0.0"

[variables]
jwt_key = { required = true }
title = { default = "Cockpit" }
token = { default = "x", secret = true }

[[trigger.http]]
route = "/api/..."
component = "api"

[[trigger.http]]
route = { private = true }
component = "internal"

[component.api]
source = "target/api.wasm"
key_value_stores = ["default"]
sqlite_databases = ["default"]
allowed_outbound_hosts = ["http://localhost:8080"]
environment = { RUST_LOG = "info" }
files = ["static/*.html", { source = "assets", destination = "/assets" }]
[component.api.variables]
key = "{{ jwt_key }}"
banner = "Welcome to {{title}}!"
[component.api.build]
command = "cargo build --target wasm32-wasip2 --release"
workdir = "components/api"
watch = ["src/**/*.rs"]

[component.internal]
source = "internal.wasm"
[component.internal.build]
command = ["make one", "make two"]
"#;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("spin.toml"), Path::new("/app"))
    }

    fn invalid_message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    fn with_component(extra: &str) -> String {
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"a\"\n[variables]\nv = {{ default = \"1\" }}\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"c.wasm\"\n{extra}"
        )
    }

    #[test]
    fn parses_a_full_manifest() {
        let manifest = parse(GOOD).unwrap();
        assert_eq!(manifest.application.name, "demo");
        assert_eq!(manifest.application.version, "1.0.0");
        assert_eq!(
            manifest.variables["jwt_key"],
            VariableDecl {
                required: true,
                default: None,
                secret: false
            }
        );
        assert_eq!(
            manifest.variables["title"].default.as_deref(),
            Some("Cockpit")
        );
        assert!(manifest.variables["token"].secret);
        assert_eq!(
            manifest.http_triggers,
            vec![
                HttpTrigger {
                    id: String::new(),
                    route: RouteConfig::Path("/api/...".into()),
                    component: "api".into()
                },
                HttpTrigger {
                    id: String::new(),
                    route: RouteConfig::Private(PrivateRoute { private: true }),
                    component: "internal".into()
                },
            ]
        );
        let api = &manifest.components["api"];
        assert_eq!(
            api.source_path(&manifest.dir),
            Path::new("/app/target/api.wasm")
        );
        assert_eq!(api.key_value_stores, ["default"]);
        assert_eq!(api.sqlite_databases, ["default"]);
        assert_eq!(api.allowed_outbound_hosts, ["http://localhost:8080"]);
        assert_eq!(api.environment["RUST_LOG"], "info");
        assert_eq!(
            api.files,
            vec![
                FilesMount::Pattern("static/*.html".into()),
                FilesMount::Placement(FilesPlacement {
                    source: "assets".into(),
                    destination: "/assets".into()
                })
            ]
        );
        assert_eq!(api.variables["key"], "{{ jwt_key }}");
        let build = api.build.as_ref().unwrap();
        assert_eq!(
            build.commands(),
            ["cargo build --target wasm32-wasip2 --release"]
        );
        assert_eq!(build.workdir.as_deref(), Some("components/api"));
        let internal_build = manifest.components["internal"].build.as_ref().unwrap();
        assert_eq!(internal_build.commands(), ["make one", "make two"]);
        let triggered: Vec<&str> = manifest
            .triggered_components()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(triggered, ["api", "internal"]);
    }

    #[test]
    fn load_accepts_a_directory_and_resolves_paths_against_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spin.toml"), GOOD).unwrap();
        let manifest = Manifest::load(dir.path()).unwrap();
        assert_eq!(manifest.dir, dir.path());
        assert_eq!(manifest.path, dir.path().join("spin.toml"));
    }

    #[test]
    fn unreadable_manifest_names_the_file() {
        let message = Manifest::load(Path::new("/nonexistent/spin.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("cannot read manifest /nonexistent/spin.toml: "),
            "{message}"
        );
    }

    #[test]
    fn toml_syntax_errors_carry_the_location_on_one_line() {
        let message = invalid_message("spin_manifest_version = 2\n[application\nname = \"x\"\n");
        assert!(
            message.starts_with("invalid manifest spin.toml:2:"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_location() {
        let message = invalid_message(&with_component("ai_models = [\"llama\"]\n"));
        assert!(
            message.starts_with("invalid manifest spin.toml:"),
            "{message}"
        );
        assert!(message.contains("unknown field `ai_models`"), "{message}");
    }

    #[test]
    fn only_version_2_is_accepted() {
        assert_eq!(
            invalid_message("spin_manifest_version = \"1\"\nname = \"x\"\n"),
            "invalid manifest spin.toml: spin_manifest_version \"1\" is not supported: cc-spin reads version 2 manifests"
        );
        assert_eq!(
            invalid_message("[application]\nname = \"x\"\n"),
            "invalid manifest spin.toml: spin_manifest_version is missing"
        );
    }

    #[test]
    fn unknown_component_in_trigger_is_named() {
        let text = GOOD.replace("component = \"internal\"", "component = \"missing\"");
        assert_eq!(
            invalid_message(&text),
            "invalid manifest spin.toml: HTTP trigger with route { private = true } refers to unknown component `missing`"
        );
    }

    #[test]
    fn other_trigger_types_are_rejected() {
        let text = format!("{GOOD}\n[[trigger.redis]]\nchannel = \"x\"\ncomponent = \"api\"\n");
        assert_eq!(
            invalid_message(&text),
            "invalid manifest spin.toml: trigger type `redis` is not supported: cc-spin serves HTTP triggers only"
        );
    }

    #[test]
    fn private_false_is_rejected() {
        let text = GOOD.replace("{ private = true }", "{ private = false }");
        assert!(invalid_message(&text).contains("must be a path or `{ private = true }`"));
    }

    #[test]
    fn required_variable_with_default_is_rejected() {
        let text = GOOD.replace(
            "jwt_key = { required = true }",
            "jwt_key = { required = true, default = \"k\" }",
        );
        assert!(invalid_message(&text)
            .contains("variable `jwt_key` cannot be both `required` and have a `default`"));
    }

    #[test]
    fn component_variables_may_only_use_declared_application_variables() {
        let message = invalid_message(&with_component("variables = { x = \"{{ nope }}\" }\n"));
        assert_eq!(
            message,
            "invalid manifest spin.toml: component `c`: variable `x`: refers to undeclared application variable `nope`"
        );
        let message = invalid_message(&with_component("variables = { x = \"{{ v \" }\n"));
        assert!(message.contains("unterminated"), "{message}");
    }

    #[test]
    fn ids_and_labels_follow_spin_rules() {
        assert!(check_id("api", '-', true).is_ok());
        assert!(check_id("metric-store2", '-', true).is_ok());
        assert!(check_id("jwt_public_key", '_', false).is_ok());
        assert!(check_id("", '-', true).is_err());
        assert!(check_id("2api", '-', true).is_err());
        assert!(check_id("a--b", '-', true).is_err());
        assert!(check_id("Jwt", '_', false).is_err());
        assert!(check_id("jwt_2", '_', false).is_err());
        assert!(check_id("mIxed", '-', true).is_err());
        let message = invalid_message(&with_component("key_value_stores = [\"bad label\"]\n"));
        assert!(
            message.contains("must be kebab-case or snake_case"),
            "{message}"
        );
        let message = invalid_message(
            &with_component("")
                .replace("component.c]", "component.Api_x]")
                .replace("\"c\"", "\"Api_x\""),
        );
        assert!(message.contains("component id `Api_x`"), "{message}");
    }

    #[test]
    fn files_destination_must_be_absolute() {
        let message = invalid_message(&with_component(
            "files = [{ source = \"a\", destination = \"rel\" }]\n",
        ));
        assert!(message.contains("must be an absolute path"), "{message}");
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
    }
}
