//! Validation: every check that can be made on a definition before it
//! runs, against the schemas of the actions it uses.
//!
//! Every problem is reported (not just the first), each at a location a
//! user can find: `name`, `trigger.cron`, `steps[0] (fetch).action`,
//! `steps[1] (page).input.title`. Checks:
//!
//! - names, ids and actions are well-formed; 1 to 100 steps; ids unique;
//! - each action resolves through [`ActionLookup`];
//! - each pointer (input templates and `when:`) reads `/trigger`, `/run`,
//!   or the output (or metadata) of an *earlier* step, and the rest of a
//!   `/steps/<id>/output/...` pointer exists in that action's output schema;
//! - each input, as far as it is known before running, fits the action's
//!   input schema: required properties present, no unknown property where
//!   `additionalProperties` is `false`, literals valid, no `{{ }}` text
//!   where the schema wants another type;
//! - retry policies within bounds; the trigger's settings usable.
//!
//! This module holds the entry point and the step checks; the trigger's
//! checks, the pointers' reach, and the reasoning about JSON Schemas live
//! in the submodules.

mod input;
mod pointers;
mod schema;
mod schema_paths;
mod trigger;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use super::condition::Condition;
use super::definition::{Step, WorkflowDefinition};
use super::template;

/// The most steps a workflow may have.
pub const MAX_STEPS: usize = 100;
/// The longest workflow name or step id.
pub const MAX_NAME_LEN: usize = 64;

/// Finds the schemas of an installed integration's action.
pub trait ActionLookup {
    /// The schemas of `integration`'s `action`, or why it cannot be used
    /// (shown to the user: "`gmail` is not installed: run `workway
    /// install gmail`").
    fn action(&self, integration: &str, action: &str) -> Result<ActionSchemas, LookupError>;
}

/// Why an [`ActionLookup`] cannot give an action's schemas; the message
/// says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The integration is not installed.
    #[error("`{integration}` is not installed: run `workway install {integration}`")]
    NotInstalled {
        /// The integration's name.
        integration: String,
    },
    /// The integration is installed but has no such action.
    #[error("`{integration}` has no action `{action}`{}", offered_suffix(.offered))]
    NoAction {
        /// The integration's name.
        integration: String,
        /// The action asked for.
        action: String,
        /// The actions it has, when the lookup lists them.
        offered: Option<Vec<String>>,
    },
    /// The integration is installed but cannot be used; the text says why.
    #[error("{0}")]
    Unusable(String),
}

/// `; it offers: a, b` when the offered actions are known.
fn offered_suffix(offered: &Option<Vec<String>>) -> String {
    match offered {
        Some(names) => format!("; it offers: {}", names.join(", ")),
        None => String::new(),
    }
}

/// An action's input and output JSON Schemas, as schemars writes them
/// (draft 2020-12, `$defs` with internal `$ref`s, `Option<T>` as
/// `anyOf`/type arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSchemas {
    /// The schema the action's input must satisfy.
    pub input: Value,
    /// The schema the action's output satisfies.
    pub output: Value,
}

/// One problem in a definition, where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ValidationError {
    /// Where: `name`, `trigger.cron`, `steps[1] (page).input.title`.
    pub location: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Check `def` against the installed actions; `Err` lists every problem.
pub fn validate(
    def: &WorkflowDefinition,
    actions: &dyn ActionLookup,
) -> Result<(), Vec<ValidationError>> {
    let mut problems = Problems::default();
    check_name(&def.name, "name", &mut problems);
    trigger::check_trigger(def, &mut problems);
    check_steps(def, actions, &mut problems);
    if problems.0.is_empty() {
        Ok(())
    } else {
        Err(problems.0)
    }
}

/// The problems found so far, in the order they were found.
#[derive(Default)]
struct Problems(Vec<ValidationError>);

impl Problems {
    fn push(&mut self, location: impl Into<String>, message: impl fmt::Display) {
        self.0.push(ValidationError {
            location: location.into(),
            message: message.to_string(),
        });
    }
}

/// Names as a list in backticks: `` `from`, `subject` ``.
fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- names

fn is_workflow_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.len() <= MAX_NAME_LEN
}

fn is_step_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id.len() <= MAX_NAME_LEN
}

/// Lower-case kebab-case, as integration and action names are.
fn is_kebab(name: &str) -> bool {
    name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.len() <= MAX_NAME_LEN
}

fn check_name(name: &str, location: &str, problems: &mut Problems) {
    if !is_workflow_name(name) {
        problems.push(
            location,
            format!(
                "`{name}` is not a workflow name: use lower-case letters, digits and dashes, \
                 starting with a letter or digit, at most {MAX_NAME_LEN} characters (like \
                 `email-to-notion`)"
            ),
        );
    }
}

// ---------------------------------------------------------------- steps

/// Why a step's action cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ActionError {
    /// The action is not written `<integration>.<action>`.
    #[error(
        "`{action}` is not an action: write `<integration>.<action>` in lower-case \
         kebab-case, like `gmail.fetch-email`"
    )]
    Malformed {
        /// The action as written.
        action: String,
    },
    /// The lookup could not give its schemas.
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

/// What the steps' checks share: the steps, where each id first appears,
/// and each step's action schemas (when its action resolved).
struct Scope<'a> {
    steps: &'a [Step],
    first_index: HashMap<&'a str, usize>,
    actions: Vec<Result<ActionSchemas, ActionError>>,
}

fn check_steps(def: &WorkflowDefinition, actions: &dyn ActionLookup, problems: &mut Problems) {
    if def.steps.is_empty() {
        problems.push("steps", "add at least one step");
    }
    if def.steps.len() > MAX_STEPS {
        problems.push(
            "steps",
            format!(
                "a workflow has at most {MAX_STEPS} steps; this one has {}",
                def.steps.len()
            ),
        );
    }
    let mut first_index = HashMap::new();
    for (i, step) in def.steps.iter().enumerate() {
        first_index.entry(step.id.as_str()).or_insert(i);
    }
    let scope = Scope {
        steps: &def.steps,
        first_index,
        actions: def
            .steps
            .iter()
            .map(|s| resolve_action(s, actions))
            .collect(),
    };
    for (i, step) in def.steps.iter().enumerate() {
        scope.check_step(i, step, problems);
    }
}

fn resolve_action(step: &Step, actions: &dyn ActionLookup) -> Result<ActionSchemas, ActionError> {
    if !is_action(&step.action) {
        return Err(ActionError::Malformed {
            action: step.action.clone(),
        });
    }
    Ok(actions.action(step.integration(), step.action_name())?)
}

fn is_action(action: &str) -> bool {
    action
        .split_once('.')
        .is_some_and(|(integration, name)| is_kebab(integration) && is_kebab(name))
}

fn step_location(i: usize, step: &Step) -> String {
    format!("steps[{i}] ({})", step.id)
}

impl Scope<'_> {
    fn check_step(&self, i: usize, step: &Step, problems: &mut Problems) {
        let location = step_location(i, step);
        self.check_id(i, step, &location, problems);
        if let Err(error) = &self.actions[i] {
            problems.push(format!("{location}.action"), error);
        }
        self.check_input(i, step, &location, problems);
        if let Some(when) = &step.when {
            self.check_when(i, when, &format!("{location}.when"), problems);
        }
        for (field, message) in step.retry.map(|r| r.problems()).unwrap_or_default() {
            problems.push(format!("{location}.retry.{field}"), message);
        }
    }

    fn check_id(&self, i: usize, step: &Step, location: &str, problems: &mut Problems) {
        if !is_step_id(&step.id) {
            problems.push(
                format!("{location}.id"),
                format!(
                    "`{}` is not a step id: start with a lower-case letter, then letters, \
                     digits, `_` or `-` (like `fetch_mail`), at most {MAX_NAME_LEN} characters",
                    step.id
                ),
            );
        }
        let first = self.first_index.get(step.id.as_str()).copied();
        if let Some(first) = first.filter(|first| *first != i) {
            problems.push(
                format!("{location}.id"),
                format!(
                    "step id `{}` is already used by steps[{first}]: ids must be unique",
                    step.id
                ),
            );
        }
    }

    fn check_input(&self, i: usize, step: &Step, location: &str, problems: &mut Problems) {
        for error in template::check(&step.input) {
            if let template::TemplateError::Malformed { field, problem } = error {
                problems.push(format!("{location}.{field}"), problem);
            }
        }
        for reference in template::references(&step.input) {
            if let Err(error) = self.check_pointer(&reference.pointer, i) {
                problems.push(format!("{location}.{}", reference.field), error);
            }
        }
        if let Ok(schemas) = &self.actions[i] {
            input::check_input(
                location,
                &step.action,
                &step.input,
                &schemas.input,
                problems,
            );
        }
    }

    fn check_when(&self, i: usize, when: &Condition, location: &str, problems: &mut Problems) {
        for pointer in when.pointers() {
            if let Err(error) = self.check_pointer(pointer, i) {
                problems.push(location, error);
            }
        }
        if has_empty_combinator(when) {
            problems.push(location, "`all` and `any` need at least one condition each");
        }
    }
}

fn has_empty_combinator(condition: &Condition) -> bool {
    match condition {
        Condition::All(conditions) | Condition::Any(conditions) => {
            conditions.is_empty() || conditions.iter().any(has_empty_combinator)
        }
        Condition::Not(inner) => has_empty_combinator(inner),
        _ => false,
    }
}
