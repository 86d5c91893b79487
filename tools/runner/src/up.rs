//! `cc-spin up`: load the manifest, optionally build, resolve variables, compile and link every
//! triggered component, bind the listener, then serve.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::component_build::{build_all, BuildError};
use crate::engine::{
    load_component, new_engine, new_linker, pre_instantiate, prune_cache, EngineError,
};
use crate::files::{stage, FilesError};
use crate::host::{ComponentPolicy, InstanceState, StateStores, DEFAULT_LABEL};
use crate::manifest::{ComponentDecl, Manifest, ManifestError};
use crate::outbound::{AllowedHostError, AllowedHosts};
use crate::routing::{RouteError, Router};
use crate::runtime_config::{RuntimeConfig, RuntimeConfigError};
use crate::server::{serve, App, PreparedComponent};
use crate::variables::{AppVariables, VariableError};

/// Options of `cc-spin up`, mirroring `spin up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The manifest file, or a directory containing `spin.toml`.
    pub manifest: PathBuf,
    /// `host:port`; port 0 picks a free port.
    pub listen: String,
    /// State directory; relative paths are resolved against the manifest directory.
    /// Defaults to `.spin` there.
    pub state_dir: Option<PathBuf>,
    /// Run the components' build commands first.
    pub build: bool,
    /// Extra environment variables for every component (override the manifest's).
    pub env: Vec<(String, String)>,
    /// Spin's runtime configuration file: the key-value store on Redis, the database elsewhere.
    pub runtime_config_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    RuntimeConfig(#[from] RuntimeConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Variables(#[from] VariableError),
    #[error("component `{component}`: {error}")]
    ComponentVariables {
        component: String,
        error: VariableError,
    },
    #[error("component `{component}`: {error}")]
    AllowedHosts {
        component: String,
        error: AllowedHostError,
    },
    #[error("component `{component}`: {error}")]
    Files {
        component: String,
        error: FilesError,
    },
    #[error("component `{component}`: cannot create a directory for its files: {error}")]
    Staging {
        component: String,
        error: std::io::Error,
    },
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("state directory {path}: {message}")]
    State { path: PathBuf, message: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("invalid listen address {address:?}: {message}")]
    ListenAddress { address: String, message: String },
    #[error("cannot listen on {address}: {error}")]
    Listen {
        address: SocketAddr,
        error: std::io::Error,
    },
}

/// A started application: listening, not yet serving.
pub struct Runner {
    app: Arc<App>,
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    /// Staged `files` directories, removed when the runner is dropped.
    _staging: Vec<TempDir>,
}

/// What start-up derives from a component's manifest entry before compiling it.
struct ComponentSetup {
    policy: ComponentPolicy,
    environment: Vec<(String, String)>,
    files_dir: Option<TempDir>,
}

fn setup_component(
    manifest: &Manifest,
    id: &str,
    decl: &ComponentDecl,
    variables: &AppVariables,
    extra_env: &[(String, String)],
) -> Result<ComponentSetup, UpError> {
    let component_variables =
        variables
            .expand_all(&decl.variables)
            .map_err(|error| UpError::ComponentVariables {
                component: id.to_owned(),
                error,
            })?;
    let allowed_entries = decl
        .allowed_outbound_hosts
        .iter()
        .map(|entry| variables.expand(entry))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| UpError::ComponentVariables {
            component: id.to_owned(),
            error,
        })?;
    let allowed_hosts =
        AllowedHosts::parse(&allowed_entries).map_err(|error| UpError::AllowedHosts {
            component: id.to_owned(),
            error,
        })?;

    let mut environment: Vec<(String, String)> = decl
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    environment.retain(|(k, _)| !extra_env.iter().any(|(extra, _)| extra == k));
    environment.extend(extra_env.iter().cloned());

    let files_dir = if decl.files.is_empty() {
        None
    } else {
        let dir = tempfile::Builder::new()
            .prefix("cc-spin-files-")
            .tempdir()
            .map_err(|error| UpError::Staging {
                component: id.to_owned(),
                error,
            })?;
        stage(&manifest.dir, &decl.files, &decl.exclude_files, dir.path()).map_err(|error| {
            UpError::Files {
                component: id.to_owned(),
                error,
            }
        })?;
        Some(dir)
    };

    Ok(ComponentSetup {
        policy: ComponentPolicy {
            id: id.to_owned(),
            variables: component_variables,
            key_value_stores: decl.key_value_stores.clone(),
            sqlite_databases: decl.sqlite_databases.clone(),
            allowed_hosts,
        },
        environment,
        files_dir,
    })
}

fn resolve_listen(address: &str) -> Result<SocketAddr, UpError> {
    let invalid = |message: String| UpError::ListenAddress {
        address: address.to_owned(),
        message,
    };
    address
        .to_socket_addrs()
        .map_err(|e| invalid(e.to_string()))?
        .next()
        .ok_or_else(|| invalid("resolves to no address".into()))
}

/// Creates the state directory and opens the state files the components use, so that a broken
/// state directory fails at start-up rather than on the first request.
fn open_state(
    state_dir: &std::path::Path,
    runtime_config: &RuntimeConfig,
    triggered: &[(&str, &ComponentDecl)],
) -> Result<Arc<StateStores>, UpError> {
    let state_error = |message: String| UpError::State {
        path: state_dir.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(state_dir).map_err(|e| state_error(e.to_string()))?;
    let mut stores = StateStores::new(state_dir, runtime_config);
    let uses = |labels: fn(&ComponentDecl) -> &Vec<String>| {
        triggered
            .iter()
            .any(|(_, decl)| labels(decl).iter().any(|l| l == DEFAULT_LABEL))
    };
    if uses(|d| &d.key_value_stores) {
        stores
            .open_key_value()
            .map_err(|e| state_error(e.to_string()))?;
    }
    if uses(|d| &d.sqlite_databases) {
        stores
            .open_sqlite()
            .map_err(|e| state_error(e.to_string()))?;
    }
    Ok(Arc::new(stores))
}

fn bind(listen: &str) -> Result<(std::net::TcpListener, SocketAddr), UpError> {
    let address = resolve_listen(listen)?;
    let listen_error = |error| UpError::Listen { address, error };
    let listener = std::net::TcpListener::bind(address).map_err(listen_error)?;
    listener.set_nonblocking(true).map_err(listen_error)?;
    let local_addr = listener.local_addr().map_err(listen_error)?;
    Ok((listener, local_addr))
}

/// Compiles (or loads from the cache) and links every triggered component, in parallel, and
/// drops cache entries no component uses any more.
fn compile_all(
    manifest: &Manifest,
    triggered: &[(&str, &ComponentDecl)],
    cache_dir: &std::path::Path,
) -> Result<(Engine, Vec<ProxyPre<InstanceState>>), UpError> {
    let engine = new_engine()?;
    let linker = new_linker(&engine)?;
    let compiled = std::thread::scope(|scope| {
        let handles: Vec<_> = triggered
            .iter()
            .map(|(id, decl)| {
                let (engine, linker) = (&engine, &linker);
                scope.spawn(move || {
                    let loaded =
                        load_component(engine, id, &decl.source_path(&manifest.dir), cache_dir)?;
                    let pre = pre_instantiate(linker, id, &loaded.component)?;
                    Ok((pre, loaded.cache_file))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Result<Vec<_>, EngineError>>()
    })?;
    let (pres, cache_files): (Vec<_>, Vec<_>) = compiled.into_iter().unzip();
    prune_cache(cache_dir, &cache_files);
    Ok((engine, pres))
}

impl Runner {
    /// Does everything short of serving; every error names what is wrong.
    pub fn start(options: &UpOptions) -> Result<Self, UpError> {
        let manifest = Manifest::load(&options.manifest)?;
        if options.build {
            build_all(&manifest)?;
        }
        let variables =
            AppVariables::resolve(&manifest.variables, |name| std::env::var(name).ok())?;
        let (router, shadowed) = Router::build(&manifest.http_triggers)?;
        for route in shadowed {
            eprintln!(
                "warning: route {} of component `{}` is never used: component `{}` has the same route",
                route.route, route.replaced, route.effective
            );
        }

        let triggered = manifest.triggered_components();
        let setups = triggered
            .iter()
            .map(|(id, decl)| setup_component(&manifest, id, decl, &variables, &options.env))
            .collect::<Result<Vec<_>, _>>()?;

        let state_dir = manifest
            .dir
            .join(options.state_dir.as_deref().unwrap_or(".spin".as_ref()));
        let runtime_config = match &options.runtime_config_file {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let stores = open_state(&state_dir, &runtime_config, &triggered)?;
        let (listener, local_addr) = bind(&options.listen)?;
        let (engine, compiled) = compile_all(&manifest, &triggered, &state_dir.join("cache"))?;

        let mut components = HashMap::new();
        let mut staging = Vec::new();
        for (((id, decl), setup), pre) in triggered.iter().zip(setups).zip(compiled) {
            let files_dir = setup.files_dir.as_ref().map(|dir| dir.path().to_path_buf());
            staging.extend(setup.files_dir);
            components.insert(
                id.to_string(),
                PreparedComponent {
                    description: decl.description.clone(),
                    policy: Arc::new(setup.policy),
                    environment: setup.environment,
                    files_dir,
                    pre,
                },
            );
        }

        Ok(Self {
            app: Arc::new(App {
                engine,
                router,
                components,
                stores,
            }),
            listener,
            local_addr,
            _staging: staging,
        })
    }

    /// The bound address (with the real port when listening on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Prints the start-up banner the way `spin up` does, and flushes it.
    pub fn print_banner(&self, out: &mut impl Write) -> std::io::Result<()> {
        let base = format!("http://{}", self.local_addr);
        writeln!(out, "Serving {base}")?;
        writeln!(out, "Available Routes:")?;
        for (route, component) in self.app.router.routes() {
            writeln!(out, "  {component}: {base}{route}")?;
            let description = &self.app.components[component].description;
            if !description.is_empty() {
                writeln!(out, "    {description}")?;
            }
        }
        out.flush()
    }

    /// Serves until `shutdown` completes. Must run inside a multi-threaded tokio runtime.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), UpError> {
        let address = self.local_addr;
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .map_err(|error| UpError::Listen { address, error })?;
        serve(self.app, listener, address, shutdown).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_manifest(dir: &std::path::Path, text: &str) -> PathBuf {
        let path = dir.join("spin.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn options(manifest: PathBuf) -> UpOptions {
        UpOptions {
            manifest,
            listen: "127.0.0.1:0".into(),
            state_dir: None,
            build: false,
            env: Vec::new(),
            runtime_config_file: None,
        }
    }

    fn start_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write_manifest(dir.path(), text);
        match Runner::start(&options(path)) {
            Ok(_) => panic!("start succeeded"),
            Err(error) => error.to_string(),
        }
    }

    const APP: &str = "spin_manifest_version = 2\n[application]\nname = \"a\"\n\
        [[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n";

    #[test]
    fn missing_wasm_file_is_named_with_a_build_hint() {
        let message = start_error(APP);
        assert!(
            message.starts_with("component `web`: wasm file "),
            "{message}"
        );
        assert!(
            message.ends_with("web.wasm not found (run with --build to build it)"),
            "{message}"
        );
    }

    #[test]
    fn missing_required_variable_is_named() {
        let text = APP.replace(
            "[[trigger.http]]",
            "[variables]\ncc_spin_test_never_set = { required = true }\n[[trigger.http]]",
        );
        assert_eq!(
            start_error(&text),
            "required variable `cc_spin_test_never_set` has no value (set SPIN_VARIABLE_CC_SPIN_TEST_NEVER_SET)"
        );
    }

    #[test]
    fn port_in_use_is_reported() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write_manifest(dir.path(), APP);
        std::fs::write(dir.path().join("web.wasm"), b"").unwrap();
        let mut opts = options(path);
        opts.listen = address.to_string();
        let message = Runner::start(&opts).err().unwrap().to_string();
        assert!(
            message.starts_with(&format!("cannot listen on {address}: ")),
            "{message}"
        );
    }

    #[test]
    fn invalid_listen_address_is_reported() {
        assert!(resolve_listen("nonsense")
            .unwrap_err()
            .to_string()
            .starts_with("invalid listen address \"nonsense\""));
        assert_eq!(
            resolve_listen("127.0.0.1:3000").unwrap(),
            "127.0.0.1:3000".parse().unwrap()
        );
    }

    #[test]
    fn component_setup_merges_environment_and_expands_variables() {
        let dir = tempfile::tempdir().unwrap();
        let text = "spin_manifest_version = 2\n[application]\nname = \"a\"\n\
            [variables]\nport = { default = \"8080\" }\n\
            [[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n[component.web]\nsource = \"web.wasm\"\n\
            environment = { A = \"manifest\", B = \"kept\" }\n\
            allowed_outbound_hosts = [\"http://localhost:{{ port }}\"]\n\
            variables = { url = \"http://localhost:{{ port }}/x\" }\n";
        let manifest = Manifest::parse(text, &dir.path().join("spin.toml"), dir.path()).unwrap();
        let variables = AppVariables::resolve(&manifest.variables, |_| None).unwrap();
        let setup = setup_component(
            &manifest,
            "web",
            &manifest.components["web"],
            &variables,
            &[("A".into(), "cli".into())],
        )
        .unwrap();
        let mut env = setup.environment.clone();
        env.sort();
        assert_eq!(
            env,
            [
                ("A".to_owned(), "cli".to_owned()),
                ("B".to_owned(), "kept".to_owned())
            ]
        );
        assert_eq!(setup.policy.variables["url"], "http://localhost:8080/x");
        assert!(setup
            .policy
            .allowed_hosts
            .allows(&"http://localhost:8080/api".parse().unwrap()));
        assert!(setup.files_dir.is_none());
    }
}
