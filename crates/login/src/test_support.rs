use cc_store::native::{NativeKv, NativeSql};

/// A migrated database in a temporary folder.
pub fn database() -> (tempfile::TempDir, NativeSql) {
    let dir = tempfile::tempdir().unwrap();
    let db = NativeSql::open(&dir.path().join("db.sqlite")).unwrap();
    cc_store::migrate(&db).unwrap();
    (dir, db)
}

pub fn key_value() -> (tempfile::TempDir, NativeKv) {
    let dir = tempfile::tempdir().unwrap();
    let kv = NativeKv::open(&dir.path().join("kv.sqlite"), "default").unwrap();
    (dir, kv)
}
