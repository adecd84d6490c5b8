//! The trigger's checks: the settings that parse but cannot work (a cron
//! that never fires, a header name with a space, a workflow watching its
//! own runs).

use chrono::{DateTime, Utc};
use serde_json::Value;
use workway_registry::manifest::KNOWN_PROVIDERS;
use workway_registry::schema::Schema;

use super::{Problems, check_name, is_kebab};
use crate::definition::{DEFAULT_TOLERANCE_SECS, EventKind, Trigger, WorkflowDefinition};
use crate::schedule::{Schedule, parse_cron, parse_timezone};
use crate::template;
use crate::webhook::WebhookFormat;

/// Check `def`'s trigger, pushing every problem found.
pub(super) fn check_trigger(def: &WorkflowDefinition, problems: &mut Problems) {
    match &def.trigger {
        Trigger::Manual { input_schema } => check_manual(input_schema.as_ref(), problems),
        Trigger::Webhook {
            format,
            idempotency_header,
            idempotency_field,
            tolerance_secs,
            ..
        } => {
            check_webhook(
                *format,
                idempotency_header.as_deref(),
                idempotency_field.as_deref(),
                problems,
            );
            if !format.has_timestamp() && *tolerance_secs != DEFAULT_TOLERANCE_SECS {
                problems.push(
                    "trigger.tolerance_secs",
                    format!(
                        "a `{format}` webhook signs no timestamp, so `tolerance_secs` does not \
                         apply; replays are caught by its delivery id and signature"
                    ),
                );
            }
        }
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

fn check_webhook(
    format: WebhookFormat,
    header: Option<&str>,
    field: Option<&str>,
    problems: &mut Problems,
) {
    if let Some(key) = format.idempotency_key() {
        for (setting, set) in [
            ("idempotency_header", header.is_some()),
            ("idempotency_field", field.is_some()),
        ] {
            if set {
                problems.push(
                    format!("trigger.{setting}"),
                    format!(
                        "a `{format}` webhook's idempotency key is {key}; `{setting}` only \
                         applies to the `workway` format"
                    ),
                );
            }
        }
    }
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
