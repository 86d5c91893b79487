//! `--build`: run each component's `[component.<id>.build]` commands before serving, like
//! `spin build`.

use std::path::PathBuf;
use std::process::Command;

use crate::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("component `{component}`: cannot run build command `{command}`: {error}")]
    Spawn {
        component: String,
        command: String,
        error: std::io::Error,
    },
    #[error("component `{component}`: build command `{command}` failed ({status})")]
    Failed {
        component: String,
        command: String,
        status: std::process::ExitStatus,
    },
}

/// Runs the build commands of every component that has them, in id order, each through `sh -c`
/// in the manifest directory (or its `workdir` below it). Stops at the first failure.
pub fn build_all(manifest: &Manifest) -> Result<(), BuildError> {
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        let workdir: PathBuf = match &build.workdir {
            Some(dir) => manifest.dir.join(dir),
            None => manifest.dir.clone(),
        };
        for command in build.commands() {
            println!("Building component {id} with `{command}`");
            let status = Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&workdir)
                .status()
                .map_err(|error| BuildError::Spawn {
                    component: id.clone(),
                    command: command.clone(),
                    error,
                })?;
            if !status.success() {
                return Err(BuildError::Failed {
                    component: id.clone(),
                    command: command.clone(),
                    status,
                });
            }
        }
    }
    println!("Finished building all Spin components");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest(dir: &Path, build: &str) -> Manifest {
        let text = format!(
            "spin_manifest_version = 2\n[application]\nname = \"a\"\n[[trigger.http]]\nroute = \"/...\"\n\
             component = \"c\"\n[component.c]\nsource = \"c.wasm\"\n[component.c.build]\n{build}"
        );
        Manifest::parse(&text, &dir.join("spin.toml"), dir).unwrap()
    }

    #[test]
    fn commands_run_in_the_workdir_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let m = manifest(
            dir.path(),
            "command = [\"echo one > out.txt\", \"echo two >> out.txt\"]\nworkdir = \"sub\"\n",
        );
        build_all(&m).unwrap();
        let out = std::fs::read_to_string(dir.path().join("sub/out.txt")).unwrap();
        assert_eq!(out, "one\ntwo\n");
    }

    #[test]
    fn failing_command_is_reported_and_stops_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(dir.path(), "command = [\"exit 3\", \"touch never\"]\n");
        let err = build_all(&m).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("component `c`: build command `exit 3` failed (exit status: 3)"),
            "{err}"
        );
        assert!(!dir.path().join("never").exists());
    }
}
