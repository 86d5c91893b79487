//! The OpenAPI 3.1 document of the whole app (docs/api.md#openapi-document): every library that
//! serves routes describes them next to their handlers (utoipa annotations, collected in its
//! `http::ApiDoc`); this crate merges those descriptions, adds the routes that are aliases of a
//! described one, and lists every route table the components mount, so a test can check that
//! each route is described. `docs/openapi.json` is this document, checked in; a test fails when
//! it drifts from the code.

use cc_web::openapi::SecuritySchemes;
use cc_web::Route;
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::{InfoBuilder, OpenApi as Document};
use utoipa::{Modify, OpenApi};

/// Every route table the components mount, by component.
pub fn route_tables() -> Vec<(&'static str, &'static [Route])> {
    vec![
        ("api", cc_nodes::http::CLUSTER_ROUTES),
        ("api", cc_jobs::http::API_ROUTES),
        ("api", cc_nodes::http::NODE_STATE_ROUTES),
        ("api", cc_nodes::http::MACHINE_STATE_ROUTES),
        ("api", cc_users::http::API_ROUTES),
        ("userapi", cc_jobs::http::USERAPI_ROUTES),
        ("metricstore", cc_metricstore::http::ROUTES),
        ("metricstore", cc_nodes::http::HEALTHCHECK_ROUTES),
        ("config", cc_users::http::CONFIG_ROUTES),
        ("config", cc_login::http::NOTICE_ROUTES),
        ("config", cc_jobs::http::TAGGER_ROUTES),
        ("frontend", cc_users::http::FRONTEND_ROUTES),
        ("frontend", cc_web::applog::FRONTEND_LOG_ROUTES),
    ]
}

/// Routes served by the handler of a described route under another path:
/// `(method, alias path, described path, operation id of the alias)`.
const ALIASES: &[(HttpMethod, &str, &str, &str)] = &[
    (
        HttpMethod::Get,
        "/userapi/jobs/",
        "/api/jobs/",
        "userapi_list_jobs",
    ),
    (
        HttpMethod::Get,
        "/userapi/jobs/{id}",
        "/api/jobs/{id}",
        "userapi_get_job",
    ),
    (
        HttpMethod::Post,
        "/userapi/jobs/{id}",
        "/api/jobs/{id}",
        "userapi_post_job",
    ),
    (
        HttpMethod::Get,
        "/userapi/jobs/metrics/{id}",
        "/api/jobs/metrics/{id}",
        "userapi_job_metrics",
    ),
    (HttpMethod::Post, "/api/write/", "/api/write", "write_slash"),
    (HttpMethod::Post, "/api/free/", "/api/free", "free_slash"),
    (HttpMethod::Get, "/api/debug/", "/api/debug", "debug_slash"),
    (
        HttpMethod::Post,
        "/api/healthcheck",
        "/api/nodestate/",
        "healthcheck",
    ),
    (
        HttpMethod::Post,
        "/api/healthcheck/",
        "/api/nodestate/",
        "healthcheck_slash",
    ),
];

/// The merged document.
pub fn document() -> Document {
    let mut document = cc_nodes::http::ApiDoc::openapi();
    for part in [
        cc_jobs::http::ApiDoc::openapi(),
        cc_users::http::ApiDoc::openapi(),
        cc_login::http::ApiDoc::openapi(),
        cc_web::applog::ApiDoc::openapi(),
        cc_metricstore::http::ApiDoc::openapi(),
    ] {
        document.merge(part);
    }
    document.info = InfoBuilder::new()
        .title("cc-spin: ClusterCockpit REST API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The job-monitoring REST API of ClusterCockpit's cc-backend, served by Spin components. \
             Errors are JSON `{\"status\": \"<status text>\", \"error\": \"<message>\"}`.",
        ))
        .build();
    add_aliases(&mut document);
    make_operation_ids_unique(&mut document);
    SecuritySchemes.modify(&mut document);
    document
}

/// The document as written to `docs/openapi.json`: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the document serialises");
    text.push('\n');
    text
}

fn add_aliases(document: &mut Document) {
    for (method, alias, described, operation_id) in ALIASES {
        // An undescribed original leaves its alias undescribed too, which the route test reports.
        let Some(mut operation) = document
            .paths
            .get_path_operation(described, method.clone())
            .cloned()
        else {
            continue;
        };
        operation.operation_id = Some((*operation_id).to_owned());
        document
            .paths
            .add_path_operation(*alias, vec![method.clone()], operation);
    }
}

/// One handler annotated with several methods gives each the same operation id; OpenAPI wants
/// them unique, so a repeated id gets its method appended (`start_job_post`, `start_job_put`).
fn make_operation_ids_unique(document: &mut Document) {
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for item in document.paths.paths.values_mut() {
        for (_, operation) in operations_mut(item) {
            if let Some(id) = operation.as_ref().and_then(|op| op.operation_id.clone()) {
                *seen.entry(id).or_default() += 1;
            }
        }
    }
    for item in document.paths.paths.values_mut() {
        for (method, operation) in operations_mut(item) {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            if let Some(id) = &operation.operation_id {
                if seen.get(id).is_some_and(|count| *count > 1) {
                    operation.operation_id = Some(format!("{id}_{method}"));
                }
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> [(&'static str, &mut Option<Operation>); 8] {
    [
        ("get", &mut item.get),
        ("post", &mut item.post),
        ("put", &mut item.put),
        ("patch", &mut item.patch),
        ("delete", &mut item.delete),
        ("head", &mut item.head),
        ("options", &mut item.options),
        ("trace", &mut item.trace),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the document describes `method` (lower case, e.g. `post`) on `path`.
    fn describes(document: &Document, path: &str, method: &str) -> bool {
        let Some(mut item) = document.paths.paths.get(path).cloned() else {
            return false;
        };
        let described = operations_mut(&mut item)
            .into_iter()
            .any(|(candidate, operation)| candidate == method && operation.is_some());
        described
    }

    #[test]
    fn every_mounted_route_is_described() {
        let document = document();
        let mut missing = Vec::new();
        for (component, table) in route_tables() {
            for route in table {
                let method = route.method.as_str().to_lowercase();
                if !describes(&document, route.path, &method) {
                    missing.push(format!("{component}: {} {}", route.method, route.path));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "routes without a description: {missing:#?}"
        );
    }

    #[test]
    fn the_checked_in_document_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == document_json(),
            "docs/openapi.json is not the document the code describes: run `./dev openapi`"
        );
    }
}
