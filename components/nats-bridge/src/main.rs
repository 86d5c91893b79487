//! cc-nats-bridge: turns NATS messages into calls on the app's REST routes, which stay the single
//! code path for validation and storage (docs/nats-bridge.md).

mod config;
mod core_nats;
mod forward;
mod jetstream;
mod pipeline;
mod stats;
mod token;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::forward::{App, AppSettings};
use crate::pipeline::Pipeline;
use crate::stats::Stats;
use crate::token::TokenSource;

/// Longest pause between two attempts to reach NATS.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// How long shutdown waits to send the last acknowledgements.
const LAST_FLUSH_WAIT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let token = TokenSource::new(
        config.token.clone(),
        config.private_key.clone(),
        config.token_user.clone(),
    )?;
    let stats = Arc::new(Stats::default());
    let shutdown = CancellationToken::new();
    let settings = AppSettings {
        base_url: config.app_url.clone(),
        request_timeout: config.request_timeout,
        // JetStream keeps a failing message until the app answers; core NATS cannot wait forever.
        retry_for: config.jetstream.is_none().then_some(config.retry_for),
        stop_wait: config.stop_wait,
    };
    let app = Arc::new(App::new(settings, token, stats.clone(), shutdown.clone())?);

    let mut background = JoinSet::new();
    background.spawn(stats::log_periodically(
        stats.clone(),
        config.stats_interval,
        shutdown.clone(),
    ));
    if let Some(address) = config.health_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for /healthz"))?;
        background.spawn(stats::serve_health(
            listener,
            stats.clone(),
            shutdown.clone(),
        ));
    }
    background.spawn(cancel_on_signal(shutdown.clone()));

    let mut workers = JoinSet::new();
    let pipeline = Arc::new(Pipeline::start(&config, app, stats.clone(), &mut workers));
    let client = connect(&config).await?;
    tracing::warn!(
        "anyone allowed to publish on the bridge's subjects can start and stop jobs: restrict \
         them with NATS permissions"
    );
    match &config.jetstream {
        Some(stream) => {
            let settings = jetstream::Settings {
                stream: stream.clone(),
                consumer: config.queue_group.clone(),
                ack_wait: config.ack_wait,
                // Bounded in-flight work: what the queues hold, plus what is being sent.
                max_ack_pending: i64::from(config.concurrency)
                    * (i64::from(config.queue_capacity) + 1)
                    * 2,
            };
            jetstream::run(client.clone(), settings, pipeline, shutdown.clone()).await;
        }
        None => core_nats::run(
            client.clone(),
            config.queue_group.clone(),
            pipeline,
            shutdown.clone(),
        )
        .await
        .map_err(|error| anyhow::anyhow!("subscribing failed: {error}"))?,
    }

    // The subscriptions are gone: let the workers finish what they hold, then send the last acks.
    tracing::info!("shutting down: finishing in-flight calls");
    while workers.join_next().await.is_some() {}
    // Bounded: with NATS out of reach the flush would wait forever, and JetStream redelivers
    // whatever was not acknowledged.
    match tokio::time::timeout(LAST_FLUSH_WAIT, client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "flushing the last acknowledgements failed"),
        Err(_) => tracing::warn!("NATS is out of reach: the last acknowledgements are not sent"),
    }
    shutdown.cancel();
    while background.join_next().await.is_some() {}
    tracing::info!(stats = %stats.summary(), "stopped");
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<async_nats::Client> {
    let options = match (&config.nats_creds, &config.nats_user, &config.nats_password) {
        (Some(creds), _, _) => async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .with_context(|| format!("cannot read NATS credentials {}", creds.display()))?,
        (None, Some(user), Some(password)) => {
            async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        _ => async_nats::ConnectOptions::new(),
    };
    let client = options
        .name("cc-nats-bridge")
        // Reconnect forever: the bridge is useless without NATS and must outlive its restarts.
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(100)
                .saturating_mul(1u32 << attempts.min(6))
                .min(MAX_RECONNECT_DELAY)
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("disconnected from NATS; reconnecting")
                }
                other => tracing::info!(event = ?other, "NATS"),
            }
        })
        .connect(config.nats_url.as_str())
        .await
        .with_context(|| format!("cannot connect to NATS at {}", config.nats_url))?;
    Ok(client)
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM");
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        _ = shutdown.cancelled() => return,
    }
    tracing::info!("signal received");
    shutdown.cancel();
}
