//! The workflow definition: what a user writes (YAML or JSON, one
//! structure) and what the platform stores (canonical JSON).
//!
//! ```yaml
//! name: email-to-notion
//! description: File unread mail in Notion and tell the team.
//! trigger:
//!   kind: manual
//! steps:
//!   - id: fetch
//!     action: gmail.fetch-email
//!     input:
//!       query: "is:unread"
//!   - id: page
//!     action: notion.create-page
//!     when: { exists: /steps/fetch/output/messages/0 }
//!     input:
//!       title: { $ref: /steps/fetch/output/messages/0/subject }
//!       body: "From {{ /steps/fetch/output/messages/0/from }}"
//!     retry:
//!       max_attempts: 5
//! ```
//!
//! Unknown keys are refused everywhere, so a typo is an error rather than a
//! setting silently ignored. Parsing checks the structure only; the rules
//! that need the installed actions are in [`super::validate`].

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::checked::deserialize_checked;
use super::condition::Condition;
use super::retry::RetryPolicy;
use super::schedule::{Schedule, ScheduleError};
pub use super::webhook::WebhookFormat;

/// A workflow: a trigger plus the steps it runs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDefinition {
    /// The workflow's name, `[a-z0-9][a-z0-9-]*`, at most 64 characters;
    /// unique per account, and how event triggers name it.
    pub name: String,
    /// What the workflow does, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What starts a run.
    pub trigger: Trigger,
    /// The steps, run in this order.
    pub steps: Vec<Step>,
}

/// One step: an action of an installed integration and the input built for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The step's id, `[a-z][a-z0-9_-]*`, unique in the workflow; later
    /// steps refer to its output as `/steps/<id>/output`.
    pub id: String,
    /// The action, `<integration>.<action>` (`gmail.fetch-email`).
    pub action: String,
    /// The input template, rendered by [`super::template::render`] before
    /// the step runs; an empty object when left out.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// When set, the step runs only if the condition holds, and is skipped
    /// (leaving no output) otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// How failures of this step are retried; [`Step::retry_policy`] gives
    /// the defaults when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl Step {
    /// The integration part of [`Step::action`] (`gmail` in
    /// `gmail.fetch-email`): the component that runs the step.
    pub fn integration(&self) -> &str {
        self.split_action().0
    }

    /// The action part of [`Step::action`] (`fetch-email` in
    /// `gmail.fetch-email`): what the component is asked to do. Empty when
    /// the action has no dot (which validation refuses).
    pub fn action_name(&self) -> &str {
        self.split_action().1
    }

    /// The step's retry policy: the one written, or the defaults.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry.unwrap_or_default()
    }

    fn split_action(&self) -> (&str, &str) {
        self.action.split_once('.').unwrap_or((&self.action, ""))
    }
}

/// What starts a run of a workflow, tagged by `kind` (`manual`,
/// `webhook`, `schedule`, `event`). Parsing fills in the defaults and
/// refuses another kind's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A user (or the API) starts a run by hand, with an input.
    Manual {
        /// A JSON Schema the manual input must satisfy; any input when absent.
        #[serde(skip_serializing_if = "Option::is_none")]
        input_schema: Option<Value>,
    },
    /// A signed HTTP request to the workflow's webhook URL starts a run.
    Webhook {
        /// How the sender signs and names its deliveries (`workway`, the
        /// default, `standard-webhooks`, `stripe`, `github`, `slack`).
        #[serde(default, skip_serializing_if = "WebhookFormat::is_workway")]
        format: WebhookFormat,
        /// The request header carrying the sender's idempotency key
        /// (`X-Idempotency-Key`); a key seen within the window starts no run.
        #[serde(skip_serializing_if = "Option::is_none")]
        idempotency_header: Option<String>,
        /// A JSON pointer into the request body that holds the idempotency
        /// key (`/id`); at most one of this and `idempotency_header`.
        #[serde(skip_serializing_if = "Option::is_none")]
        idempotency_field: Option<String>,
        /// How long an idempotency key is remembered, in seconds.
        dedupe_window_secs: u64,
        /// How far a signature's timestamp may be from the host's clock, in
        /// seconds, before the request is refused as a replay (unused by a
        /// format without a timestamp: `github`).
        tolerance_secs: u64,
    },
    /// A cron schedule starts runs, once per tick cluster-wide.
    Schedule {
        /// The cron expression: 5 fields, or 6 with seconds first.
        cron: String,
        /// The IANA time zone the expression is read in (`Europe/Paris`).
        timezone: String,
        /// What to do about ticks missed while no host was running.
        catch_up: CatchUp,
    },
    /// Something that happened on the platform starts a run.
    Event {
        /// The event.
        on: EventKind,
        /// The watched workflow's name: required for the run events,
        /// refused for the others.
        #[serde(skip_serializing_if = "Option::is_none")]
        workflow: Option<String>,
        /// Only events about this integration (platform events).
        #[serde(skip_serializing_if = "Option::is_none")]
        integration: Option<String>,
        /// Only events about this OAuth provider (platform events).
        #[serde(skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
    },
}

/// Default webhook `dedupe_window_secs`: one day.
pub const DEFAULT_DEDUPE_WINDOW_SECS: u64 = 86_400;
/// Default webhook `tolerance_secs`: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// Default schedule `timezone`.
pub const DEFAULT_TIMEZONE: &str = "UTC";

impl Trigger {
    /// The trigger's kind as written in the definition (`manual`,
    /// `webhook`, `schedule`, `event`), for storage and display.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual { .. } => "manual",
            Trigger::Webhook { .. } => "webhook",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Event { .. } => "event",
        }
    }

    /// A schedule trigger's compiled schedule (`None` for other kinds); an
    /// error says what is wrong with the cron expression or the time zone.
    pub fn schedule(&self) -> Option<Result<Schedule, ScheduleError>> {
        match self {
            Trigger::Schedule { cron, timezone, .. } => Some(Schedule::new(cron, timezone)),
            _ => None,
        }
    }

    /// A schedule trigger's first tick strictly after `after`; `None` for
    /// other kinds, an invalid schedule, or one that never fires again. A
    /// local time that does not exist (DST starts) is skipped; one that
    /// occurs twice (DST ends) fires once.
    pub fn next_tick(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule()?.ok()?.next_tick(after)
    }
}

/// What a schedule does with ticks missed while no host was running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Fire nothing for missed ticks; resume at the next one.
    #[default]
    Skip,
    /// Fire once, for the most recent missed tick.
    Latest,
    /// Fire every missed tick, at most [`CatchUp::MAX_TICKS`] of them.
    All,
}

impl CatchUp {
    /// The most ticks [`CatchUp::All`] fires after downtime, so a long
    /// outage cannot flood the queue.
    pub const MAX_TICKS: usize = 100;
}

/// The platform events a workflow can be triggered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A run of the watched workflow succeeded.
    RunSucceeded,
    /// A run of the watched workflow failed.
    RunFailed,
    /// A run of the watched workflow finished, whatever its outcome.
    RunFinished,
    /// An integration was installed.
    InstallationCreated,
    /// A connection's grant can no longer be refreshed; the user must
    /// reconnect the account.
    ConnectionNeedsReauth,
}

impl EventKind {
    /// The event's name as written in the definition.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunSucceeded => "run_succeeded",
            EventKind::RunFailed => "run_failed",
            EventKind::RunFinished => "run_finished",
            EventKind::InstallationCreated => "installation_created",
            EventKind::ConnectionNeedsReauth => "connection_needs_reauth",
        }
    }

    /// Whether the event is about another workflow's run (and so needs the
    /// trigger's `workflow`).
    pub fn is_run_event(self) -> bool {
        matches!(
            self,
            EventKind::RunSucceeded | EventKind::RunFailed | EventKind::RunFinished
        )
    }
}

/// The trigger as written, before its kind picks which keys it may have.
/// Reading every key here (rather than through serde's tagged enum) keeps
/// the line and column of a typo or a wrongly typed value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    kind: TriggerKind,
    input_schema: Option<Value>,
    format: Option<WebhookFormat>,
    idempotency_header: Option<String>,
    idempotency_field: Option<String>,
    dedupe_window_secs: Option<u64>,
    tolerance_secs: Option<u64>,
    cron: Option<String>,
    timezone: Option<String>,
    catch_up: Option<CatchUp>,
    on: Option<EventKind>,
    workflow: Option<String>,
    integration: Option<String>,
    provider: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TriggerKind {
    Manual,
    Webhook,
    Schedule,
    Event,
}

impl TriggerKind {
    fn name(self) -> &'static str {
        match self {
            TriggerKind::Manual => "manual",
            TriggerKind::Webhook => "webhook",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Event => "event",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            TriggerKind::Manual => &["input_schema"],
            TriggerKind::Webhook => &[
                "format",
                "idempotency_header",
                "idempotency_field",
                "dedupe_window_secs",
                "tolerance_secs",
            ],
            TriggerKind::Schedule => &["cron", "timezone", "catch_up"],
            TriggerKind::Event => &["on", "workflow", "integration", "provider"],
        }
    }
}

impl RawTrigger {
    /// The keys that were written, besides `kind`.
    fn present(&self) -> Vec<&'static str> {
        let keys = [
            ("input_schema", self.input_schema.is_some()),
            ("format", self.format.is_some()),
            ("idempotency_header", self.idempotency_header.is_some()),
            ("idempotency_field", self.idempotency_field.is_some()),
            ("dedupe_window_secs", self.dedupe_window_secs.is_some()),
            ("tolerance_secs", self.tolerance_secs.is_some()),
            ("cron", self.cron.is_some()),
            ("timezone", self.timezone.is_some()),
            ("catch_up", self.catch_up.is_some()),
            ("on", self.on.is_some()),
            ("workflow", self.workflow.is_some()),
            ("integration", self.integration.is_some()),
            ("provider", self.provider.is_some()),
        ];
        keys.iter()
            .filter(|(_, set)| *set)
            .map(|(key, _)| *key)
            .collect()
    }

    fn refuse_foreign_keys(&self) -> Result<(), TriggerError> {
        let allowed = self.kind.keys();
        let foreign: Vec<&'static str> = self
            .present()
            .into_iter()
            .filter(|key| !allowed.contains(key))
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        Err(TriggerError::ForeignKeys {
            kind: self.kind.name(),
            foreign,
            allowed,
        })
    }
}

/// Why a trigger as written does not fit its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum TriggerError {
    /// Settings of another kind of trigger.
    #[error(
        "a {kind} trigger does not take {}; its settings are {}",
        backticked(.foreign),
        backticked(.allowed)
    )]
    ForeignKeys {
        /// The trigger's kind (`manual`).
        kind: &'static str,
        /// The keys it does not take, in the order of [`RawTrigger::present`].
        foreign: Vec<&'static str>,
        /// The keys it takes.
        allowed: &'static [&'static str],
    },
    /// A schedule trigger without its `cron`.
    #[error("a schedule trigger needs `cron`, like `cron: \"0 9 * * 1-5\"`")]
    NoCron,
    /// An event trigger without its `on`.
    #[error(
        "an event trigger needs `on`: one of `run_succeeded`, `run_failed`, `run_finished`, \
         `installation_created`, `connection_needs_reauth`"
    )]
    NoEvent,
}

/// Keys as a list in backticks: `` `cron`, `timezone` ``.
fn backticked(keys: &[&str]) -> String {
    keys.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_checked::<D, RawTrigger, Trigger>(
            deserializer,
            "a trigger: a map with `kind` and its settings",
        )
    }
}

impl TryFrom<RawTrigger> for Trigger {
    type Error = TriggerError;

    fn try_from(raw: RawTrigger) -> Result<Self, Self::Error> {
        raw.refuse_foreign_keys()?;
        Ok(match raw.kind {
            TriggerKind::Manual => Trigger::Manual {
                input_schema: raw.input_schema,
            },
            TriggerKind::Webhook => Trigger::Webhook {
                format: raw.format.unwrap_or_default(),
                idempotency_header: raw.idempotency_header,
                idempotency_field: raw.idempotency_field,
                dedupe_window_secs: raw.dedupe_window_secs.unwrap_or(DEFAULT_DEDUPE_WINDOW_SECS),
                tolerance_secs: raw.tolerance_secs.unwrap_or(DEFAULT_TOLERANCE_SECS),
            },
            TriggerKind::Schedule => Trigger::Schedule {
                cron: raw.cron.ok_or(TriggerError::NoCron)?,
                timezone: raw.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned()),
                catch_up: raw.catch_up.unwrap_or_default(),
            },
            TriggerKind::Event => Trigger::Event {
                on: raw.on.ok_or(TriggerError::NoEvent)?,
                workflow: raw.workflow,
                integration: raw.integration,
                provider: raw.provider,
            },
        })
    }
}

/// The two notations a definition is written in; one structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file's extension names: JSON for `.json` (any case),
    /// YAML for `.yaml`, `.yml` and anything else, since YAML reads JSON
    /// too.
    pub fn from_path(path: &Path) -> Format {
        let is_json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json { Format::Json } else { Format::Yaml }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
        })
    }
}

/// Why a definition's text could not be read as a workflow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    /// The text is not valid YAML/JSON, or not shaped like a workflow.
    #[error("workflow {format} is not valid{}: {message}", at(*.line, *.column))]
    Parse {
        /// The notation being read.
        format: Format,
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// 1-based column of the problem, when the parser knows it.
        column: Option<usize>,
        /// What is wrong, naming the key (`steps[0].retry: unknown field ...`).
        message: String,
    },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
        (Some(line), None) => format!(" at line {line}"),
        _ => String::new(),
    }
}

impl DefinitionError {
    fn from_yaml(error: &serde_yaml::Error) -> Self {
        let location = error.location().map(|l| (l.line(), l.column()));
        DefinitionError::Parse {
            format: Format::Yaml,
            line: location.map(|l| l.0),
            column: location.map(|l| l.1),
            message: without_location(error.to_string(), location),
        }
    }

    fn from_json(error: &serde_json::Error) -> Self {
        let location = (error.line() > 0).then(|| (error.line(), error.column()));
        DefinitionError::Parse {
            format: Format::Json,
            line: location.map(|l| l.0),
            column: location.map(|l| l.1),
            message: without_location(error.to_string(), location),
        }
    }
}

/// The parsers' messages end with " at line L column C"; the error keeps
/// the position in fields and says it once.
fn without_location(message: String, location: Option<(usize, usize)>) -> String {
    let Some((line, column)) = location else {
        return message;
    };
    let suffix = format!(" at line {line} column {column}");
    match message.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => message,
    }
}

impl WorkflowDefinition {
    /// Parse a definition written in YAML.
    pub fn from_yaml(text: &str) -> Result<Self, DefinitionError> {
        serde_yaml::from_str(text).map_err(|e| DefinitionError::from_yaml(&e))
    }

    /// Parse a definition written in JSON.
    pub fn from_json(text: &str) -> Result<Self, DefinitionError> {
        serde_json::from_str(text).map_err(|e| DefinitionError::from_json(&e))
    }

    /// Parse a definition written in `format`.
    pub fn parse(text: &str, format: Format) -> Result<Self, DefinitionError> {
        match format {
            Format::Yaml => Self::from_yaml(text),
            Format::Json => Self::from_json(text),
        }
    }

    /// The canonical stored form: compact JSON, keys in a fixed order,
    /// defaults written out, so equal definitions store equal text.
    pub fn to_json(&self) -> String {
        // Serializing cannot fail: every map has string keys and JSON
        // values hold no non-finite numbers.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The definition as YAML, for people to read and edit; it parses
    /// back to an equal definition.
    pub fn to_yaml(&self) -> String {
        // Cannot fail, as for `to_json`: plain structs, string keys.
        serde_yaml::to_string(self).unwrap_or_default()
    }

    /// The trigger's kind (`manual`, `webhook`, `schedule`, `event`).
    pub fn trigger_kind(&self) -> &'static str {
        self.trigger.kind()
    }

    /// The step with this id, if any.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const EXAMPLE: &str = r#"
name: email-to-notion
description: File unread mail in Notion and tell the team.
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
    retry:
      max_attempts: 5
      initial_backoff_ms: 500
      max_backoff_ms: 60000
"#;

    fn parse_error(text: &str) -> (Option<usize>, Option<usize>, String) {
        match WorkflowDefinition::from_yaml(text) {
            Err(DefinitionError::Parse {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn the_example_parses() {
        let def = WorkflowDefinition::from_yaml(EXAMPLE).expect("valid");
        assert_eq!(def.name, "email-to-notion");
        assert_eq!(def.trigger_kind(), "manual");
        assert_eq!(def.steps.len(), 2);
        let page = &def.steps[1];
        assert_eq!(page.integration(), "notion");
        assert_eq!(page.action_name(), "create-page");
        assert_eq!(page.retry_policy().max_attempts, 5);
        assert_eq!(page.retry_policy().max_rate_limit_wait_ms, 900_000);
        assert_eq!(
            page.input["title"],
            json!({"$ref": "/steps/fetch/output/messages/0/subject"})
        );
        assert!(matches!(page.when, Some(Condition::Exists(_))));
        assert_eq!(def.steps[0].retry, None);
        assert_eq!(def.steps[0].retry_policy(), RetryPolicy::default());
        assert_eq!(
            def.step("fetch").map(|s| s.action.as_str()),
            Some("gmail.fetch-email")
        );
    }

    #[test]
    fn json_and_yaml_read_the_same_and_the_stored_form_round_trips() {
        let from_yaml = WorkflowDefinition::from_yaml(EXAMPLE).expect("valid");
        let stored = from_yaml.to_json();
        let from_json = WorkflowDefinition::from_json(&stored).expect("canonical form reads back");
        assert_eq!(from_yaml, from_json);
        assert_eq!(from_json.to_json(), stored);
        let value: Value = serde_json::from_str(&stored).expect("json");
        assert_eq!(value["trigger"], json!({"kind": "manual"}));
        assert_eq!(value["steps"][1]["retry"]["max_attempts"], 5);
        assert_eq!(
            value["steps"][1]["retry"]["max_rate_limit_wait_ms"],
            900_000
        );
        assert!(value["steps"][0].get("retry").is_none());
    }

    #[test]
    fn the_yaml_form_reads_back() {
        let def = WorkflowDefinition::from_yaml(EXAMPLE).expect("valid");
        let yaml = def.to_yaml();
        assert!(yaml.starts_with("name: email-to-notion\n"), "{yaml}");
        assert!(!yaml.contains('!'), "no YAML tags: {yaml}");
        assert_eq!(
            WorkflowDefinition::from_yaml(&yaml).expect("reads back"),
            def
        );
        let event = WorkflowDefinition::from_yaml(
            "name: a\ntrigger: {kind: event, on: run_failed, workflow: b}\nsteps: []\n",
        )
        .expect("valid");
        assert_eq!(
            WorkflowDefinition::from_yaml(&event.to_yaml()).expect("reads back"),
            event
        );
    }

    #[test]
    fn missing_input_is_an_empty_object() {
        let def = WorkflowDefinition::from_yaml(
            "name: a\ntrigger: {kind: manual}\nsteps:\n  - id: s\n    action: x.y\n",
        )
        .expect("valid");
        assert_eq!(def.steps[0].input, json!({}));
        assert!(def.steps[0].when.is_none());
    }

    #[test]
    fn trigger_defaults_are_filled_in() {
        let def = WorkflowDefinition::from_yaml(
            "name: a\ntrigger:\n  kind: webhook\n  idempotency_header: X-Idempotency-Key\nsteps: []\n",
        )
        .expect("valid");
        assert_eq!(
            def.trigger,
            Trigger::Webhook {
                format: WebhookFormat::Workway,
                idempotency_header: Some("X-Idempotency-Key".into()),
                idempotency_field: None,
                dedupe_window_secs: 86_400,
                tolerance_secs: 300,
            }
        );

        let def = WorkflowDefinition::from_json(
            r#"{"name":"a","trigger":{"kind":"schedule","cron":"0 9 * * *"},"steps":[]}"#,
        )
        .expect("valid");
        assert_eq!(
            def.trigger,
            Trigger::Schedule {
                cron: "0 9 * * *".into(),
                timezone: "UTC".into(),
                catch_up: CatchUp::Skip,
            }
        );
        assert_eq!(def.trigger_kind(), "schedule");
        let stored: Value = serde_json::from_str(&def.to_json()).expect("json");
        assert_eq!(
            stored["trigger"],
            json!({"kind": "schedule", "cron": "0 9 * * *", "timezone": "UTC", "catch_up": "skip"})
        );

        let def = WorkflowDefinition::from_yaml(
            "name: a\ntrigger:\n  kind: event\n  on: run_failed\n  workflow: b\nsteps: []\n",
        )
        .expect("valid");
        let Trigger::Event { on, workflow, .. } = &def.trigger else {
            panic!("event")
        };
        assert_eq!(*on, EventKind::RunFailed);
        assert_eq!(workflow.as_deref(), Some("b"));
        assert!(on.is_run_event());
        assert!(!EventKind::InstallationCreated.is_run_event());
    }

    #[test]
    fn a_typo_is_an_error_with_its_position() {
        let (line, column, message) = parse_error(&EXAMPLE.replace("max_attempts", "max_atempts"));
        assert_eq!((line, column), (Some(20), Some(7)));
        assert!(message.contains("steps[1].retry"), "{message}");
        assert!(message.contains("max_atempts"), "{message}");
        assert!(message.contains("max_attempts"), "{message}");

        let (line, _, message) = parse_error(&EXAMPLE.replace("kind: manual", "kind: manul"));
        assert_eq!(line, Some(5));
        assert!(
            message.contains("manul") && message.contains("webhook"),
            "{message}"
        );

        let (line, _, message) = parse_error(&EXAMPLE.replace("    when:", "    whenn:"));
        assert_eq!(line, Some(14));
        assert!(message.contains("whenn"), "{message}");
    }

    #[test]
    fn a_wrongly_typed_value_is_an_error_with_its_position() {
        let (line, column, message) =
            parse_error(&EXAMPLE.replace("max_attempts: 5", "max_attempts: five"));
        assert_eq!((line, column), (Some(20), Some(21)));
        assert!(message.contains("steps[1].retry.max_attempts"), "{message}");

        let (line, _, message) =
            parse_error("name: a\ntrigger:\n  kind: webhook\n  tolerance_secs: soon\nsteps: []\n");
        assert_eq!(line, Some(4));
        assert!(message.contains("tolerance_secs"), "{message}");
    }

    #[test]
    fn a_trigger_refuses_another_kinds_settings() {
        let (line, column, message) =
            parse_error("name: a\ntrigger:\n  kind: manual\n  cron: '* * * * *'\nsteps: []\n");
        assert_eq!((line, column), (Some(3), Some(3)), "at the trigger");
        assert!(
            message.starts_with("trigger: a manual trigger does not take `cron`"),
            "{message}"
        );
        assert!(message.contains("`input_schema`"), "{message}");

        let (_, _, message) = parse_error("name: a\ntrigger:\n  kind: schedule\nsteps: []\n");
        assert!(message.contains("needs `cron`"), "{message}");

        let (_, _, message) = parse_error("name: a\ntrigger:\n  kind: event\nsteps: []\n");
        assert!(message.contains("needs `on`"), "{message}");

        let (_, _, message) =
            parse_error("name: a\ntrigger:\n  kind: schedule\n  cron: x\n  bogus: 1\nsteps: []\n");
        assert!(message.contains("bogus"), "{message}");
    }

    #[test]
    fn a_bad_condition_is_an_error_at_its_place() {
        let (line, _, message) = parse_error(&EXAMPLE.replace(
            "when: { exists: /steps/fetch/output/messages/0 }",
            "when: { exists: /a, missing: /b }",
        ));
        assert_eq!(line, Some(14));
        assert!(
            message.starts_with("steps[1].when: a condition has exactly one key"),
            "{message}"
        );
        let (line, _, message) = parse_error(&EXAMPLE.replace(
            "when: { exists: /steps/fetch/output/messages/0 }",
            "when: { all: [{ exists: /a }, { exist: /b }] }",
        ));
        assert_eq!(line, Some(14));
        assert!(message.contains("unknown field `exist`"), "{message}");
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = WorkflowDefinition::from_json(
            "{\"name\": \"a\",\n \"trigger\": {\"kind\": \"manual\"},\n \"stepz\": []}",
        )
        .unwrap_err();
        let DefinitionError::Parse {
            format,
            line,
            column,
            ref message,
        } = err;
        assert_eq!(format, Format::Json);
        assert_eq!(line, Some(3));
        assert!(column.is_some());
        assert!(
            message.contains("stepz") && !message.contains("at line"),
            "{message}"
        );
        assert!(
            err.to_string()
                .starts_with("workflow JSON is not valid at line 3"),
            "{err}"
        );
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(Format::from_path(Path::new("w.yaml")), Format::Yaml);
        assert_eq!(Format::from_path(Path::new("dir/w.YML")), Format::Yaml);
        assert_eq!(Format::from_path(Path::new("w.json")), Format::Json);
        assert_eq!(Format::from_path(Path::new("w.JSON")), Format::Json);
        assert_eq!(Format::from_path(Path::new("workflow")), Format::Yaml);
        let json = r#"{"name":"a","trigger":{"kind":"manual"},"steps":[]}"#;
        assert!(WorkflowDefinition::parse(json, Format::Json).is_ok());
        assert!(
            WorkflowDefinition::parse(json, Format::Yaml).is_ok(),
            "YAML reads JSON"
        );
    }

    #[test]
    fn a_step_without_a_dot_has_no_action_name() {
        let def = WorkflowDefinition::from_yaml(
            "name: a\ntrigger: {kind: manual}\nsteps:\n  - id: s\n    action: gmail\n",
        )
        .expect("parses; validation refuses it");
        assert_eq!(def.steps[0].integration(), "gmail");
        assert_eq!(def.steps[0].action_name(), "");
    }

    #[test]
    fn a_schedule_trigger_gives_its_next_tick() {
        let trigger = Trigger::Schedule {
            cron: "0 9 * * *".into(),
            timezone: "Europe/Paris".into(),
            catch_up: CatchUp::Skip,
        };
        let after = Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(
            trigger.next_tick(after),
            Some(Utc.with_ymd_and_hms(2025, 1, 16, 8, 0, 0).unwrap())
        );
        let broken = Trigger::Schedule {
            cron: "0 9 * * *".into(),
            timezone: "Mars/Olympus".into(),
            catch_up: CatchUp::Skip,
        };
        assert_eq!(broken.next_tick(after), None);
        assert!(matches!(broken.schedule(), Some(Err(_))));
        let manual = Trigger::Manual { input_schema: None };
        assert!(manual.schedule().is_none());
        assert_eq!(manual.next_tick(after), None);
    }

    #[test]
    fn a_refused_trigger_says_exactly_why() {
        let error = |value: Value| {
            serde_json::from_value::<Trigger>(value)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(json!({"kind": "webhook", "cron": "x", "on": "run_failed"})),
            "a webhook trigger does not take `cron`, `on`; its settings are \
             `format`, `idempotency_header`, `idempotency_field`, `dedupe_window_secs`, \
             `tolerance_secs`"
        );

        assert_eq!(
            error(json!({"kind": "schedule"})),
            "a schedule trigger needs `cron`, like `cron: \"0 9 * * 1-5\"`"
        );
        assert_eq!(
            error(json!({"kind": "event"})),
            "an event trigger needs `on`: one of `run_succeeded`, `run_failed`, \
             `run_finished`, `installation_created`, `connection_needs_reauth`"
        );
    }
}
