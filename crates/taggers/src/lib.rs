//! The job taggers (docs/taggers.md): rules mounted as files, applied to jobs by cc-jobs.
//!
//! * [`AppTagger`]: one regular-expression file per application; the first application (in
//!   file-name order) with a pattern found in the lower-cased job script names the job's `app`
//!   tag.
//! * [`JobClassTagger`]: JSON rule files with shared parameters; requirements, variables and the
//!   rule are CEL expressions over the job's fields and metric statistics, every number a double;
//!   a matching rule yields its tag and its rendered hint.
//!
//! Loading reads and compiles everything up front, so a broken rule file is reported with its
//! name instead of being skipped.

mod apps;
mod expr;
mod hint;
mod jobclass;

use std::path::PathBuf;

pub use apps::AppTagger;
pub use jobclass::{
    Classification, JobClassTagger, JobFacts, Limits, MetricFacts, Outcome, RuleFailure,
};

/// The folder below the tagger folder holding the application patterns.
pub const APPS_DIR: &str = "apps";
/// The folder below the tagger folder holding the job-class rules.
pub const JOBCLASSES_DIR: &str = "jobclasses";

/// Why a rule folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("reading tagger rules {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("tagger rule {path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl RuleError {
    fn invalid(path: &std::path::Path, problem: impl ToString) -> RuleError {
        RuleError::Invalid {
            path: path.to_owned(),
            problem: problem.to_string(),
        }
    }
}

/// The files of `dir` whose names end in `extension`, sorted by name.
fn rule_files(dir: &std::path::Path, extension: &str) -> Result<Vec<PathBuf>, RuleError> {
    let read = |error| RuleError::Read {
        path: dir.to_owned(),
        error,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_file() && path.extension().is_some_and(|found| found == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The text of a rule file.
fn read_rule_file(path: &std::path::Path) -> Result<String, RuleError> {
    std::fs::read_to_string(path).map_err(|error| RuleError::Read {
        path: path.to_owned(),
        error,
    })
}

#[cfg(test)]
pub(crate) mod test_rules {
    use std::path::{Path, PathBuf};

    /// The sample rules shipped in the repository's `taggers/` folder.
    pub(crate) fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../taggers")
    }
}
