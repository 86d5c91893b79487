//! The `default` key-value store on Redis (runtime config `type = "redis"`), as Spin's Redis
//! key-value backend keeps it: each key as a Redis string of the same name, `get-keys` as all keys
//! of the database.

use std::sync::Mutex;

use cc_store::{Kv, StoreError};
use redis::{Commands, Connection};

pub struct RedisKv {
    connection: Mutex<Connection>,
}

fn store_error(error: redis::RedisError) -> StoreError {
    StoreError::Database(format!("redis: {error}"))
}

impl RedisKv {
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(store_error)?;
        let connection = client.get_connection().map_err(store_error)?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    fn with<R>(
        &self,
        command: impl FnOnce(&mut Connection) -> redis::RedisResult<R>,
    ) -> Result<R, StoreError> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        command(&mut connection).map_err(store_error)
    }
}

impl Kv for RedisKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|connection| connection.get(key))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.with(|connection| connection.set(key, value))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.with(|connection| connection.del(key))
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.with(|connection| connection.exists(key))
    }

    fn get_keys(&self) -> Result<Vec<String>, StoreError> {
        self.with(|connection| redis::cmd("KEYS").arg("*").query(connection))
    }
}
