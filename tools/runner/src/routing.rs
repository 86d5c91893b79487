//! Route matching with Spin's rules (via `routefinder`, as Spin does): exact routes, trailing
//! `/...` wildcards, `:name` segments; exact beats wildcard and the longest prefix wins. Also the
//! `spin-*` request headers Spin derives from a match.

use std::fmt;
use std::net::SocketAddr;

use crate::manifest::{HttpTrigger, RouteConfig};

#[derive(Debug, thiserror::Error)]
#[error("route {route:?} of component `{component}` is invalid: {message}")]
pub struct RouteError {
    pub route: String,
    pub component: String,
    pub message: String,
}

/// What a route leads to.
#[derive(Debug, Clone)]
struct RouteTarget {
    component: String,
    /// The route as written in the manifest.
    raw_route: String,
    /// The route with the application base (always `/` in manifest v2) applied.
    based_route: String,
    /// `Some(prefix)` for a trailing-wildcard route.
    wildcard_prefix: Option<String>,
}

/// A route that another trigger with the same route made unreachable (the last one wins, as in Spin).
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowedRoute {
    pub route: String,
    pub replaced: String,
    pub effective: String,
}

pub struct Router {
    routes: routefinder::Router<RouteTarget>,
}

/// The result of routing a request path.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    pub component: String,
    pub raw_route: String,
    pub based_route: String,
    /// The part of the path matched by a trailing wildcard (empty for exact routes).
    pub path_info: String,
    /// Values of `:name` segments.
    pub named: Vec<(String, String)>,
}

impl Router {
    /// Builds the routing table; private routes are left out.
    pub fn build(triggers: &[HttpTrigger]) -> Result<(Self, Vec<ShadowedRoute>), RouteError> {
        let mut targets: Vec<RouteTarget> = Vec::new();
        let mut shadowed = Vec::new();
        for trigger in triggers {
            let RouteConfig::Path(raw_route) = &trigger.route else {
                continue;
            };
            let based_route = with_base(raw_route);
            let target = RouteTarget {
                component: trigger.component.clone(),
                raw_route: raw_route.clone(),
                wildcard_prefix: based_route.strip_suffix("/...").map(str::to_owned),
                based_route,
            };
            if let Some(previous) = targets.iter_mut().find(|t| t.raw_route == *raw_route) {
                shadowed.push(ShadowedRoute {
                    route: previous.based_route.clone(),
                    replaced: previous.component.clone(),
                    effective: target.component.clone(),
                });
                *previous = target;
            } else {
                targets.push(target);
            }
        }

        let mut routes = routefinder::Router::new();
        for target in targets {
            let spec = match &target.wildcard_prefix {
                Some(prefix) => format!("{prefix}/*"),
                None => target.based_route.clone(),
            };
            let error = |message: String| RouteError {
                route: target.raw_route.clone(),
                component: target.component.clone(),
                message,
            };
            let spec: routefinder::RouteSpec = spec.parse().map_err(error)?;
            routes
                .add(spec, target.clone())
                .map_err(|never| match never {})?;
        }
        Ok((Self { routes }, shadowed))
    }

    /// Routes a request path (without query).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let best = self.routes.best_match(path)?;
        let target = best.handler();
        let captures = best.captures();
        let path_info = match captures.wildcard() {
            // Spin keeps the trailing slash that routefinder drops.
            Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            },
            None => String::new(),
        };
        Some(RouteMatch {
            component: target.component.clone(),
            raw_route: target.raw_route.clone(),
            based_route: target.based_route.clone(),
            path_info,
            named: captures
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        })
    }

    /// `(display route, component)` pairs for the start-up listing, most specific first.
    pub fn routes(&self) -> impl Iterator<Item = (RouteDisplay<'_>, &str)> {
        self.routes
            .iter()
            .map(|(_, target)| (RouteDisplay(target), target.component.as_str()))
    }
}

/// Spin's start-up listing format: `/api (wildcard)` for `/api/...`.
pub struct RouteDisplay<'a>(&'a RouteTarget);

impl fmt::Display for RouteDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.wildcard_prefix {
            Some(prefix) => write!(f, "{prefix} (wildcard)"),
            None => f.write_str(&self.0.based_route),
        }
    }
}

/// Spin joins the base `/` and the route after dropping one trailing slash from each.
fn with_base(route: &str) -> String {
    let route = if route.starts_with('/') {
        route.to_owned()
    } else {
        format!("/{route}")
    };
    route.strip_suffix('/').map(str::to_owned).unwrap_or(route)
}

impl RouteMatch {
    /// The headers Spin adds to a request for the guest. `full_url` is
    /// `scheme://host/path?query` as the client addressed it.
    pub fn spin_headers(&self, full_url: &str, client: SocketAddr) -> Vec<(String, String)> {
        let component_route = self
            .raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route);
        let mut headers = vec![
            ("spin-path-info".to_owned(), self.path_info.clone()),
            ("spin-full-url".to_owned(), full_url.to_owned()),
            ("spin-matched-route".to_owned(), self.based_route.clone()),
            ("spin-base-path".to_owned(), "/".to_owned()),
            (
                "spin-raw-component-route".to_owned(),
                self.raw_route.clone(),
            ),
            (
                "spin-component-route".to_owned(),
                component_route.to_owned(),
            ),
            ("spin-client-addr".to_owned(), client.to_string()),
        ];
        for (name, value) in &self.named {
            headers.push((
                format!("spin-path-match-{}", name.to_ascii_lowercase()),
                value.clone(),
            ));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(route: &str, component: &str) -> HttpTrigger {
        HttpTrigger {
            id: String::new(),
            route: RouteConfig::Path(route.into()),
            component: component.into(),
        }
    }

    fn router(routes: &[(&str, &str)]) -> Router {
        let triggers: Vec<HttpTrigger> = routes.iter().map(|(r, c)| trigger(r, c)).collect();
        Router::build(&triggers).unwrap().0
    }

    fn component(router: &Router, path: &str) -> Option<String> {
        router.route(path).map(|m| m.component)
    }

    #[test]
    fn exact_routes_match_only_their_path() {
        let r = router(&[("/foo", "foo"), ("/foo/bar", "foobar")]);
        assert_eq!(component(&r, "/foo").as_deref(), Some("foo"));
        assert_eq!(component(&r, "/foo/").as_deref(), Some("foo"));
        assert_eq!(component(&r, "/foo/bar").as_deref(), Some("foobar"));
        assert_eq!(component(&r, "/foo/baz"), None);
        assert_eq!(component(&r, "/"), None);
        let m = r.route("/foo").unwrap();
        assert_eq!(m.path_info, "");
    }

    #[test]
    fn wildcard_routes_match_the_prefix_and_below() {
        let r = router(&[("/api/...", "api")]);
        assert_eq!(component(&r, "/api").as_deref(), Some("api"));
        assert_eq!(component(&r, "/api/").as_deref(), Some("api"));
        assert_eq!(component(&r, "/api/jobs/1").as_deref(), Some("api"));
        assert_eq!(component(&r, "/apix"), None);
        assert_eq!(component(&r, "/"), None);
        assert_eq!(r.route("/api").unwrap().path_info, "");
        assert_eq!(r.route("/api/").unwrap().path_info, "/");
        assert_eq!(r.route("/api/jobs/").unwrap().path_info, "/jobs/");
        assert_eq!(r.route("/api/jobs/7").unwrap().path_info, "/jobs/7");
    }

    #[test]
    fn most_specific_route_wins_regardless_of_order() {
        for routes in [
            [
                ("/...", "all"),
                ("/one/...", "one"),
                ("/one/two/...", "two"),
                ("/one/two", "exact"),
            ],
            [
                ("/one/two", "exact"),
                ("/one/two/...", "two"),
                ("/one/...", "one"),
                ("/...", "all"),
            ],
        ] {
            let r = router(&routes);
            assert_eq!(component(&r, "/one/two/three").as_deref(), Some("two"));
            assert_eq!(component(&r, "/one/two").as_deref(), Some("exact"));
            assert_eq!(component(&r, "/one/x").as_deref(), Some("one"));
            assert_eq!(component(&r, "/other").as_deref(), Some("all"));
            assert_eq!(component(&r, "/").as_deref(), Some("all"));
        }
    }

    #[test]
    fn private_routes_are_not_routable() {
        let triggers = vec![
            HttpTrigger {
                id: String::new(),
                route: RouteConfig::Private(crate::manifest::PrivateRoute { private: true }),
                component: "hidden".into(),
            },
            trigger("/visible", "visible"),
        ];
        let (r, _) = Router::build(&triggers).unwrap();
        assert_eq!(r.routes().count(), 1);
        assert_eq!(component(&r, "/visible").as_deref(), Some("visible"));
        assert!(r.routes().all(|(_, c)| c != "hidden"));
    }

    #[test]
    fn duplicate_routes_keep_the_last_and_report_the_first() {
        let triggers = vec![trigger("/foo", "first"), trigger("/foo", "second")];
        let (r, shadowed) = Router::build(&triggers).unwrap();
        assert_eq!(component(&r, "/foo").as_deref(), Some("second"));
        assert_eq!(
            shadowed,
            vec![ShadowedRoute {
                route: "/foo".into(),
                replaced: "first".into(),
                effective: "second".into()
            }]
        );
    }

    #[test]
    fn named_segments_are_captured() {
        let r = router(&[("/users/:id/...", "users")]);
        let m = r.route("/users/42/posts").unwrap();
        assert_eq!(m.named, vec![("id".to_owned(), "42".to_owned())]);
        assert_eq!(m.path_info, "/posts");
    }

    #[test]
    fn routes_are_listed_like_spin() {
        let r = router(&[
            ("/api/...", "api"),
            ("/config/roles/", "config"),
            ("/...", "frontend"),
        ]);
        let listed: Vec<String> = r
            .routes()
            .map(|(route, component)| format!("{component}: {route}"))
            .collect();
        assert!(listed.contains(&"api: /api (wildcard)".to_owned()));
        assert!(listed.contains(&"config: /config/roles".to_owned()));
        assert!(listed.contains(&"frontend:  (wildcard)".to_owned()));
    }

    #[test]
    fn spin_headers_for_a_wildcard_route() {
        let r = router(&[("/api/...", "api")]);
        let m = r.route("/api/jobs/").unwrap();
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let headers = m.spin_headers("http://localhost:3000/api/jobs/?x=1", client);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("spin-path-info"), Some("/jobs/"));
        assert_eq!(
            get("spin-full-url"),
            Some("http://localhost:3000/api/jobs/?x=1")
        );
        assert_eq!(get("spin-matched-route"), Some("/api/..."));
        assert_eq!(get("spin-component-route"), Some("/api"));
        assert_eq!(get("spin-raw-component-route"), Some("/api/..."));
        assert_eq!(get("spin-base-path"), Some("/"));
        assert_eq!(get("spin-client-addr"), Some("127.0.0.1:50000"));
        assert_eq!(headers.len(), 7);
    }

    #[test]
    fn spin_headers_for_exact_and_named_routes() {
        let r = router(&[("/healthcheck/", "health"), ("/users/:userId/...", "users")]);
        let client: SocketAddr = "[::1]:1".parse().unwrap();
        let exact = r.route("/healthcheck").unwrap();
        let headers = exact.spin_headers("http://h/healthcheck", client);
        assert!(headers.contains(&("spin-path-info".into(), String::new())));
        assert!(headers.contains(&("spin-matched-route".into(), "/healthcheck".into())));
        assert!(headers.contains(&("spin-raw-component-route".into(), "/healthcheck/".into())));
        assert!(headers.contains(&("spin-component-route".into(), "/healthcheck/".into())));
        assert!(headers.contains(&("spin-client-addr".into(), "[::1]:1".into())));
        let named = r.route("/users/7/x").unwrap();
        let headers = named.spin_headers("http://h/users/7/x", client);
        assert!(headers.contains(&("spin-path-match-userid".into(), "7".into())));
    }
}
