//! The route matcher and group authentication of every component's tables: any method, path,
//! token and body is answered (404, 405, 401, 403, 400 ...), never a panic. No store is reachable,
//! so a request that gets past authentication ends in a storage error, not a write.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

use cc_auth::Group;
use cc_store::{Kv, Sql, StoreError};
use cc_web::{dispatch, Platform, Route};
use http::Method;

struct NoStores;

impl Platform for NoStores {
    fn variable(&self, _name: &str) -> Option<String> {
        None
    }

    fn sql(&self) -> Result<Box<dyn Sql>, StoreError> {
        Err(StoreError::NoSuchStore("default".into()))
    }

    fn kv(&self) -> Result<Box<dyn Kv>, StoreError> {
        Err(StoreError::NoSuchStore("default".into()))
    }

    fn clusters_dir(&self) -> PathBuf {
        PathBuf::from("/nonexistent")
    }

    fn taggers_dir(&self) -> PathBuf {
        PathBuf::from("/nonexistent")
    }
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (path, token) = text.split_once('\n').unwrap_or((&text, ""));
    let groups: [(Group, &[&[Route]]); 3] = [
        (
            Group::Api,
            &[
                cc_jobs::http::API_ROUTES,
                cc_nodes::http::CLUSTER_ROUTES,
                cc_nodes::http::NODE_STATE_ROUTES,
                cc_nodes::http::MACHINE_STATE_ROUTES,
            ],
        ),
        (Group::UserApi, &[cc_jobs::http::USERAPI_ROUTES]),
        (
            Group::MetricStore,
            &[cc_metricstore::http::ROUTES, cc_nodes::http::HEALTHCHECK_ROUTES],
        ),
    ];
    let (group, routes) = &groups[usize::from(selector >> 4) % groups.len()];
    let Ok(request) = http::Request::builder()
        .method(METHODS[usize::from(selector) % METHODS.len()].clone())
        .uri(format!("/{}", path.trim_start_matches('/')))
        .header("Authorization", format!("Bearer {token}"))
        .body(rest.to_vec())
    else {
        return;
    };
    let _ = dispatch(&request, &NoStores, *group, routes);
});
