//! Per-instance host state and the Spin host interfaces: `fermyon:spin/key-value@2.0.0`,
//! `fermyon:spin/variables@2.0.0` and `spin:sqlite/sqlite@3.0.0`, backed by `cc-store`'s
//! rusqlite implementation on Spin's state files. Outbound HTTP goes through
//! [`OutboundHttp`], which enforces `allowed_outbound_hosts`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cc_store::native::{NativeKv, NativeSql};
use cc_store::{Kv, Sql, StoreError};
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::outbound::AllowedHosts;
use crate::redis_kv::RedisKv;
use crate::runtime_config::{KeyValueBackend, RuntimeConfig};
use crate::variables::check_guest_key;

wasmtime::component::bindgen!({
    path: "wit",
    world: "cc-spin:host/runner-host",
    imports: {
        // Spin runs every statement on tokio's blocking pool; so does the runner.
        "spin:sqlite/sqlite.[method]connection.execute": async | trappable,
        default: trappable,
    },
    with: {
        "fermyon:spin/key-value.store": KvStore,
        "spin:sqlite/sqlite.connection": SqlConnection,
    },
});

use fermyon::spin::{key_value, variables};
use spin::sqlite::sqlite;

/// The only store / database label backed by a file; Spin's defaults need no runtime config.
pub const DEFAULT_LABEL: &str = "default";

/// A key-value store every instance shares through one connection, as Spin's key-value hosts
/// do (its SQLite store keeps one connection per process behind a mutex; its Redis store one
/// multiplexed connection).
pub type SharedKv = Arc<dyn Kv + Send + Sync>;

/// Spin's SQLite key-value store: one connection, one caller at a time.
struct SerializedKv(Mutex<NativeKv>);

/// A connection's lock; a panic while holding it cannot leave the connection inconsistent.
fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SerializedKv {
    fn with<R>(&self, operation: impl FnOnce(&NativeKv) -> R) -> R {
        operation(&locked(&self.0))
    }
}

impl Kv for SerializedKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|kv| kv.get(key))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.with(|kv| kv.set(key, value))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.with(|kv| kv.delete(key))
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.with(|kv| kv.exists(key))
    }

    fn get_keys(&self) -> Result<Vec<String>, StoreError> {
        self.with(|kv| kv.get_keys())
    }
}

/// The state all instances share: Spin's state files below the state directory, unless the
/// runtime config moves the key-value store (e.g. to Redis) or the database file.
pub struct StateStores {
    key_value_location: KeyValueBackend,
    key_value: Option<SharedKv>,
    sql_path: PathBuf,
}

impl StateStores {
    pub fn new(state_dir: &std::path::Path, runtime_config: &RuntimeConfig) -> Self {
        Self {
            key_value_location: runtime_config.key_value.clone().unwrap_or_else(|| {
                KeyValueBackend::SqliteFile(state_dir.join("sqlite_key_value.db"))
            }),
            key_value: None,
            sql_path: runtime_config
                .sqlite_path
                .clone()
                .unwrap_or_else(|| state_dir.join("sqlite_db.db")),
        }
    }

    /// Connects the key-value store (before any instance runs), so that a broken state
    /// directory or an unreachable Redis fails at start-up.
    pub fn open_key_value(&mut self) -> Result<(), StoreError> {
        let shared: SharedKv = match &self.key_value_location {
            KeyValueBackend::Redis(url) => Arc::new(RedisKv::open(url)?),
            KeyValueBackend::SqliteFile(path) => Arc::new(SerializedKv(Mutex::new(
                NativeKv::open_like_spin(path, DEFAULT_LABEL)?,
            ))),
        };
        self.key_value = Some(shared);
        Ok(())
    }

    /// Opens the SQLite database once so that a broken state directory fails at start-up.
    pub fn open_sqlite(&self) -> Result<(), StoreError> {
        NativeSql::open_like_spin(&self.sql_path).map(drop)
    }
}

/// What a component may use, fixed at start-up.
#[derive(Debug, Default)]
pub struct ComponentPolicy {
    pub id: String,
    pub variables: HashMap<String, String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub allowed_hosts: AllowedHosts,
}

/// An open key-value store resource: a handle on the shared store.
pub struct KvStore(SharedKv);

impl KvStore {
    fn kv(&self) -> &dyn Kv {
        &*self.0
    }
}

/// An open SQLite connection resource: a new connection for every `open`, as Spin's host makes
/// one, living as long as the resource, so a guest can run a transaction across `execute` calls.
/// Shared with the blocking-pool task that runs a statement.
pub struct SqlConnection {
    sql: Arc<Mutex<NativeSql>>,
}

/// The `T` of every `Store<T>`: one per request.
pub struct InstanceState {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundHttp,
    policy: Arc<ComponentPolicy>,
    stores: Arc<StateStores>,
}

impl InstanceState {
    pub fn new(wasi: WasiCtx, policy: Arc<ComponentPolicy>, stores: Arc<StateStores>) -> Self {
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound: OutboundHttp {
                policy: Arc::clone(&policy),
            },
            policy,
            stores,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// Adds WASI 0.2, wasi:http and the Spin interfaces to a linker.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    RunnerHost::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |state| state)
}

/// Database calls block; let the runtime move other tasks off this worker meanwhile (as Spin does).
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(work)
}

/// Outbound HTTP hooks: requests to hosts outside `allowed_outbound_hosts` are denied.
pub struct OutboundHttp {
    policy: Arc<ComponentPolicy>,
}

type BoxFuture<T> = Box<dyn std::future::Future<Output = T> + Send>;
type SendResult = Result<
    (
        http::Response<wasmtime_wasi_http::WasiBody>,
        BoxFuture<Result<(), wasmtime_wasi_http::Error>>,
    ),
    wasmtime_wasi_http::Error,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _io: BoxFuture<Result<(), wasmtime_wasi_http::Error>>,
    ) -> BoxFuture<SendResult> {
        let policy = Arc::clone(&self.policy);
        Box::new(async move {
            if !policy.allowed_hosts.allows(request.uri()) {
                eprintln!(
                    "component `{}` tried to send a request to {}, which its allowed_outbound_hosts does not allow",
                    policy.id,
                    request.uri()
                );
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let response = response.map(http_body_util::BodyExt::boxed_unsync);
            Ok((response, Box::new(io) as BoxFuture<_>))
        })
    }
}

impl key_value::Host for InstanceState {}

fn kv_error(error: StoreError) -> key_value::Error {
    key_value::Error::Other(error.to_string())
}

impl key_value::HostStore for InstanceState {
    fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KvStore>, key_value::Error>> {
        if !self.policy.key_value_stores.contains(&label) {
            return Ok(Err(key_value::Error::AccessDenied));
        }
        if label != DEFAULT_LABEL {
            return Ok(Err(key_value::Error::NoSuchStore));
        }
        match &self.stores.key_value {
            Some(shared) => Ok(Ok(self.table.push(KvStore(Arc::clone(shared)))?)),
            None => Ok(Err(key_value::Error::Other(
                "the key-value store was not opened at start-up".into(),
            ))),
        }
    }

    fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, key_value::Error>> {
        let store = self.table.get(&store)?;
        Ok(blocking(|| store.kv().get(&key)).map_err(kv_error))
    }

    fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let store = self.table.get(&store)?;
        Ok(blocking(|| store.kv().set(&key, &value)).map_err(kv_error))
    }

    fn delete(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let store = self.table.get(&store)?;
        Ok(blocking(|| store.kv().delete(&key)).map_err(kv_error))
    }

    fn exists(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, key_value::Error>> {
        let store = self.table.get(&store)?;
        Ok(blocking(|| store.kv().exists(&key)).map_err(kv_error))
    }

    fn get_keys(
        &mut self,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<Result<Vec<String>, key_value::Error>> {
        let store = self.table.get(&store)?;
        Ok(blocking(|| store.kv().get_keys()).map_err(kv_error))
    }

    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl sqlite::Host for InstanceState {}

fn sql_error(error: StoreError) -> sqlite::Error {
    match error {
        StoreError::DatabaseFull => sqlite::Error::DatabaseFull,
        other => sqlite::Error::Io(other.to_string()),
    }
}

fn to_store_value(value: sqlite::Value) -> cc_store::Value {
    match value {
        sqlite::Value::Integer(i) => cc_store::Value::Integer(i),
        sqlite::Value::Real(f) => cc_store::Value::Real(f),
        sqlite::Value::Text(s) => cc_store::Value::Text(s),
        sqlite::Value::Blob(b) => cc_store::Value::Blob(b),
        sqlite::Value::Null => cc_store::Value::Null,
    }
}

fn to_wit_value(value: cc_store::Value) -> sqlite::Value {
    match value {
        cc_store::Value::Integer(i) => sqlite::Value::Integer(i),
        cc_store::Value::Real(f) => sqlite::Value::Real(f),
        cc_store::Value::Text(s) => sqlite::Value::Text(s),
        cc_store::Value::Blob(b) => sqlite::Value::Blob(b),
        cc_store::Value::Null => sqlite::Value::Null,
    }
}

impl sqlite::HostConnection for InstanceState {
    fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqlConnection>, sqlite::Error>> {
        if !self.policy.sqlite_databases.contains(&database) {
            return Ok(Err(sqlite::Error::AccessDenied));
        }
        if database != DEFAULT_LABEL {
            return Ok(Err(sqlite::Error::NoSuchDatabase));
        }
        let path = &self.stores.sql_path;
        match blocking(|| NativeSql::open_like_spin(path)) {
            Ok(sql) => Ok(Ok(self.table.push(SqlConnection {
                sql: Arc::new(Mutex::new(sql)),
            })?)),
            Err(error) => Ok(Err(sql_error(error))),
        }
    }

    async fn execute(
        &mut self,
        connection: Resource<SqlConnection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> wasmtime::Result<Result<sqlite::QueryResult, sqlite::Error>> {
        let sql = Arc::clone(&self.table.get(&connection)?.sql);
        let parameters: Vec<cc_store::Value> = parameters.into_iter().map(to_store_value).collect();
        let result =
            tokio::task::spawn_blocking(move || locked(&sql).execute(&statement, &parameters))
                .await?;
        Ok(result.map_err(sql_error).map(|result| sqlite::QueryResult {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| sqlite::RowResult {
                    values: row.into_iter().map(to_wit_value).collect(),
                })
                .collect(),
        }))
    }

    fn last_insert_rowid(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<i64> {
        Ok(locked(&self.table.get(&connection)?.sql).last_insert_rowid())
    }

    fn changes(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<u64> {
        Ok(locked(&self.table.get(&connection)?.sql).changes())
    }

    fn drop(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl variables::Host for InstanceState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if let Err(message) = check_guest_key(&name) {
            return Ok(Err(variables::Error::InvalidName(format!(
                "invalid variable name {name:?}: {message}"
            ))));
        }
        Ok(match self.policy.variables.get(&name) {
            Some(value) => Ok(value.clone()),
            None => Err(variables::Error::Undefined(format!(
                "no variable for \"{}\".\"{name}\"",
                self.policy.id
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use key_value::HostStore;
    use sqlite::HostConnection;

    fn state(dir: &std::path::Path) -> InstanceState {
        let policy = ComponentPolicy {
            id: "c".into(),
            variables: HashMap::from([("greeting".to_owned(), "hi".to_owned())]),
            key_value_stores: vec!["default".into(), "other".into()],
            sqlite_databases: vec!["default".into()],
            allowed_hosts: AllowedHosts::default(),
        };
        let mut stores = StateStores::new(dir, &RuntimeConfig::default());
        stores.open_key_value().unwrap();
        InstanceState::new(
            WasiCtx::builder().build(),
            Arc::new(policy),
            Arc::new(stores),
        )
    }

    #[test]
    fn key_value_labels_map_to_spin_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = state(dir.path());
        assert!(matches!(
            HostStore::open(&mut state, "other".into()).unwrap(),
            Err(key_value::Error::NoSuchStore)
        ));
        assert!(matches!(
            HostStore::open(&mut state, "secret".into()).unwrap(),
            Err(key_value::Error::AccessDenied)
        ));
        let store = HostStore::open(&mut state, "default".into())
            .unwrap()
            .unwrap();
        let again = Resource::new_borrow(store.rep());
        HostStore::set(&mut state, again, "k".into(), b"v".to_vec())
            .unwrap()
            .unwrap();
        let again = Resource::new_borrow(store.rep());
        let value = HostStore::get(&mut state, again, "k".into())
            .unwrap()
            .unwrap();
        assert_eq!(value.as_deref(), Some(&b"v"[..]));
        HostStore::drop(&mut state, store).unwrap();
        // Every open shares the one connection, so a second store sees the value at once.
        let second = HostStore::open(&mut state, "default".into())
            .unwrap()
            .unwrap();
        let value = HostStore::get(&mut state, second, "k".into())
            .unwrap()
            .unwrap();
        assert_eq!(value.as_deref(), Some(&b"v"[..]));
        assert!(dir.path().join("sqlite_key_value.db").is_file());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_open_is_a_new_connection_and_an_open_transaction_ends_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = state(dir.path());
        assert!(matches!(
            HostConnection::open(&mut state, "other".into()).unwrap(),
            Err(sqlite::Error::AccessDenied)
        ));
        let conn = HostConnection::open(&mut state, "default".into())
            .unwrap()
            .unwrap();
        let borrow = || Resource::<SqlConnection>::new_borrow(conn.rep());
        HostConnection::execute(&mut state, borrow(), "CREATE TABLE t (x)".into(), vec![])
            .await
            .unwrap()
            .unwrap();
        HostConnection::execute(&mut state, borrow(), "BEGIN".into(), vec![])
            .await
            .unwrap()
            .unwrap();
        HostConnection::execute(
            &mut state,
            borrow(),
            "INSERT INTO t VALUES (?)".into(),
            vec![sqlite::Value::Integer(1)],
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(HostConnection::changes(&mut state, borrow()).unwrap(), 1);
        HostConnection::drop(&mut state, conn).unwrap();

        let conn = HostConnection::open(&mut state, "default".into())
            .unwrap()
            .unwrap();
        let result = HostConnection::execute(
            &mut state,
            Resource::new_borrow(conn.rep()),
            "SELECT count(*) FROM t".into(),
            vec![],
        )
        .await
        .unwrap()
        .unwrap();
        assert!(matches!(
            result.rows[0].values[0],
            sqlite::Value::Integer(0)
        ));
        HostConnection::drop(&mut state, conn).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sql_errors_are_io_errors_with_the_sqlite_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = state(dir.path());
        let conn = HostConnection::open(&mut state, "default".into())
            .unwrap()
            .unwrap();
        let error = HostConnection::execute(&mut state, conn, "SELEC".into(), vec![])
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, sqlite::Error::Io(message) if message.contains("syntax error")));
    }

    #[test]
    fn variables_are_per_component_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = state(dir.path());
        assert_eq!(
            variables::Host::get(&mut state, "greeting".into())
                .unwrap()
                .unwrap(),
            "hi"
        );
        assert!(matches!(
            variables::Host::get(&mut state, "missing".into()).unwrap(),
            Err(variables::Error::Undefined(message)) if message == "no variable for \"c\".\"missing\""
        ));
        assert!(matches!(
            variables::Host::get(&mut state, "Bad".into()).unwrap(),
            Err(variables::Error::InvalidName(_))
        ));
    }

    #[test]
    fn only_allowed_hosts_pass_the_outbound_hook() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = state(dir.path());
        let request = http::Request::get("http://example.com/")
            .body(
                http_body_util::Empty::new()
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync(),
            )
            .unwrap();
        let future = state
            .outbound
            .send_request(request, None, Box::new(async { Ok(()) }));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = runtime.block_on(Box::into_pin(future));
        assert!(matches!(
            result,
            Err(wasmtime_wasi_http::Error::HttpRequestDenied)
        ));
    }
}
