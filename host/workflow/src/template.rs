//! Input templates: a step's `input` as written, rendered against the run's
//! context just before the step runs.
//!
//! The context is one JSON document:
//!
//! ```json
//! {"trigger": {...},
//!  "steps": {"fetch": {"output": {...}, "metadata": {"k": "v"}}},
//!  "run": {"id": "...", "workflow": "...", "attempt": 1}}
//! ```
//!
//! (a skipped step has no entry). In a template:
//!
//! - `{"$ref": "/steps/fetch/output/count"}`, optionally with
//!   `"default": <value>`, is replaced by the value at that JSON pointer,
//!   keeping its type;
//! - a string with `{{ /json/pointer }}` in it is interpolated: strings go
//!   in as they are, other values as compact JSON;
//! - everything else is literal, through arrays and objects.
//!
//! A `{{` must open a placeholder (there is no escape), so a literal `{{`
//! in text is an error rather than a silent surprise.

use serde_json::{Map, Value};

/// The key that marks a reference object.
pub const REF_KEY: &str = "$ref";
/// The key giving a reference's value when its pointer has none.
pub const DEFAULT_KEY: &str = "default";
/// The name of a step's input in field paths (`input.title`).
pub const ROOT_FIELD: &str = "input";

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A pointer has no value in the context and no default was given.
    #[error(
        "{field}: `{pointer}` has no value in this run (give the `$ref` a `default` if it may \
         be absent)"
    )]
    Unresolved {
        /// The input field being rendered (`input.title`).
        field: String,
        /// The pointer that did not resolve.
        pointer: String,
    },
    /// The template itself is wrong: a malformed `$ref` object, a pointer
    /// that is not one, an unclosed `{{`.
    #[error("{field}: {problem}")]
    Malformed {
        /// The input field (`input.body`).
        field: String,
        /// What is wrong and how to fix it.
        problem: MalformedTemplate,
    },
}

impl TemplateError {
    /// The input field the error is about (`input.title`).
    pub fn field(&self) -> &str {
        match self {
            TemplateError::Unresolved { field, .. } | TemplateError::Malformed { field, .. } => {
                field
            }
        }
    }
}

/// What is wrong with a template as written, found without a context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedTemplate {
    /// An object with `$ref` that is not a well-formed reference.
    #[error(transparent)]
    Ref(#[from] RefError),
    /// A string whose `{{ ... }}` placeholders do not parse.
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
}

/// Why an object with `$ref` is not a well-formed reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// `$ref` is not a string.
    #[error(
        "`{}` must be a JSON pointer string, like `{{\"$ref\": \"/trigger/id\"}}`",
        REF_KEY
    )]
    NotAString,
    /// The object has a key besides `$ref` and `default` (often a typo).
    #[error(
        "a `{}` object takes only `{}` besides it; remove `{key}` (or check its spelling)",
        REF_KEY,
        DEFAULT_KEY
    )]
    ExtraKey {
        /// The key that does not belong.
        key: String,
    },
    /// `$ref` is a string but not a JSON pointer.
    #[error(transparent)]
    Pointer(#[from] PointerError),
}

/// Why an interpolated string's placeholders do not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// A `{{` with no `}}` after it.
    #[error("`{{{{` is not closed: write a placeholder as `{{{{ /json/pointer }}}}`")]
    Unclosed,
    /// A placeholder holds something that is not a JSON pointer.
    #[error("in `{{{{ {pointer} }}}}`: {error}")]
    BadPointer {
        /// The placeholder's text, trimmed.
        pointer: String,
        /// Why it is not a pointer.
        error: PointerError,
    },
}

/// Why a string is not a JSON pointer a template can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// It does not start with `/` (the whole-document pointer `""`
    /// included: a template reads a part of the context).
    #[error(
        "`{pointer}` is not a JSON pointer: start it with `/`, like `/trigger/id` or \
         `/steps/<id>/output/<field>`"
    )]
    NoLeadingSlash {
        /// The string given as a pointer.
        pointer: String,
    },
    /// A `~` is followed by something other than `0` or `1`.
    #[error("`{pointer}` has a `~` that is not `~0` (for `~`) or `~1` (for `/`)")]
    BadEscape {
        /// The pointer with the bad escape.
        pointer: String,
    },
}

/// One pointer a template reads, for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The input field it fills (`input.title`, `input.items[0]`).
    pub field: String,
    /// The JSON pointer (`/steps/fetch/output/messages/0/subject`).
    pub pointer: String,
    /// Whether a `default` covers the pointer having no value.
    pub has_default: bool,
}

/// A well-formed `{"$ref": ..., "default": ...}` object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefTemplate<'a> {
    /// The JSON pointer.
    pub pointer: &'a str,
    /// The value used when the pointer has none.
    pub default: Option<&'a Value>,
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text kept as it is.
    Text(&'a str),
    /// A `{{ pointer }}` placeholder.
    Pointer(&'a str),
}

/// Render `template` against `context`: references replaced by the values
/// they point at, placeholders interpolated, everything else copied.
pub fn render(template: &Value, context: &Value) -> Result<Value, TemplateError> {
    render_at(template, context, ROOT_FIELD)
}

fn render_at(template: &Value, context: &Value, field: &str) -> Result<Value, TemplateError> {
    match template {
        Value::Object(map) => match ref_template(map).map_err(|e| malformed(field, e))? {
            Some(reference) => resolve_ref(reference, context, field),
            None => render_object(map, context, field),
        },
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| render_at(item, context, &index_field(field, i)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::String(text) if is_interpolated(text) => {
            interpolate(text, context, field).map(Value::String)
        }
        literal => Ok(literal.clone()),
    }
}

fn render_object(
    map: &Map<String, Value>,
    context: &Value,
    field: &str,
) -> Result<Value, TemplateError> {
    let mut out = Map::new();
    for (key, value) in map {
        out.insert(
            key.clone(),
            render_at(value, context, &key_field(field, key))?,
        );
    }
    Ok(Value::Object(out))
}

fn resolve_ref(
    reference: RefTemplate<'_>,
    context: &Value,
    field: &str,
) -> Result<Value, TemplateError> {
    context
        .pointer(reference.pointer)
        .or(reference.default)
        .cloned()
        .ok_or_else(|| unresolved(field, reference.pointer))
}

fn interpolate(text: &str, context: &Value, field: &str) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    for segment in segments(text).map_err(|e| malformed(field, e))? {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Pointer(pointer) => match context.pointer(pointer) {
                Some(Value::String(s)) => out.push_str(s),
                Some(other) => out.push_str(&other.to_string()),
                None => return Err(unresolved(field, pointer)),
            },
        }
    }
    Ok(out)
}

/// Every pointer `template` reads, with the field it fills. Malformed
/// parts are left out; [`check`] reports them.
pub fn references(template: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    visit(template, ROOT_FIELD, &mut |field, node| match node {
        Node::Ref(Ok(reference)) => out.push(Reference {
            field: field.to_owned(),
            pointer: reference.pointer.to_owned(),
            has_default: reference.default.is_some(),
        }),
        Node::Text(Ok(segments)) => {
            out.extend(segments.into_iter().filter_map(|s| match s {
                Segment::Pointer(pointer) => Some(Reference {
                    field: field.to_owned(),
                    pointer: pointer.to_owned(),
                    has_default: false,
                }),
                Segment::Text(_) => None,
            }));
        }
        _ => {}
    });
    out
}

/// Every problem in `template` that shows without a context: malformed
/// `$ref` objects, bad pointers, unclosed placeholders.
pub fn check(template: &Value) -> Vec<TemplateError> {
    let mut out = Vec::new();
    visit(template, ROOT_FIELD, &mut |field, node| match node {
        Node::Ref(Err(error)) => out.push(malformed(field, error)),
        Node::Text(Err(error)) => out.push(malformed(field, error)),
        _ => {}
    });
    out
}

/// What a template node is, for the walkers above.
enum Node<'a> {
    Ref(Result<RefTemplate<'a>, RefError>),
    Text(Result<Vec<Segment<'a>>, PlaceholderError>),
}

/// Call `f` on every reference object and interpolated string in
/// `template`, with its field path; reference objects are not entered.
fn visit<'a>(template: &'a Value, field: &str, f: &mut dyn FnMut(&str, Node<'a>)) {
    match template {
        Value::Object(map) => match ref_template(map) {
            Ok(None) => {
                for (key, value) in map {
                    visit(value, &key_field(field, key), f);
                }
            }
            Ok(Some(reference)) => f(field, Node::Ref(Ok(reference))),
            Err(error) => f(field, Node::Ref(Err(error))),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                visit(item, &index_field(field, i), f);
            }
        }
        Value::String(text) if is_interpolated(text) => f(field, Node::Text(segments(text))),
        _ => {}
    }
}

/// Read an object as a reference: `Ok(None)` for an ordinary object, an
/// error for one with `$ref` that is not a well-formed reference.
pub fn ref_template(map: &Map<String, Value>) -> Result<Option<RefTemplate<'_>>, RefError> {
    let Some(pointer) = map.get(REF_KEY) else {
        return Ok(None);
    };
    let Value::String(pointer) = pointer else {
        return Err(RefError::NotAString);
    };
    if let Some(extra) = map.keys().find(|k| *k != REF_KEY && *k != DEFAULT_KEY) {
        return Err(RefError::ExtraKey { key: extra.clone() });
    }
    parse_pointer(pointer)?;
    Ok(Some(RefTemplate {
        pointer,
        default: map.get(DEFAULT_KEY),
    }))
}

/// Whether a value is a reference object (well-formed or not).
pub fn is_ref(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.contains_key(REF_KEY))
}

/// Whether a string has placeholders to interpolate.
pub fn is_interpolated(text: &str) -> bool {
    text.contains("{{")
}

/// Whether a value holds no reference and no placeholder anywhere, so it
/// is known in full before the run.
pub fn is_literal(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.contains_key(REF_KEY) && map.values().all(is_literal),
        Value::Array(items) => items.iter().all(is_literal),
        Value::String(text) => !is_interpolated(text),
        _ => true,
    }
}

/// Split an interpolated string into text and placeholders; an error for
/// an unclosed `{{` or a placeholder that is not a JSON pointer.
pub fn segments(text: &str) -> Result<Vec<Segment<'_>>, PlaceholderError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Segment::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(PlaceholderError::Unclosed);
        };
        let pointer = after[..close].trim();
        parse_pointer(pointer).map_err(|error| PlaceholderError::BadPointer {
            pointer: pointer.to_owned(),
            error,
        })?;
        out.push(Segment::Pointer(pointer));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    Ok(out)
}

/// Split a JSON pointer into its tokens, unescaped (`~1` is `/`, `~0` is
/// `~`); an error says how to write one. The whole-document pointer `""`
/// is refused: a template reads a part of the context.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, PointerError> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(PointerError::NoLeadingSlash {
            pointer: pointer.to_owned(),
        });
    };
    rest.split('/')
        .map(|token| unescape(pointer, token))
        .collect()
}

fn unescape(pointer: &str, token: &str) -> Result<String, PointerError> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => {
                return Err(PointerError::BadEscape {
                    pointer: pointer.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// The field path of an object member: `input.title`, or
/// `input["odd key"]` when the key is not a plain name.
pub fn key_field(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::String(key.to_owned()))
    }
}

/// The field path of an array item: `input.items[0]`.
pub fn index_field(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn malformed(field: &str, problem: impl Into<MalformedTemplate>) -> TemplateError {
    TemplateError::Malformed {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn unresolved(field: &str, pointer: &str) -> TemplateError {
    TemplateError::Unresolved {
        field: field.to_owned(),
        pointer: pointer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "trigger": {"database": "db-1", "n": 3, "tags": ["a", "b"], "a/b": "slash", "m~n": "tilde"},
            "steps": {"fetch": {"output": {"messages": [{"subject": "Hi", "from": "ann@example.com", "size": 12}]},
                                "metadata": {"request-id": "r1"}}},
            "run": {"id": "run-1", "workflow": "w", "attempt": 1},
        })
    }

    #[test]
    fn refs_keep_their_type_and_text_is_interpolated() {
        let template = json!({
            "database_id": "{{ /trigger/database }}",
            "title": {"$ref": "/steps/fetch/output/messages/0/subject"},
            "count": {"$ref": "/trigger/n"},
            "tags": {"$ref": "/trigger/tags"},
            "message": {"$ref": "/steps/fetch/output/messages/0"},
            "body": "From {{/steps/fetch/output/messages/0/from}} ({{ /steps/fetch/output/messages/0/size }} kB), tags {{ /trigger/tags }}",
            "nested": [{"run": "{{ /run/id }}#{{ /run/attempt }}"}, 1, true, null],
            "literal": {"a": [1, "two"]},
        });
        let rendered = render(&template, &context()).expect("renders");
        assert_eq!(
            rendered,
            json!({
                "database_id": "db-1",
                "title": "Hi",
                "count": 3,
                "tags": ["a", "b"],
                "message": {"subject": "Hi", "from": "ann@example.com", "size": 12},
                "body": "From ann@example.com (12 kB), tags [\"a\",\"b\"]",
                "nested": [{"run": "run-1#1"}, 1, true, null],
                "literal": {"a": [1, "two"]},
            })
        );
    }

    #[test]
    fn defaults_cover_absent_values_only() {
        let template = json!({
            "a": {"$ref": "/steps/page/output/id", "default": null},
            "b": {"$ref": "/trigger/n", "default": 0},
        });
        assert_eq!(
            render(&template, &context()).unwrap(),
            json!({"a": null, "b": 3})
        );
    }

    #[test]
    fn an_absent_value_names_the_field_and_the_pointer() {
        let err = render(
            &json!({"items": [{"x": {"$ref": "/steps/page/output/id"}}]}),
            &context(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            TemplateError::Unresolved {
                field: "input.items[0].x".into(),
                pointer: "/steps/page/output/id".into()
            }
        );
        let err = render(&json!({"body": "id {{ /trigger/nope }}"}), &context()).unwrap_err();
        assert_eq!(err.field(), "input.body");
        assert!(err.to_string().contains("`/trigger/nope`"), "{err}");
    }

    #[test]
    fn pointers_unescape_and_odd_keys_are_quoted() {
        let template = json!({"odd key": {"$ref": "/trigger/a~1b"}, "t": "{{ /trigger/m~0n }}"});
        assert_eq!(
            render(&template, &context()).unwrap(),
            json!({"odd key": "slash", "t": "tilde"})
        );
        let err = render(&json!({"odd key": {"$ref": "/x"}}), &context()).unwrap_err();
        assert_eq!(err.field(), "input[\"odd key\"]");
        assert_eq!(
            parse_pointer("/a~1b/c~0d/").unwrap(),
            vec!["a/b", "c~d", ""]
        );
        assert!(parse_pointer("/a~2").is_err());
        assert!(parse_pointer("trigger/x").is_err());
        assert!(parse_pointer("").is_err());
    }

    #[test]
    fn malformed_templates_are_errors() {
        let typo = json!({"title": {"$ref": "/trigger/database", "defualt": "x"}});
        let err = render(&typo, &context()).unwrap_err();
        assert!(
            matches!(err, TemplateError::Malformed { ref field, .. } if field == "input.title")
        );
        assert!(err.to_string().contains("defualt"), "{err}");

        for bad in [
            json!({"x": {"$ref": 3}}),
            json!({"x": {"$ref": "trigger/database"}}),
            json!({"x": "{{ /trigger/database"}),
            json!({"x": "{{ database }}"}),
            json!({"x": "{{}}"}),
        ] {
            assert!(
                matches!(
                    render(&bad, &context()),
                    Err(TemplateError::Malformed { .. })
                ),
                "{bad}"
            );
            assert_eq!(check(&bad).len(), 1, "{bad}");
            assert!(references(&bad).is_empty(), "{bad}");
        }
        assert!(check(&json!({"ok": "}} and {{ /a }}", "n": {"$ref": "/b"}})).is_empty());
    }

    #[test]
    fn references_list_every_pointer_with_its_field() {
        let template = json!({
            "title": {"$ref": "/steps/fetch/output/messages/0/subject", "default": ""},
            "body": "{{ /trigger/a }} and {{ /run/id }}",
            "list": [{"$ref": "/trigger/b"}],
            "plain": "no placeholders",
        });
        let refs = references(&template);
        let simple: Vec<(&str, &str, bool)> = refs
            .iter()
            .map(|r| (r.field.as_str(), r.pointer.as_str(), r.has_default))
            .collect();
        assert_eq!(
            simple,
            vec![
                ("input.body", "/trigger/a", false),
                ("input.body", "/run/id", false),
                ("input.list[0]", "/trigger/b", false),
                (
                    "input.title",
                    "/steps/fetch/output/messages/0/subject",
                    true
                ),
            ]
        );
    }

    #[test]
    fn literals_and_segments() {
        assert!(is_literal(&json!({"a": [1, {"b": "c"}]})));
        assert!(!is_literal(&json!({"a": [1, {"b": "{{ /c }}"}]})));
        assert!(!is_literal(&json!([{"$ref": "/c"}])));
        assert!(is_ref(&json!({"$ref": 1})));
        assert_eq!(
            segments("a{{/b}}c{{ /d }}").unwrap(),
            vec![
                Segment::Text("a"),
                Segment::Pointer("/b"),
                Segment::Text("c"),
                Segment::Pointer("/d")
            ]
        );
    }

    #[test]
    fn malformed_templates_say_exactly_how_to_fix_them() {
        let ref_error = |value: Value| match ref_template(value.as_object().expect("an object")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{value} is a reference"),
        };
        assert_eq!(
            ref_error(json!({"$ref": 3})),
            "`$ref` must be a JSON pointer string, like `{\"$ref\": \"/trigger/id\"}`"
        );
        assert_eq!(
            ref_error(json!({"$ref": "/a", "defualt": 1})),
            "a `$ref` object takes only `default` besides it; remove `defualt` (or check its \
             spelling)"
        );
        assert_eq!(
            ref_error(json!({"$ref": "a"})),
            "`a` is not a JSON pointer: start it with `/`, like `/trigger/id` or \
             `/steps/<id>/output/<field>`"
        );
        assert_eq!(
            segments("x {{ /a").unwrap_err().to_string(),
            "`{{` is not closed: write a placeholder as `{{ /json/pointer }}`"
        );
        assert_eq!(
            segments("x {{ /a~2 }}").unwrap_err().to_string(),
            "in `{{ /a~2 }}`: `/a~2` has a `~` that is not `~0` (for `~`) or `~1` (for `/`)"
        );
        assert_eq!(
            parse_pointer("").unwrap_err().to_string(),
            "`` is not a JSON pointer: start it with `/`, like `/trigger/id` or \
             `/steps/<id>/output/<field>`"
        );
        assert_eq!(
            render(&json!({"x": ["{{ nope }}"]}), &context())
                .unwrap_err()
                .to_string(),
            "input.x[0]: in `{{ nope }}`: `nope` is not a JSON pointer: start it with `/`, like \
             `/trigger/id` or `/steps/<id>/output/<field>`"
        );
    }
}
