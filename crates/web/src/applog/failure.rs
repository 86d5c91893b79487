//! Which failed requests dispatch records, and how (docs/applog.md#what-is-recorded). Only the
//! method, path, client address, status and error text go into the log: never the query string,
//! body, token, cookie or password.

use cc_auth::Group;
use http::{header, Method};

use super::{component_id, record_event, Priority};
use crate::{ApiError, Platform, Request};

/// Where in dispatch a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The group's authentication middleware refused the request.
    Authentication,
    /// The route's handler returned an error.
    Handler,
}

/// What the NATS bridge sends as its `User-Agent` (then its version), so that errors it caused
/// can be told from a batch system's.
const BRIDGE_USER_AGENT: &str = "cc-nats-bridge/";

/// The priority a failure is recorded with, `None` for those not worth recording: server errors
/// (3), refused authentication (4), and refused writes such as a rejected job start (5). A read
/// asking for something that does not exist is routine and stays out of the log.
fn priority_of(stage: Stage, method: &Method, error: &ApiError) -> Option<Priority> {
    let is_write = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method);
    if error.status.is_server_error() {
        Some(Priority::Error)
    } else if stage == Stage::Authentication {
        Some(Priority::Warning)
    } else if is_write && error.status.is_client_error() {
        Some(Priority::Notice)
    } else {
        None
    }
}

fn describe(request: &Request, platform: &dyn Platform, stage: Stage, error: &ApiError) -> String {
    let what = match stage {
        Stage::Authentication => "authentication failed",
        Stage::Handler => "request failed",
    };
    let client = crate::client_address_for_log(request, platform);
    let via = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .filter(|agent| agent.starts_with(BRIDGE_USER_AGENT))
        .map(|agent| format!(" via {agent}"))
        .unwrap_or_default();
    format!(
        "{what}: {} {} from {client}{via}: {} {}",
        request.method(),
        request.uri().path(),
        error.status.as_u16(),
        error.message
    )
}

/// Records `error`, the answer dispatch gives `request` of `group`'s component, when it is worth
/// recording. Writing the log cannot fail the request: a failed write is dropped.
pub(crate) fn record_failure(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
    stage: Stage,
    error: &ApiError,
) {
    if let Some(priority) = priority_of(stage, request.method(), error) {
        let message = describe(request, platform, stage, error);
        record_event(platform, priority, component_id(group), &message);
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::applog::{query, LogEntry, LogFilter};
    use crate::NativePlatform;

    /// A platform on a fresh state directory, trusting `trusted_proxies` when given.
    fn platform(trusted_proxies: Option<&str>) -> (tempfile::TempDir, NativePlatform) {
        let dir = tempfile::tempdir().unwrap();
        let variables = trusted_proxies
            .map(|proxies| {
                (
                    crate::Variables::TRUSTED_PROXIES.to_owned(),
                    proxies.to_owned(),
                )
            })
            .into_iter()
            .collect();
        let platform = NativePlatform {
            variables,
            state_dir: dir.path().into(),
            clusters_dir: dir.path().into(),
            taggers_dir: dir.path().into(),
        };
        (dir, platform)
    }

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(b"{\"password\":\"secret\"}".to_vec()).unwrap()
    }

    fn entries(platform: &NativePlatform) -> Vec<LogEntry> {
        let filter = LogFilter {
            since_us: 0,
            lines: 1000,
            max_priority: Priority::Debug,
            search: String::new(),
        };
        query(platform.sql().unwrap().as_ref(), &filter).unwrap()
    }

    fn error(status: StatusCode, message: &str) -> ApiError {
        ApiError::new(status, message)
    }

    #[test]
    fn refused_authentication_is_a_warning_with_the_client_but_no_secrets() {
        let (_dir, platform) = platform(None);
        let request = request(
            Method::GET,
            "/api/jobs/?token=abc",
            &[
                ("spin-client-addr", "10.1.2.3:4567"),
                ("authorization", "Bearer abc.def.ghi"),
                ("cookie", "session=xyz"),
                ("user-agent", "curl/8"),
            ],
        );
        let refusal = error(StatusCode::UNAUTHORIZED, "token is expired");
        record_failure(
            &request,
            &platform,
            Group::Api,
            Stage::Authentication,
            &refusal,
        );
        let logged = entries(&platform);
        assert_eq!(logged.len(), 1);
        assert_eq!((logged[0].priority, logged[0].unit.as_str()), (4, "api"));
        assert_eq!(
            logged[0].message,
            "authentication failed: GET /api/jobs/ from 10.1.2.3: 401 token is expired"
        );
    }

    #[test]
    fn refused_writes_are_notices_and_name_the_bridge() {
        let (_dir, platform) = platform(Some("10.0.0.1"));
        let request = request(
            Method::POST,
            "/api/jobs/start_job/",
            &[
                ("spin-client-addr", "10.0.0.1:80"),
                ("x-real-ip", "192.168.0.9"),
                ("user-agent", "cc-nats-bridge/0.1.0"),
            ],
        );
        let rejection = error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a job with that jobId exists",
        );
        record_failure(&request, &platform, Group::Api, Stage::Handler, &rejection);
        let logged = entries(&platform);
        assert_eq!(logged[0].priority, 5);
        assert_eq!(
            logged[0].message,
            "request failed: POST /api/jobs/start_job/ from 192.168.0.9 via cc-nats-bridge/0.1.0: \
             422 a job with that jobId exists"
        );
    }

    #[test]
    fn server_errors_are_errors_and_failed_reads_are_not_recorded() {
        let (_dir, platform) = platform(None);
        let get = request(Method::GET, "/userapi/jobs/1", &[]);
        record_failure(
            &get,
            &platform,
            Group::UserApi,
            Stage::Handler,
            &error(StatusCode::NOT_FOUND, "no such job"),
        );
        assert!(entries(&platform).is_empty());
        record_failure(
            &get,
            &platform,
            Group::UserApi,
            Stage::Handler,
            &error(StatusCode::INTERNAL_SERVER_ERROR, "database is locked"),
        );
        let logged = entries(&platform);
        assert_eq!(logged.len(), 1);
        assert_eq!(
            (logged[0].priority, logged[0].unit.as_str()),
            (3, "userapi")
        );
    }

    #[test]
    fn a_log_that_cannot_be_written_is_dropped_silently() {
        let (dir, platform) = platform(None);
        std::fs::create_dir(dir.path().join("sqlite_db.db")).unwrap();
        let post = request(Method::POST, "/api/jobs/stop_job/", &[]);
        record_failure(
            &post,
            &platform,
            Group::Api,
            Stage::Handler,
            &error(StatusCode::BAD_REQUEST, "the field 'jobId' is required"),
        );
        assert!(platform.sql().is_err());
    }
}
