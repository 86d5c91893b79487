//! `POST|PUT /api/nodestate/` and `POST /api/healthcheck`.

use cc_model::ClusterError;
use cc_web::openapi::{BodyTooLarge, CrossSiteRefused, ErrorResponse, Unauthorized};
use cc_web::{decode_strict, unix_now, ApiError, Ctx, Response};

use super::NodesError;
use crate::health::StoredHealth;
use crate::node_state::{record_node_states, NodeStateUpdate};

/// A node-state update with each node's health from the samples in the metric store. Success is
/// 200 with an empty body and no Content-Type, as in cc-backend; hosts that cannot be registered
/// are logged, not an error. Unlike cc-backend, a storage failure is a 500 rather than a logged
/// 200, so the batch system learns that nothing was stored.
#[utoipa::path(
    method(post, put),
    path = "/api/nodestate/",
    tag = "Nodes",
    summary = "Update node states",
    description = "Records the scheduler state of each reported node together with its health, \
                   derived from the samples in the metric store. Nodes not known yet are \
                   registered when they belong to a sub-cluster of the cluster; others are skipped. \
                   Success is an empty body without Content-Type.",
    request_body(
        content = NodeStateUpdate,
        content_type = "application/json",
        description = "The cluster and its nodes' states",
    ),
    responses(
        (status = 200, description = "The states are stored (empty body)"),
        (status = 400, description = "The body is not valid JSON of this shape", body = ErrorResponse),
        Unauthorized,
        CrossSiteRefused,
        BodyTooLarge,
        (status = 500, description = "The cluster configuration or the database failed", body = ErrorResponse),
    ),
)]
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
