//! Users in cc-backend's `hpc_user` table (docs/nodes-users.md#users).
//!
//! The `roles` and `projects` columns hold JSON lists; cc-backend writes them as TEXT or BLOB and
//! after removing the last role even as the text `null`. They are read in every form and always
//! written as TEXT, and a removed last role leaves `[]` (docs/compatibility.md#role-lists-are-normalised).

use cc_auth::Role;
use cc_gocompat::quote;
use cc_store::{in_transaction, Sql, StoreError, Value};

use crate::password::{hash_password, HashError};

/// The longest username cc-backend accepts, in bytes.
const MAX_USERNAME_BYTES: usize = 100;

/// Auth source of users created here (the `ldap` column): local.
const LOCAL_AUTH_SOURCE: i64 = 0;

const USER_COLUMNS: &str =
    "SELECT username, password, ldap, name, roles, email, projects FROM hpc_user";

/// One row of `hpc_user`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub username: String,
    /// bcrypt hash; `None` for users that cannot log in with a password.
    pub password: Option<String>,
    /// 0 local, 1 LDAP, 2 token, 3 OIDC (column `ldap`).
    pub auth_source: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    /// `None` when the column holds the JSON text `null`.
    pub roles: Option<Vec<String>>,
    pub projects: Option<Vec<String>>,
}

impl UserRecord {
    fn roles(&self) -> &[String] {
        self.roles.as_deref().unwrap_or_default()
    }

    fn projects(&self) -> &[String] {
        self.projects.as_deref().unwrap_or_default()
    }

    fn has_role(&self, role: Role) -> bool {
        self.roles().iter().any(|held| held == role.as_str())
    }

    /// A user with more than the plain `user` role: what `not-just-user=true` lists. cc-backend
    /// compares the stored text with `["user"]` and `[]`, which misses BLOB-stored and differently
    /// spelled lists; this compares the parsed list, and a `null` list counts as empty.
    pub fn is_special(&self) -> bool {
        match self.roles() {
            [] => false,
            [only] => only != Role::User.as_str(),
            _ => true,
        }
    }
}

/// A user to create (docs/nodes-users.md#creating-users).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewUser {
    pub username: String,
    /// Stored as a bcrypt hash; empty means no password (only allowed for `api` users).
    pub password: String,
    pub roles: Vec<String>,
    pub projects: Vec<String>,
    /// Stored as NULL when empty, like cc-backend does.
    pub name: String,
    pub email: String,
}

/// One role or project change of `POST /api/user/{id}` (docs/nodes-users.md#role-and-project-updates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdate {
    AddRole(String),
    RemoveRole(String),
    AddProject(String),
    RemoveProject(String),
}

/// Why a user operation failed; the texts are cc-backend's (docs/nodes-users.md#users).
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("sql: no rows in result set")]
    NoSuchUser,
    #[error("supplied role is no valid option : {0}")]
    InvalidRole(String),
    #[error("user {username} already has role {role}")]
    RoleAlreadyHeld { username: String, role: String },
    #[error("role already deleted for user '{username}': {role}")]
    RoleNotHeld { username: String, role: String },
    #[error(
        "cannot remove role 'manager' while user {username} still has assigned project(s) : [{}]",
        projects.join(" ")
    )]
    ManagerStillHasProjects {
        username: String,
        projects: Vec<String>,
    },
    #[error("user '{0}' is not a manager")]
    NotManager(String),
    #[error("user '{username}' already manages project '{project}'")]
    ProjectAlreadyManaged { username: String, project: String },
    #[error("user {} is not a manager", quote(.0))]
    NotManagerOfAnyProject(String),
    #[error(
        "user {}: Cannot remove project {} - Does not match",
        quote(username),
        quote(project)
    )]
    ProjectNotManaged { username: String, project: String },
    #[error("username must be between 1 and 100 characters")]
    UsernameLength,
    #[error("a user needs at least one role")]
    NoRoles,
    #[error("only API users are allowed to have a blank password (login will be impossible)")]
    BlankPassword,
    #[error("the new password is empty")]
    EmptyPassword,
    #[error("only managers require a project (can be changed later)")]
    ProjectWithoutManagerRole,
    #[error("managers require a project to manage (can be changed later)")]
    ManagerWithoutProject,
    #[error("column {column} of user {username} is not a JSON list of strings: {message}")]
    CorruptList {
        username: String,
        column: &'static str,
        message: String,
    },
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn text_column(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn list_column(
    username: &str,
    column: &'static str,
    value: Option<&Value>,
) -> Result<Option<Vec<String>>, UserError> {
    let Some(text) = value.and_then(Value::as_str) else {
        return Ok(None);
    };
    serde_json::from_str(text).map_err(|error| UserError::CorruptList {
        username: username.to_owned(),
        column,
        message: error.to_string(),
    })
}

fn user_from_row(row: &[Value]) -> Result<UserRecord, UserError> {
    let username = text_column(row.first()).unwrap_or_default();
    Ok(UserRecord {
        password: text_column(row.get(1)),
        auth_source: row.get(2).and_then(Value::as_i64).unwrap_or_default(),
        name: text_column(row.get(3)),
        roles: list_column(&username, "roles", row.get(4))?,
        email: text_column(row.get(5)),
        projects: list_column(&username, "projects", row.get(6))?,
        username,
    })
}

/// A JSON list as cc-backend writes it (`json.Marshal`: compact, HTML-safe escapes).
fn list_text(list: &[String]) -> String {
    let mut json = cc_gocompat::to_go_json(list).expect("a list of strings always encodes");
    json.pop(); // the encoder's trailing newline
    String::from_utf8(json).expect("JSON is UTF-8")
}

/// Every user in table order; with `special_only` only those with more than the plain `user`
/// role ([`UserRecord::is_special`]).
pub fn list_users(db: &dyn Sql, special_only: bool) -> Result<Vec<UserRecord>, UserError> {
    let result = db.execute(&format!("{USER_COLUMNS} ORDER BY rowid"), &[])?;
    let mut users = Vec::with_capacity(result.rows.len());
    for row in &result.rows {
        let user = user_from_row(row)?;
        if !special_only || user.is_special() {
            users.push(user);
        }
    }
    Ok(users)
}

pub fn get_user(db: &dyn Sql, username: &str) -> Result<UserRecord, UserError> {
    let result = db.execute(
        &format!("{USER_COLUMNS} WHERE username = ?"),
        &[username.into()],
    )?;
    result
        .rows
        .first()
        .map_or(Err(UserError::NoSuchUser), |row| user_from_row(row))
}

/// The roles a user can be given, in enum order: every role but `anonymous`.
pub fn assignable_roles() -> impl Iterator<Item = Role> {
    Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Anonymous)
}

fn assignable_role(name: &str) -> bool {
    assignable_roles().any(|role| role.as_str() == name)
}

impl NewUser {
    /// cc-backend's checks for a new user (docs/nodes-users.md#creating-users), with roles restricted to the
    /// assignable ones (`anonymous` and unknown names are refused: the recommendation).
    pub fn validate(&self) -> Result<(), UserError> {
        if !(1..=MAX_USERNAME_BYTES).contains(&self.username.len()) {
            return Err(UserError::UsernameLength);
        }
        if self.roles.is_empty() {
            return Err(UserError::NoRoles);
        }
        if let Some(invalid) = self.roles.iter().find(|role| !assignable_role(role)) {
            return Err(UserError::InvalidRole(invalid.clone()));
        }
        let holds = |role: Role| self.roles.iter().any(|held| held == role.as_str());
        if self.password.is_empty() && !holds(Role::Api) {
            return Err(UserError::BlankPassword);
        }
        match (self.projects.is_empty(), holds(Role::Manager)) {
            (false, false) => Err(UserError::ProjectWithoutManagerRole),
            (true, true) => Err(UserError::ManagerWithoutProject),
            _ => Ok(()),
        }
    }
}

/// Creates a local user after [`NewUser::validate`]. A taken username fails with SQLite's
/// `UNIQUE constraint failed: hpc_user.username`, as in cc-backend.
pub fn add_user(db: &dyn Sql, user: &NewUser) -> Result<(), UserError> {
    user.validate()?;
    let optional = |text: &str| {
        if text.is_empty() {
            Value::Null
        } else {
            Value::from(text)
        }
    };
    let password = if user.password.is_empty() {
        Value::Null
    } else {
        Value::from(hash_password(&user.password)?)
    };
    db.execute(
        "INSERT INTO hpc_user (username, password, ldap, name, roles, email, projects) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[
            user.username.as_str().into(),
            password,
            LOCAL_AUTH_SOURCE.into(),
            optional(&user.name),
            list_text(&user.roles).into(),
            optional(&user.email),
            list_text(&user.projects).into(),
        ],
    )?;
    Ok(())
}

/// Replaces a user's password with the bcrypt hash of `password`; false when there is no such
/// user. An empty password is refused: only `add_user` creates users without one.
pub fn set_password(db: &dyn Sql, username: &str, password: &str) -> Result<bool, UserError> {
    if password.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    db.execute(
        "UPDATE hpc_user SET password = ? WHERE username = ?",
        &[Value::from(hash_password(password)?), username.into()],
    )?;
    Ok(db.changes() > 0)
}

/// Deletes a user (their `configuration` rows cascade); false when there was none.
pub fn delete_user(db: &dyn Sql, username: &str) -> Result<bool, UserError> {
    db.execute(
        "DELETE FROM hpc_user WHERE username = ?",
        &[username.into()],
    )?;
    Ok(db.changes() > 0)
}

/// The new content of one list column.
#[derive(Debug, PartialEq)]
enum ListChange {
    Roles(Vec<String>),
    Projects(Vec<String>),
}

fn without(list: &[String], removed: &str) -> Vec<String> {
    list.iter()
        .filter(|item| *item != removed)
        .cloned()
        .collect()
}

impl UserUpdate {
    /// The change this update makes to `user`, or why it is refused (docs/nodes-users.md#role-and-project-updates: roles are
    /// lower-cased and must be one of the six role names, `anonymous` included; projects are
    /// case-sensitive and unchecked; removing drops every copy).
    fn change_for(&self, user: &UserRecord) -> Result<ListChange, UserError> {
        let username = || user.username.clone();
        match self {
            UserUpdate::AddRole(role) => {
                let role = role.to_lowercase();
                if Role::from_name(&role).is_none() {
                    return Err(UserError::InvalidRole(role));
                }
                if user.roles().contains(&role) {
                    return Err(UserError::RoleAlreadyHeld {
                        username: username(),
                        role,
                    });
                }
                let mut roles = user.roles().to_vec();
                roles.push(role);
                Ok(ListChange::Roles(roles))
            }
            UserUpdate::RemoveRole(role) => {
                let role = role.to_lowercase();
                if Role::from_name(&role).is_none() {
                    return Err(UserError::InvalidRole(role));
                }
                if role == Role::Manager.as_str() && !user.projects().is_empty() {
                    return Err(UserError::ManagerStillHasProjects {
                        username: username(),
                        projects: user.projects().to_vec(),
                    });
                }
                if !user.roles().contains(&role) {
                    return Err(UserError::RoleNotHeld {
                        username: username(),
                        role,
                    });
                }
                Ok(ListChange::Roles(without(user.roles(), &role)))
            }
            UserUpdate::AddProject(project) => {
                if !user.has_role(Role::Manager) {
                    return Err(UserError::NotManager(username()));
                }
                if user.projects().contains(project) {
                    return Err(UserError::ProjectAlreadyManaged {
                        username: username(),
                        project: project.clone(),
                    });
                }
                let mut projects = user.projects().to_vec();
                projects.push(project.clone());
                Ok(ListChange::Projects(projects))
            }
            UserUpdate::RemoveProject(project) => {
                if !user.has_role(Role::Manager) {
                    return Err(UserError::NotManagerOfAnyProject(username()));
                }
                if !user.projects().contains(project) {
                    return Err(UserError::ProjectNotManaged {
                        username: username(),
                        project: project.clone(),
                    });
                }
                Ok(ListChange::Projects(without(user.projects(), project)))
            }
        }
    }
}

/// Applies one role or project change in a write transaction, so concurrent updates of the same
/// user never lose each other's changes.
pub fn update_user(db: &dyn Sql, username: &str, update: &UserUpdate) -> Result<(), UserError> {
    in_transaction(db, || {
        let user = get_user(db, username)?;
        let (statement, list) = match update.change_for(&user)? {
            ListChange::Roles(roles) => ("UPDATE hpc_user SET roles = ? WHERE username = ?", roles),
            ListChange::Projects(projects) => (
                "UPDATE hpc_user SET projects = ? WHERE username = ?",
                projects,
            ),
        };
        db.execute(statement, &[list_text(&list).into(), username.into()])?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_store::native::NativeSql;

    fn database() -> NativeSql {
        let db = NativeSql::open_in_memory().unwrap();
        cc_store::migrate(&db).unwrap();
        db
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    fn new_user(username: &str, roles: &[&str], projects: &[&str]) -> NewUser {
        NewUser {
            username: username.into(),
            password: "pw".into(),
            roles: strings(roles),
            projects: strings(projects),
            ..NewUser::default()
        }
    }

    /// Inserts a row the way cc-backend may have left it (BLOB lists, `null`).
    fn insert_raw(db: &NativeSql, username: &str, roles: Value, projects: Value) {
        db.execute(
            "INSERT INTO hpc_user (username, roles, projects) VALUES (?, ?, ?)",
            &[username.into(), roles, projects],
        )
        .unwrap();
    }

    fn raw_lists(db: &NativeSql, username: &str) -> (Value, Value) {
        let result = db
            .execute(
                "SELECT roles, projects FROM hpc_user WHERE username = ?",
                &[username.into()],
            )
            .unwrap();
        let row = result.rows[0].clone();
        (row[0].clone(), row[1].clone())
    }

    #[test]
    fn creates_users_with_hashed_password_and_null_optionals() {
        let db = database();
        let mut alice = new_user("alice", &["admin", "api"], &[]);
        alice.name = "Alice A.".into();
        add_user(&db, &alice).unwrap();
        add_user(
            &db,
            &NewUser {
                password: String::new(),
                ..new_user("robot", &["api"], &[])
            },
        )
        .unwrap();

        let stored = get_user(&db, "alice").unwrap();
        assert_eq!(stored.name.as_deref(), Some("Alice A."));
        assert_eq!(stored.email, None);
        assert_eq!(stored.roles, Some(strings(&["admin", "api"])));
        assert_eq!(stored.projects, Some(vec![]));
        assert_eq!(stored.auth_source, 0);
        let hash = stored.password.unwrap();
        assert!(crate::verify_password("pw", &hash), "{hash}");
        assert_eq!(get_user(&db, "robot").unwrap().password, None);
        assert_eq!(
            raw_lists(&db, "alice"),
            (
                Value::Text(r#"["admin","api"]"#.into()),
                Value::Text("[]".into())
            )
        );

        let duplicate = add_user(&db, &alice).unwrap_err();
        assert_eq!(
            duplicate.to_string(),
            "UNIQUE constraint failed: hpc_user.username"
        );
    }

    #[test]
    fn new_users_are_checked_in_reference_order() {
        let cases: Vec<(NewUser, &str)> = vec![
            (
                new_user("", &["user"], &[]),
                "username must be between 1 and 100 characters",
            ),
            (
                new_user(&"x".repeat(101), &["user"], &[]),
                "username must be between 1 and 100 characters",
            ),
            (new_user("a", &[], &[]), "a user needs at least one role"),
            (
                new_user("a", &["user", "Admin"], &[]),
                "supplied role is no valid option : Admin",
            ),
            (
                new_user("a", &["anonymous"], &[]),
                "supplied role is no valid option : anonymous",
            ),
            (
                NewUser {
                    password: String::new(),
                    ..new_user("a", &["user"], &[])
                },
                "only API users are allowed to have a blank password (login will be impossible)",
            ),
            (
                new_user("a", &["user"], &["p1"]),
                "only managers require a project (can be changed later)",
            ),
            (
                new_user("a", &["manager"], &[]),
                "managers require a project to manage (can be changed later)",
            ),
        ];
        let db = database();
        for (user, message) in cases {
            assert_eq!(add_user(&db, &user).unwrap_err().to_string(), message);
        }
        assert!(list_users(&db, false).unwrap().is_empty());
        assert!(new_user(&"x".repeat(100), &["manager"], &["p"])
            .validate()
            .is_ok());
    }

    #[test]
    fn lists_in_table_order_and_filters_special_users_by_parsed_roles() {
        let db = database();
        insert_raw(
            &db,
            "plain",
            Value::Text(r#"["user"]"#.into()),
            Value::Text("[]".into()),
        );
        insert_raw(
            &db,
            "blob-plain",
            Value::Blob(br#"[ "user" ]"#.to_vec()),
            Value::Blob(b"[]".to_vec()),
        );
        insert_raw(
            &db,
            "none",
            Value::Text("null".into()),
            Value::Text("[]".into()),
        );
        insert_raw(
            &db,
            "empty",
            Value::Text("[]".into()),
            Value::Text("[]".into()),
        );
        insert_raw(
            &db,
            "boss",
            Value::Blob(br#"["manager","user"]"#.to_vec()),
            Value::Text(r#"["p1"]"#.into()),
        );
        insert_raw(
            &db,
            "robot",
            Value::Text(r#"["api"]"#.into()),
            Value::Text("[]".into()),
        );

        let names = |users: Vec<UserRecord>| -> Vec<String> {
            users.into_iter().map(|user| user.username).collect()
        };
        assert_eq!(
            names(list_users(&db, false).unwrap()),
            ["plain", "blob-plain", "none", "empty", "boss", "robot"]
        );
        assert_eq!(names(list_users(&db, true).unwrap()), ["boss", "robot"]);
        let boss = get_user(&db, "boss").unwrap();
        assert_eq!(boss.roles, Some(strings(&["manager", "user"])));
        assert_eq!(boss.projects, Some(strings(&["p1"])));
        assert_eq!(get_user(&db, "none").unwrap().roles, None);
    }

    #[test]
    fn corrupt_lists_are_reported() {
        let db = database();
        insert_raw(
            &db,
            "bad",
            Value::Text("[1]".into()),
            Value::Text("[]".into()),
        );
        let error = list_users(&db, false).unwrap_err().to_string();
        assert!(
            error.starts_with("column roles of user bad is not a JSON list of strings"),
            "{error}"
        );
    }

    #[test]
    fn deletes_users() {
        let db = database();
        add_user(&db, &new_user("alice", &["user"], &[])).unwrap();
        assert!(delete_user(&db, "alice").unwrap());
        assert!(!delete_user(&db, "alice").unwrap());
        assert!(matches!(get_user(&db, "alice"), Err(UserError::NoSuchUser)));
    }

    fn refused(db: &NativeSql, username: &str, update: UserUpdate) -> String {
        update_user(db, username, &update).unwrap_err().to_string()
    }

    #[test]
    fn role_changes_follow_the_reference_rules() {
        let db = database();
        add_user(&db, &new_user("alice", &["user"], &[])).unwrap();
        let roles = || get_user(&db, "alice").unwrap().roles.unwrap();

        update_user(&db, "alice", &UserUpdate::AddRole("API".into())).unwrap();
        assert_eq!(roles(), ["user", "api"]);
        assert_eq!(
            refused(&db, "alice", UserUpdate::AddRole("api".into())),
            "user alice already has role api"
        );
        assert_eq!(
            refused(&db, "alice", UserUpdate::AddRole("Root".into())),
            "supplied role is no valid option : root"
        );
        update_user(&db, "alice", &UserUpdate::AddRole("anonymous".into())).unwrap();
        update_user(&db, "alice", &UserUpdate::RemoveRole("Anonymous".into())).unwrap();
        assert_eq!(
            refused(&db, "alice", UserUpdate::RemoveRole("admin".into())),
            "role already deleted for user 'alice': admin"
        );
        assert_eq!(
            refused(&db, "alice", UserUpdate::RemoveRole("boss".into())),
            "supplied role is no valid option : boss"
        );
        update_user(&db, "alice", &UserUpdate::RemoveRole("user".into())).unwrap();
        update_user(&db, "alice", &UserUpdate::RemoveRole("api".into())).unwrap();
        assert!(roles().is_empty());
        assert_eq!(raw_lists(&db, "alice").0, Value::Text("[]".into()));
        assert_eq!(
            refused(&db, "bob", UserUpdate::AddRole("api".into())),
            "sql: no rows in result set"
        );
    }

    #[test]
    fn project_changes_need_a_manager() {
        let db = database();
        insert_raw(
            &db,
            "boss",
            Value::Blob(br#"["manager"]"#.to_vec()),
            Value::Blob(br#"["p1"]"#.to_vec()),
        );
        add_user(&db, &new_user("alice", &["user"], &[])).unwrap();
        let projects = || get_user(&db, "boss").unwrap().projects.unwrap();

        update_user(&db, "boss", &UserUpdate::AddProject("P2".into())).unwrap();
        assert_eq!(projects(), ["p1", "P2"]);
        assert_eq!(
            raw_lists(&db, "boss").1,
            Value::Text(r#"["p1","P2"]"#.into())
        );
        assert_eq!(
            refused(&db, "boss", UserUpdate::AddProject("p1".into())),
            "user 'boss' already manages project 'p1'"
        );
        assert_eq!(
            refused(&db, "boss", UserUpdate::RemoveRole("manager".into())),
            "cannot remove role 'manager' while user boss still has assigned project(s) : [p1 P2]"
        );
        assert_eq!(
            refused(&db, "boss", UserUpdate::RemoveProject("p2".into())),
            r#"user "boss": Cannot remove project "p2" - Does not match"#
        );
        update_user(&db, "boss", &UserUpdate::RemoveProject("p1".into())).unwrap();
        update_user(&db, "boss", &UserUpdate::RemoveProject("P2".into())).unwrap();
        assert!(projects().is_empty());
        update_user(&db, "boss", &UserUpdate::RemoveRole("manager".into())).unwrap();

        assert_eq!(
            refused(&db, "alice", UserUpdate::AddProject("p1".into())),
            "user 'alice' is not a manager"
        );
        assert_eq!(
            refused(&db, "alice", UserUpdate::RemoveProject("p1".into())),
            r#"user "alice" is not a manager"#
        );
    }
}
