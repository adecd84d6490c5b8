//! Which paths an output schema allows: the rest of a
//! `/steps/<id>/output/...` pointer followed through the action's output
//! schema, and when it leads nowhere, where and why, with the names that
//! were possible there.

use serde_json::Value;

use super::backticked;
use super::schema::{MAX_DEPTH, Node, describe_types, item_schema};

/// Why a path leads nowhere in an output schema; shown as a sentence about
/// the path (`` `messages/0` has no `subjet`; it has `from`, `subject` ``).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .reason.describe(.path))]
pub(super) struct MissingPath {
    /// The path's tokens, after `output`.
    path: Vec<String>,
    /// What stopped it.
    reason: PathError,
}

/// Whether `path` (a pointer's tokens after `output`) can lead to a value
/// in the output schema `schema`.
pub(super) fn check_path(schema: &Value, path: &[String]) -> Result<(), MissingPath> {
    walk(Node::root(schema), path, 0, 0).map_err(|reason| MissingPath {
        path: path.to_vec(),
        reason,
    })
}

/// Why a path does not lead anywhere in a schema; `at` is how many of the
/// path's tokens were followed.
#[derive(Debug, Clone, PartialEq)]
enum PathError {
    NoProperty { at: usize, known: Vec<String> },
    NotContainer { at: usize, kind: String },
    NeedsIndex { at: usize },
    Never { at: usize },
}

impl PathError {
    fn describe(&self, path: &[String]) -> String {
        let place = |at: usize| {
            if at == 0 {
                "the output".to_owned()
            } else {
                format!("`{}`", path[..at].join("/"))
            }
        };
        let token = |at: usize| path.get(at).map(String::as_str).unwrap_or_default();
        match self {
            PathError::NoProperty { at, known } if known.is_empty() => {
                format!("{} has no properties, so no `{}`", place(*at), token(*at))
            }
            PathError::NoProperty { at, known } => format!(
                "{} has no `{}`; it has {}",
                place(*at),
                token(*at),
                backticked(known)
            ),
            PathError::NotContainer { at, kind } => {
                format!("{} is {kind}, so it has no `{}`", place(*at), token(*at))
            }
            PathError::NeedsIndex { at } => format!(
                "{} is a list: pick an item by its position, like `{}/0`",
                place(*at),
                path[..*at].join("/")
            ),
            PathError::Never { at } => format!("{} never has a value", place(*at)),
        }
    }

    /// Errors that only say "this branch is null": another branch's error
    /// explains more.
    fn is_uninformative(&self) -> bool {
        matches!(self, PathError::Never { .. })
            || matches!(self, PathError::NotContainer { kind, .. } if kind == "null")
    }
}

/// Follow `path[i..]` through `node`: `properties`, `items`/indices,
/// `$ref`s and `anyOf`/`oneOf`/`allOf` branches. A schema that allows
/// anything accepts any path; one listing `properties` (as schemars writes
/// every struct) accepts only those names.
fn walk(node: Node<'_>, path: &[String], i: usize, depth: usize) -> Result<(), PathError> {
    if i >= path.len() || depth > MAX_DEPTH {
        return Ok(());
    }
    let node = node.resolved();
    match node.schema {
        Value::Bool(false) => return Err(PathError::Never { at: i }),
        Value::Object(_) => {}
        _ => return Ok(()),
    }
    let branches = node.branches(true);
    if branches.is_empty() {
        return step_into(node, path, i, depth);
    }
    let mut errors = Vec::new();
    if node.has_structure() {
        match step_into(node, path, i, depth) {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(e),
        }
    }
    for branch in branches {
        match walk(branch, path, i, depth + 1) {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(e),
        }
    }
    Err(merge(errors))
}

/// Follow `path[i]` through the keywords of `node` itself.
fn step_into(node: Node<'_>, path: &[String], i: usize, depth: usize) -> Result<(), PathError> {
    let token = &path[i];
    let next = |schema: &Value| walk(node.at(schema), path, i + 1, depth + 1);
    if let Some(index) = array_index(token)
        && let Some(item) = item_schema(node, index)
    {
        return next(item);
    }
    if let Some(property) = node.keyword("properties").and_then(|p| p.get(token)) {
        return next(property);
    }
    if node.keyword("patternProperties").is_some() {
        return Ok(());
    }
    match node.keyword("additionalProperties") {
        Some(Value::Bool(false)) => return Err(no_property(node, i)),
        Some(Value::Bool(true)) => return Ok(()),
        Some(schema) => return next(schema),
        None => {}
    }
    if node.keyword("properties").is_some() {
        return Err(no_property(node, i));
    }
    check_container_type(node, array_index(token).is_some(), i)
}

fn no_property(node: Node<'_>, i: usize) -> PathError {
    PathError::NoProperty {
        at: i,
        known: node.property_names(),
    }
}

/// A node with nothing to follow: decided by its `type`.
fn check_container_type(node: Node<'_>, is_index: bool, i: usize) -> Result<(), PathError> {
    let has_items = node.keyword("items").is_some() || node.keyword("prefixItems").is_some();
    let Some(types) = node.types() else {
        return if has_items && !is_index {
            Err(PathError::NeedsIndex { at: i })
        } else {
            Ok(())
        };
    };
    if types.contains("object") {
        return Ok(());
    }
    if types.contains("array") {
        return if is_index {
            Ok(())
        } else {
            Err(PathError::NeedsIndex { at: i })
        };
    }
    Err(PathError::NotContainer {
        at: i,
        kind: describe_types(&types),
    })
}

/// One error from the failures of every branch: the informative ones, and
/// when several say "no such property" at the same place, every property
/// any of them has.
fn merge(errors: Vec<PathError>) -> PathError {
    let informative: Vec<PathError> = errors
        .iter()
        .filter(|e| !e.is_uninformative())
        .cloned()
        .collect();
    let mut errors = if informative.is_empty() {
        errors
    } else {
        informative
    };
    if errors.is_empty() {
        return PathError::Never { at: 0 };
    }
    let first = errors.remove(0);
    let PathError::NoProperty { at, mut known } = first else {
        return first;
    };
    for error in errors {
        if let PathError::NoProperty {
            at: other_at,
            known: other,
        } = error
            && other_at == at
        {
            known.extend(other);
        }
    }
    known.sort();
    known.dedup();
    PathError::NoProperty { at, known }
}

fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    let canonical = token == "0" || !token.starts_with('0');
    (digits && canonical).then(|| token.parse().ok()).flatten()
}
