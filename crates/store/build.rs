//! Embeds every `migrations/NNNN_name.sql` file of the workspace into the library, in version order,
//! so components carry their schema and apply it on first use.
use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(u32, String, PathBuf)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (version, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("migration {stem} is not named NNNN_name.sql"));
            let version = version.parse().unwrap_or_else(|_| {
                panic!("migration {stem} does not start with a version number")
            });
            (version, name.to_owned(), path.canonicalize().unwrap())
        })
        .collect();
    entries.sort();
    let mut code = String::from("&[\n");
    for pair in entries.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "two migrations share version {}",
            pair[0].0
        );
    }
    for (version, name, path) in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({:?}) }},\n",
            path.display().to_string()
        ));
    }
    code.push(']');
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("migrations.rs");
    fs::write(out, code).unwrap();
}
