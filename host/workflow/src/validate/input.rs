//! A step's input checked against its action's input schema, as far as
//! the template is known before the run: required properties present, no
//! unknown property where `additionalProperties` is `false`, literals
//! valid, no `{{ }}` text where the schema wants another type.

use serde_json::{Map, Value};
use workway_registry::schema::Schema;

use super::schema::{
    ANYTHING, MAX_DEPTH, Node, allowed_types, describe_types, is_object_schema, item_schema,
    single_shape, standalone,
};
use super::{Problems, backticked};
use crate::template::{self, Segment};

/// Check the template `input` of the step at `location` against its
/// action's input schema `schema`, pushing every problem found.
pub(super) fn check_input(
    location: &str,
    action: &str,
    input: &Value,
    schema: &Value,
    problems: &mut Problems,
) {
    let mut check = InputCheck {
        location,
        action,
        problems,
    };
    check.value(template::ROOT_FIELD, input, Node::root(schema), 0);
}

/// Checks one step's input template against its action's input schema.
struct InputCheck<'a> {
    location: &'a str,
    action: &'a str,
    problems: &'a mut Problems,
}

impl InputCheck<'_> {
    fn push(&mut self, field: &str, message: String) {
        self.problems
            .push(format!("{}.{field}", self.location), message);
    }

    /// Check the template `value` at `field` against `node`, as far as it
    /// is known before the run.
    fn value(&mut self, field: &str, value: &Value, node: Node<'_>, depth: usize) {
        if template::is_ref(value) || depth > MAX_DEPTH {
            return;
        }
        if let Value::String(text) = value
            && template::is_interpolated(text)
        {
            return self.text(field, text, node);
        }
        let shape = single_shape(node, 0);
        match (value, shape) {
            (Value::Object(map), Some(shape)) if is_object_schema(shape) => {
                self.object(field, map, shape, depth);
            }
            (Value::Array(items), Some(shape))
                if !template::is_literal(value) && shape.keyword("items").is_some() =>
            {
                for (i, item) in items.iter().enumerate() {
                    let item_node =
                        item_schema(shape, i).map_or(shape.at(&ANYTHING), |s| shape.at(s));
                    self.value(&template::index_field(field, i), item, item_node, depth + 1);
                }
            }
            _ if template::is_literal(value) => self.literal(field, value, node),
            _ => {}
        }
    }

    fn object(&mut self, field: &str, map: &Map<String, Value>, shape: Node<'_>, depth: usize) {
        let required = shape.keyword("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                let message = format!("`{name}` is required by `{}`: add it", self.action);
                self.push(field, message);
            }
        }
        let properties = shape.keyword("properties").and_then(Value::as_object);
        let additional = shape.keyword("additionalProperties");
        for (key, value) in map {
            let child = template::key_field(field, key);
            if let Some(schema) = properties.and_then(|p| p.get(key)) {
                self.value(&child, value, shape.at(schema), depth + 1);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => {
                    let message = self.unknown_property(key, shape);
                    self.push(&child, message);
                }
                Some(schema @ Value::Object(_)) => {
                    self.value(&child, value, shape.at(schema), depth + 1);
                }
                _ => {}
            }
        }
    }

    fn unknown_property(&self, key: &str, shape: Node<'_>) -> String {
        let known = shape.property_names();
        if known.is_empty() {
            format!(
                "`{}` takes no `{key}` here (nothing is allowed)",
                self.action
            )
        } else {
            format!(
                "`{}` takes no `{key}` here; it takes {}",
                self.action,
                backticked(&known)
            )
        }
    }

    fn text(&mut self, field: &str, text: &str, node: Node<'_>) {
        let Some(types) = allowed_types(node, 0) else {
            return;
        };
        if types.contains("string") {
            return;
        }
        let hint = match template::segments(text).as_deref() {
            Ok([Segment::Pointer(pointer)]) => {
                format!("; to pass the value itself, write `{{\"$ref\": \"{pointer}\"}}`")
            }
            _ => String::new(),
        };
        let message = format!(
            "`{}` wants {} here, but text with `{{{{ }}}}` is always a string{hint}",
            self.action,
            describe_types(&types)
        );
        self.push(field, message);
    }

    fn literal(&mut self, field: &str, value: &Value, node: Node<'_>) {
        match Schema::compile(&standalone(node)) {
            Ok(schema) => {
                if let Err(errors) = schema.check(value) {
                    for error in errors {
                        self.push(field, error);
                    }
                }
            }
            Err(e) => {
                let message = format!("`{}`'s input schema cannot be used here: {e}", self.action);
                self.push(field, message);
            }
        }
    }
}
