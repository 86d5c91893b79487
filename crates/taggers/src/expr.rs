//! Rule expressions in CEL (docs/taggers.md#expressions). The reference evaluates expr-lang,
//! where integers and floats mix freely; CEL keeps them apart. Every number is therefore a
//! double here: the environment's numbers are given to CEL as doubles and integer literals are
//! turned into double literals after parsing, so `job.duration > 600` and `x * 100` work as
//! rule authors expect (and `7 / 2` is 3.5, as in expr-lang).

use std::collections::{BTreeMap, HashMap};

use cel::common::ast::{EntryExpr, Expr, LiteralValue};
use cel::common::types::CelDouble;
use cel::{Context, Program, Value};

use crate::jobclass::Fact;

/// A compiled expression and its source text.
#[derive(Debug)]
pub(crate) struct Expression {
    source: String,
    tree: cel::IdedExpr,
}

/// Why an expression does not compile or evaluate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ExprError {
    #[error("expression {expression:?} does not compile: {problem}")]
    Compile { expression: String, problem: String },
    #[error("expression {expression:?} failed: {problem}")]
    Evaluate { expression: String, problem: String },
    #[error("expression {expression:?} yields {found}, not {expected}")]
    Type {
        expression: String,
        found: String,
        expected: &'static str,
    },
}

impl Expression {
    pub(crate) fn compile(source: &str) -> Result<Expression, ExprError> {
        let program = Program::compile(source).map_err(|errors| ExprError::Compile {
            expression: source.to_owned(),
            problem: errors.to_string(),
        })?;
        let mut tree = program.expression().clone();
        numbers_as_doubles(&mut tree.expr);
        Ok(Expression {
            source: source.to_owned(),
            tree,
        })
    }

    fn evaluate(&self, context: &Context) -> Result<Value, ExprError> {
        context
            .resolve(&self.tree)
            .map_err(|error| ExprError::Evaluate {
                expression: self.source.clone(),
                problem: error.to_string(),
            })
    }

    /// The value of a requirement or rule.
    pub(crate) fn evaluate_bool(&self, context: &Context) -> Result<bool, ExprError> {
        match self.evaluate(context)? {
            Value::Bool(value) => Ok(value),
            other => Err(self.type_error(&other, "a bool")),
        }
    }

    /// The value of a variable.
    pub(crate) fn evaluate_number(&self, context: &Context) -> Result<f64, ExprError> {
        match self.evaluate(context)? {
            Value::Float(value) => Ok(value),
            other => Err(self.type_error(&other, "a number")),
        }
    }

    fn type_error(&self, found: &Value, expected: &'static str) -> ExprError {
        ExprError::Type {
            expression: self.source.clone(),
            found: format!("{found:?}"),
            expected,
        }
    }
}

/// Replaces every integer literal of `expr` by the double of the same value.
fn numbers_as_doubles(expr: &mut Expr) {
    match expr {
        Expr::Literal(literal) => {
            let double = match literal {
                LiteralValue::Int(value) => Some(*value.inner() as f64),
                LiteralValue::UInt(value) => Some(*value.inner() as f64),
                _ => None,
            };
            if let Some(double) = double {
                *literal = LiteralValue::Double(CelDouble::from(double));
            }
        }
        Expr::Call(call) => {
            if let Some(target) = call.target.as_mut() {
                numbers_as_doubles(&mut target.expr);
            }
            call.args
                .iter_mut()
                .for_each(|arg| numbers_as_doubles(&mut arg.expr));
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &mut comprehension.iter_range,
                &mut comprehension.accu_init,
                &mut comprehension.loop_cond,
                &mut comprehension.loop_step,
                &mut comprehension.result,
            ] {
                numbers_as_doubles(&mut part.expr);
            }
        }
        Expr::List(list) => list
            .elements
            .iter_mut()
            .for_each(|element| numbers_as_doubles(&mut element.expr)),
        Expr::Map(map) => map
            .entries
            .iter_mut()
            .for_each(|entry| match &mut entry.expr {
                EntryExpr::MapEntry(entry) => {
                    numbers_as_doubles(&mut entry.key.expr);
                    numbers_as_doubles(&mut entry.value.expr);
                }
                EntryExpr::StructField(field) => numbers_as_doubles(&mut field.value.expr),
            }),
        Expr::Struct(structure) => structure.entries.iter_mut().for_each(|entry| {
            if let EntryExpr::StructField(field) = &mut entry.expr {
                numbers_as_doubles(&mut field.value.expr);
            }
        }),
        Expr::Select(select) => numbers_as_doubles(&mut select.operand.expr),
        Expr::Ident(_) | Expr::Unspecified => {}
    }
}

/// The CEL value of a fact: every number a double.
fn cel_value(fact: &Fact) -> Value {
    match fact {
        Fact::Int(value) => Value::Float(*value as f64),
        Fact::Float(value) => Value::Float(*value),
        Fact::Text(value) => Value::from(value.as_str()),
        Fact::Map(entries) => Value::from(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), cel_value(value)))
                .collect::<HashMap<String, Value>>(),
        ),
    }
}

/// A CEL context with one variable per entry of `environment`.
pub(crate) fn context(environment: &BTreeMap<String, Fact>) -> Context<'static, 'static> {
    let mut context = Context::default();
    for (name, fact) in environment {
        context.add_variable_from_value(name.clone(), cel_value(fact));
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> BTreeMap<String, Fact> {
        BTreeMap::from([
            (
                "job".to_owned(),
                Fact::Map(BTreeMap::from([
                    ("shared".to_owned(), Fact::Text("none".into())),
                    ("duration".to_owned(), Fact::Int(3600)),
                ])),
            ),
            ("factor".to_owned(), Fact::Float(0.5)),
        ])
    }

    fn number(source: &str) -> Result<f64, ExprError> {
        Expression::compile(source)?.evaluate_number(&context(&environment()))
    }

    fn boolean(source: &str) -> Result<bool, ExprError> {
        Expression::compile(source)?.evaluate_bool(&context(&environment()))
    }

    #[test]
    fn integers_and_doubles_mix() {
        assert_eq!(number("job.duration * factor"), Ok(1800.0));
        assert_eq!(number("job.duration / 8 * 8"), Ok(3600.0));
        assert_eq!(number("7 / 2"), Ok(3.5));
        assert_eq!(number("factor * 100 + 1"), Ok(51.0));
        assert_eq!(boolean("job.duration > 600"), Ok(true));
        assert_eq!(boolean("job.duration == 3600 && factor < 1"), Ok(true));
        assert_eq!(boolean("[1, 2].exists(x, x > 1.5)"), Ok(true));
        assert_eq!(boolean("{'a': 1}['a'] == 1.0"), Ok(true));
        assert_eq!(
            boolean("job.shared == \"none\" && !(job.shared != 'none')"),
            Ok(true)
        );
    }

    #[test]
    fn failures_name_the_expression() {
        assert_eq!(
            boolean("job.duration").unwrap_err().to_string(),
            "expression \"job.duration\" yields Float(3600.0), not a bool"
        );
        assert!(matches!(
            boolean("missing > 1"),
            Err(ExprError::Evaluate { .. })
        ));
        let error = Expression::compile("a ^ 2").unwrap_err();
        assert!(matches!(error, ExprError::Compile { .. }), "{error}");
    }
}
