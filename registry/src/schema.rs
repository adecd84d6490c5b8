//! JSON Schema validation of action inputs and outputs.
//!
//! Schemas come from plugins, so their `pattern`s are untrusted: they are
//! compiled with the `regex` crate's engine (no backtracking: matching takes
//! time linear in the input) under size limits, never with a backtracking
//! engine whose cost a pattern like `^(a+)+$` could make exponential.

use jsonschema::{PatternOptions, Validator};

/// The most memory, in bytes, one compiled `pattern` may take; a larger
/// pattern is refused when the schema is compiled.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The most memory, in bytes, one pattern's lazy DFA cache may take while
/// matching.
pub const PATTERN_DFA_LIMIT: usize = 2 << 20;

/// Why a JSON Schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A `pattern` needs a backtracking engine or is over
    /// [`PATTERN_SIZE_LIMIT`] once compiled.
    #[error(
        "the pattern {pattern} cannot be used: patterns are matched without \
         backtracking (no look-around, no back-references) and may compile to \
         at most {} KiB; simplify it",
        PATTERN_SIZE_LIMIT >> 10
    )]
    Pattern {
        /// The pattern, as the schema gives it (a JSON string).
        pattern: serde_json::Value,
    },
    /// The schema is not a valid JSON Schema.
    #[error(transparent)]
    Invalid(#[from] jsonschema::ValidationError<'static>),
}

/// A compiled JSON Schema.
pub struct Schema {
    validator: Validator,
}

impl Schema {
    /// Compile `schema`; an error says why it is not a usable JSON Schema.
    pub fn compile(schema: &serde_json::Value) -> Result<Self, SchemaError> {
        jsonschema::options()
            .with_pattern_options(
                PatternOptions::regex()
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .dfa_size_limit(PATTERN_DFA_LIMIT),
            )
            .build(schema)
            .map(|validator| Schema { validator })
            .map_err(|e| match e.kind() {
                jsonschema::error::ValidationErrorKind::Format { format } if format == "regex" => {
                    SchemaError::Pattern {
                        pattern: e.instance().clone().into_owned(),
                    }
                }
                _ => SchemaError::Invalid(e),
            })
    }

    /// `Ok` if `value` satisfies the schema, else every violation, each with
    /// the JSON pointer of the offending field.
    pub fn check(&self, value: &serde_json::Value) -> Result<(), Vec<String>> {
        // The common case first: a yes/no answer allocates nothing.
        if self.validator.is_valid(value) {
            return Ok(());
        }
        let errors: Vec<String> = self
            .validator
            .iter_errors(value)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("at {at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_name_the_field() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"]
        }))
        .expect("valid schema");
        assert!(schema.check(&json!({"n": 1})).is_ok());
        let errors = schema.check(&json!({"n": "x"})).unwrap_err();
        assert!(errors[0].contains("/n"), "{errors:?}");
        assert!(schema.check(&json!({})).is_err());
    }

    #[test]
    fn pathological_patterns_run_in_linear_time() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}},
            "patternProperties": {"^(x+x+)+y$": {"type": "string"}}
        }))
        .expect("the pattern compiles with the non-backtracking engine");
        // Almost matching, the worst case for a backtracking engine: a
        // megabyte of `a` and one `b` (2^1000000 ways to split the `a`s).
        let almost = format!("{}b", "a".repeat(1 << 20));
        let errors = schema
            .check(&json!({"s": almost}))
            .expect_err("a trailing `b` does not match");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("/s") && e.contains("^(a+)+$")),
            "{errors:?}"
        );
        assert!(schema.check(&json!({"s": "a".repeat(1 << 20)})).is_ok());
        let key = format!("{}z", "x".repeat(1 << 20));
        assert!(schema.check(&json!({ key: 1 })).is_ok());
    }

    #[test]
    fn backtracking_patterns_are_refused_at_compile() {
        // With a backtracking engine this look-ahead rescans the rest of
        // the input from every position: about 1.3 s on 16 KiB, hours on a
        // megabyte. It is refused before any input is matched.
        let pattern = "(?=(a+)+c)x";
        let error = Schema::compile(&json!({"type": "string", "pattern": pattern}))
            .err()
            .expect("look-around needs backtracking and is refused")
            .to_string();
        assert!(
            error.contains(pattern) && error.contains("without backtracking"),
            "{error}"
        );
    }

    #[test]
    fn oversized_patterns_are_refused_at_compile() {
        let error = Schema::compile(&json!({"type": "string", "pattern": "(a{1000}){1000}"}))
            .err()
            .expect("a pattern over the size limit is refused")
            .to_string();
        assert!(
            error.contains("(a{1000}){1000}") && error.contains("at most 1024 KiB"),
            "{error}"
        );
    }
}
