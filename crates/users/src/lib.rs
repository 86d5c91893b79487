//! Users (`hpc_user`), node states (`node`, `node_state`) and machine states (key-value store):
//! the repositories and the `/api` handlers that serve them (spec nodes-clusters-users.md §1, §3,
//! §6). The route tables live in the `api` component; the admin CLI uses the user repository.

mod handlers;
mod health;
mod machine_state;
mod node_state;
mod password;
mod user;

pub use handlers::{
    get_machine_state, get_users, machine_state_enabled, put_machine_state, update_node_states,
    update_user_roles_or_projects,
};
pub use machine_state::{
    load_machine_state, save_machine_state, MachineState, MachineStateError, MachineStateKey,
    MACHINE_STATE_ENABLED,
};
pub use node_state::{
    record_node_states, HealthState, NodeHealth, NodeHealthSource, NodePayload, NodeStateReport,
    NodeStateUpdate, SchedulerState,
};
pub use password::{hash_password, verify_password, HashError};
pub use user::{
    add_user, delete_user, get_user, list_users, update_user, NewUser, UserError, UserRecord,
    UserUpdate,
};

/// Go's decoder leaves a field at its default when the JSON value is `null`; serde would refuse.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(deserializer)?.unwrap_or_default())
}
