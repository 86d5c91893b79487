//! The HTTP server: hyper (HTTP/1.1, keep-alive) on tokio; every request gets a fresh store and
//! instance of the routed component, like Spin's HTTP trigger.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::engine::EPOCH_DEADLINE;
use crate::host::{ComponentPolicy, InstanceState, StateStores};
use crate::routing::{RouteMatch, Router};

/// Spin's built-in endpoints below this prefix take precedence over routes.
const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// A component ready to be instantiated per request.
pub struct PreparedComponent {
    /// Shown under the component's routes at start-up.
    pub description: String,
    pub policy: Arc<ComponentPolicy>,
    pub environment: Vec<(String, String)>,
    /// Staged `files`, mounted read-only at `/`.
    pub files_dir: Option<PathBuf>,
    pub pre: ProxyPre<InstanceState>,
}

impl PreparedComponent {
    fn new_state(&self, stores: &Arc<StateStores>) -> wasmtime::Result<InstanceState> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout()
            .inherit_stderr()
            .envs(&self.environment);
        if let Some(dir) = &self.files_dir {
            wasi.preopened_dir(dir, "/", FsPerms::ReadOnly)?;
        }
        Ok(InstanceState::new(
            wasi.build(),
            Arc::clone(&self.policy),
            Arc::clone(stores),
        ))
    }
}

/// Everything needed to serve requests.
pub struct App {
    pub engine: Engine,
    pub router: Router,
    /// By component id; holds every component the router can return.
    pub components: HashMap<String, PreparedComponent>,
    pub stores: Arc<StateStores>,
}

/// A runner-made response; Spin's are empty except for the health check's `OK`.
fn plain(status: StatusCode, body: &'static str) -> Response<HyperOutgoingBody> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}

/// An error and its causes on one line (a trap's wasm backtrace would span many).
fn one_line(error: &wasmtime::Error) -> String {
    error
        .chain()
        .map(|cause| cause.to_string())
        .map(|text| {
            let first = text.lines().next().unwrap_or_default();
            first.trim().trim_end_matches(':').to_owned()
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

impl App {
    /// Handles one request; never fails (errors become an empty 500 and a line on stderr).
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        local: SocketAddr,
        client: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let path = request.uri().path();
        if let Some(endpoint) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            return match endpoint {
                "health" => plain(StatusCode::OK, "OK"),
                _ => plain(StatusCode::NOT_FOUND, ""),
            };
        }
        let Some(route) = self.router.route(path) else {
            return plain(StatusCode::NOT_FOUND, "");
        };
        let component = &self.components[&route.component];
        let method = request.method().clone();
        let path = path.to_owned();
        match self
            .execute(component, &route, request, local, client)
            .await
        {
            Ok(response) => response,
            Err(error) => {
                eprintln!(
                    "component `{}` failed on {method} {path}: {}",
                    route.component,
                    one_line(&error)
                );
                plain(StatusCode::INTERNAL_SERVER_ERROR, "")
            }
        }
    }

    async fn execute(
        &self,
        component: &PreparedComponent,
        route: &RouteMatch,
        mut request: Request<Incoming>,
        local: SocketAddr,
        client: SocketAddr,
    ) -> wasmtime::Result<Response<HyperOutgoingBody>> {
        let host = match request.headers().get(header::HOST) {
            Some(host) => host.to_str()?.to_owned(),
            None => request
                .uri()
                .authority()
                .map_or_else(|| local.to_string(), |a| a.to_string()),
        };
        let path_and_query = request
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let full_url = format!("http://{host}{path_and_query}");
        // The guest sees an absolute URI, as under Spin.
        *request.uri_mut() = Uri::builder()
            .scheme("http")
            .authority(host.as_str())
            .path_and_query(path_and_query)
            .build()?;
        let headers = request.headers_mut();
        for (name, value) in route.spin_headers(&full_url, client) {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(&value)?,
            );
        }

        let mut store = Store::new(&self.engine, component.new_state(&self.stores)?);
        store.epoch_deadline_async_yield_and_update(EPOCH_DEADLINE);
        let proxy = component.pre.instantiate_async(&mut store).await?;
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let guest = tokio::spawn(async move {
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await
        });

        match receiver.await {
            Ok(Ok(response)) => {
                // wasi:http lets the handler keep running after it sent the response.
                let id = component.policy.id.clone();
                tokio::spawn(async move {
                    let failure = match guest.await {
                        Ok(Ok(())) => return,
                        Ok(Err(error)) => one_line(&error),
                        Err(panic) => panic.to_string(),
                    };
                    eprintln!("component `{id}` failed after responding: {failure}");
                });
                Ok(response)
            }
            Ok(Err(code)) => {
                guest.await??;
                wasmtime::bail!("guest responded with error {code:?}")
            }
            Err(_) => {
                guest.await??;
                wasmtime::bail!("guest returned without sending a response")
            }
        }
    }
}

/// Accepts connections on `listener` (bound to `local`) until `shutdown` completes.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    local: SocketAddr,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // e.g. out of file descriptors: back off instead of spinning
                    eprintln!("accepting a connection failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No TCP_NODELAY, as in Spin's HTTP trigger: a response written in pieces waits for
        // the client's ACK here as it does there (docs/storage.md#response-writes).
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let app = Arc::clone(&app);
                async move { Ok::<_, Infallible>(app.handle(request, local, client).await) }
            });
            // Errors here are clients going away mid-request; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_causes_and_drops_backtraces() {
        let error = wasmtime::Error::msg("wasm trap: unreachable")
            .context("error while executing at wasm backtrace:\n    0: 0x1 - f\n    1: 0x2 - g");
        assert_eq!(
            one_line(&error),
            "error while executing at wasm backtrace: wasm trap: unreachable"
        );
    }
}
