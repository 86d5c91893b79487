//! `cc-admin`: administration tasks for a cc-spin deployment.

mod keygen;
mod token;
mod user;

use clap::{Parser, Subcommand};

/// Spin reads application variables from `SPIN_VARIABLE_<NAME>` environment variables.
const PUBLIC_KEY_VARIABLE: &str = "SPIN_VARIABLE_JWT_PUBLIC_KEY";
const PRIVATE_KEY_VARIABLE: &str = "SPIN_VARIABLE_JWT_PRIVATE_KEY";
const SESSION_KEY_VARIABLE: &str = "SPIN_VARIABLE_SESSION_KEY";
/// The reference's variable name, accepted as a fallback.
const LEGACY_PRIVATE_KEY_VARIABLE: &str = "JWT_PRIVATE_KEY";

#[derive(Parser)]
#[command(name = "cc-admin", version, about = "Administration CLI for cc-spin")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 key pair for signing and verifying API tokens, and a session cookie key.
    Keygen(keygen::Args),
    /// Mint an API token (JWT) for a user.
    Token(token::Args),
    /// Manage local users in the SQLite database.
    User(user::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen(args) => keygen::run(args),
        Command::Token(args) => token::run(args),
        Command::User(args) => user::run(args),
    }
}
