//! Job classification (docs/taggers.md#job-class-tagger): rule files evaluated over a job's
//! fields, its metric statistics with the cluster's limits, shared parameters and the rule's
//! own variables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::expr::{context, Expression};
use crate::hint::HintTemplate;
use crate::{read_rule_file, rule_files, RuleError, JOBCLASSES_DIR};

/// The file of shared parameters in the job-class folder.
const PARAMETERS_FILE: &str = "parameters.json";

/// A value of the evaluation environment. Numbers keep their Go type for hints (a job's
/// duration prints as an integer, statistics as floats); expressions see every number as a
/// double.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fact {
    Int(i64),
    Float(f64),
    Text(String),
    Map(BTreeMap<String, Fact>),
}

impl Fact {
    fn map<const N: usize>(entries: [(&str, Fact); N]) -> Fact {
        Fact::Map(
            entries
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
    }
}

/// The job fields rules see as `job.<field>`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub shared: String,
    pub duration: i64,
    /// The job's hardware threads, as in the reference.
    pub num_cores: i64,
    pub num_nodes: i64,
    pub job_state: String,
    pub num_acc: i64,
    pub smt: i64,
}

impl JobFacts {
    fn fact(&self) -> Fact {
        Fact::map([
            ("shared", Fact::Text(self.shared.clone())),
            ("duration", Fact::Int(self.duration)),
            ("numCores", Fact::Int(self.num_cores)),
            ("numNodes", Fact::Int(self.num_nodes)),
            ("jobState", Fact::Text(self.job_state.clone())),
            ("numAcc", Fact::Int(self.num_acc)),
            ("smt", Fact::Int(self.smt)),
        ])
    }
}

/// A metric's thresholds from the cluster configuration (sub-cluster overrides applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub peak: f64,
    pub normal: f64,
    pub caution: f64,
    pub alert: f64,
}

/// What rules see as `<metric>.min|max|avg` and `<metric>.limits.<threshold>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricFacts {
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub limits: Limits,
}

impl MetricFacts {
    fn fact(&self) -> Fact {
        let limits = &self.limits;
        Fact::map([
            ("min", Fact::Float(self.min)),
            ("max", Fact::Float(self.max)),
            ("avg", Fact::Float(self.avg)),
            (
                "limits",
                Fact::map([
                    ("peak", Fact::Float(limits.peak)),
                    ("normal", Fact::Float(limits.normal)),
                    ("caution", Fact::Float(limits.caution)),
                    ("alert", Fact::Float(limits.alert)),
                ]),
            ),
        ])
    }
}

/// A rule file as written; other keys (such as its descriptive `name`) are ignored, as Go's
/// JSON decoding does.
#[derive(Debug, Deserialize)]
struct RuleFile {
    tag: String,
    #[serde(default)]
    parameters: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    requirements: Vec<String>,
    #[serde(default)]
    variables: Vec<VariableFile>,
    rule: String,
    #[serde(default)]
    hint: String,
}

#[derive(Debug, Deserialize)]
struct VariableFile {
    name: String,
    expr: String,
}

/// A compiled rule.
#[derive(Debug)]
struct Rule {
    tag: String,
    parameters: BTreeMap<String, Fact>,
    metrics: Vec<String>,
    requirements: Vec<Expression>,
    variables: Vec<(String, Expression)>,
    rule: Expression,
    hint: HintTemplate,
}

/// A rule that matched a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub tag: String,
    pub hint: String,
}

/// A rule whose evaluation failed for a job (the rule does not match it).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFailure {
    pub tag: String,
    pub problem: String,
}

impl fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job-class rule {}: {}", self.tag, self.problem)
    }
}

/// The outcome of classifying one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub classifications: Vec<Classification>,
    pub failures: Vec<RuleFailure>,
}

/// The job-class rules of a tagger folder, in file-name order.
#[derive(Debug)]
pub struct JobClassTagger {
    rules: Vec<Rule>,
}

impl JobClassTagger {
    /// Loads `<taggers_dir>/jobclasses/`: `parameters.json` (name → number or string) and
    /// every other `*.json` as a rule. Every expression and hint is compiled here.
    pub fn load(taggers_dir: &Path) -> Result<JobClassTagger, RuleError> {
        let dir = taggers_dir.join(JOBCLASSES_DIR);
        let parameters = load_parameters(&dir.join(PARAMETERS_FILE))?;
        let mut rules: Vec<Rule> = Vec::new();
        for path in rule_files(&dir, "json")? {
            if path.file_name().is_some_and(|name| name == PARAMETERS_FILE) {
                continue;
            }
            let rule = compile_rule(&path, &parameters)?;
            if rules.iter().any(|other| other.tag == rule.tag) {
                return Err(RuleError::invalid(
                    &path,
                    format!("tag {:?} is defined by another rule file", rule.tag),
                ));
            }
            rules.push(rule);
        }
        Ok(JobClassTagger { rules })
    }

    /// Evaluates every rule for a job. A rule needing a metric the job has no statistics (or
    /// limits) for does not apply; a rule whose requirements do not all hold does not match.
    pub fn classify(&self, job: &JobFacts, metrics: &BTreeMap<String, MetricFacts>) -> Outcome {
        let mut outcome = Outcome::default();
        for rule in &self.rules {
            match rule.evaluate(job, metrics) {
                Ok(Some(hint)) => outcome.classifications.push(Classification {
                    tag: rule.tag.clone(),
                    hint,
                }),
                Ok(None) => {}
                Err(error) => outcome.failures.push(RuleFailure {
                    tag: rule.tag.clone(),
                    problem: error.to_string(),
                }),
            }
        }
        outcome
    }
}

fn load_parameters(path: &Path) -> Result<BTreeMap<String, Fact>, RuleError> {
    let values: BTreeMap<String, serde_json::Value> = serde_json::from_str(&read_rule_file(path)?)
        .map_err(|error| RuleError::invalid(path, error))?;
    values
        .into_iter()
        .map(|(name, value)| {
            let fact = match value {
                serde_json::Value::Number(number) => {
                    Fact::Float(number.as_f64().unwrap_or_default())
                }
                serde_json::Value::String(text) => Fact::Text(text),
                other => {
                    return Err(RuleError::invalid(
                        path,
                        format!("parameter {name:?} is {other}, not a number or string"),
                    ))
                }
            };
            Ok((name, fact))
        })
        .collect()
}

fn compile_rule(path: &Path, parameters: &BTreeMap<String, Fact>) -> Result<Rule, RuleError> {
    let file: RuleFile = serde_json::from_str(&read_rule_file(path)?)
        .map_err(|error| RuleError::invalid(path, error))?;
    let invalid = |problem: String| RuleError::invalid(path, problem);
    let compile =
        |source: &str| Expression::compile(source).map_err(|error| invalid(error.to_string()));
    let used_parameters = file
        .parameters
        .iter()
        .map(|name| match parameters.get(name) {
            Some(value) => Ok((name.clone(), value.clone())),
            None => Err(invalid(format!(
                "parameter {name:?} is not in {PARAMETERS_FILE}"
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        tag: file.tag,
        parameters: used_parameters,
        metrics: file.metrics,
        requirements: file
            .requirements
            .iter()
            .map(|source| compile(source))
            .collect::<Result<_, _>>()?,
        variables: file
            .variables
            .iter()
            .map(|variable| Ok((variable.name.clone(), compile(&variable.expr)?)))
            .collect::<Result<_, RuleError>>()?,
        rule: compile(&file.rule)?,
        hint: HintTemplate::parse(&file.hint).map_err(invalid)?,
    })
}

impl Rule {
    /// The rendered hint when the rule matches the job, `None` when it does not.
    fn evaluate(
        &self,
        job: &JobFacts,
        metrics: &BTreeMap<String, MetricFacts>,
    ) -> Result<Option<String>, crate::expr::ExprError> {
        let mut environment = self.parameters.clone();
        environment.insert("job".to_owned(), job.fact());
        for name in &self.metrics {
            let Some(metric) = metrics.get(name) else {
                return Ok(None);
            };
            environment.insert(name.clone(), metric.fact());
        }
        let mut cel = context(&environment);
        for requirement in &self.requirements {
            if !requirement.evaluate_bool(&cel)? {
                return Ok(None);
            }
        }
        for (name, expression) in &self.variables {
            let value = expression.evaluate_number(&cel)?;
            environment.insert(name.clone(), Fact::Float(value));
            cel.add_variable_from_value(name.clone(), cel::Value::Float(value));
        }
        if !self.rule.evaluate_bool(&cel)? {
            return Ok(None);
        }
        Ok(Some(self.hint.render(&environment)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rules::shipped;

    fn job(shared: &str, duration: i64) -> JobFacts {
        JobFacts {
            shared: shared.into(),
            duration,
            num_cores: 72,
            num_nodes: 1,
            job_state: "completed".into(),
            num_acc: 0,
            smt: 1,
        }
    }

    fn metric(avg: f64, peak: f64, alert: f64) -> MetricFacts {
        MetricFacts {
            min: avg / 2.0,
            max: avg * 1.5,
            avg,
            limits: Limits {
                peak,
                normal: peak / 2.0,
                caution: alert * 2.0,
                alert,
            },
        }
    }

    fn tags(outcome: &Outcome) -> Vec<&str> {
        outcome
            .classifications
            .iter()
            .map(|found| found.tag.as_str())
            .collect()
    }

    #[test]
    fn every_shipped_rule_loads_and_compiles() {
        let tagger = JobClassTagger::load(&shipped()).unwrap();
        assert_eq!(tagger.rules.len(), 5);
        let rule_tags: Vec<&str> = tagger.rules.iter().map(|rule| rule.tag.as_str()).collect();
        assert_eq!(
            rule_tags,
            [
                "highmemory",
                "excessiveload",
                "lowutilization",
                "lowload",
                "memorybound"
            ]
        );
    }

    #[test]
    fn excessive_load_matches_with_its_hint() {
        let tagger = JobClassTagger::load(&shipped()).unwrap();
        let metrics = BTreeMap::from([("cpu_load".to_owned(), metric(100.0, 72.0, 10.0))]);
        let outcome = tagger.classify(&job("none", 3600), &metrics);
        assert_eq!(outcome.failures, []);
        assert_eq!(tags(&outcome), ["excessiveload"]);
        assert_eq!(
            outcome.classifications[0].hint,
            "This job was detected as having excessive CPU load: average cpu load 100 exceeds \
             the oversubscription threshold 86.39999999999999 (1.2 \u{d7} 72 peak cores), \
             indicating CPU contention."
        );
    }

    #[test]
    fn requirements_and_thresholds_decide() {
        let tagger = JobClassTagger::load(&shipped()).unwrap();
        let normal = BTreeMap::from([("cpu_load".to_owned(), metric(70.0, 72.0, 10.0))]);
        assert_eq!(
            tags(&tagger.classify(&job("none", 3600), &normal)),
            Vec::<&str>::new()
        );
        let busy = BTreeMap::from([("cpu_load".to_owned(), metric(100.0, 72.0, 10.0))]);
        // Shared nodes and short jobs are not classified.
        assert!(tagger
            .classify(&job("single_user", 3600), &busy)
            .classifications
            .is_empty());
        assert!(tagger
            .classify(&job("none", 600), &busy)
            .classifications
            .is_empty());
        let idle = BTreeMap::from([("cpu_load".to_owned(), metric(1.5, 72.0, 10.0))]);
        let outcome = tagger.classify(&job("none", 3600), &idle);
        assert_eq!(tags(&outcome), ["lowload"]);
        assert_eq!(
            outcome.classifications[0].hint,
            "This job was detected as low CPU load: average cpu load 1.5 is below the threshold \
             61.199999999999996 (0.85)."
        );
    }

    #[test]
    fn several_rules_match_in_file_order() {
        let tagger = JobClassTagger::load(&shipped()).unwrap();
        let metrics = BTreeMap::from([
            ("cpu_load".to_owned(), metric(1.0, 72.0, 10.0)),
            ("flops_any".to_owned(), metric(5.0, 2000.0, 100.0)),
            ("mem_bw".to_owned(), metric(10.0, 200.0, 50.0)),
        ]);
        let outcome = tagger.classify(&job("none", 7200), &metrics);
        assert_eq!(tags(&outcome), ["lowutilization", "lowload"]);
        assert_eq!(
            outcome.classifications[0].hint,
            "This job shows low resource utilization: FLOP rate 5 GF/s (0.25% of peak) and \
             memory bandwidth 10 GB/s (5% of peak) are both below their alert thresholds."
        );
    }

    fn folder(rule: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let classes = dir.path().join("jobclasses");
        std::fs::create_dir(&classes).unwrap();
        std::fs::write(classes.join("parameters.json"), r#"{"limit": 2}"#).unwrap();
        std::fs::write(classes.join("rule.json"), rule).unwrap();
        dir
    }

    #[test]
    fn broken_rules_are_reported_with_their_file() {
        let cases = [
            (r#"{"tag":"t","rule":"job.duration >"}"#, "does not compile"),
            (
                r#"{"tag":"t","parameters":["nope"],"rule":"true"}"#,
                "parameter \"nope\" is not in parameters.json",
            ),
            (
                r#"{"tag":"t","rule":"true","hint":"{{printf .x}}"}"#,
                "unsupported template action",
            ),
            (r#"{"tag":"t","rule":5}"#, "invalid type: integer `5`"),
        ];
        for (rule, expected) in cases {
            let dir = folder(rule);
            let error = JobClassTagger::load(dir.path()).unwrap_err().to_string();
            assert!(
                error.contains("rule.json: ") && error.contains(expected),
                "{error}"
            );
        }
    }

    #[test]
    fn evaluation_failures_are_reported_per_rule() {
        let dir = folder(
            r#"{"tag":"t","parameters":["limit"],"variables":[{"name":"v","expr":"job.shared"}],"rule":"v > limit"}"#,
        );
        let tagger = JobClassTagger::load(dir.path()).unwrap();
        let outcome = tagger.classify(&job("none", 10), &BTreeMap::new());
        assert!(outcome.classifications.is_empty());
        assert_eq!(outcome.failures.len(), 1);
        assert!(
            outcome.failures[0]
                .to_string()
                .starts_with("job-class rule t: expression \"job.shared\" yields"),
            "{}",
            outcome.failures[0]
        );
    }

    #[test]
    fn job_fields_print_as_integers_in_hints() {
        let dir = folder(
            r#"{"tag":"t","parameters":["limit"],"rule":"job.duration / 1000000 > limit","hint":"{{.job.duration}} s, {{.job.shared}}, limit {{.limit}}"}"#,
        );
        let tagger = JobClassTagger::load(dir.path()).unwrap();
        let outcome = tagger.classify(&job("none", 3_000_000), &BTreeMap::new());
        assert_eq!(outcome.classifications[0].hint, "3000000 s, none, limit 2");
    }
}
