//! `cc-spin up`: serve a Spin application locally (see the library docs for what is supported).

use std::path::PathBuf;

use anyhow::Context;
use cc_spin::{Runner, UpOptions};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cc-spin", version, about = "Spin-compatible local runner")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the application
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// The application manifest (or a directory containing spin.toml)
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    from: PathBuf,
    /// The address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Directory for the application's state, relative to the manifest's directory [default: .spin]
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Run the components' build commands before starting
    #[arg(long)]
    build: bool,
    /// Environment variable KEY=VALUE for all components (repeatable)
    #[arg(short = 'e', long = "env", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Spin runtime configuration file: the key-value store on Redis, the SQLite file elsewhere
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                eprintln!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

fn up(args: UpArgs) -> anyhow::Result<()> {
    let options = UpOptions {
        manifest: args.from,
        listen: args.listen,
        state_dir: args.state_dir,
        build: args.build,
        env: args.env,
        runtime_config_file: args.runtime_config_file,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let runner = tokio::task::block_in_place(|| Runner::start(&options))?;
        runner
            .print_banner(&mut std::io::stdout().lock())
            .context("cannot write to stdout")?;
        runner.serve(shutdown_signal()).await?;
        Ok(())
    })
}

fn main() {
    let Command::Up(args) = Cli::parse().command;
    if let Err(error) = up(args) {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_env("KEY=a=b"),
            Ok(("KEY".to_owned(), "a=b".to_owned()))
        );
        assert_eq!(parse_env("EMPTY="), Ok(("EMPTY".to_owned(), String::new())));
        assert!(parse_env("NOVALUE").is_err());
        assert!(parse_env("=x").is_err());
    }

    #[test]
    fn up_flags_and_defaults_match_spin() {
        let Command::Up(args) = Cli::try_parse_from(["cc-spin", "up"]).unwrap().command;
        assert_eq!(args.from, PathBuf::from("spin.toml"));
        assert_eq!(args.listen, "127.0.0.1:3000");
        assert_eq!(args.state_dir, None);
        assert!(!args.build);
        let Command::Up(args) = Cli::try_parse_from([
            "cc-spin",
            "up",
            "-f",
            "app/spin.toml",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            "st",
            "--build",
            "--env",
            "A=1",
            "-e",
            "B=2",
        ])
        .unwrap()
        .command;
        assert_eq!(args.from, PathBuf::from("app/spin.toml"));
        assert_eq!(args.listen, "127.0.0.1:0");
        assert_eq!(args.state_dir, Some(PathBuf::from("st")));
        assert!(args.build);
        assert_eq!(
            args.env,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
        );
    }
}
