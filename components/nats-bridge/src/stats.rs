//! Counters of what the bridge did, the periodic stats line and the optional `/healthz` listener.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
pub struct Stats {
    /// NATS messages read.
    pub received: AtomicU64,
    /// Events and metric lines the app stored (2xx).
    pub forwarded: AtomicU64,
    /// Lines dropped before reaching the app (malformed, not an event, ...).
    pub dropped: AtomicU64,
    /// Events and metric lines the app refused with a definitive 4xx.
    pub rejected: AtomicU64,
    /// Calls repeated after a 5xx, timeout, connection error or a not-yet-started job.
    pub retried: AtomicU64,
    /// Events given up after retrying (core mode time limit, or shutdown).
    pub abandoned: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, amount: usize) {
        counter.fetch_add(amount as u64, Ordering::Relaxed);
    }

    pub fn summary(&self) -> String {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        format!(
            "{{\"received\":{},\"forwarded\":{},\"dropped\":{},\"rejected\":{},\"retried\":{},\"abandoned\":{}}}",
            read(&self.received),
            read(&self.forwarded),
            read(&self.dropped),
            read(&self.rejected),
            read(&self.retried),
            read(&self.abandoned),
        )
    }
}

/// Logs the counters every `interval` until shutdown.
pub async fn log_periodically(stats: Arc<Stats>, interval: Duration, shutdown: CancellationToken) {
    if interval.is_zero() {
        return;
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => tracing::info!(stats = %stats.summary(), "stats"),
        }
    }
}

/// Answers every connection with 200 and the counters as JSON: a liveness probe for systemd,
/// containers and load balancers. One tiny response does not need an HTTP server library.
pub async fn serve_health(listener: TcpListener, stats: Arc<Stats>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut socket, _)) = accepted else {
            continue;
        };
        let body = stats.summary();
        tokio::spawn(async move {
            // The request itself does not matter; read what arrived so the peer sees a clean close.
            let mut request = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.read(&mut request)).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
