//! Application variables and the `{{ name }}` templates that component variables (and
//! `allowed_outbound_hosts` entries) are written in. Values come from `SPIN_VARIABLE_<NAME>`
//! environment variables, else the manifest default, like Spin's environment provider.

use std::collections::{BTreeMap, HashMap};

use crate::manifest::VariableDecl;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("unterminated `{{{{` in {0:?}")]
    Unterminated(String),
    #[error("empty `{{{{ }}}}` expression in {0:?}")]
    EmptyExpression(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VariableError {
    #[error("required variable `{name}` has no value (set {env})")]
    MissingRequired { name: String, env: String },
    #[error("variable `{name}` has no value and no default (set {env})")]
    Unset { name: String, env: String },
    #[error(transparent)]
    Template(#[from] TemplateError),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// A string with `{{ variable }}` placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(expression) = rest.strip_prefix("{{") {
                let (name, after) = expression
                    .split_once("}}")
                    .ok_or_else(|| TemplateError::Unterminated(text.to_owned()))?;
                let name = name.trim();
                if name.is_empty() {
                    return Err(TemplateError::EmptyExpression(text.to_owned()));
                }
                parts.push(Part::Variable(name.to_owned()));
                rest = after;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
        Ok(Self { parts })
    }

    /// The variable names the template refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Substitutes resolved application variables.
    pub fn render(&self, values: &AppVariables) -> Result<String, VariableError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(values.get(name)?),
            }
        }
        Ok(out)
    }
}

/// Application variables after resolution; a variable with neither a value nor a default stays
/// unset and only fails when a template uses it, naming it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppVariables {
    values: HashMap<String, Option<String>>,
}

impl AppVariables {
    /// Resolves every declared variable; `lookup_env` reads the process environment in
    /// production and a map in tests.
    pub fn resolve(
        declared: &BTreeMap<String, VariableDecl>,
        lookup_env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, VariableError> {
        let mut values = HashMap::new();
        for (name, decl) in declared {
            let value = lookup_env(&env_name(name)).or_else(|| decl.default.clone());
            if value.is_none() && decl.required {
                return Err(VariableError::MissingRequired {
                    name: name.clone(),
                    env: env_name(name),
                });
            }
            values.insert(name.clone(), value);
        }
        Ok(Self { values })
    }

    fn get(&self, name: &str) -> Result<&str, VariableError> {
        match self.values.get(name) {
            Some(Some(value)) => Ok(value),
            _ => Err(VariableError::Unset {
                name: name.to_owned(),
                env: env_name(name),
            }),
        }
    }

    /// Expands a template string.
    pub fn expand(&self, text: &str) -> Result<String, VariableError> {
        Template::parse(text)?.render(self)
    }

    /// Expands a component's `variables` table.
    pub fn expand_all(
        &self,
        templates: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, String>, VariableError> {
        templates
            .iter()
            .map(|(name, text)| Ok((name.clone(), self.expand(text)?)))
            .collect()
    }
}

/// `SPIN_VARIABLE_<NAME>`, the environment variable Spin reads a variable from.
pub fn env_name(variable: &str) -> String {
    format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())
}

/// Spin's rule for names a guest may ask for: lowercase ASCII letters, digits and single
/// underscores, starting with a letter and not ending with an underscore.
pub fn check_guest_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(*c == '_' || c.is_ascii_digit() || c.is_ascii_lowercase()))
    {
        return Err(format!("invalid character {bad:?}"));
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase ASCII letter".into());
    }
    if key.ends_with('_') {
        return Err("must end with a lowercase ASCII letter or digit".into());
    }
    if key.contains("__") {
        return Err("must not contain consecutive underscores".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> BTreeMap<String, VariableDecl> {
        BTreeMap::from([
            (
                "jwt_key".to_owned(),
                VariableDecl {
                    required: true,
                    ..Default::default()
                },
            ),
            (
                "title".to_owned(),
                VariableDecl {
                    default: Some("Cockpit".into()),
                    ..Default::default()
                },
            ),
            ("optional".to_owned(), VariableDecl::default()),
        ])
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_overrides_default() {
        let vars = AppVariables::resolve(
            &declared(),
            env(&[
                ("SPIN_VARIABLE_JWT_KEY", "k1"),
                ("SPIN_VARIABLE_TITLE", "Env"),
            ]),
        )
        .unwrap();
        assert_eq!(vars.expand("{{ title }}").unwrap(), "Env");
        assert_eq!(vars.expand("{{jwt_key}}").unwrap(), "k1");
    }

    #[test]
    fn default_applies_without_environment() {
        let vars =
            AppVariables::resolve(&declared(), env(&[("SPIN_VARIABLE_JWT_KEY", "k")])).unwrap();
        assert_eq!(vars.expand("{{ title }}").unwrap(), "Cockpit");
    }

    #[test]
    fn missing_required_variable_is_named() {
        let err = AppVariables::resolve(&declared(), env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "required variable `jwt_key` has no value (set SPIN_VARIABLE_JWT_KEY)"
        );
    }

    #[test]
    fn unset_optional_variable_fails_only_when_used() {
        let vars =
            AppVariables::resolve(&declared(), env(&[("SPIN_VARIABLE_JWT_KEY", "k")])).unwrap();
        assert_eq!(
            vars.expand("x{{ optional }}").unwrap_err().to_string(),
            "variable `optional` has no value and no default (set SPIN_VARIABLE_OPTIONAL)"
        );
    }

    #[test]
    fn templates_mix_literals_and_variables() {
        let vars =
            AppVariables::resolve(&declared(), env(&[("SPIN_VARIABLE_JWT_KEY", "k")])).unwrap();
        assert_eq!(
            vars.expand("Welcome to {{ title }} ({{jwt_key}})!")
                .unwrap(),
            "Welcome to Cockpit (k)!"
        );
        assert_eq!(vars.expand("plain } text {").unwrap(), "plain } text {");
        assert_eq!(vars.expand("").unwrap(), "");
        let expanded = vars
            .expand_all(&BTreeMap::from([
                ("a".to_owned(), "{{ title }}".to_owned()),
                ("b".to_owned(), "lit".to_owned()),
            ]))
            .unwrap();
        assert_eq!(expanded["a"], "Cockpit");
        assert_eq!(expanded["b"], "lit");
    }

    #[test]
    fn template_errors() {
        assert_eq!(
            Template::parse("a {{ b").unwrap_err(),
            TemplateError::Unterminated("a {{ b".into())
        );
        assert_eq!(
            Template::parse("{{ }}").unwrap_err(),
            TemplateError::EmptyExpression("{{ }}".into())
        );
        let template = Template::parse("{{a}}-{{ b }}").unwrap();
        assert_eq!(template.variables().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn guest_keys_follow_spin_rules() {
        assert!(check_guest_key("jwt_public_key").is_ok());
        assert!(check_guest_key("a1").is_ok());
        assert!(check_guest_key("").is_err());
        assert!(check_guest_key("Upper").is_err());
        assert!(check_guest_key("1abc").is_err());
        assert!(check_guest_key("abc_").is_err());
        assert!(check_guest_key("a__b").is_err());
        assert!(check_guest_key("a-b").is_err());
    }
}
