//! JSON Schema validation of action inputs and outputs.

use jsonschema::Validator;

/// A compiled JSON Schema.
pub struct Schema {
    validator: Validator,
}

impl Schema {
    /// Compile `schema`; an error says why it is not a usable JSON Schema.
    pub fn compile(schema: &serde_json::Value) -> Result<Self, String> {
        jsonschema::validator_for(schema)
            .map(|validator| Schema { validator })
            .map_err(|e| e.to_string())
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
}
