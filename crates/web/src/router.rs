//! Route tables with chi's semantics, as cc-backend mounts them: exact paths (trailing slashes
//! count), `{param}` segments that never contain `/`, static segments preferred over parameters,
//! 405 with one `Allow` header per method when only the method is wrong, and no authentication
//! for requests that match no route.

use cc_auth::{Group, Role, User};
use http::{header, HeaderValue, Method, StatusCode};

use crate::applog::{record_failure, Stage};
use crate::{endpoint_not_found, ApiError, Platform, Request, Response};

pub type Handler = fn(&Ctx) -> Result<Response, ApiError>;

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub handler: Handler,
}

impl Route {
    pub const fn new(method: Method, path: &'static str, handler: Handler) -> Self {
        Self {
            method,
            path,
            handler,
        }
    }
}

/// Values of the `{name}` segments of the matched route.
#[derive(Debug, Default, PartialEq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Everything a handler gets: the request, its path parameters, the authenticated user (when the
/// group authenticates) and the platform.
pub struct Ctx<'a> {
    pub request: &'a Request,
    pub params: Params,
    pub user: Option<User>,
    pub platform: &'a dyn Platform,
}

impl Ctx<'_> {
    /// The decoded query parameters, in request order (repeated keys repeat).
    pub fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }

    /// The first value of `name`, `None` when the key is absent or that value is empty: Go's
    /// `r.URL.Query().Get(name)`, whose empty answer cc-backend's handlers treat as missing.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }

    /// The form fields (docs/api.md#form-fields).
    pub fn form(&self) -> Result<crate::Form, ApiError> {
        crate::Form::parse(self.request)
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    /// Whether the authenticated user has the admin role; the handlers' own admin checks.
    pub fn user_is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|user| user.has_role(Role::Admin))
    }
}

/// How far a pattern matches a path: `None`, or the parameters plus a specificity key where a static
/// segment ranks above a parameter at the first position where two candidates differ.
fn match_pattern(pattern: &'static str, path: &str) -> Option<(Params, Vec<bool>)> {
    let pattern_segments = pattern.split('/');
    let path_segments = path.split('/');
    if pattern_segments.clone().count() != path_segments.clone().count() {
        return None;
    }
    let mut params = Vec::new();
    let mut specificity = Vec::new();
    for (expected, actual) in pattern_segments.zip(path_segments) {
        match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !actual.is_empty() => {
                // chi matches on the decoded path, so parameters arrive decoded.
                let value = percent_encoding::percent_decode_str(actual).decode_utf8_lossy();
                params.push((name, value.into_owned()));
                specificity.push(false);
            }
            Some(_) => return None,
            None if expected == actual => specificity.push(true),
            None => return None,
        }
    }
    Some((Params(params), specificity))
}

enum RouteMatch<'r> {
    Found(&'r Route, Params),
    MethodNotAllowed(Vec<Method>),
    NotFound,
}

fn find_route<'r>(routes: &[&'r [Route]], method: &Method, path: &str) -> RouteMatch<'r> {
    let mut best: Option<(&Route, Params, Vec<bool>)> = None;
    let mut allowed = Vec::new();
    for route in routes.iter().flat_map(|table| table.iter()) {
        let Some((params, specificity)) = match_pattern(route.path, path) else {
            continue;
        };
        if route.method != *method {
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
            continue;
        }
        if best.as_ref().is_none_or(|(_, _, s)| specificity > *s) {
            best = Some((route, params, specificity));
        }
    }
    match best {
        Some((route, params, _)) => RouteMatch::Found(route, params),
        None if allowed.is_empty() => RouteMatch::NotFound,
        None => RouteMatch::MethodNotAllowed(allowed),
    }
}

/// CORS as cc-backend configures it: any origin, no credentials.
pub fn add_common_headers(response: &mut Response) {
    let headers = response.headers_mut();
    let fixed = [
        ("access-control-allow-origin", "*"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

pub fn is_tls(request: &Request) -> bool {
    request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto == "https")
        || request.uri().scheme_str() == Some("https")
}

fn preflight_response() -> Response {
    let mut response = Response::new(Vec::new());
    let headers = response.headers_mut();
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, HEAD, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("X-Requested-With, Content-Type, Authorization, Origin"),
    );
    response
}

fn method_not_allowed(allowed: Vec<Method>) -> Response {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    for method in allowed {
        response.headers_mut().append(
            header::ALLOW,
            HeaderValue::from_str(method.as_str()).expect("method names are valid header values"),
        );
    }
    response
}

/// The answer to a refused cross-site write, before anything else is looked at.
pub fn cross_site_refusal() -> Response {
    crate::text_response(StatusCode::FORBIDDEN, "cross-site request blocked\n")
}

pub fn is_cross_site_write(request: &Request) -> bool {
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE];
    !safe.contains(request.method())
        && request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|site| site == "cross-site")
}

fn route_request(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
    routes: &[&[Route]],
) -> Response {
    if request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key("access-control-request-method")
    {
        return preflight_response();
    }
    if is_cross_site_write(request) {
        return cross_site_refusal();
    }
    let (route, params) = match find_route(routes, request.method(), request.uri().path()) {
        RouteMatch::Found(route, params) => (route, params),
        // The /config routes hang off cc-backend's root router, whose catch-all answers 404.
        RouteMatch::MethodNotAllowed(_) if group == Group::Config => return endpoint_not_found(),
        RouteMatch::MethodNotAllowed(allowed) => return method_not_allowed(allowed),
        RouteMatch::NotFound => return endpoint_not_found(),
    };
    let user = match crate::authenticate(request, platform, group) {
        Ok(user) => user,
        Err(error) => return failed(request, platform, group, Stage::Authentication, error),
    };
    let ctx = Ctx {
        request,
        params,
        user,
        platform,
    };
    (route.handler)(&ctx)
        .unwrap_or_else(|error| failed(request, platform, group, Stage::Handler, error))
}

/// The answer to a failed request, which the application log records when it is notable
/// (docs/applog.md#what-is-recorded).
fn failed(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
    stage: Stage,
    error: ApiError,
) -> Response {
    record_failure(request, platform, group, stage, &error);
    error.into_response()
}

/// Answers one request of a route group: pre-flight and CSRF checks, routing, the group's
/// authentication, the handler, and the headers cc-backend puts on every response. `routes` are
/// the group's route tables (one per topic), searched as one.
pub fn dispatch(
    request: &Request,
    platform: &dyn Platform,
    group: Group,
    routes: &[&[Route]],
) -> Response {
    let mut response = route_request(request, platform, group, routes);
    add_common_headers(&mut response);
    if is_tls(request) {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &Ctx) -> Result<Response, ApiError> {
        Ok(Response::new(Vec::new()))
    }

    static ROUTES: &[Route] = &[
        Route::new(Method::GET, "/api/jobs/", ok),
        Route::new(Method::GET, "/api/jobs/used_nodes", ok),
        Route::new(Method::GET, "/api/jobs/{id}", ok),
        Route::new(Method::POST, "/api/jobs/{id}", ok),
        Route::new(Method::POST, "/api/jobs/start_job/", ok),
        Route::new(Method::PUT, "/api/jobs/start_job/", ok),
    ];

    fn found(method: Method, path: &str) -> Option<(&'static str, Params)> {
        match find_route(&[ROUTES], &method, path) {
            RouteMatch::Found(route, params) => Some((route.path, params)),
            _ => None,
        }
    }

    #[test]
    fn trailing_slashes_are_significant() {
        assert_eq!(found(Method::GET, "/api/jobs/").unwrap().0, "/api/jobs/");
        assert!(matches!(
            find_route(&[ROUTES], &Method::GET, "/api/jobs"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            find_route(&[ROUTES], &Method::GET, "/api/jobs/used_nodes/"),
            RouteMatch::NotFound
        ));
    }

    #[test]
    fn static_segments_win_and_parameters_take_other_methods() {
        assert_eq!(
            found(Method::GET, "/api/jobs/used_nodes").unwrap().0,
            "/api/jobs/used_nodes"
        );
        let (path, params) = found(Method::POST, "/api/jobs/used_nodes").unwrap();
        assert_eq!(path, "/api/jobs/{id}");
        assert_eq!(params.get("id"), Some("used_nodes"));
        assert_eq!(
            found(Method::GET, "/api/jobs/42").unwrap().1.get("id"),
            Some("42")
        );
    }

    #[test]
    fn parameters_never_span_or_miss_segments() {
        assert!(found(Method::GET, "/api/jobs/1/2").is_none());
        assert!(found(Method::GET, "/api/jobs//").is_none());
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        match find_route(&[ROUTES], &Method::GET, "/api/jobs/start_job/") {
            RouteMatch::MethodNotAllowed(allowed) => {
                assert_eq!(allowed, [Method::POST, Method::PUT]);
            }
            _ => panic!("expected 405"),
        }
        let response = method_not_allowed(vec![Method::POST, Method::PUT]);
        assert_eq!(response.status(), 405);
        let allow: Vec<_> = response.headers().get_all(header::ALLOW).iter().collect();
        assert_eq!(allow, ["POST", "PUT"]);
        assert!(matches!(
            find_route(&[ROUTES], &Method::HEAD, "/api/jobs/"),
            RouteMatch::MethodNotAllowed(_)
        ));
    }
}
