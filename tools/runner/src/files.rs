//! A component's `files`: like `spin up`, the matched files are copied into one staging
//! directory at start-up, which every instance sees read-only as its `/`.

use std::path::{Component, Path, PathBuf};

use crate::manifest::FilesMount;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("invalid files pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
    #[error("files source {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("copying {from} to {to}: {error}")]
    Copy {
        from: PathBuf,
        to: PathBuf,
        error: std::io::Error,
    },
}

/// Copies what `mounts` select (relative to `base`) into `staging`, skipping files whose path
/// relative to `base` matches an `exclude_files` pattern.
pub fn stage(
    base: &Path,
    mounts: &[FilesMount],
    exclude: &[String],
    staging: &Path,
) -> Result<(), FilesError> {
    let exclude = exclude
        .iter()
        .map(|pattern| {
            glob::Pattern::new(pattern).map_err(|e| FilesError::Pattern {
                pattern: pattern.clone(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let excluded = |relative: &Path| exclude.iter().any(|p| p.matches_path(relative));

    for mount in mounts {
        match mount {
            FilesMount::Pattern(pattern) => {
                let bad = |message: &str| FilesError::Pattern {
                    pattern: pattern.clone(),
                    message: message.to_owned(),
                };
                if !is_relative_inside(Path::new(pattern)) {
                    return Err(bad(
                        "must be a relative path inside the application directory",
                    ));
                }
                let full = base.join(pattern);
                let matches =
                    glob::glob(&full.to_string_lossy()).map_err(|e| bad(&e.to_string()))?;
                for entry in matches {
                    let path = entry.map_err(|e| bad(&e.to_string()))?;
                    if !path.is_file() {
                        continue;
                    }
                    let relative = path.strip_prefix(base).unwrap_or(&path);
                    if !excluded(relative) {
                        copy_file(&path, &staging.join(relative))?;
                    }
                }
            }
            FilesMount::Placement(placement) => {
                let source = base.join(&placement.source);
                if !source.is_dir() {
                    return Err(FilesError::NotADirectory(source));
                }
                let destination = staging.join(placement.destination.trim_start_matches('/'));
                copy_tree(&source, &destination, base, &excluded)?;
            }
        }
    }
    Ok(())
}

fn is_relative_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn copy_tree(
    source: &Path,
    destination: &Path,
    base: &Path,
    excluded: &dyn Fn(&Path) -> bool,
) -> Result<(), FilesError> {
    let io_error = |source_error| FilesError::Copy {
        from: source.to_path_buf(),
        to: destination.to_path_buf(),
        error: source_error,
    };
    for entry in std::fs::read_dir(source).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let target = destination.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target, base, excluded)?;
        } else if !excluded(path.strip_prefix(base).unwrap_or(&path)) {
            copy_file(&path, &target)?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), FilesError> {
    let error = |error| FilesError::Copy {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        error,
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    std::fs::copy(from, to).map_err(error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FilesPlacement;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn patterns_and_placements_are_copied_to_their_guest_paths() {
        let app = tempfile::tempdir().unwrap();
        let staging = tempfile::tempdir().unwrap();
        write(&app.path().join("static/index.html"), "index");
        write(&app.path().join("static/secret.key"), "no");
        write(&app.path().join("static/sub/deep.html"), "deep");
        write(&app.path().join("assets/logo.svg"), "logo");
        write(&app.path().join("assets/icons/a.svg"), "a");
        write(&app.path().join("assets/icons/a.key"), "no");

        stage(
            app.path(),
            &[
                FilesMount::Pattern("static/**/*".into()),
                FilesMount::Placement(FilesPlacement {
                    source: "assets".into(),
                    destination: "/public".into(),
                }),
            ],
            &["**/*.key".into()],
            staging.path(),
        )
        .unwrap();

        let read = |p: &str| std::fs::read_to_string(staging.path().join(p)).ok();
        assert_eq!(read("static/index.html").as_deref(), Some("index"));
        assert_eq!(read("static/sub/deep.html").as_deref(), Some("deep"));
        assert_eq!(read("public/logo.svg").as_deref(), Some("logo"));
        assert_eq!(read("public/icons/a.svg").as_deref(), Some("a"));
        assert_eq!(read("static/secret.key"), None);
        assert_eq!(read("public/icons/a.key"), None);
    }

    #[test]
    fn bad_mounts_are_reported() {
        let app = tempfile::tempdir().unwrap();
        let staging = tempfile::tempdir().unwrap();
        let err = stage(
            app.path(),
            &[FilesMount::Pattern("../outside/*".into())],
            &[],
            staging.path(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("must be a relative path"), "{err}");
        let err = stage(
            app.path(),
            &[FilesMount::Placement(FilesPlacement {
                source: "missing".into(),
                destination: "/".into(),
            })],
            &[],
            staging.path(),
        )
        .unwrap_err();
        assert!(matches!(err, FilesError::NotADirectory(_)), "{err}");
    }
}
