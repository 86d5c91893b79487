//! Machine states: opaque documents a collector stores per host (docs/nodes-users.md#machine-state).
//! cc-backend writes them to `<dir>/<cluster>/<host>.json`; here they live in the key-value store
//! under `machine_state/<cluster>/<host>`, together with their modification time
//! (docs/compatibility.md#machine-states-in-the-key-value-store).

use cc_store::{Kv, StoreError};

/// The Spin variable that enables the routes (`"true"`); they do not exist otherwise, like
/// cc-backend's without `main.machine-state-dir`.
pub const MACHINE_STATE_ENABLED: &str = "machine_state_enabled";

#[derive(Debug, thiserror::Error)]
pub enum MachineStateError {
    #[error("invalid cluster name")]
    InvalidCluster,
    #[error("invalid host name")]
    InvalidHost,
    #[error("stored machine state {0} is corrupt")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key of one host's machine state; only names that could not escape cc-backend's directory
/// (no `..`, `/` or `\`) are accepted, so both implementations accept the same requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineStateKey(String);

fn is_safe_name(name: &str) -> bool {
    !name.contains("..") && !name.contains('/') && !name.contains('\\')
}

impl MachineStateKey {
    pub fn new(cluster: &str, host: &str) -> Result<MachineStateKey, MachineStateError> {
        if !is_safe_name(cluster) {
            return Err(MachineStateError::InvalidCluster);
        }
        if !is_safe_name(host) {
            return Err(MachineStateError::InvalidHost);
        }
        Ok(MachineStateKey(format!("machine_state/{cluster}/{host}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored document and when it was written (unix seconds, HTTP dates have no finer resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineState {
    pub modified: u64,
    pub body: Vec<u8>,
}

/// One value holds both parts, `<modified>\n<body>`, so a reader never sees the body of one write
/// with the time of another.
impl MachineState {
    fn encode(&self) -> Vec<u8> {
        let mut value = format!("{}\n", self.modified).into_bytes();
        value.extend_from_slice(&self.body);
        value
    }

    fn decode(value: &[u8]) -> Option<MachineState> {
        let split = value.iter().position(|&byte| byte == b'\n')?;
        let modified = std::str::from_utf8(&value[..split]).ok()?.parse().ok()?;
        Some(MachineState {
            modified,
            body: value[split + 1..].to_vec(),
        })
    }
}

pub fn save_machine_state(
    kv: &dyn Kv,
    key: &MachineStateKey,
    state: &MachineState,
) -> Result<(), MachineStateError> {
    Ok(kv.set(key.as_str(), &state.encode())?)
}

pub fn load_machine_state(
    kv: &dyn Kv,
    key: &MachineStateKey,
) -> Result<Option<MachineState>, MachineStateError> {
    kv.get(key.as_str())?
        .map(|value| {
            MachineState::decode(&value)
                .ok_or_else(|| MachineStateError::Corrupt(key.as_str().to_owned()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeKv;

    #[test]
    fn names_that_could_leave_the_directory_are_refused() {
        assert_eq!(
            MachineStateKey::new("fritz", "f0101").unwrap().as_str(),
            "machine_state/fritz/f0101"
        );
        assert!(MachineStateKey::new("fr.itz", "f01.01").is_ok());
        for cluster in ["..", "a..b", "a/b", "a\\b"] {
            assert!(matches!(
                MachineStateKey::new(cluster, "..").unwrap_err(),
                MachineStateError::InvalidCluster
            ));
            assert!(matches!(
                MachineStateKey::new("fritz", cluster).unwrap_err(),
                MachineStateError::InvalidHost
            ));
        }
        assert_eq!(
            MachineStateError::InvalidHost.to_string(),
            "invalid host name"
        );
        assert_eq!(
            MachineStateError::InvalidCluster.to_string(),
            "invalid cluster name"
        );
    }

    #[test]
    fn round_trips_any_body_with_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let kv = NativeKv::open(&dir.path().join("kv.db"), "default").unwrap();
        let key = MachineStateKey::new("fritz", "f0101").unwrap();
        assert_eq!(load_machine_state(&kv, &key).unwrap(), None);
        let state = MachineState {
            modified: 1_700_000_000,
            body: b"\nnot json\n\xff".to_vec(),
        };
        save_machine_state(&kv, &key, &state).unwrap();
        assert_eq!(load_machine_state(&kv, &key).unwrap(), Some(state));
        let empty = MachineState {
            modified: 1,
            body: Vec::new(),
        };
        save_machine_state(&kv, &key, &empty).unwrap();
        assert_eq!(load_machine_state(&kv, &key).unwrap(), Some(empty));

        kv.set(key.as_str(), b"garbage").unwrap();
        assert_eq!(
            load_machine_state(&kv, &key).unwrap_err().to_string(),
            "stored machine state machine_state/fritz/f0101 is corrupt"
        );
    }
}
