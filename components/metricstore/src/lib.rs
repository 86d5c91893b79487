//! Metric-store route group (`/api/write`, `/api/free`, `/api/debug`, `/api/healthcheck`, each with
//! and without trailing slash), authenticated with the metric-store role rule. The component only
//! picks route tables.

use cc_auth::Group;
use cc_web::{dispatch, Platform, Request, Response, Route};

static ROUTES: &[&[Route]] = &[
    cc_metricstore::http::ROUTES,
    cc_nodes::http::HEALTHCHECK_ROUTES,
];

pub fn handle(request: &Request, platform: &dyn Platform) -> Response {
    dispatch(request, platform, Group::MetricStore, ROUTES)
}

cc_web::spin_entry_point!(handle, cc_web::DEFAULT_WRITE_BODY_LIMIT);
