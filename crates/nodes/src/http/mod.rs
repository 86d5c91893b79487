//! The HTTP side of cc-nodes: the route tables the components mount, their handlers, and the one
//! mapping from this crate's failures to the API error.

mod clusters;
mod machine_state;
mod node_state;

use cc_model::ClusterError;
use cc_store::StoreError;
use cc_web::{ApiError, Platform, Route};
use http::{Method, StatusCode};

use crate::machine_state::{MachineStateError, MACHINE_STATE_ENABLED};

pub use node_state::update_node_states;

/// The OpenAPI description of this crate's routes (docs/api.md#openapi-document).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    clusters::get_clusters,
    node_state::update_node_states,
    machine_state::get_machine_state,
    machine_state::put_machine_state,
))]
pub struct ApiDoc;

/// `GET /api/clusters/`.
pub static CLUSTER_ROUTES: &[Route] = &[Route::new(
    Method::GET,
    "/api/clusters/",
    clusters::get_clusters,
)];

/// Node-state updates from the batch system on `/api`.
pub static NODE_STATE_ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/nodestate/", update_node_states),
    Route::new(Method::PUT, "/api/nodestate/", update_node_states),
];

/// The metric-store group's health check: a node-state update under another name.
pub static HEALTHCHECK_ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/healthcheck", update_node_states),
    Route::new(Method::POST, "/api/healthcheck/", update_node_states),
];

/// Mounted only when [`machine_state_enabled`], like cc-backend's routes that exist only with
/// `main.machine-state-dir` set.
pub static MACHINE_STATE_ROUTES: &[Route] = &[
    Route::new(
        Method::GET,
        "/api/machine_state/{cluster}/{host}",
        machine_state::get_machine_state,
    ),
    Route::new(
        Method::PUT,
        "/api/machine_state/{cluster}/{host}",
        machine_state::put_machine_state,
    ),
    Route::new(
        Method::POST,
        "/api/machine_state/{cluster}/{host}",
        machine_state::put_machine_state,
    ),
];

/// Whether the machine-state routes exist: the `machine_state_enabled` variable is `true`.
pub fn machine_state_enabled(platform: &dyn Platform) -> bool {
    platform.variable(MACHINE_STATE_ENABLED).as_deref() == Some("true")
}

/// Every failure of the cluster, node-state and machine-state routes.
#[derive(Debug, thiserror::Error)]
enum NodesError {
    #[error("parsing request body failed: {0}")]
    ParseBody(String),
    /// `GET /api/clusters/?cluster=<name>` names no configured cluster.
    #[error(transparent)]
    UnknownCluster(ClusterError),
    #[error(transparent)]
    Clusters(ClusterError),
    #[error("loading cluster {cluster} failed: {error}")]
    LoadCluster {
        cluster: String,
        error: ClusterError,
    },
    #[error("updating node states failed: {0}")]
    UpdateNodeStates(StoreError),
    #[error(transparent)]
    MachineState(#[from] MachineStateError),
    #[error("machine state not found")]
    MachineStateNotFound,
}

impl From<NodesError> for ApiError {
    fn from(error: NodesError) -> Self {
        let status = match &error {
            NodesError::ParseBody(_)
            | NodesError::UnknownCluster(_)
            | NodesError::MachineState(
                MachineStateError::InvalidCluster | MachineStateError::InvalidHost,
            ) => StatusCode::BAD_REQUEST,
            NodesError::MachineStateNotFound => StatusCode::NOT_FOUND,
            NodesError::Clusters(_)
            | NodesError::LoadCluster { .. }
            | NodesError::UpdateNodeStates(_)
            | NodesError::MachineState(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}
