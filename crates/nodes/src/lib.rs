//! Clusters and nodes: cluster configurations as `GET /api/clusters/` serves them, node states
//! reported by the batch system (`node`, `node_state`) with each node's health from the metric
//! store, and machine states (opaque per-host documents in the key-value store).
//! The rules are described in `docs/nodes-users.md`.

mod health;
pub mod http;
mod machine_state;
mod node_state;

pub use health::StoredHealth;
pub use machine_state::{
    load_machine_state, save_machine_state, MachineState, MachineStateError, MachineStateKey,
    MACHINE_STATE_ENABLED,
};
pub use node_state::{
    record_node_states, HealthState, NodeHealth, NodeHealthSource, NodePayload, NodeStateReport,
    NodeStateUpdate, SchedulerState,
};
