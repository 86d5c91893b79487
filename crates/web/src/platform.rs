//! What a handler may reach outside its request: configuration variables, the stores and the
//! cluster configuration files. Components use the Spin host; tests and benchmarks a native one.

use std::path::PathBuf;

use cc_store::{Kv, Sql, StoreError};

/// Names of the Spin variables the components read (declared in spin.toml).
pub struct Variables;

impl Variables {
    pub const JWT_PUBLIC_KEY: &'static str = "jwt_public_key";
    pub const JWT_PRIVATE_KEY: &'static str = "jwt_private_key";
    pub const API_ALLOWED_IPS: &'static str = "api_allowed_ips";
    pub const TRUSTED_PROXIES: &'static str = "trusted_proxies";
    pub const SESSION_KEY: &'static str = "session_key";
    pub const SESSION_MAX_AGE: &'static str = "session_max_age";
    pub const JWT_MAX_AGE: &'static str = "jwt_max_age";
    pub const ENABLE_JOB_TAGGERS: &'static str = "enable_job_taggers";
}

pub trait Platform {
    /// A configuration variable; `None` when undefined or empty.
    fn variable(&self, name: &str) -> Option<String>;
    /// The `default` SQL database, migrated to the newest schema.
    fn sql(&self) -> Result<Box<dyn Sql>, StoreError>;
    /// The `default` key-value store.
    fn kv(&self) -> Result<Box<dyn Kv>, StoreError>;
    /// The folder holding one `<cluster>/cluster.json` per cluster.
    fn clusters_dir(&self) -> PathBuf;
    /// The folder holding the tagger rules (`apps/`, `jobclasses/`).
    fn taggers_dir(&self) -> PathBuf;
}

#[cfg(target_arch = "wasm32")]
pub mod spin {
    use super::*;
    use cc_store::spin::{SpinKv, SpinSql};

    /// Where spin.toml mounts the cluster configuration folder.
    const CLUSTERS_DIR: &str = "/clusters";
    /// Where spin.toml mounts the tagger rules.
    const TAGGERS_DIR: &str = "/taggers";

    pub struct SpinPlatform;

    impl Platform for SpinPlatform {
        fn variable(&self, name: &str) -> Option<String> {
            spin_sdk::variables::get(name)
                .ok()
                .filter(|value| !value.is_empty())
        }

        fn sql(&self) -> Result<Box<dyn Sql>, StoreError> {
            let db = SpinSql::open_default()?;
            cc_store::migrate(&db)?;
            Ok(Box::new(db))
        }

        fn kv(&self) -> Result<Box<dyn Kv>, StoreError> {
            Ok(Box::new(SpinKv::open_default()?))
        }

        fn clusters_dir(&self) -> PathBuf {
            PathBuf::from(CLUSTERS_DIR)
        }

        fn taggers_dir(&self) -> PathBuf {
            PathBuf::from(TAGGERS_DIR)
        }
    }
}

/// Also built for this crate's own tests, which serve handlers on a temporary state directory.
#[cfg(any(test, feature = "native"))]
pub mod native {
    use std::collections::HashMap;

    use super::*;
    use cc_store::native::{NativeKv, NativeSql};

    /// Serves handlers natively on the same files the runner uses (`<state_dir>/sqlite_db.db`,
    /// `<state_dir>/sqlite_key_value.db`).
    pub struct NativePlatform {
        pub variables: HashMap<String, String>,
        pub state_dir: PathBuf,
        pub clusters_dir: PathBuf,
        pub taggers_dir: PathBuf,
    }

    impl Platform for NativePlatform {
        fn variable(&self, name: &str) -> Option<String> {
            self.variables
                .get(name)
                .filter(|value| !value.is_empty())
                .cloned()
        }

        fn sql(&self) -> Result<Box<dyn Sql>, StoreError> {
            let db = NativeSql::open(&self.state_dir.join("sqlite_db.db"))?;
            cc_store::migrate(&db)?;
            Ok(Box::new(db))
        }

        fn kv(&self) -> Result<Box<dyn Kv>, StoreError> {
            Ok(Box::new(NativeKv::open(
                &self.state_dir.join("sqlite_key_value.db"),
                "default",
            )?))
        }

        fn clusters_dir(&self) -> PathBuf {
            self.clusters_dir.clone()
        }

        fn taggers_dir(&self) -> PathBuf {
            self.taggers_dir.clone()
        }
    }
}
