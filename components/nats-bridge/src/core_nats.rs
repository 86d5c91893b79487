//! Core NATS mode: one queue subscription per subject, so the bridges of one queue group share
//! the messages and each message is handled by one of them. At most once: a message is lost if
//! no bridge is subscribed, or if the app fails for longer than `--retry-for`.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::pipeline::{Kind, Pipeline};

/// Subscribes to every subject, then consumes until shutdown.
pub async fn run(
    client: async_nats::Client,
    queue_group: String,
    pipeline: Arc<Pipeline>,
    shutdown: CancellationToken,
) -> Result<(), async_nats::Error> {
    let mut consumers = JoinSet::new();
    for (subject, kind) in pipeline.subjects().to_vec() {
        let subscriber = client
            .queue_subscribe(subject.clone(), queue_group.clone())
            .await?;
        consumers.spawn(consume(
            subscriber,
            subject,
            kind,
            pipeline.clone(),
            shutdown.clone(),
        ));
    }
    drop(pipeline);
    // Until NATS accepts the bridge (down, or refusing its credentials), a signal must still stop it.
    tokio::select! {
        subscribed = wait_until_subscribed(&client) => {
            subscribed?;
            tracing::info!(queue_group, "bridge ready (core NATS)");
        }
        _ = shutdown.cancelled() => {}
    }
    while consumers.join_next().await.is_some() {}
    Ok(())
}

async fn consume(
    mut subscriber: async_nats::Subscriber,
    subject: String,
    kind: Kind,
    pipeline: Arc<Pipeline>,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            message = subscriber.next() => message,
        };
        let Some(message) = message else { break };
        pipeline
            .handle(kind, message.subject.as_str(), &message.payload, None)
            .await;
    }
    if let Err(error) = subscriber.unsubscribe().await {
        tracing::debug!(subject, %error, "unsubscribe failed");
    }
}

/// Returns once the server has registered the subscriptions: it handles a connection's commands
/// in order, so a message published after them that comes back proves they are in place.
async fn wait_until_subscribed(client: &async_nats::Client) -> Result<(), async_nats::Error> {
    let inbox = client.new_inbox();
    let mut echo = client.subscribe(inbox.clone()).await?;
    client.publish(inbox, "ready".into()).await?;
    echo.next().await;
    Ok(())
}
