//! The wasmtime engine, component compilation with an on-disk cache of compiled artefacts, and
//! pre-instantiation against the host linker.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::host::{self, InstanceState};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
    #[error("cannot set up the host interfaces: {0}")]
    Linker(String),
    #[error("component `{component}`: wasm file {path} not found (run with --build to build it)")]
    MissingWasm { component: String, path: PathBuf },
    #[error("component `{component}`: cannot read {path}: {error}")]
    ReadWasm {
        component: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("component `{component}`: cannot compile {path}: {message}")]
    Compile {
        component: String,
        path: PathBuf,
        message: String,
    },
    #[error("component `{component}` cannot run here: {message}")]
    Link { component: String, message: String },
    #[error("cannot write the compilation cache {path}: {error}")]
    Cache {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Pooling limits, sized like Spin's defaults for a development host.
fn pooling_config() -> PoolingAllocationConfig {
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(1_000)
        .total_core_instances(2_000)
        .total_memories(2_000)
        .total_tables(2_000)
        .total_stacks(1_000)
        .max_component_instance_size(10 << 20)
        .max_core_instances_per_component(200)
        .max_memories_per_component(32)
        .max_tables_per_component(64)
        .table_elements(100_000)
        .max_memory_size(4 << 30);
    pooling
}

/// How often a running guest yields to other requests (see [`EPOCH_DEADLINE`]).
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Ticks a store may run before yielding; set on every store with
/// `epoch_deadline_async_yield_and_update`, as Spin does, so one busy guest cannot hold a
/// worker thread.
pub const EPOCH_DEADLINE: u64 = 1;

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// An engine with the pooling allocator (where the address space is too small for the pool,
/// e.g. under `ulimit -v`, on-demand allocation with a warning) and an epoch ticker thread.
pub fn new_engine() -> Result<Engine, EngineError> {
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config()));
    let engine = match Engine::new(&config) {
        Ok(engine) => engine,
        Err(pooling_error) => {
            eprintln!(
                "warning: pooling allocator unavailable ({pooling_error:#}); using on-demand allocation"
            );
            Engine::new(&base_config()).map_err(|e| EngineError::Engine(format!("{e:#}")))?
        }
    };
    let ticking = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = ticking.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map_err(|e| EngineError::Engine(format!("cannot start the epoch ticker: {e}")))?;
    Ok(engine)
}

/// Feeds `Hash` output into a SHA-256 so the engine's compatibility hash can be part of a
/// stable cache key.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only used to feed bytes into the digest")
    }
}

/// Cache file name for these wasm bytes on this engine (wasmtime version and settings).
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.update(wasm);
    let digest = hasher.0.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.cwasm")
}

/// A loaded component and the cache file that holds its compiled form.
pub struct LoadedComponent {
    pub component: Component,
    pub cache_file: PathBuf,
}

/// Loads a component, reusing the compiled artefact in `cache_dir` when there is one.
pub fn load_component(
    engine: &Engine,
    id: &str,
    wasm_path: &Path,
    cache_dir: &Path,
) -> Result<LoadedComponent, EngineError> {
    let wasm = std::fs::read(wasm_path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            EngineError::MissingWasm {
                component: id.to_owned(),
                path: wasm_path.to_path_buf(),
            }
        } else {
            EngineError::ReadWasm {
                component: id.to_owned(),
                path: wasm_path.to_path_buf(),
                error,
            }
        }
    })?;
    let cached = cache_dir.join(cache_key(engine, &wasm));
    if cached.is_file() {
        // SAFETY: the file is an artefact this runner serialized into its own cache under a key
        // that includes the engine's compatibility hash; wasmtime re-checks the header.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(LoadedComponent {
                component,
                cache_file: cached,
            });
        }
    }
    let compile_error = |e: wasmtime::Error| EngineError::Compile {
        component: id.to_owned(),
        path: wasm_path.to_path_buf(),
        message: format!("{e:#}"),
    };
    let compiled = engine.precompile_component(&wasm).map_err(compile_error)?;
    write_atomically(cache_dir, &cached, &compiled)?;
    // SAFETY: `compiled` was produced just now by `precompile_component` on this engine.
    let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(compile_error)?;
    Ok(LoadedComponent {
        component,
        cache_file: cached,
    })
}

/// Removes compiled artefacts other than `keep`, so rebuilding components during development
/// does not grow the cache without bound. Best effort: a file that cannot be removed stays.
pub fn prune_cache(cache_dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
        if path.extension().is_some_and(|ext| ext == "cwasm") && !keep.contains(&path) {
            // A concurrent reader keeps its mapping; removal cannot break it.
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Writes via a temporary file and a rename, so concurrent runners never read half a file.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let cache_error = |error| EngineError::Cache {
        path: path.to_path_buf(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(cache_error)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(cache_error)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(cache_error)?;
    temp.persist(path).map_err(|e| cache_error(e.error))?;
    Ok(())
}

/// The linker with every host interface the runner provides.
pub fn new_linker(engine: &Engine) -> Result<Linker<InstanceState>, EngineError> {
    let mut linker = Linker::new(engine);
    host::add_to_linker(&mut linker).map_err(|e| EngineError::Linker(format!("{e:#}")))?;
    Ok(linker)
}

/// Resolves the component's imports and checks it exports `wasi:http/incoming-handler`.
pub fn pre_instantiate(
    linker: &Linker<InstanceState>,
    id: &str,
    component: &Component,
) -> Result<ProxyPre<InstanceState>, EngineError> {
    let link_error = |e: wasmtime::Error| EngineError::Link {
        component: id.to_owned(),
        message: format!("{e:#}"),
    };
    let instance_pre = linker.instantiate_pre(component).map_err(link_error)?;
    ProxyPre::new(instance_pre).map_err(link_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component that imports an interface the runner does not provide.
    const UNKNOWN_IMPORT: &str = r#"(component
        (import "fermyon:spin/llm@2.0.0" (instance (export "infer" (func))))
    )"#;

    fn test_engine() -> Engine {
        Engine::new(&base_config()).unwrap()
    }

    #[test]
    fn pooling_engine_can_be_created() {
        new_engine().unwrap();
    }

    #[test]
    fn missing_wasm_suggests_build() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_component(
            &test_engine(),
            "api",
            &dir.path().join("api.wasm"),
            dir.path(),
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "component `api`: wasm file {} not found (run with --build to build it)",
                dir.path().join("api.wasm").display()
            )
        );
    }

    #[test]
    fn invalid_wasm_is_a_compile_error_naming_the_component() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.wasm");
        std::fs::write(&path, b"not wasm").unwrap();
        let err = load_component(&test_engine(), "bad", &path, &dir.path().join("cache"))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("component `bad`: cannot compile"),
            "{err}"
        );
    }

    #[test]
    fn compiled_components_are_cached_and_reused() {
        let engine = test_engine();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wasm");
        std::fs::write(&path, wat_component("(component)")).unwrap();
        let cache = dir.path().join("cache");
        load_component(&engine, "empty", &path, &cache).unwrap();
        let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert_eq!(entries.len(), 1);
        let cached = entries[0].as_ref().unwrap().path();
        let modified = std::fs::metadata(&cached).unwrap().modified().unwrap();
        load_component(&engine, "empty", &path, &cache).unwrap();
        assert_eq!(
            std::fs::metadata(&cached).unwrap().modified().unwrap(),
            modified
        );
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    }

    #[test]
    fn pruning_keeps_only_the_artefacts_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("a.cwasm");
        for name in ["a.cwasm", "old.cwasm", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        prune_cache(dir.path(), std::slice::from_ref(&keep));
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.cwasm", "notes.txt"]);
    }

    #[test]
    fn corrupt_cache_entries_are_replaced() {
        let engine = test_engine();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wasm");
        let wasm = wat_component("(component)");
        std::fs::write(&path, &wasm).unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(&cache).unwrap();
        let cached = cache.join(cache_key(&engine, &wasm));
        std::fs::write(&cached, b"garbage").unwrap();
        load_component(&engine, "empty", &path, &cache).unwrap();
        assert_ne!(std::fs::read(&cached).unwrap(), b"garbage");
    }

    #[test]
    fn missing_import_names_component_and_import() {
        let engine = test_engine();
        let component = Component::new(&engine, wat_component(UNKNOWN_IMPORT)).unwrap();
        let linker = new_linker(&engine).unwrap();
        let Err(err) = pre_instantiate(&linker, "ai", &component) else {
            panic!("linking must fail");
        };
        let err = err.to_string();
        assert!(err.starts_with("component `ai` cannot run here:"), "{err}");
        assert!(err.contains("fermyon:spin/llm@2.0.0"), "{err}");
    }

    fn wat_component(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }
}
