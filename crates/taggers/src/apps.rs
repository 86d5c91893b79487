//! Application detection (docs/taggers.md#application-tagger).

use std::path::Path;

use regex::Regex;

use crate::{read_rule_file, rule_files, RuleError, APPS_DIR};

/// One application: its tag name (the file name without `.txt`) and its patterns.
#[derive(Debug)]
struct Application {
    name: String,
    patterns: Vec<Regex>,
}

/// The application patterns of a tagger folder, in file-name order.
#[derive(Debug)]
pub struct AppTagger {
    applications: Vec<Application>,
}

impl AppTagger {
    /// Loads `<taggers_dir>/apps/*.txt`: one regular expression per non-blank line.
    pub fn load(taggers_dir: &Path) -> Result<AppTagger, RuleError> {
        let mut applications = Vec::new();
        for path in rule_files(&taggers_dir.join(APPS_DIR), "txt")? {
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let patterns = read_rule_file(&path)?
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| Regex::new(line).map_err(|error| RuleError::invalid(&path, error)))
                .collect::<Result<_, _>>()?;
            applications.push(Application { name, patterns });
        }
        Ok(AppTagger { applications })
    }

    /// The application a job script runs: the first whose patterns find a match in the
    /// lower-cased script.
    pub fn detect(&self, job_script: &str) -> Option<&str> {
        let script = job_script.to_lowercase();
        self.applications
            .iter()
            .find(|application| {
                application
                    .patterns
                    .iter()
                    .any(|pattern| pattern.is_match(&script))
            })
            .map(|application| application.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rules::shipped;

    #[test]
    fn every_shipped_application_loads() {
        let tagger = AppTagger::load(&shipped()).unwrap();
        assert_eq!(tagger.applications.len(), 16);
    }

    #[test]
    fn scripts_are_matched_lower_cased_first_file_wins() {
        let tagger = AppTagger::load(&shipped()).unwrap();
        let script = "#!/bin/bash\n#SBATCH --nodes=2\nmodule load VASP/6.4\nsrun VASP_STD\n";
        assert_eq!(tagger.detect(script), Some("vasp"));
        assert_eq!(tagger.detect("srun lmp -in in.lj"), Some("lammps"));
        assert_eq!(tagger.detect("srun lmpx -in in.lj"), None);
        // "gmx" (gromacs) and "python" both occur: gromacs.txt sorts first.
        assert_eq!(
            tagger.detect("python prep.py && gmx mdrun"),
            Some("gromacs")
        );
        assert_eq!(tagger.detect("./a.out"), None);
        assert_eq!(tagger.detect(""), None);
    }

    #[test]
    fn a_bad_pattern_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("apps")).unwrap();
        std::fs::write(dir.path().join("apps/broken.txt"), "ok\n(unclosed\n").unwrap();
        let error = AppTagger::load(dir.path()).unwrap_err().to_string();
        assert!(error.starts_with("tagger rule "), "{error}");
        assert!(error.contains("broken.txt: regex parse error"), "{error}");
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            AppTagger::load(dir.path()),
            Err(RuleError::Read { .. })
        ));
    }
}
