//! Command line and environment: every flag can also come from the variable named in its help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

/// Forwards ClusterCockpit job events, node states and metric lines from NATS to the app's REST
/// API (`/api/jobs/start_job/`, `/api/jobs/stop_job/`, `/api/nodestate/`, `/api/write`).
#[derive(Debug, Parser)]
#[command(name = "cc-nats-bridge", version)]
pub struct Config {
    /// NATS server URL (several separated by commas).
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// NATS user name (used together with --nats-password).
    #[arg(long, env = "NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,
    /// NATS password (used together with --nats-user).
    #[arg(
        long,
        env = "NATS_PASSWORD",
        requires = "nats_user",
        hide_env_values = true
    )]
    pub nats_password: Option<String>,
    /// NATS credentials file (JWT + nkey seed), instead of user and password.
    #[arg(long, env = "NATS_CREDS", conflicts_with = "nats_user")]
    pub nats_creds: Option<PathBuf>,
    /// Base URL of the app (runner or Spin), without a trailing slash.
    #[arg(long, env = "CC_APP_URL", default_value = "http://127.0.0.1:3000")]
    pub app_url: String,
    /// Subject of job events (`job,function=start_job|stop_job event="<json>"`).
    #[arg(long, env = "CC_NATS_JOB_SUBJECT", default_value = "cc.job.event")]
    pub job_subject: String,
    /// Subject of node states (`nodestate event="<json>"`).
    #[arg(long, env = "CC_NATS_NODE_SUBJECT", default_value = "cc.node.state")]
    pub node_subject: String,
    /// A metric subject and the cluster of its lines that carry no `cluster` tag:
    /// `SUBJECT=CLUSTER` (or just `SUBJECT`). Repeatable.
    #[arg(long = "metrics", value_name = "SUBJECT[=CLUSTER]")]
    pub metrics: Vec<MetricSubject>,
    /// Queue group (core NATS) or durable consumer name (JetStream) shared by cooperating bridges.
    #[arg(long, env = "CC_NATS_QUEUE_GROUP", default_value = "cc-nats-bridge")]
    pub queue_group: String,
    /// Durable at-least-once mode: consume the subjects through this JetStream stream (created
    /// when missing) with a durable pull consumer, acknowledging only answered messages.
    #[arg(long, env = "CC_NATS_JETSTREAM", value_name = "STREAM")]
    pub jetstream: Option<String>,
    /// Ordered workers for job and node events; events of one job always go to the same worker.
    #[arg(long, env = "CC_NATS_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Events waiting per worker before the subscription stops reading (backpressure).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub queue_capacity: u16,
    /// API token sent to the app (roles must include `api`); otherwise one is minted.
    #[arg(long, env = "CC_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Private key (cc-backend's base64 format) the bridge mints its own tokens with.
    #[arg(long, env = "SPIN_VARIABLE_JWT_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
    /// User name (`sub` claim) of minted tokens; the app records it as the job's API user.
    #[arg(long, env = "CC_NATS_TOKEN_USER", default_value = "nats-bridge")]
    pub token_user: String,
    /// Timeout of one HTTP call to the app.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Core NATS mode: how long a failing call (5xx, timeout, connection error) is retried
    /// before the event is dropped. JetStream mode retries until the app answers.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub retry_for: Duration,
    /// How long a stop_job answered "job not found" is retried (its start may still be on its way).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub stop_wait: Duration,
    /// Largest `event` string accepted; longer ones are dropped.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_event_bytes: usize,
    /// A metric batch is sent when it reaches this size ...
    #[arg(long, default_value_t = 256 * 1024)]
    pub batch_bytes: usize,
    /// ... or this long after its first line arrived.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub batch_linger: Duration,
    /// JetStream: redelivery delay of a message that was not acknowledged (bridge crash).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub ack_wait: Duration,
    /// Interval of the stats log line; 0 disables it.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub stats_interval: Duration,
    /// Serve `GET /healthz` (liveness and counters as JSON) on this address.
    #[arg(long, env = "CC_NATS_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,
}

/// A `--metrics` value.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSubject {
    pub subject: String,
    /// Empty: lines without `cluster` tag get no default cluster.
    pub cluster: String,
}

#[derive(Debug, thiserror::Error)]
#[error("a metric subject must not be empty (expected SUBJECT[=CLUSTER])")]
pub struct EmptyMetricSubject;

impl FromStr for MetricSubject {
    type Err = EmptyMetricSubject;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (subject, cluster) = value.split_once('=').unwrap_or((value, ""));
        if subject.trim().is_empty() {
            return Err(EmptyMetricSubject);
        }
        Ok(MetricSubject {
            subject: subject.trim().to_owned(),
            cluster: cluster.trim().to_owned(),
        })
    }
}

/// Durations as `250ms`, `30s`, `5m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (e.g. 250ms, 30s, 5m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(format!("invalid duration unit in {text:?} (ms, s, m, h)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_subjects_carry_their_cluster() {
        let parsed: MetricSubject = "cc.metrics.alex=alex".parse().unwrap();
        assert_eq!(parsed.subject, "cc.metrics.alex");
        assert_eq!(parsed.cluster, "alex");
        let bare: MetricSubject = "m".parse().unwrap();
        assert_eq!(bare.cluster, "");
        assert!("=alex".parse::<MetricSubject>().is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn help_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
