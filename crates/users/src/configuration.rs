//! Per-user settings of the web UI in cc-backend's `configuration` table
//! (docs/nodes-users.md#user-settings).

use cc_store::{Sql, StoreError};

/// Stores `value` under `key` for `username`, replacing an earlier value. Neither is checked (the
/// UI stores JSON texts); a username without a `hpc_user` row fails the table's foreign key.
pub fn set_configuration(
    db: &dyn Sql,
    username: &str,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO configuration (username, confkey, value) VALUES (?, ?, ?) \
         ON CONFLICT (username, confkey) DO UPDATE SET value = excluded.value",
        &[username.into(), key.into(), value.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{add_user, delete_user, NewUser};
    use cc_store::native::NativeSql;
    use cc_store::Value;

    fn stored(db: &NativeSql) -> Vec<Vec<Value>> {
        db.execute(
            "SELECT username, confkey, value FROM configuration ORDER BY username, confkey",
            &[],
        )
        .unwrap()
        .rows
    }

    fn row(username: &str, key: &str, value: &str) -> Vec<Value> {
        vec![username.into(), key.into(), value.into()]
    }

    #[test]
    fn settings_are_upserted_per_user_and_go_with_the_user() {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        for username in ["alice", "bob"] {
            add_user(
                &db,
                &NewUser {
                    username: username.into(),
                    password: "pw".into(),
                    roles: vec!["user".into()],
                    ..NewUser::default()
                },
            )
            .unwrap();
        }
        set_configuration(&db, "alice", "plot_list_jobsPerPage", "10").unwrap();
        set_configuration(&db, "alice", "plot_list_jobsPerPage", "50").unwrap();
        set_configuration(&db, "alice", "", "").unwrap();
        set_configuration(&db, "bob", "plot_list_jobsPerPage", "[1]").unwrap();
        assert_eq!(
            stored(&db),
            [
                row("alice", "", ""),
                row("alice", "plot_list_jobsPerPage", "50"),
                row("bob", "plot_list_jobsPerPage", "[1]"),
            ]
        );

        let error = set_configuration(&db, "nobody", "key", "1").unwrap_err();
        assert_eq!(error.to_string(), "FOREIGN KEY constraint failed");

        assert!(delete_user(&db, "alice").unwrap());
        assert_eq!(stored(&db), [row("bob", "plot_list_jobsPerPage", "[1]")]);
    }
}
