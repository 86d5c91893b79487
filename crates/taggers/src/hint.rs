//! Hint templates (docs/taggers.md#hints): the part of Go's `text/template` the rules use,
//! text with `{{.name.field}}` actions, printed as Go's `fmt.Sprint` prints the values.

use std::collections::BTreeMap;

use crate::jobclass::Fact;
use cc_gocompat::format_float_v;

/// What text/template prints for a missing map key.
const NO_VALUE: &str = "<no value>";

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// A field path such as `cpu_load.limits.peak`.
    Field(Vec<String>),
}

/// A parsed hint template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HintTemplate {
    pieces: Vec<Piece>,
}

impl HintTemplate {
    /// Parses `source`; any action other than a field path is refused.
    pub(crate) fn parse(source: &str) -> Result<HintTemplate, String> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed action in hint {source:?}"))?;
            pieces.push(Piece::Field(field_path(after[..end].trim())?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(HintTemplate { pieces })
    }

    /// The template with the values of `environment`.
    pub(crate) fn render(&self, environment: &BTreeMap<String, Fact>) -> String {
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(literal) => text.push_str(literal),
                Piece::Field(path) => match lookup(environment, path) {
                    Some(fact) => print_fact(&mut text, fact),
                    None => text.push_str(NO_VALUE),
                },
            }
        }
        text
    }
}

/// The path of an action `.a.b.c`.
fn field_path(action: &str) -> Result<Vec<String>, String> {
    let unsupported = || {
        format!("unsupported template action {{{{{action}}}}}: only field paths such as {{{{.metric.avg}}}} are supported")
    };
    let path = action.strip_prefix('.').ok_or_else(unsupported)?;
    let fields: Vec<String> = path.split('.').map(str::to_owned).collect();
    let is_identifier = |field: &String| {
        field
            .chars()
            .next()
            .is_some_and(|first| first.is_alphabetic() || first == '_')
            && field.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if fields.iter().all(is_identifier) {
        Ok(fields)
    } else {
        Err(unsupported())
    }
}

fn lookup<'a>(environment: &'a BTreeMap<String, Fact>, path: &[String]) -> Option<&'a Fact> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(environment.get(first)?, |fact, field| match fact {
            Fact::Map(entries) => entries.get(field),
            _ => None,
        })
}

/// `fmt.Sprint` of a value: maps as `map[key:value ...]` with sorted keys.
fn print_fact(text: &mut String, fact: &Fact) {
    match fact {
        Fact::Int(value) => text.push_str(&value.to_string()),
        Fact::Float(value) => text.push_str(&format_float_v(*value)),
        Fact::Text(value) => text.push_str(value),
        Fact::Map(entries) => {
            text.push_str("map[");
            for (index, (key, value)) in entries.iter().enumerate() {
                if index > 0 {
                    text.push(' ');
                }
                text.push_str(key);
                text.push(':');
                print_fact(text, value);
            }
            text.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_printed_like_go() {
        let environment = BTreeMap::from([
            ("a".to_owned(), Fact::Float(1_000_000.0)),
            ("n".to_owned(), Fact::Int(1_000_000)),
            (
                "m".to_owned(),
                Fact::Map(BTreeMap::from([
                    ("z".to_owned(), Fact::Text("last".into())),
                    ("b".to_owned(), Fact::Float(0.5)),
                ])),
            ),
        ]);
        let template =
            HintTemplate::parse("a={{.a}} n={{ .n }} b={{.m.b}} m={{.m}} x={{.x}} y={{.a.y}}.")
                .unwrap();
        assert_eq!(
            template.render(&environment),
            "a=1e+06 n=1000000 b=0.5 m=map[b:0.5 z:last] x=<no value> y=<no value>."
        );
        assert_eq!(
            HintTemplate::parse("plain").unwrap().render(&environment),
            "plain"
        );
    }

    #[test]
    fn other_actions_are_refused() {
        for source in [
            "{{printf \"%.1f\" .a}}",
            "{{.a | printf}}",
            "{{.}}",
            "{{.a..b}}",
            "{{.a",
        ] {
            assert!(HintTemplate::parse(source).is_err(), "{source}");
        }
    }
}
