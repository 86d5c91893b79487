use cc_model::cluster::{load_cluster, load_clusters, Cluster, ClusterError};
use cc_web::{json_response, ApiError, Ctx, Response, Route};
use http::{Method, StatusCode};
use serde::Serialize;

pub static ROUTES: &[Route] = &[Route::new(Method::GET, "/api/clusters/", get_clusters)];

#[derive(Serialize)]
struct ClustersResponse {
    clusters: Vec<Cluster>,
}

/// `GET /api/clusters/[?cluster=<name>]`: every cluster configuration, or the one named (the key
/// alone, even with an empty value, selects a single cluster).
fn get_clusters(ctx: &Ctx) -> Result<Response, ApiError> {
    let dir = ctx.platform.clusters_dir();
    let clusters = match ctx.query().into_iter().find(|(key, _)| key == "cluster") {
        Some((_, name)) => vec![load_cluster(&dir, &name).map_err(|error| match error {
            unknown @ ClusterError::UnknownCluster(_) => ApiError::bad_request(unknown.to_string()),
            other => ApiError::internal(other.to_string()),
        })?],
        None => load_clusters(&dir).map_err(|error| ApiError::internal(error.to_string()))?,
    };
    json_response(StatusCode::OK, &ClustersResponse { clusters })
}
