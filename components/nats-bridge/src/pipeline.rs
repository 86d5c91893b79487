//! From a NATS message to app calls: decoding, the ordered event workers (sharded by job) and
//! the metric batchers (one per metric subject, so each keeps its own default cluster).
//! All queues are bounded: a full queue makes the subscription wait (backpressure).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::{Config, MetricSubject};
use crate::forward::{App, Delivery, Request};
use crate::jetstream::{release, Ack};
use crate::stats::Stats;
use cc_nats_message::{decode_events, decode_metric_lines, Event, EventKind, Route};

/// What a subject carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Events(EventKind),
    /// Index into the metric subjects.
    Metrics(usize),
}

struct Task {
    event: Event,
    ack: Option<Arc<Ack>>,
}

/// The valid lines of one metric message.
struct MetricMessage {
    body: String,
    lines: usize,
    ack: Option<Arc<Ack>>,
}

pub struct Pipeline {
    workers: Vec<mpsc::Sender<Task>>,
    batchers: Vec<mpsc::Sender<MetricMessage>>,
    /// (subject pattern, what it carries), in the order of the flags.
    subjects: Vec<(String, Kind)>,
    stats: Arc<Stats>,
    max_event_bytes: usize,
}

struct Batching {
    max_bytes: usize,
    linger: Duration,
}

impl Pipeline {
    /// Starts the workers and batchers on `tasks`; they end once the pipeline is dropped and
    /// their queues are drained.
    pub fn start(
        config: &Config,
        app: Arc<App>,
        stats: Arc<Stats>,
        tasks: &mut JoinSet<()>,
    ) -> Pipeline {
        let capacity = usize::from(config.queue_capacity);
        let workers = (0..config.concurrency)
            .map(|_| {
                let (sender, receiver) = mpsc::channel(capacity);
                tasks.spawn(work(receiver, app.clone(), stats.clone()));
                sender
            })
            .collect();
        let batchers = config
            .metrics
            .iter()
            .map(|metric| {
                let (sender, receiver) = mpsc::channel(capacity);
                let batching = Batching {
                    max_bytes: config.batch_bytes,
                    linger: config.batch_linger,
                };
                tasks.spawn(batch(
                    receiver,
                    metric.clone(),
                    batching,
                    app.clone(),
                    stats.clone(),
                ));
                sender
            })
            .collect();
        let mut subjects = vec![
            (config.job_subject.clone(), Kind::Events(EventKind::Job)),
            (
                config.node_subject.clone(),
                Kind::Events(EventKind::NodeState),
            ),
        ];
        for (index, metric) in config.metrics.iter().enumerate() {
            subjects.push((metric.subject.clone(), Kind::Metrics(index)));
        }
        Pipeline {
            workers,
            batchers,
            subjects,
            stats,
            max_event_bytes: config.max_event_bytes,
        }
    }

    pub fn subjects(&self) -> &[(String, Kind)] {
        &self.subjects
    }

    /// What a message that arrived on `subject` carries (the first matching pattern).
    pub fn kind_of(&self, subject: &str) -> Option<Kind> {
        self.subjects
            .iter()
            .find(|(pattern, _)| subject_matches(pattern, subject))
            .map(|(_, kind)| *kind)
    }

    /// Decodes one message and queues its work; `ack` is acknowledged once all of it is done.
    pub async fn handle(&self, kind: Kind, subject: &str, payload: &[u8], ack: Option<Arc<Ack>>) {
        Stats::add(&self.stats.received, 1);
        match kind {
            Kind::Events(event_kind) => {
                let decoded = decode_events(event_kind, payload, self.max_event_bytes);
                self.count_dropped(subject, &decoded.dropped);
                for event in decoded.events {
                    let worker = (event.shard_key % self.workers.len() as u64) as usize;
                    let task = Task {
                        event,
                        ack: ack.clone(),
                    };
                    // Fails only while shutting down, when the workers are gone.
                    let _ = self.workers[worker].send(task).await;
                }
            }
            Kind::Metrics(index) => {
                let kept = decode_metric_lines(payload);
                self.count_dropped(subject, &kept.dropped);
                if kept.lines > 0 {
                    let message = MetricMessage {
                        body: kept.body,
                        lines: kept.lines,
                        ack: ack.clone(),
                    };
                    let _ = self.batchers[index].send(message).await;
                }
            }
        }
        release(ack).await;
    }

    fn count_dropped(&self, subject: &str, dropped: &[cc_nats_message::Dropped]) {
        for reason in dropped {
            tracing::warn!(subject, %reason, "line dropped");
        }
        Stats::add(&self.stats.dropped, dropped.len());
    }
}

/// NATS subject matching: `*` matches one token, a final `>` one or more.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in pattern.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// JetStream: how many deliveries a stop_job answered "job not found" gets before the answer
/// counts. After a NATS restart or a bridge crash a stop can be delivered before its start is
/// redelivered; leaving the stop unacknowledged lets it come back after the start.
const STOP_DELIVERIES: i64 = 5;

/// One ordered worker: its events are applied one after the other, in queue order.
async fn work(mut queue: mpsc::Receiver<Task>, app: Arc<App>, stats: Arc<Stats>) {
    while let Some(task) = queue.recv().await {
        let route = task.event.route;
        let request = Request {
            path: route.path().to_owned(),
            content_type: "application/json",
            body: task.event.body,
            retry_not_found: route == Route::StopJob,
        };
        let delivery = app.deliver(&request, task.ack.as_slice()).await;
        if let (Delivery::Rejected { status: 404, error }, Some(ack)) = (&delivery, &task.ack) {
            if request.retry_not_found && ack.deliveries() < STOP_DELIVERIES {
                tracing::info!(%error, "stop_job: job not found yet, left for redelivery");
                Stats::add(&stats.retried, 1);
                ack.keep_for_redelivery();
                release(task.ack).await;
                continue;
            }
        }
        record(
            &stats,
            &delivery,
            route.path(),
            1,
            &request.body,
            task.ack.as_deref(),
        );
        release(task.ack).await;
    }
}

/// Counts and logs the end of a delivery; an abandoned JetStream message is left for redelivery.
fn record(
    stats: &Stats,
    delivery: &Delivery,
    path: &str,
    lines: usize,
    body: &str,
    ack: Option<&Ack>,
) {
    match delivery {
        Delivery::Stored => Stats::add(&stats.forwarded, lines),
        Delivery::Rejected { status, error } => {
            Stats::add(&stats.rejected, lines);
            tracing::warn!(path, status, %error, body = %preview(body), "rejected by the app");
        }
        Delivery::Abandoned { reason } => {
            Stats::add(&stats.abandoned, lines);
            tracing::warn!(path, %reason, body = %preview(body), "given up");
            if let Some(ack) = ack {
                ack.keep_for_redelivery();
            }
        }
    }
}

/// The start of a body for a log line.
fn preview(body: &str) -> &str {
    match body.char_indices().nth(200) {
        Some((cut, _)) => &body[..cut],
        None => body,
    }
}

/// Collects metric messages of one subject into `/api/write` bodies: sent when `max_bytes` is
/// reached or `linger` after the first message of the batch.
async fn batch(
    mut queue: mpsc::Receiver<MetricMessage>,
    metric: MetricSubject,
    batching: Batching,
    app: Arc<App>,
    stats: Arc<Stats>,
) {
    // The query is passed as is: the app reads the raw value of `cluster=`.
    let path = if metric.cluster.is_empty() {
        "/api/write".to_owned()
    } else {
        format!("/api/write?cluster={}", metric.cluster)
    };
    while let Some(first) = queue.recv().await {
        let deadline = Instant::now() + batching.linger;
        let mut size = first.body.len();
        let mut messages = vec![first];
        while size < batching.max_bytes {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(message)) => {
                    size += message.body.len();
                    messages.push(message);
                }
                // Closed (shutdown) or lingered long enough: send what there is.
                Ok(None) | Err(_) => break,
            }
        }
        send_batch(&app, &stats, &path, messages).await;
    }
}

async fn send_batch(app: &App, stats: &Stats, path: &str, messages: Vec<MetricMessage>) {
    let request = |body: String| Request {
        path: path.to_owned(),
        content_type: "text/plain",
        body,
        retry_not_found: false,
    };
    let acks: Vec<Arc<Ack>> = messages.iter().filter_map(|m| m.ack.clone()).collect();
    let body: String = messages.iter().map(|m| m.body.as_str()).collect();
    let lines: usize = messages.iter().map(|m| m.lines).sum();
    let batch = request(body);
    let delivery = app.deliver(&batch, &acks).await;
    drop(acks);
    if messages.len() > 1 && matches!(delivery, Delivery::Rejected { .. }) {
        // The app stores nothing of a body with one bad line: find the message(s) at fault
        // instead of losing the whole batch.
        tracing::info!(
            path,
            messages = messages.len(),
            "batch rejected, sending its messages one by one"
        );
        for message in messages {
            let single = request(message.body);
            let delivery = app.deliver(&single, message.ack.as_slice()).await;
            record(
                stats,
                &delivery,
                path,
                message.lines,
                &single.body,
                message.ack.as_deref(),
            );
            release(message.ack).await;
        }
        return;
    }
    record(stats, &delivery, path, lines, &batch.body, None);
    for message in messages {
        if let (Delivery::Abandoned { .. }, Some(ack)) = (&delivery, &message.ack) {
            ack.keep_for_redelivery();
        }
        release(message.ack).await;
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards() {
        assert!(subject_matches("cc.job.event", "cc.job.event"));
        assert!(!subject_matches("cc.job.event", "cc.job.events"));
        assert!(subject_matches("cc.metrics.*", "cc.metrics.alex"));
        assert!(!subject_matches("cc.metrics.*", "cc.metrics.alex.x"));
        assert!(subject_matches("cc.>", "cc.metrics.alex.x"));
        assert!(!subject_matches("cc.>", "cc"));
        assert!(!subject_matches("a.b", "a"));
    }
}
