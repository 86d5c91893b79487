//! `POST|PUT /api/nodestate/` and `POST /api/healthcheck`.

use cc_model::ClusterError;
use cc_web::{decode_strict, unix_now, ApiError, Ctx, Response};

use super::NodesError;
use crate::health::StoredHealth;
use crate::node_state::{record_node_states, NodeStateUpdate};

/// A node-state update with each node's health from the samples in the metric store. Success is
/// 200 with an empty body and no Content-Type, as in cc-backend; hosts that cannot be registered
/// are logged, not an error. Unlike cc-backend, a storage failure is a 500 rather than a logged
/// 200, so the batch system learns that nothing was stored.
pub fn update_node_states(ctx: &Ctx) -> Result<Response, ApiError> {
    let update: NodeStateUpdate =
        decode_strict(ctx.request.body()).map_err(NodesError::ParseBody)?;
    let cluster = match cc_model::load_cluster(&ctx.platform.clusters_dir(), &update.cluster) {
        Ok(cluster) => Some(cluster),
        Err(ClusterError::UnknownCluster(_)) => None,
        Err(error) => {
            return Err(NodesError::LoadCluster {
                cluster: update.cluster.clone(),
                error,
            }
            .into())
        }
    };
    let db = ctx.platform.sql()?;
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let health = StoredHealth { db: &*db, now };
    let report = record_node_states(&*db, cluster.as_ref(), &update, &health, now)
        .map_err(NodesError::UpdateNodeStates)?;
    for hostname in &report.unmapped {
        eprintln!(
            "node state update: host {hostname:?} of cluster {:?} belongs to no sub-cluster, \
             not stored",
            update.cluster
        );
    }
    Ok(Response::new(Vec::new()))
}
