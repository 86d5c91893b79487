//! `GET /api/clusters/`.

use cc_model::cluster::{load_cluster, load_clusters, Cluster, ClusterError};
use cc_web::openapi::{ErrorResponse, Unauthorized};
use cc_web::{json_response, ApiError, Ctx, Response};
use http::StatusCode;
use serde::Serialize;

use super::NodesError;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClustersResponse {
    clusters: Vec<Cluster>,
}

/// `GET /api/clusters/[?cluster=<name>]`: every cluster configuration, or the one named (the key
/// alone, even with an empty value, selects a single cluster).
#[utoipa::path(
    get,
    path = "/api/clusters/",
    tag = "Cluster query",
    summary = "Cluster configurations",
    description = "Every configured cluster with its metrics, sub-clusters and topology, or only the one named.",
    params(("cluster" = Option<String>, Query, description = "Only this cluster (present but empty: the cluster named \"\", which does not exist).")),
    responses(
        (status = 200, description = "The clusters", body = ClustersResponse),
        (status = 400, description = "Unknown cluster", body = ErrorResponse),
        Unauthorized,
        (status = 500, description = "A cluster file is unreadable or invalid", body = ErrorResponse),
    ),
)]
pub(super) fn get_clusters(ctx: &Ctx) -> Result<Response, ApiError> {
    let dir = ctx.platform.clusters_dir();
    let clusters = match ctx.query().into_iter().find(|(key, _)| key == "cluster") {
        Some((_, name)) => vec![load_cluster(&dir, &name).map_err(|error| match error {
            unknown @ ClusterError::UnknownCluster(_) => NodesError::UnknownCluster(unknown),
            other => NodesError::Clusters(other),
        })?],
        None => load_clusters(&dir).map_err(NodesError::Clusters)?,
    };
    json_response(StatusCode::OK, &ClustersResponse { clusters })
}
