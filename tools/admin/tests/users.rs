//! Runs `cc-admin user …` end to end on a temporary database.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cc_store::native::NativeSql;

fn cc_admin(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cc-admin"))
        .arg("user")
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap()
}

fn succeed(db: &Path, args: &[&str]) -> String {
    let output = cc_admin(db, args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn fail(db: &Path, args: &[&str]) -> String {
    let output = cc_admin(db, args);
    assert!(!output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn adds_lists_and_deletes_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state/sqlite_db.db");
    assert_eq!(
        succeed(
            &db,
            &[
                "add",
                "alice",
                "--roles",
                "admin,api",
                "--password",
                "s3cret",
                "--name",
                "Alice A.",
                "--email",
                "a@example.com"
            ],
        ),
        "User alice successfully created!\n"
    );
    succeed(&db, &["add", "robot", "--roles", "api"]);
    succeed(
        &db,
        &[
            "add",
            "boss",
            "--roles",
            "manager,user",
            "--password",
            "x",
            "--project",
            "p1",
            "--project",
            "p2",
        ],
    );
    assert_eq!(
        succeed(&db, &["list"]),
        "alice\tadmin,api\t\tAlice A.\ta@example.com\n\
         robot\tapi\t\t\t\n\
         boss\tmanager,user\tp1,p2\t\t\n"
    );

    let conn = NativeSql::open(&db).unwrap();
    let alice = cc_users::get_user(&conn, "alice").unwrap();
    let hash = alice.password.unwrap();
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    assert!(cc_users::verify_password("s3cret", &hash));
    assert_eq!(cc_users::get_user(&conn, "robot").unwrap().password, None);

    assert_eq!(succeed(&db, &["delete", "robot"]), "User robot deleted\n");
    let missing = fail(&db, &["delete", "robot"]);
    assert!(missing.contains(r#"no user named "robot""#), "{missing}");
    assert_eq!(
        succeed(&db, &["list"])
            .lines()
            .map(|line| line.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["alice", "boss"]
    );
}

#[test]
fn invalid_users_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sqlite_db.db");
    succeed(
        &db,
        &["add", "alice", "--roles", "user", "--password", "pw"],
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["add", "alice", "--roles", "user", "--password", "pw"],
            "UNIQUE constraint failed: hpc_user.username",
        ),
        (
            &["add", "bob", "--roles", "Admin", "--password", "pw"],
            r#"unknown role "Admin""#,
        ),
        (
            &["add", "bob", "--roles", "anonymous", "--password", "pw"],
            "supplied role is no valid option : anonymous",
        ),
        (
            &["add", "bob", "--roles", "", "--password", "pw"],
            "a user needs at least one role",
        ),
        (
            &["add", "bob", "--roles", "user"],
            "only API users are allowed to have a blank password",
        ),
        (
            &["add", "bob", "--roles", "manager", "--password", "pw"],
            "managers require a project to manage",
        ),
        (
            &[
                "add",
                "bob",
                "--roles",
                "user",
                "--password",
                "pw",
                "--project",
                "p",
            ],
            "only managers require a project",
        ),
    ];
    for (args, expected) in cases {
        let error = fail(&db, args);
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    assert_eq!(succeed(&db, &["list"]), "alice\tuser\t\t\t\n");
}

#[test]
fn changes_passwords_from_the_flag_or_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sqlite_db.db");
    succeed(
        &db,
        &["add", "alice", "--roles", "user", "--password", "old"],
    );
    let stored = || {
        let conn = NativeSql::open(&db).unwrap();
        cc_users::get_user(&conn, "alice")
            .unwrap()
            .password
            .unwrap()
    };

    assert_eq!(
        succeed(&db, &["passwd", "alice", "--password", "flag pass"]),
        "Password of alice changed\n"
    );
    assert!(cc_users::verify_password("flag pass", &stored()));
    assert!(!cc_users::verify_password("old", &stored()));

    let mut child = Command::new(env!("CARGO_BIN_EXE_cc-admin"))
        .args(["user", "passwd", "alice", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert!(cc_users::verify_password("from stdin", &stored()));

    let empty = fail(&db, &["passwd", "alice", "--password", ""]);
    assert!(empty.contains("the new password is empty"), "{empty}");
    let missing = fail(&db, &["passwd", "bob", "--password", "x"]);
    assert!(missing.contains(r#"no user named "bob""#), "{missing}");
    assert!(cc_users::verify_password("from stdin", &stored()));
}

#[test]
fn listing_a_missing_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nowhere.db");
    let error = fail(&db, &["list"]);
    assert!(error.contains("does not exist"), "{error}");
    assert!(fail(&db, &["delete", "x"]).contains("does not exist"));
    assert!(!db.exists());
}
