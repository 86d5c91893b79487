//! HTTP calls on the app and the retry policy: what is final, what is tried again and for how long.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::jetstream::Ack;
use crate::stats::Stats;
use crate::token::TokenSource;

/// First pause after a failed call; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest error text from the app kept in a log line.
const MAX_ERROR_TEXT: usize = 500;

/// One call to make.
pub struct Request {
    /// Path and query, e.g. `/api/write?cluster=alex`.
    pub path: String,
    pub content_type: &'static str,
    pub body: String,
    /// stop_job: "job not found" may mean its start is still on its way, so it is retried for
    /// `--stop-wait` before it counts as rejected.
    pub retry_not_found: bool,
}

/// How a call ended.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    Stored,
    /// A definitive answer about this message: it will never succeed, retrying would only repeat it.
    Rejected {
        status: u16,
        error: String,
    },
    /// Failing for longer than the policy allows, or shut down while failing.
    Abandoned {
        reason: String,
    },
}

/// The answer of one attempt.
enum Attempt {
    Stored,
    Rejected {
        status: u16,
        error: String,
    },
    /// Worth another try; `job_not_started` selects the shorter `--stop-wait` limit.
    Failed {
        reason: String,
        job_not_started: bool,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

pub struct App {
    client: reqwest::Client,
    base_url: String,
    token: TokenSource,
    stats: Arc<Stats>,
    /// `None`: retry until the app answers (JetStream: the message stays unacknowledged anyway).
    retry_for: Option<Duration>,
    stop_wait: Duration,
    shutdown: CancellationToken,
}

pub struct AppSettings {
    pub base_url: String,
    pub request_timeout: Duration,
    pub retry_for: Option<Duration>,
    pub stop_wait: Duration,
}

impl App {
    pub fn new(
        settings: AppSettings,
        token: TokenSource,
        stats: Arc<Stats>,
        shutdown: CancellationToken,
    ) -> Result<App, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .user_agent(concat!("cc-nats-bridge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(App {
            client,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            token,
            stats,
            retry_for: settings.retry_for,
            stop_wait: settings.stop_wait,
            shutdown,
        })
    }

    /// Sends `request` until it is stored, rejected or abandoned by the policy. While it fails,
    /// the JetStream messages in `acks` are kept from redelivery.
    pub async fn deliver(&self, request: &Request, acks: &[Arc<Ack>]) -> Delivery {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let (reason, job_not_started) = match self.attempt(request).await {
                Attempt::Stored => return Delivery::Stored,
                Attempt::Rejected { status, error } => return Delivery::Rejected { status, error },
                Attempt::Failed {
                    reason,
                    job_not_started,
                } => (reason, job_not_started),
            };
            let limit = if job_not_started {
                Some(self.stop_wait)
            } else {
                self.retry_for
            };
            if limit.is_some_and(|limit| started.elapsed() >= limit) {
                if job_not_started {
                    // The start never came: the app's 404 is the answer.
                    return Delivery::Rejected {
                        status: 404,
                        error: reason,
                    };
                }
                return Delivery::Abandoned { reason };
            }
            if self.shutdown.is_cancelled() {
                return Delivery::Abandoned {
                    reason: format!("shutting down after: {reason}"),
                };
            }
            Stats::add(&self.stats.retried, 1);
            tracing::debug!(path = %request.path, %reason, ?backoff, "retrying");
            for ack in acks {
                ack.in_progress().await;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => {}
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn attempt(&self, request: &Request) -> Attempt {
        let response = self
            .client
            .post(format!("{}{}", self.base_url, request.path))
            .bearer_auth(self.token.bearer())
            .header(reqwest::header::CONTENT_TYPE, request.content_type)
            .body(request.body.clone())
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Failed {
                    reason: format!("app unreachable: {error}"),
                    job_not_started: false,
                }
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Stored;
        }
        let error = match response.text().await {
            Ok(text) => error_text(&text),
            Err(error) => format!("(unreadable answer: {error})"),
        };
        let code = status.as_u16();
        match code {
            // The job may have been started by another bridge or over REST a moment later.
            404 if request.retry_not_found && error.starts_with("finding job failed") => {
                Attempt::Failed {
                    reason: format!("{code}: {error}"),
                    job_not_started: true,
                }
            }
            // The bridge's identity (not the message) is refused: a deployment problem that
            // must not eat the messages; it is retried until fixed.
            401 | 403 if is_auth_error(&error) => Attempt::Failed {
                reason: format!("{code}: {error} (check the bridge's token or key)"),
                job_not_started: false,
            },
            408 | 429 => Attempt::Failed {
                reason: format!("{code}: {error}"),
                job_not_started: false,
            },
            400..=499 => Attempt::Rejected {
                status: code,
                error,
            },
            _ => Attempt::Failed {
                reason: format!("{code}: {error}"),
                job_not_started: false,
            },
        }
    }
}

/// The `error` of the app's error JSON, or the start of whatever else it answered.
fn error_text(body: &str) -> String {
    let error = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            json.get("error")
                .and_then(|e| e.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned());
    match error.char_indices().nth(MAX_ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &error[..cut]),
        None => error,
    }
}

/// Whether a 401/403 is about the caller's identity rather than the request (a tag scope the
/// identity may not write is a 403 about the request).
fn is_auth_error(error: &str) -> bool {
    !error.contains("tag")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_come_from_the_error_json() {
        assert_eq!(
            error_text("{\"status\":\"Not Found\",\"error\":\"finding job failed: x\"}\n"),
            "finding job failed: x"
        );
        assert_eq!(error_text(" plain "), "plain");
        assert_eq!(error_text(&"x".repeat(600)).chars().count(), 501);
    }
}
