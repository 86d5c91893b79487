//! `cc-admin user`: local users in the deployment's SQLite database, through the same library the
//! `/api/users/` routes use (bcrypt passwords, cc-backend's checks).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use cc_store::native::NativeSql;
use cc_users::{NewUser, UserRecord};

use crate::token::parse_roles;

#[derive(clap::Args)]
pub struct Args {
    /// The SQLite database (the runner's is `<state dir>/sqlite_db.db`).
    #[arg(
        long,
        global = true,
        default_value = ".spin/sqlite_db.db",
        value_name = "PATH"
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a local user (the database is created if missing).
    Add(AddArgs),
    /// List all users, one per line: username, roles, projects, name, email (tab-separated).
    List,
    /// Set a user's password, read from standard input unless --password is given.
    Passwd {
        /// Username.
        username: String,
        /// The new password (standard input keeps it out of the shell history and process list).
        #[arg(long)]
        password: Option<String>,
    },
    /// Delete a user (their stored UI configuration goes with them).
    Delete {
        /// Username.
        username: String,
    },
}

#[derive(clap::Args)]
struct AddArgs {
    /// Username (1 to 100 bytes).
    #[arg(value_name = "NAME")]
    username: String,
    /// Comma-separated roles out of api, user, manager, support, admin.
    #[arg(long)]
    roles: String,
    /// Password for logging in; may be left out only for users with the `api` role.
    #[arg(long, default_value = "")]
    password: String,
    /// A project the user manages (repeatable; managers need at least one, others none).
    #[arg(long = "project", value_name = "PROJECT")]
    projects: Vec<String>,
    /// Display name.
    #[arg(long = "name", default_value = "")]
    display_name: String,
    #[arg(long, default_value = "")]
    email: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Add(add) => {
            let db = open(&args.db)?;
            let user = NewUser {
                username: add.username,
                password: add.password,
                roles: parse_roles(&add.roles)?,
                projects: add.projects,
                name: add.display_name,
                email: add.email,
            };
            cc_users::add_user(&db, &user)
                .with_context(|| format!("adding user {} failed", user.username))?;
            println!("User {} successfully created!", user.username);
        }
        Command::List => {
            let db = open_existing(&args.db)?;
            for user in cc_users::list_users(&db, false)? {
                println!("{}", list_line(&user));
            }
        }
        Command::Passwd { username, password } => {
            let password = match password {
                Some(password) => password,
                None => password_from_stdin()?,
            };
            let db = open_existing(&args.db)?;
            if !cc_users::set_password(&db, &username, &password)
                .with_context(|| format!("changing the password of {username} failed"))?
            {
                bail!("no user named {username:?}");
            }
            println!("Password of {username} changed");
        }
        Command::Delete { username } => {
            let db = open_existing(&args.db)?;
            if !cc_users::delete_user(&db, &username)? {
                bail!("no user named {username:?}");
            }
            println!("User {username} deleted");
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

fn open(path: &Path) -> anyhow::Result<NativeSql> {
    let db = NativeSql::open(path)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    cc_store::migrate(&db)
        .with_context(|| format!("cannot migrate database {}", path.display()))?;
    Ok(db)
}

/// Listing or deleting in a database that does not exist is a mistake (wrong `--db` or working
/// directory), not an empty result.
fn open_existing(path: &Path) -> anyhow::Result<NativeSql> {
    if !path.is_file() {
        bail!(
            "database {} does not exist (pass --db <state dir>/sqlite_db.db)",
            path.display()
        );
    }
    open(path)
}

fn list_line(user: &UserRecord) -> String {
    let list = |items: &Option<Vec<String>>| items.as_deref().unwrap_or_default().join(",");
    [
        user.username.clone(),
        list(&user.roles),
        list(&user.projects),
        user.name.clone().unwrap_or_default(),
        user.email.clone().unwrap_or_default(),
    ]
    .join("\t")
}
