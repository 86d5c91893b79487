//! `cc-admin keygen`: a fresh key pair and session key as sourceable `SPIN_VARIABLE_*` lines.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::Context;

use crate::{PRIVATE_KEY_VARIABLE, PUBLIC_KEY_VARIABLE, SESSION_KEY_VARIABLE};

#[derive(clap::Args)]
pub struct Args {
    /// Write the lines to this new file (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (public, private) = cc_auth::generate_key_pair();
    let session_key = cc_auth::session::SessionKey::generate_base64()?;
    let lines = format!(
        "{PUBLIC_KEY_VARIABLE}={public}\n{PRIVATE_KEY_VARIABLE}={private}\n\
         {SESSION_KEY_VARIABLE}={session_key}\n"
    );
    match args.out {
        None => print!("{lines}"),
        Some(path) => {
            // create_new: never overwrite an existing key silently.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot create key file {}", path.display()))?;
            file.write_all(lines.as_bytes())
                .with_context(|| format!("cannot write key file {}", path.display()))?;
            eprintln!("wrote keys to {}", path.display());
        }
    }
    Ok(())
}
