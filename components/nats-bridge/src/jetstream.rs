//! Durable mode: a JetStream stream over the bridge's subjects and a durable pull consumer shared
//! by every bridge with the same `--queue-group`. A message is acknowledged only after all its
//! events were answered by the app (stored or definitively rejected); one that was abandoned, or
//! whose bridge died, is redelivered after `--ack-wait`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy};
use async_nats::jetstream::{self, stream, AckKind};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::pipeline::Pipeline;

/// A JetStream message being processed, shared by the events decoded from it.
pub struct Ack {
    message: jetstream::Message,
    /// Set when one of its events was given up: the message must be redelivered, not acked.
    redeliver: AtomicBool,
}

impl Ack {
    pub fn new(message: jetstream::Message) -> Arc<Ack> {
        Arc::new(Ack {
            message,
            redeliver: AtomicBool::new(false),
        })
    }

    /// Tells the server the message is still being worked on (retries), delaying redelivery.
    pub async fn in_progress(&self) {
        if let Err(error) = self.message.ack_with(AckKind::Progress).await {
            tracing::debug!(%error, "progress acknowledgement failed");
        }
    }

    /// How often the server has delivered this message (1 the first time).
    pub fn deliveries(&self) -> i64 {
        self.message.info().map(|info| info.delivered).unwrap_or(1)
    }

    pub fn keep_for_redelivery(&self) {
        self.redeliver.store(true, Ordering::Relaxed);
    }
}

/// Drops one holder of a message; the last one acknowledges it (unless it must be redelivered).
pub async fn release(ack: Option<Arc<Ack>>) {
    let Some(ack) = ack.and_then(Arc::into_inner) else {
        return;
    };
    if ack.redeliver.load(Ordering::Relaxed) {
        return;
    }
    if let Err(error) = ack.message.ack().await {
        tracing::warn!(%error, "acknowledgement failed; the message will be redelivered");
    }
}

pub struct Settings {
    pub stream: String,
    pub consumer: String,
    pub ack_wait: Duration,
    /// Messages handed out and not yet acknowledged, across all bridges of the consumer.
    pub max_ack_pending: i64,
}

/// Pause before setting up the stream or consumer again after a failure.
const SETUP_RETRY: Duration = Duration::from_secs(2);

/// Consumes until shutdown.
pub async fn run(
    client: async_nats::Client,
    settings: Settings,
    pipeline: Arc<Pipeline>,
    shutdown: CancellationToken,
) {
    let context = jetstream::new(client);
    let subjects: Vec<String> = pipeline
        .subjects()
        .iter()
        .map(|(subject, _)| subject.clone())
        .collect();
    let mut announced = false;
    while !shutdown.is_cancelled() {
        let consumer = match consumer(&context, &settings, subjects.clone()).await {
            Ok(consumer) => consumer,
            Err(error) => {
                tracing::warn!(%error, stream = settings.stream, "JetStream setup failed; retrying");
                pause(&shutdown).await;
                continue;
            }
        };
        let mut messages = match consumer.messages().await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!(%error, "JetStream pull failed; retrying");
                pause(&shutdown).await;
                continue;
            }
        };
        if !announced {
            tracing::info!(
                stream = settings.stream,
                consumer = settings.consumer,
                "bridge ready (JetStream)"
            );
            announced = true;
        }
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    let subject = message.subject.to_string();
                    let payload = message.payload.clone();
                    match pipeline.kind_of(&subject) {
                        Some(kind) => {
                            pipeline
                                .handle(kind, &subject, &payload, Some(Ack::new(message)))
                                .await
                        }
                        None => {
                            tracing::warn!(
                                subject,
                                "message on a subject the bridge does not serve"
                            );
                            release(Some(Ack::new(message))).await;
                        }
                    }
                }
                // Missed heartbeats while NATS restarts and the like: the stream goes on.
                Some(Err(error)) => tracing::warn!(%error, "JetStream consumer"),
                None => break,
            }
        }
    }
}

async fn pause(shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(SETUP_RETRY) => {}
    }
}

async fn consumer(
    context: &jetstream::Context,
    settings: &Settings,
    subjects: Vec<String>,
) -> Result<jetstream::consumer::Consumer<pull::Config>, async_nats::Error> {
    let stream = context
        .get_or_create_stream(stream::Config {
            name: settings.stream.clone(),
            subjects,
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .get_or_create_consumer(
            &settings.consumer,
            pull::Config {
                durable_name: Some(settings.consumer.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_ack_pending: settings.max_ack_pending,
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer)
}
