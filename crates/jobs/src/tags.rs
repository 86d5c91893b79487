//! Tags (docs/jobs.md#tags): scope rules, add-or-create, removal from one job or from all jobs.
//!
//! Differences from the reference, each docs/compatibility.md#tag-handling:
//! * a request is applied as a whole or not at all (one transaction), so a failing element
//!   leaves no earlier element applied;
//! * attaching a tag the job already has is a no-op;
//! * the reference's `tag` table keeps its unique key `(tag_type, tag_name)`, so that databases
//!   stay interchangeable with cc-backend (a rebuilt key would also cascade-delete `jobtag`
//!   under foreign keys). A type/name pair that exists in another scope is therefore a 422
//!   naming that scope instead of the reference's 500;
//! * permission failures are 403, unknown tags 404, instead of 500;
//! * the response echoes the scope as stored (`global` for `""`).

use cc_auth::{Role, User};
use cc_model::{Job, Tag};
use cc_store::{in_transaction, Sql, Value};
use serde::Deserialize;

use crate::error::{JobsError, LookupError};
use crate::repo::{find_by_id, load_visible_tags, path_job_scope, unix_now};

pub const GLOBAL_SCOPE: &str = "global";
pub const ADMIN_SCOPE: &str = "admin";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TagError {
    #[error("error while checking tag operation auth: no user in context")]
    NoUser,
    #[error("cannot write tag scope with current authorization")]
    NotAllowed,
    #[error("tag type {kind:?} with name {name:?} already exists in scope {existing:?}")]
    ScopeConflict {
        kind: String,
        name: String,
        existing: String,
    },
    #[error("tag does not exist (name, type, scope): {name}, {kind}, {scope}")]
    NotFound {
        name: String,
        kind: String,
        scope: String,
    },
    #[error("{0}")]
    Storage(#[from] cc_store::StoreError),
}

/// One element of a tag request body (Go's `ApiTag`: no `id`). A missing or `null` key is
/// empty.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "A tag named by type, name and scope. A missing or `null` key is empty; \
    an empty scope means `global` when attaching."
)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// A tag as it is looked up: type, name and the scope it is stored under.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TagKey {
    pub kind: String,
    pub name: String,
    pub scope: String,
}

impl TagKey {
    pub(crate) fn new(kind: &str, name: &str, scope: &str) -> TagKey {
        TagKey {
            kind: kind.to_owned(),
            name: name.to_owned(),
            scope: scope.to_owned(),
        }
    }

    fn from_request(request: &TagRequest) -> TagKey {
        let field = |value: &Option<String>| value.clone().unwrap_or_default();
        TagKey {
            kind: field(&request.kind),
            name: field(&request.name),
            scope: field(&request.scope),
        }
    }

    /// When adding, scope `""` means global.
    pub(crate) fn adding(mut self) -> TagKey {
        if self.scope.is_empty() {
            self.scope = GLOBAL_SCOPE.to_owned();
        }
        self
    }

    fn not_found(self) -> TagError {
        TagError::NotFound {
            name: self.name,
            kind: self.kind,
            scope: self.scope,
        }
    }
}

/// Whether `user` sees tags of `scope` (docs/jobs.md#tag-scopes-and-permissions).
pub(crate) fn can_read(user: Option<&User>, scope: &str) -> bool {
    match scope {
        GLOBAL_SCOPE => true,
        ADMIN_SCOPE => {
            user.is_some_and(|user| user.has_role(Role::Admin) || user.has_role(Role::Support))
        }
        private => user.is_some_and(|user| user.username == private),
    }
}

/// Whether `user` may create or attach tags of `scope` (docs/jobs.md#tag-scopes-and-permissions).
pub(crate) fn check_write(user: Option<&User>, scope: &str) -> Result<(), TagError> {
    let user = user.ok_or(TagError::NoUser)?;
    let allowed = match scope {
        // Roles exactly `["api"]`: the batch-system adapter writes global and admin tags.
        GLOBAL_SCOPE => {
            user.has_role(Role::Admin) || user.has_role(Role::Support) || user.is_api_only()
        }
        ADMIN_SCOPE => user.has_role(Role::Admin) || user.is_api_only(),
        private => user.username == private,
    };
    if allowed {
        Ok(())
    } else {
        Err(TagError::NotAllowed)
    }
}

/// The id and scope of the tag with this type and name (the table's unique key).
fn find_tag(db: &dyn Sql, kind: &str, name: &str) -> Result<Option<(i64, String)>, TagError> {
    let result = db.execute(
        "SELECT id, tag_scope FROM tag WHERE tag_type = ? AND tag_name = ?",
        &[Value::from(kind), Value::from(name)],
    )?;
    Ok(result.rows.first().map(|row| {
        let id = row.first().and_then(Value::as_i64).unwrap_or_default();
        let scope = row.get(1).and_then(Value::as_str).unwrap_or_default();
        (id, scope.to_owned())
    }))
}

/// The id of the tag `key`, created if missing. Run inside a transaction.
pub(crate) fn find_or_create_tag(db: &dyn Sql, key: &TagKey) -> Result<i64, TagError> {
    match find_tag(db, &key.kind, &key.name)? {
        Some((id, scope)) if scope == key.scope => Ok(id),
        Some((_, existing)) => Err(TagError::ScopeConflict {
            kind: key.kind.clone(),
            name: key.name.clone(),
            existing,
        }),
        None => {
            db.execute(
                "INSERT INTO tag (tag_type, tag_name, tag_scope) VALUES (?, ?, ?)",
                &[
                    Value::from(key.kind.as_str()),
                    Value::from(key.name.as_str()),
                    Value::from(key.scope.as_str()),
                ],
            )?;
            Ok(db.last_insert_rowid())
        }
    }
}

/// Attaches a tag; attaching it again changes nothing.
pub(crate) fn attach_tag(db: &dyn Sql, job: i64, tag: i64) -> Result<(), TagError> {
    db.execute(
        "INSERT OR IGNORE INTO jobtag (job_id, tag_id) VALUES (?, ?)",
        &[Value::Integer(job), Value::Integer(tag)],
    )?;
    Ok(())
}

/// The id of the tag with exactly this type, name and scope.
fn existing_tag(db: &dyn Sql, key: TagKey) -> Result<i64, TagError> {
    match find_tag(db, &key.kind, &key.name)? {
        Some((id, scope)) if scope == key.scope => Ok(id),
        _ => Err(key.not_found()),
    }
}

/// Removal only touches shared tags; private ones are skipped (docs/jobs.md#removing-and-deleting-tags).
fn is_removable(scope: &str) -> bool {
    scope == GLOBAL_SCOPE || scope == ADMIN_SCOPE
}

/// The job `id` of a `tag_job/{id}` route with the visible tags of `user`, seen with row-level
/// security.
pub(crate) fn tagged_job(db: &dyn Sql, id: i64, user: Option<&User>) -> Result<Job, JobsError> {
    let scope = path_job_scope(user)?;
    let mut job = find_by_id(db, id, &scope, false, unix_now())?
        .ok_or(JobsError::FindJob(LookupError::NoRows))?;
    load_visible_tags(db, &mut job, user)?;
    Ok(job)
}

/// Attaches the requested tags to a job loaded by [`tagged_job`], creating missing ones. Each
/// requested tag not listed yet is added to `job.tags`.
pub(crate) fn add_to_job(
    db: &dyn Sql,
    job: &mut Job,
    requests: &[TagRequest],
    user: Option<&User>,
) -> Result<(), JobsError> {
    let keys: Vec<TagKey> = requests
        .iter()
        .map(|request| TagKey::from_request(request).adding())
        .collect();
    for key in &keys {
        check_write(user, &key.scope).map_err(JobsError::AddTag)?;
    }
    let job_id = job.id.unwrap_or_default();
    let ids = in_transaction(db, || {
        keys.iter()
            .map(|key| {
                let tag = find_or_create_tag(db, key)?;
                attach_tag(db, job_id, tag)?;
                Ok(tag)
            })
            .collect::<Result<Vec<i64>, TagError>>()
            .map_err(JobsError::AddTag)
    })?;
    for (key, id) in keys.into_iter().zip(ids) {
        if !job.tags.iter().any(|tag| tag.id == id) {
            job.tags.push(Tag {
                kind: key.kind,
                name: key.name,
                scope: key.scope,
                id,
            });
        }
    }
    Ok(())
}

/// Detaches the requested global and admin tags from a job loaded by [`tagged_job`] (private
/// ones are skipped), then reloads the visible tags of `user`.
pub(crate) fn remove_from_job(
    db: &dyn Sql,
    job: &mut Job,
    requests: &[TagRequest],
    user: Option<&User>,
) -> Result<(), JobsError> {
    let job_id = job.id.unwrap_or_default();
    in_transaction::<_, JobsError>(db, || {
        for key in requests.iter().map(TagKey::from_request) {
            if !is_removable(&key.scope) {
                continue;
            }
            let tag = existing_tag(db, key).map_err(JobsError::RemoveTag)?;
            db.execute(
                "DELETE FROM jobtag WHERE job_id = ? AND tag_id = ?",
                &[Value::Integer(job_id), Value::Integer(tag)],
            )
            .map_err(|error| JobsError::RemoveTag(error.into()))?;
        }
        Ok(())
    })?;
    load_visible_tags(db, job, user)
}

/// Deletes the requested global and admin tags from every job and from the tag table (private
/// ones are skipped); how many were deleted.
pub(crate) fn delete_everywhere(db: &dyn Sql, requests: &[TagRequest]) -> Result<usize, JobsError> {
    in_transaction::<_, JobsError>(db, || {
        let mut deleted = 0;
        for key in requests.iter().map(TagKey::from_request) {
            if !is_removable(&key.scope) {
                continue;
            }
            let tag = existing_tag(db, key).map_err(JobsError::RemoveTag)?;
            for statement in [
                "DELETE FROM jobtag WHERE tag_id = ?",
                "DELETE FROM tag WHERE id = ?",
            ] {
                db.execute(statement, &[Value::Integer(tag)])
                    .map_err(|error| JobsError::RemoveTag(error.into()))?;
            }
            deleted += 1;
        }
        Ok(deleted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::tag_status;
    use crate::repo::tests::{database, user};
    use http::StatusCode;

    #[test]
    fn read_rules_follow_section_7_2() {
        let alice = user("alice", &["api", "user"]);
        let admin = user("root", &["admin", "api"]);
        let support = user("sup", &["api", "support"]);
        let adapter = user("slurm", &["api"]);
        for who in [&alice, &admin, &support, &adapter] {
            assert!(can_read(Some(who), "global"));
        }
        assert!(!can_read(Some(&alice), "admin"));
        assert!(can_read(Some(&admin), "admin"));
        assert!(can_read(Some(&support), "admin"));
        assert!(!can_read(Some(&adapter), "admin"));
        assert!(can_read(Some(&alice), "alice"));
        assert!(!can_read(Some(&admin), "alice"));
        assert!(can_read(None, "global"));
        assert!(!can_read(None, "admin"));
    }

    #[test]
    fn write_rules_follow_section_7_2() {
        let alice = user("alice", &["api", "user"]);
        let admin = user("root", &["admin", "api"]);
        let support = user("sup", &["api", "support"]);
        let adapter = user("slurm", &["api"]);
        let doubled = user("twice", &["api", "api"]);
        let allowed = |who: &User, scope| check_write(Some(who), scope).is_ok();
        assert!(allowed(&admin, "global") && allowed(&support, "global"));
        assert!(allowed(&adapter, "global"));
        assert!(!allowed(&alice, "global") && !allowed(&doubled, "global"));
        assert!(allowed(&admin, "admin") && allowed(&adapter, "admin"));
        assert!(!allowed(&support, "admin") && !allowed(&alice, "admin"));
        assert!(allowed(&alice, "alice") && allowed(&adapter, "slurm"));
        assert!(!allowed(&admin, "alice") && !allowed(&adapter, "alice"));
        assert_eq!(check_write(None, "global"), Err(TagError::NoUser));
        assert_eq!(
            check_write(Some(&alice), "admin").unwrap_err().to_string(),
            "cannot write tag scope with current authorization"
        );
    }

    #[test]
    fn empty_scope_means_global_when_adding() {
        assert_eq!(TagKey::new("app", "vasp", "").adding().scope, "global");
        assert_eq!(TagKey::new("app", "vasp", "alice").adding().scope, "alice");
    }

    #[test]
    fn tags_are_created_once_and_scope_conflicts_are_reported() {
        let db = database();
        let key = TagKey::new("app", "vasp", "global");
        let first = find_or_create_tag(&db, &key).unwrap();
        assert_eq!(find_or_create_tag(&db, &key).unwrap(), first);
        let private = TagKey::new("app", "vasp", "alice");
        let conflict = find_or_create_tag(&db, &private).unwrap_err();
        assert_eq!(
            conflict,
            TagError::ScopeConflict {
                kind: "app".into(),
                name: "vasp".into(),
                existing: "global".into()
            }
        );
        assert_eq!(tag_status(&conflict), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            existing_tag(&db, private).unwrap_err().to_string(),
            "tag does not exist (name, type, scope): vasp, app, alice"
        );
    }

    #[test]
    fn attaching_twice_is_a_no_op() {
        let db = database();
        let job = crate::repo::tests::insert_job(&db, 1, "testcluster", "a", "running", 5);
        let tag = find_or_create_tag(&db, &TagKey::new("t", "n", "global")).unwrap();
        attach_tag(&db, job, tag).unwrap();
        attach_tag(&db, job, tag).unwrap();
        let count = db.execute("SELECT count(*) FROM jobtag", &[]).unwrap();
        assert_eq!(count.scalar(), Some(&Value::Integer(1)));
    }

    #[test]
    fn only_shared_scopes_are_removable() {
        assert!(is_removable("global") && is_removable("admin"));
        assert!(!is_removable("") && !is_removable("alice"));
    }
}
