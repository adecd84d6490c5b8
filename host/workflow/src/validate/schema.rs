//! A place in a JSON Schema document and what can be told from it without
//! a value: where its `$ref`s lead, its branches, the types it admits, the
//! one shape a value must fit. The schemas are schemars' (draft 2020-12,
//! `$defs` with internal `$ref`s, `Option<T>` as `anyOf` or type arrays).

use std::collections::BTreeSet;

use serde_json::Value;

/// An always-true schema: where a `$ref` leads outside the document.
pub(super) static ANYTHING: Value = Value::Bool(true);

/// How deep schema walks go before accepting (recursive schemas).
pub(super) const MAX_DEPTH: usize = 64;

/// A place in a JSON Schema document, with the document's root for
/// resolving `$ref`s.
#[derive(Clone, Copy)]
pub(super) struct Node<'a> {
    /// The whole document, which `$ref`s point into.
    pub(super) root: &'a Value,
    /// The schema at this place.
    pub(super) schema: &'a Value,
}

impl<'a> Node<'a> {
    pub(super) fn root(root: &'a Value) -> Self {
        Node { root, schema: root }
    }

    pub(super) fn at(self, schema: &'a Value) -> Self {
        Node {
            root: self.root,
            schema,
        }
    }

    /// The schema a chain of `$ref`s leads to (`#/$defs/Message`); one
    /// leading outside the document allows anything.
    pub(super) fn resolved(self) -> Self {
        let mut node = self;
        for _ in 0..MAX_DEPTH {
            let Some(reference) = node.keyword("$ref").and_then(Value::as_str) else {
                return node;
            };
            let target = reference
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer));
            node = node.at(target.unwrap_or(&ANYTHING));
        }
        node.at(&ANYTHING)
    }

    pub(super) fn keyword(self, key: &str) -> Option<&'a Value> {
        self.schema.get(key)
    }

    /// The branches of `anyOf`/`oneOf` (and `allOf` when `all` is set).
    pub(super) fn branches(self, all: bool) -> Vec<Node<'a>> {
        let keys: &[&str] = if all {
            &["anyOf", "oneOf", "allOf"]
        } else {
            &["anyOf", "oneOf"]
        };
        keys.iter()
            .filter_map(|key| self.keyword(key).and_then(Value::as_array))
            .flatten()
            .map(|schema| self.at(schema))
            .collect()
    }

    /// The `type` keyword as a set, when present.
    pub(super) fn types(self) -> Option<BTreeSet<String>> {
        match self.keyword("type")? {
            Value::String(t) => Some(BTreeSet::from([t.clone()])),
            Value::Array(ts) => Some(
                ts.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Whether the schema itself says what is inside it (rather than only
    /// through `anyOf` and friends).
    pub(super) fn has_structure(self) -> bool {
        [
            "properties",
            "additionalProperties",
            "patternProperties",
            "items",
            "prefixItems",
        ]
        .iter()
        .any(|key| self.keyword(key).is_some())
    }

    pub(super) fn is_null_only(self) -> bool {
        let node = self.resolved();
        node.types()
            .is_some_and(|t| t.len() == 1 && t.contains("null"))
            || node.keyword("const").is_some_and(Value::is_null)
    }

    pub(super) fn property_names(self) -> Vec<String> {
        self.keyword("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The schema of item `index`: from `prefixItems`, else `items`.
pub(super) fn item_schema<'a>(node: Node<'a>, index: usize) -> Option<&'a Value> {
    if let Some(item) = node
        .keyword("prefixItems")
        .and_then(Value::as_array)
        .and_then(|items| items.get(index))
    {
        return Some(item);
    }
    match node.keyword("items")? {
        Value::Array(items) => Some(items.get(index).unwrap_or(&ANYTHING)),
        items => Some(items),
    }
}

/// How `types` reads in a message: `a string or null`.
pub(super) fn describe_types(types: &BTreeSet<String>) -> String {
    if types.is_empty() {
        return "nothing".to_owned();
    }
    types
        .iter()
        .map(|t| match t.as_str() {
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean",
            "array" => "a list",
            "object" => "an object",
            "null" => "null",
            _ => "a value",
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The one schema a value must fit, seen through `$ref`s and through an
/// `anyOf`/`oneOf` whose other branches are only `null` (`Option<T>`);
/// `None` when several shapes are possible.
pub(super) fn single_shape(node: Node<'_>, depth: usize) -> Option<Node<'_>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let node = node.resolved();
    if node.keyword("allOf").is_some() {
        return None;
    }
    let branches = node.branches(false);
    if branches.is_empty() || node.has_structure() {
        return Some(node);
    }
    let mut not_null = branches.into_iter().filter(|b| !b.is_null_only());
    match (not_null.next(), not_null.next()) {
        (Some(only), None) => single_shape(only, depth + 1),
        _ => None,
    }
}

pub(super) fn is_object_schema(node: Node<'_>) -> bool {
    node.keyword("properties").is_some()
        || node.keyword("additionalProperties").is_some()
        || node.types().is_some_and(|t| t.contains("object"))
}

/// The JSON types a schema admits, when it says; `None` when it admits
/// anything or cannot be told without a value.
pub(super) fn allowed_types(node: Node<'_>, depth: usize) -> Option<BTreeSet<String>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let node = node.resolved();
    match node.schema {
        Value::Bool(false) => return Some(BTreeSet::new()),
        Value::Object(_) => {}
        _ => return None,
    }
    if let Some(types) = node.types() {
        return Some(types);
    }
    if let Some(value) = node.keyword("const") {
        return Some(BTreeSet::from([json_type(value).to_owned()]));
    }
    if let Some(values) = node.keyword("enum").and_then(Value::as_array) {
        return Some(values.iter().map(|v| json_type(v).to_owned()).collect());
    }
    let branches = node.branches(false);
    if branches.is_empty() {
        return None;
    }
    let mut union = BTreeSet::new();
    for branch in branches {
        union.extend(allowed_types(branch, depth + 1)?);
    }
    Some(union)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The sub-schema at `node` as a document of its own: the root's `$defs`
/// (and `$schema`, for the draft) attached so its `$ref`s still resolve.
pub(super) fn standalone(node: Node<'_>) -> Value {
    let Value::Object(schema) = node.schema else {
        return node.schema.clone();
    };
    let mut schema = schema.clone();
    if let Value::Object(root) = node.root {
        for key in ["$schema", "$defs", "definitions"] {
            if let Some(value) = root.get(key) {
                schema
                    .entry(key.to_owned())
                    .or_insert_with(|| value.clone());
            }
        }
    }
    Value::Object(schema)
}
