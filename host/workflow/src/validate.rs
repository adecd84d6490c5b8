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

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use workway_registry::manifest::KNOWN_PROVIDERS;

use super::condition::Condition;
use super::definition::{EventKind, Step, Trigger, WorkflowDefinition};
use super::schedule::{Schedule, parse_cron, parse_timezone};
use super::template::{self, Segment};
use workway_registry::schema::Schema;

/// The most steps a workflow may have.
pub const MAX_STEPS: usize = 100;
/// The longest workflow name or step id.
pub const MAX_NAME_LEN: usize = 64;

/// Finds the schemas of an installed integration's action.
pub trait ActionLookup {
    /// The schemas of `integration`'s `action`, or the message to show
    /// when it cannot be used ("`gmail` is not installed: run `workway
    /// install gmail`").
    fn action(&self, integration: &str, action: &str) -> Result<ActionSchemas, String>;
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
    check_trigger(def, &mut problems);
    check_steps(def, actions, &mut problems);
    if problems.0.is_empty() {
        Ok(())
    } else {
        Err(problems.0)
    }
}

#[derive(Default)]
struct Problems(Vec<ValidationError>);

impl Problems {
    fn push(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            location: location.into(),
            message: message.into(),
        });
    }
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

// -------------------------------------------------------------- trigger

fn check_trigger(def: &WorkflowDefinition, problems: &mut Problems) {
    match &def.trigger {
        Trigger::Manual { input_schema } => check_manual(input_schema.as_ref(), problems),
        Trigger::Webhook {
            idempotency_header,
            idempotency_field,
            ..
        } => check_webhook(
            idempotency_header.as_deref(),
            idempotency_field.as_deref(),
            problems,
        ),
        Trigger::Schedule { cron, timezone, .. } => check_schedule(cron, timezone, problems),
        Trigger::Event {
            on,
            workflow,
            integration,
            provider,
        } => {
            let event = Event {
                on: *on,
                workflow: workflow.as_deref(),
                integration: integration.as_deref(),
                provider: provider.as_deref(),
            };
            if on.is_run_event() {
                check_run_event(&event, &def.name, problems);
            } else {
                check_platform_event(&event, problems);
            }
        }
    }
}

fn check_manual(input_schema: Option<&Value>, problems: &mut Problems) {
    if let Some(schema) = input_schema
        && let Err(e) = Schema::compile(schema)
    {
        problems.push(
            "trigger.input_schema",
            format!("not a usable JSON Schema: {e}"),
        );
    }
}

fn check_webhook(header: Option<&str>, field: Option<&str>, problems: &mut Problems) {
    if header.is_some() && field.is_some() {
        problems.push(
            "trigger",
            "set `idempotency_header` or `idempotency_field`, not both: the key comes from \
             one place",
        );
    }
    if let Some(header) = header
        && !is_header_name(header)
    {
        problems.push(
            "trigger.idempotency_header",
            format!("`{header}` is not an HTTP header name (like `X-Idempotency-Key`)"),
        );
    }
    if let Some(field) = field
        && let Err(e) = template::parse_pointer(field)
    {
        problems.push("trigger.idempotency_field", e);
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_schedule(cron: &str, timezone: &str, problems: &mut Problems) {
    let parsed_cron = parse_cron(cron);
    let parsed_timezone = parse_timezone(timezone);
    if let Err(e) = &parsed_cron {
        problems.push("trigger.cron", e.to_string());
    }
    if let Err(e) = &parsed_timezone {
        problems.push("trigger.timezone", e.to_string());
    }
    if parsed_cron.is_ok()
        && parsed_timezone.is_ok()
        && let Ok(schedule) = Schedule::new(cron, timezone)
        && schedule.next_tick(DateTime::<Utc>::UNIX_EPOCH).is_none()
    {
        problems.push(
            "trigger.cron",
            format!("`{cron}` never fires (no such date): check its day and month"),
        );
    }
}

/// An event trigger's settings, borrowed.
struct Event<'a> {
    on: EventKind,
    workflow: Option<&'a str>,
    integration: Option<&'a str>,
    provider: Option<&'a str>,
}

fn check_run_event(event: &Event<'_>, own_name: &str, problems: &mut Problems) {
    let on = event.on.as_str();
    match event.workflow {
        None => problems.push(
            "trigger.workflow",
            format!("a `{on}` trigger needs `workflow`: the name of the workflow it watches"),
        ),
        Some(watched) if watched == own_name => problems.push(
            "trigger.workflow",
            "a workflow cannot be triggered by its own runs: each run would start another",
        ),
        Some(watched) => check_name(watched, "trigger.workflow", problems),
    }
    let filters = [
        ("integration", event.integration.is_some()),
        ("provider", event.provider.is_some()),
    ];
    for (key, _) in filters.iter().filter(|(_, set)| *set) {
        problems.push(
            format!("trigger.{key}"),
            format!("`{key}` filters platform events; a `{on}` trigger does not take it"),
        );
    }
}

fn check_platform_event(event: &Event<'_>, problems: &mut Problems) {
    if event.workflow.is_some() {
        problems.push(
            "trigger.workflow",
            format!(
                "a `{}` trigger does not take `workflow` (only run events watch a workflow)",
                event.on.as_str()
            ),
        );
    }
    if let Some(integration) = event.integration
        && !is_kebab(integration)
    {
        problems.push(
            "trigger.integration",
            format!("`{integration}` is not an integration name: use lower-case kebab-case"),
        );
    }
    if let Some(provider) = event.provider
        && !KNOWN_PROVIDERS.contains(&provider)
    {
        problems.push(
            "trigger.provider",
            format!(
                "`{provider}` is not a provider Workway connects to; use one of: {}",
                KNOWN_PROVIDERS.join(", ")
            ),
        );
    }
}

// ---------------------------------------------------------------- steps

/// What the steps' checks share: the steps, where each id first appears,
/// and each step's action schemas (when its action resolved).
struct Scope<'a> {
    steps: &'a [Step],
    first_index: HashMap<&'a str, usize>,
    actions: Vec<Result<ActionSchemas, String>>,
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

fn resolve_action(step: &Step, actions: &dyn ActionLookup) -> Result<ActionSchemas, String> {
    if !is_action(&step.action) {
        return Err(format!(
            "`{}` is not an action: write `<integration>.<action>` in lower-case kebab-case, \
             like `gmail.fetch-email`",
            step.action
        ));
    }
    actions.action(step.integration(), step.action_name())
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
        if let Err(message) = &self.actions[i] {
            problems.push(format!("{location}.action"), message.clone());
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
            if let template::TemplateError::Malformed { field, message } = error {
                problems.push(format!("{location}.{field}"), message);
            }
        }
        for reference in template::references(&step.input) {
            if let Err(message) = self.check_pointer(&reference.pointer, i) {
                problems.push(format!("{location}.{}", reference.field), message);
            }
        }
        if let Ok(schemas) = &self.actions[i] {
            let mut check = InputCheck {
                location,
                action: &step.action,
                problems,
            };
            let root = Node::root(&schemas.input);
            check.value(template::ROOT_FIELD, &step.input, root, 0);
        }
    }

    fn check_when(&self, i: usize, when: &Condition, location: &str, problems: &mut Problems) {
        for pointer in when.pointers() {
            if let Err(message) = self.check_pointer(pointer, i) {
                problems.push(location, message);
            }
        }
        if has_empty_combinator(when) {
            problems.push(location, "`all` and `any` need at least one condition each");
        }
    }

    /// Whether step `here` can read `pointer`; an error says why not.
    fn check_pointer(&self, pointer: &str, here: usize) -> Result<(), String> {
        let tokens = template::parse_pointer(pointer)?;
        match tokens.first().map(String::as_str) {
            Some("trigger") => Ok(()),
            Some("run") => check_run_pointer(pointer, &tokens[1..]),
            Some("steps") => self.check_step_pointer(pointer, &tokens[1..], here),
            _ => Err(format!(
                "`{pointer}` reads nothing a step can see: start it with `/trigger`, `/run` or \
                 `/steps/<id>/output`"
            )),
        }
    }

    fn check_step_pointer(
        &self,
        pointer: &str,
        rest: &[String],
        here: usize,
    ) -> Result<(), String> {
        let Some(id) = rest.first() else {
            return Err(format!(
                "`{pointer}` needs a step id: `/steps/<id>/output/...`"
            ));
        };
        let Some(&target) = self.first_index.get(id.as_str()) else {
            return Err(format!(
                "there is no step `{id}`{}",
                self.earlier_steps(here)
            ));
        };
        if target == here {
            return Err(format!("a step cannot read its own output (`{pointer}`)"));
        }
        if target > here {
            return Err(format!(
                "step `{id}` runs after this one: a step can read only the steps before it"
            ));
        }
        match rest.get(1).map(String::as_str) {
            None | Some("metadata") => Ok(()),
            Some("output") => self.check_output_path(pointer, target, &rest[2..]),
            Some(other) => Err(format!(
                "`{pointer}`: a step has `output` and `metadata`, not `{other}`"
            )),
        }
    }

    fn earlier_steps(&self, here: usize) -> String {
        let ids: Vec<String> = self.steps[..here]
            .iter()
            .map(|s| format!("`{}`", s.id))
            .collect();
        if ids.is_empty() {
            "; no step runs before this one".to_owned()
        } else {
            format!("; the steps before this one are {}", ids.join(", "))
        }
    }

    fn check_output_path(
        &self,
        pointer: &str,
        target: usize,
        path: &[String],
    ) -> Result<(), String> {
        // An action that did not resolve is reported at its step.
        let Ok(schemas) = &self.actions[target] else {
            return Ok(());
        };
        walk(Node::root(&schemas.output), path, 0, 0).map_err(|e| {
            format!(
                "`{pointer}` is not in the output of `{}`: {}",
                self.steps[target].action,
                e.describe(path)
            )
        })
    }
}

fn check_run_pointer(pointer: &str, rest: &[String]) -> Result<(), String> {
    const RUN_FIELDS: [&str; 4] = ["id", "workflow", "version", "attempt"];
    match rest {
        [] => Ok(()),
        [field] if RUN_FIELDS.contains(&field.as_str()) => Ok(()),
        [field] => Err(format!(
            "`/run` has `id`, `workflow`, `version` and `attempt`; there is no `{field}`"
        )),
        _ => Err(format!("`{pointer}`: `/run`'s fields have no parts")),
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

// --------------------------------------------------------- schema nodes

/// An always-true schema: where a `$ref` leads outside the document.
static ANYTHING: Value = Value::Bool(true);

/// How deep schema walks go before accepting (recursive schemas).
const MAX_DEPTH: usize = 64;

/// A place in a JSON Schema document, with the document's root for
/// resolving `$ref`s.
#[derive(Clone, Copy)]
struct Node<'a> {
    root: &'a Value,
    schema: &'a Value,
}

impl<'a> Node<'a> {
    fn root(root: &'a Value) -> Self {
        Node { root, schema: root }
    }

    fn at(self, schema: &'a Value) -> Self {
        Node {
            root: self.root,
            schema,
        }
    }

    /// The schema a chain of `$ref`s leads to (`#/$defs/Message`); one
    /// leading outside the document allows anything.
    fn resolved(self) -> Self {
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

    fn keyword(self, key: &str) -> Option<&'a Value> {
        self.schema.get(key)
    }

    /// The branches of `anyOf`/`oneOf` (and `allOf` when `all` is set).
    fn branches(self, all: bool) -> Vec<Node<'a>> {
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
    fn types(self) -> Option<BTreeSet<String>> {
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
    fn has_structure(self) -> bool {
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

    fn is_null_only(self) -> bool {
        let node = self.resolved();
        node.types()
            .is_some_and(|t| t.len() == 1 && t.contains("null"))
            || node.keyword("const").is_some_and(Value::is_null)
    }

    fn property_names(self) -> Vec<String> {
        self.keyword("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------- output paths

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

fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The schema of item `index`: from `prefixItems`, else `items`.
fn item_schema<'a>(node: Node<'a>, index: usize) -> Option<&'a Value> {
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

fn describe_types(types: &BTreeSet<String>) -> String {
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

// ---------------------------------------------------------------- input

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

/// The one schema a value must fit, seen through `$ref`s and through an
/// `anyOf`/`oneOf` whose other branches are only `null` (`Option<T>`);
/// `None` when several shapes are possible.
fn single_shape(node: Node<'_>, depth: usize) -> Option<Node<'_>> {
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

fn is_object_schema(node: Node<'_>) -> bool {
    node.keyword("properties").is_some()
        || node.keyword("additionalProperties").is_some()
        || node.types().is_some_and(|t| t.contains("object"))
}

/// The JSON types a schema admits, when it says; `None` when it admits
/// anything or cannot be told without a value.
fn allowed_types(node: Node<'_>, depth: usize) -> Option<BTreeSet<String>> {
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
fn standalone(node: Node<'_>) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Installed actions, for the tests: schemas shaped like schemars'.
    struct Installed(HashMap<&'static str, ActionSchemas>);

    impl ActionLookup for Installed {
        fn action(&self, integration: &str, action: &str) -> Result<ActionSchemas, String> {
            if !self
                .0
                .keys()
                .any(|k| k.split('.').next() == Some(integration))
            {
                return Err(format!(
                    "`{integration}` is not installed: run `workway install {integration}`"
                ));
            }
            self.0
                .get(format!("{integration}.{action}").as_str())
                .cloned()
                .ok_or_else(|| format!("`{integration}` has no action `{action}`"))
        }
    }

    fn installed() -> Installed {
        let fetch = ActionSchemas {
            input: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "FetchInput",
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "max_results": {"type": "integer", "format": "uint32", "minimum": 0},
                    "label": {"type": ["string", "null"]},
                    "format": {"$ref": "#/$defs/Format"},
                },
                "required": ["query"],
                "additionalProperties": false,
                "$defs": {"Format": {"type": "string", "enum": ["full", "metadata"]}},
            }),
            output: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "messages": {"type": "array", "items": {"$ref": "#/$defs/Message"}},
                    "next_page": {"anyOf": [{"$ref": "#/$defs/Page"}, {"type": "null"}]},
                    "raw": true,
                    "count": {"type": "integer"},
                },
                "$defs": {
                    "Message": {"type": "object", "properties": {
                        "subject": {"type": "string"}, "from": {"type": "string"}, "snippet": {"type": "string"}}},
                    "Page": {"type": "object", "properties": {"token": {"type": "string"}}},
                },
            }),
        };
        let create_page = ActionSchemas {
            input: json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "database_id": {"type": "string"},
                    "title": {"type": "string"},
                    "body": {"type": ["string", "null"]},
                    "priority": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Parent"}, {"type": "null"}]},
                },
                "required": ["database_id", "title"],
                "$defs": {"Parent": {"type": "object", "properties": {"page_id": {"type": "string"}},
                                     "required": ["page_id"], "additionalProperties": false}},
            }),
            output: json!({"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"}}}),
        };
        Installed(HashMap::from([
            ("gmail.fetch-email", fetch),
            ("notion.create-page", create_page),
        ]))
    }

    const EXAMPLE: &str = r#"
name: email-to-notion
trigger:
  kind: manual
steps:
  - id: fetch
    action: gmail.fetch-email
    input:
      query: "is:unread"
      max_results: 3
  - id: page
    action: notion.create-page
    when: { exists: /steps/fetch/output/messages/0 }
    input:
      database_id: "{{ /trigger/database }}"
      title: { $ref: /steps/fetch/output/messages/0/subject }
      body: "From {{ /steps/fetch/output/messages/0/from }}"
"#;

    fn problems_of(yaml: &str) -> Vec<ValidationError> {
        let def = WorkflowDefinition::from_yaml(yaml).expect("parses");
        match validate(&def, &installed()) {
            Ok(()) => Vec::new(),
            Err(problems) => problems,
        }
    }

    fn find<'a>(problems: &'a [ValidationError], location: &str) -> &'a ValidationError {
        problems
            .iter()
            .find(|p| p.location == location)
            .unwrap_or_else(|| panic!("no problem at {location}: {problems:#?}"))
    }

    #[test]
    fn the_example_is_valid() {
        assert_eq!(problems_of(EXAMPLE), vec![]);
    }

    #[test]
    fn errors_display_location_then_message() {
        let error = ValidationError {
            location: "steps[0] (fetch).action".into(),
            message: "no".into(),
        };
        assert_eq!(error.to_string(), "steps[0] (fetch).action: no");
    }

    #[test]
    fn names_ids_and_actions_are_well_formed() {
        let yaml = EXAMPLE
            .replace("name: email-to-notion", "name: Email_To_Notion")
            .replace("id: fetch", "id: Fetch")
            .replace("notion.create-page", "notion/create-page");
        let problems = problems_of(&yaml);
        assert!(find(&problems, "name").message.contains("lower-case"));
        assert!(
            find(&problems, "steps[0] (Fetch).id")
                .message
                .contains("step id")
        );
        assert!(
            find(&problems, "steps[1] (page).action")
                .message
                .contains("<integration>.<action>")
        );
        // The pointers into `fetch` now name no step.
        assert!(
            find(&problems, "steps[1] (page).input.title")
                .message
                .contains("no step `fetch`")
        );
    }

    #[test]
    fn step_count_and_unique_ids() {
        let none = "name: a\ntrigger: {kind: manual}\nsteps: []\n";
        assert_eq!(
            find(&problems_of(none), "steps").message,
            "add at least one step"
        );

        let mut many = String::from("name: a\ntrigger: {kind: manual}\nsteps:\n");
        for i in 0..101 {
            many.push_str(&format!(
                "  - {{id: s{i}, action: gmail.fetch-email, input: {{query: x}}}}\n"
            ));
        }
        let problems = problems_of(&many);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0]
                .message
                .contains("at most 100 steps; this one has 101")
        );

        let twice = EXAMPLE.replace("id: page", "id: fetch");
        let problems = problems_of(&twice);
        assert!(
            find(&problems, "steps[1] (fetch).id")
                .message
                .contains("already used by steps[0]")
        );
    }

    #[test]
    fn actions_must_resolve() {
        let yaml = EXAMPLE
            .replace("gmail.fetch-email", "outlook.fetch-email")
            .replace("notion.create-page", "notion.create-pages");
        let problems = problems_of(&yaml);
        assert_eq!(
            find(&problems, "steps[0] (fetch).action").message,
            "`outlook` is not installed: run `workway install outlook`"
        );
        assert_eq!(
            find(&problems, "steps[1] (page).action").message,
            "`notion` has no action `create-pages`"
        );
        // Without schemas, nothing else about these steps can be said.
        assert_eq!(problems.len(), 2, "{problems:#?}");
    }

    #[test]
    fn references_read_earlier_steps_only() {
        let yaml = r#"
name: a
trigger: {kind: manual}
steps:
  - id: first
    action: gmail.fetch-email
    input:
      query: "{{ /steps/second/output/id }}"
      label: { $ref: /steps/first/output/count }
    when: { truthy: /steps/nope/output }
  - id: second
    action: notion.create-page
    input:
      database_id: { $ref: /config/db }
      title: "{{ /steps/first/outputs/x }}"
      body: "{{ /run/attempts }}"
      priority: { $ref: /steps/first/output/count }
"#;
        let problems = problems_of(yaml);
        let query = find(&problems, "steps[0] (first).input.query");
        assert!(
            query.message.contains("step `second` runs after this one"),
            "{query}"
        );
        let label = find(&problems, "steps[0] (first).input.label");
        assert!(label.message.contains("its own output"), "{label}");
        let when = find(&problems, "steps[0] (first).when");
        assert!(
            when.message
                .contains("there is no step `nope`; no step runs before this one"),
            "{when}"
        );
        let db = find(&problems, "steps[1] (second).input.database_id");
        assert!(db.message.contains("start it with `/trigger`"), "{db}");
        let title = find(&problems, "steps[1] (second).input.title");
        assert!(
            title
                .message
                .contains("`output` and `metadata`, not `outputs`"),
            "{title}"
        );
        let body = find(&problems, "steps[1] (second).input.body");
        assert!(body.message.contains("`attempt`"), "{body}");
        assert_eq!(problems.len(), 6, "{problems:#?}");
    }

    #[test]
    fn output_paths_follow_the_schema() {
        let with_title = |title: &str| {
            EXAMPLE.replace(
                "{ $ref: /steps/fetch/output/messages/0/subject }",
                &format!("{{ $ref: {title} }}"),
            )
        };
        for fine in [
            "/steps/fetch/output/messages/0/subject",
            "/steps/fetch/output/messages/12/snippet",
            "/steps/fetch/output/next_page/token",
            "/steps/fetch/output/raw/anything/at/all",
            "/steps/fetch/metadata/request-id",
            "/steps/fetch/output",
        ] {
            assert_eq!(problems_of(&with_title(fine)), vec![], "{fine}");
        }
        let message = |title: &str| {
            let problems = problems_of(&with_title(title));
            assert_eq!(problems.len(), 1, "{problems:#?}");
            assert_eq!(problems[0].location, "steps[1] (page).input.title");
            problems[0].message.clone()
        };
        assert_eq!(
            message("/steps/fetch/output/messages/0/subjet"),
            "`/steps/fetch/output/messages/0/subjet` is not in the output of `gmail.fetch-email`: \
             `messages/0` has no `subjet`; it has `from`, `snippet`, `subject`"
        );
        assert!(message("/steps/fetch/output/mesages").contains(
            "the output has no `mesages`; it has `count`, `messages`, `next_page`, `raw`"
        ));
        assert!(
            message("/steps/fetch/output/messages/subject")
                .contains("`messages` is a list: pick an item by its position, like `messages/0`")
        );
        assert!(
            message("/steps/fetch/output/messages/0/subject/x")
                .contains("`messages/0/subject` is a string, so it has no `x`")
        );
        assert!(message("/steps/fetch/output/next_page/tokn").contains("it has `token`"));
        assert!(message("/steps/fetch/output/count/x").contains("is an integer"));
    }

    #[test]
    fn inputs_are_checked_against_the_input_schema() {
        let yaml = r#"
name: a
trigger: {kind: manual}
steps:
  - id: fetch
    action: gmail.fetch-email
    input:
      max_results: many
      limit: 3
      format: ful
      label: null
  - id: page
    action: notion.create-page
    input:
      title: { $ref: /steps/fetch/output/messages/0/subject }
      priority: "{{ /steps/fetch/output/count }}"
      tags: ["a", 3, "{{ /trigger/tag }}"]
      parent: { page_id: 7 }
      body: null
"#;
        let problems = problems_of(yaml);
        let at = |location: &str| find(&problems, location).message.clone();
        assert!(
            at("steps[0] (fetch).input").contains("`query` is required by `gmail.fetch-email`")
        );
        assert!(at("steps[0] (fetch).input.max_results").contains("\"many\""));
        assert!(at("steps[0] (fetch).input.limit").contains(
            "`gmail.fetch-email` takes no `limit` here; it takes `format`, `label`, `max_results`, `query`"
        ));
        assert!(at("steps[0] (fetch).input.format").contains("\"ful\""));
        assert!(at("steps[1] (page).input").contains("`database_id` is required"));
        assert_eq!(
            at("steps[1] (page).input.priority"),
            "`notion.create-page` wants an integer here, but text with `{{ }}` is always a string; \
             to pass the value itself, write `{\"$ref\": \"/steps/fetch/output/count\"}`"
        );
        assert!(at("steps[1] (page).input.tags[1]").contains("3"));
        assert!(at("steps[1] (page).input.parent.page_id").contains("7"));
        assert_eq!(problems.len(), 8, "{problems:#?}");
    }

    #[test]
    fn a_literal_input_is_checked_whole_when_its_shape_is_ambiguous() {
        let mut actions = installed();
        actions.0.insert(
            "gmail.send",
            ActionSchemas {
                input: json!({
                    "type": "object",
                    "properties": {"to": {"oneOf": [
                        {"type": "string"},
                        {"type": "array", "items": {"type": "string"}}
                    ]}},
                }),
                output: json!(true),
            },
        );
        let def = |to: &str| {
            WorkflowDefinition::from_yaml(&format!(
                "name: a\ntrigger: {{kind: manual}}\nsteps:\n  - id: s\n    action: gmail.send\n    input: {{to: {to}}}\n"
            ))
            .unwrap()
        };
        assert!(validate(&def("ann@example.com"), &actions).is_ok());
        assert!(validate(&def("[a, b]"), &actions).is_ok());
        assert!(validate(&def("[\"{{ /trigger/x }}\"]"), &actions).is_ok());
        let problems = validate(&def("3"), &actions).unwrap_err();
        assert_eq!(problems[0].location, "steps[0] (s).input.to");
    }

    #[test]
    fn malformed_templates_are_reported_at_their_field() {
        let yaml = EXAMPLE.replace(
            "{ $ref: /steps/fetch/output/messages/0/subject }",
            "{ $ref: /steps/fetch/output/messages/0/subject, defualt: x }",
        );
        let problems = problems_of(&yaml);
        assert!(
            find(&problems, "steps[1] (page).input.title")
                .message
                .contains("defualt")
        );
        let yaml = EXAMPLE.replace("{{ /trigger/database }}", "{{ /trigger/database");
        let problems = problems_of(&yaml);
        assert!(
            find(&problems, "steps[1] (page).input.database_id")
                .message
                .contains("not closed")
        );
    }

    #[test]
    fn conditions_and_retry_policies() {
        let yaml = EXAMPLE
            .replace(
                "when: { exists: /steps/fetch/output/messages/0 }",
                "when: { all: [{ exists: /steps/fetch/output/mesages }, { any: [] }] }\n    retry: { max_attempts: 0, initial_backoff_ms: 5 }",
            );
        let problems = problems_of(&yaml);
        let when: Vec<&str> = problems
            .iter()
            .filter(|p| p.location == "steps[1] (page).when")
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(when.len(), 2, "{problems:#?}");
        assert!(when[0].contains("no `mesages`"));
        assert!(when[1].contains("at least one condition"));
        assert!(
            find(&problems, "steps[1] (page).retry.max_attempts")
                .message
                .contains("1 (no retry) to 10")
        );
        assert!(
            find(&problems, "steps[1] (page).retry.initial_backoff_ms")
                .message
                .contains("at least 10")
        );
    }

    fn with_trigger(trigger: &str) -> Vec<ValidationError> {
        problems_of(&EXAMPLE.replace("trigger:\n  kind: manual\n", trigger))
    }

    #[test]
    fn schedule_triggers() {
        let ok = "trigger:\n  kind: schedule\n  cron: '0 9 * * 1-5'\n  timezone: Europe/Paris\n  catch_up: latest\n";
        assert_eq!(with_trigger(ok), vec![]);
        let bad = "trigger:\n  kind: schedule\n  cron: '0 25 * * *'\n  timezone: Europe/Pariss\n";
        let problems = with_trigger(bad);
        assert!(find(&problems, "trigger.cron").message.contains("5 fields"));
        assert!(find(&problems, "trigger.timezone").message.contains("IANA"));
        let never = "trigger:\n  kind: schedule\n  cron: '0 0 31 4 *'\n";
        assert!(
            find(&with_trigger(never), "trigger.cron")
                .message
                .contains("never fires")
        );
    }

    #[test]
    fn webhook_triggers() {
        let ok = "trigger:\n  kind: webhook\n  idempotency_field: /id\n";
        assert_eq!(with_trigger(ok), vec![]);
        let both =
            "trigger:\n  kind: webhook\n  idempotency_header: 'X Key'\n  idempotency_field: id\n";
        let problems = with_trigger(both);
        assert!(find(&problems, "trigger").message.contains("not both"));
        assert!(
            find(&problems, "trigger.idempotency_header")
                .message
                .contains("header name")
        );
        assert!(
            find(&problems, "trigger.idempotency_field")
                .message
                .contains("start it with `/`")
        );
    }

    #[test]
    fn event_triggers() {
        let ok = "trigger:\n  kind: event\n  on: run_failed\n  workflow: nightly-sync\n";
        assert_eq!(with_trigger(ok), vec![]);
        let ok = "trigger:\n  kind: event\n  on: connection_needs_reauth\n  provider: google\n";
        assert_eq!(with_trigger(ok), vec![]);
        let missing = "trigger:\n  kind: event\n  on: run_succeeded\n  integration: slack\n";
        let problems = with_trigger(missing);
        assert!(
            find(&problems, "trigger.workflow")
                .message
                .contains("needs `workflow`")
        );
        assert!(
            find(&problems, "trigger.integration")
                .message
                .contains("does not take it")
        );
        let typo = "trigger:\n  kind: event\n  on: connection_needs_reauth\n  provider: gogle\n";
        assert!(
            find(&with_trigger(typo), "trigger.provider")
                .message
                .contains("google, notion")
        );
        let refused = "trigger:\n  kind: event\n  on: installation_created\n  workflow: other\n";
        assert!(
            find(&with_trigger(refused), "trigger.workflow")
                .message
                .contains("does not take `workflow`")
        );
        let itself = "trigger:\n  kind: event\n  on: run_finished\n  workflow: email-to-notion\n";
        assert!(
            find(&with_trigger(itself), "trigger.workflow")
                .message
                .contains("its own runs")
        );
    }

    #[test]
    fn manual_input_schemas_must_compile() {
        let ok = "trigger:\n  kind: manual\n  input_schema: {type: object, properties: {database: {type: string}}}\n";
        assert_eq!(with_trigger(ok), vec![]);
        let bad = "trigger:\n  kind: manual\n  input_schema: {type: 12}\n";
        assert!(
            find(&with_trigger(bad), "trigger.input_schema")
                .message
                .contains("JSON Schema")
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let yaml = r#"
name: "Bad Name"
trigger: {kind: schedule, cron: "nope", timezone: Nowhere}
steps:
  - id: a
    action: gmail.fetch-email
    input: {max_results: -1}
    retry: {max_attempts: 20}
  - id: a
    action: nothing
"#;
        let problems = problems_of(yaml);
        let locations: Vec<&str> = problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            vec![
                "name",
                "trigger.cron",
                "trigger.timezone",
                "steps[0] (a).input",
                "steps[0] (a).input.max_results",
                "steps[0] (a).retry.max_attempts",
                "steps[1] (a).id",
                "steps[1] (a).action",
            ]
        );
    }
}
