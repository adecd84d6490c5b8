//! The validation's tests: whole definitions checked against installed
//! actions whose schemas are shaped like schemars', each problem asserted at
//! its location.

use super::*;
use serde_json::json;

/// Installed actions, for the tests: schemas shaped like schemars'.
struct Installed(HashMap<&'static str, ActionSchemas>);

impl ActionLookup for Installed {
    fn action(&self, integration: &str, action: &str) -> Result<ActionSchemas, LookupError> {
        if !self
            .0
            .keys()
            .any(|k| k.split('.').next() == Some(integration))
        {
            return Err(LookupError::NotInstalled {
                integration: integration.to_owned(),
            });
        }
        self.0
            .get(format!("{integration}.{action}").as_str())
            .cloned()
            .ok_or_else(|| LookupError::NoAction {
                integration: integration.to_owned(),
                action: action.to_owned(),
                offered: None,
            })
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
    assert!(
        message("/steps/fetch/output/mesages").contains(
            "the output has no `mesages`; it has `count`, `messages`, `next_page`, `raw`"
        )
    );
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
    assert!(at("steps[0] (fetch).input").contains("`query` is required by `gmail.fetch-email`"));
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
fn webhook_formats() {
    for format in ["workway", "standard-webhooks", "stripe", "github", "slack"] {
        let ok = format!("trigger:\n  kind: webhook\n  format: {format}\n");
        assert_eq!(with_trigger(&ok), vec![], "{format}");
    }
    // A format fixes where its idempotency key is.
    let keyed = "trigger:\n  kind: webhook\n  format: stripe\n  idempotency_field: /data/id\n";
    let problems = with_trigger(keyed);
    assert_eq!(
        find(&problems, "trigger.idempotency_field").message,
        "a `stripe` webhook's idempotency key is the event's `id`; `idempotency_field` only \
         applies to the `workway` format"
    );
    let keyed = "trigger:\n  kind: webhook\n  format: github\n  idempotency_header: X-Id\n";
    assert!(
        find(&with_trigger(keyed), "trigger.idempotency_header")
            .message
            .contains("`X-GitHub-Delivery`")
    );
    // GitHub signs no timestamp: a tolerance is a mistake.
    let timed = "trigger:\n  kind: webhook\n  format: github\n  tolerance_secs: 60\n";
    assert!(
        find(&with_trigger(timed), "trigger.tolerance_secs")
            .message
            .contains("signs no timestamp")
    );
    // An unknown format is refused where it is written, naming the others.
    let unknown = EXAMPLE.replace(
        "trigger:\n  kind: manual\n",
        "trigger:\n  kind: webhook\n  format: paypal\n",
    );
    let error = WorkflowDefinition::from_yaml(&unknown)
        .expect_err("no such format")
        .to_string();
    assert!(
        error.contains(
            "`paypal` is not a webhook format; use one of `workway`, `standard-webhooks`, \
             `stripe`, `github`, `slack`"
        ) && error.contains("trigger"),
        "{error}"
    );
    let stored = WorkflowDefinition::from_yaml(&EXAMPLE.replace(
        "trigger:\n  kind: manual\n",
        "trigger:\n  kind: webhook\n  format: standard-webhooks\n",
    ))
    .expect("parses");
    let json: serde_json::Value = serde_json::from_str(&stored.to_json()).expect("JSON");
    assert_eq!(json["trigger"]["format"], "standard-webhooks");
    assert_eq!(
        WorkflowDefinition::from_json(&stored.to_json()).expect("reads back"),
        stored
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

#[test]
fn pointer_and_action_problems_say_exactly_why() {
    let yaml = r#"
name: a
trigger: {kind: webhook, idempotency_field: id}
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
      priority: { $ref: /steps }
      tags: ["{{ /run/id/x }}", "{{ /steps/nope }}", "{{ /a~2 }}", "{{ /steps/first/output/nope }}"]
  - id: third
    action: notion/create-page
"#;
    let problems = problems_of(yaml);
    let at = |location: &str| find(&problems, location).message.as_str();
    assert_eq!(
        at("trigger.idempotency_field"),
        "`id` is not a JSON pointer: start it with `/`, like `/trigger/id` or \
             `/steps/<id>/output/<field>`"
    );
    assert_eq!(
        at("steps[0] (first).input.query"),
        "step `second` runs after this one: a step can read only the steps before it"
    );
    assert_eq!(
        at("steps[0] (first).input.label"),
        "a step cannot read its own output (`/steps/first/output/count`)"
    );
    assert_eq!(
        at("steps[0] (first).when"),
        "there is no step `nope`; no step runs before this one"
    );
    assert_eq!(
        at("steps[1] (second).input.database_id"),
        "`/config/db` reads nothing a step can see: start it with `/trigger`, `/run` or \
             `/steps/<id>/output`"
    );
    assert_eq!(
        at("steps[1] (second).input.title"),
        "`/steps/first/outputs/x`: a step has `output` and `metadata`, not `outputs`"
    );
    assert_eq!(
        at("steps[1] (second).input.body"),
        "`/run` has `id`, `workflow`, `version` and `attempt`; there is no `attempts`"
    );
    assert_eq!(
        at("steps[1] (second).input.priority"),
        "`/steps` needs a step id: `/steps/<id>/output/...`"
    );
    assert_eq!(
        at("steps[1] (second).input.tags[0]"),
        "`/run/id/x`: `/run`'s fields have no parts"
    );
    assert_eq!(
        at("steps[1] (second).input.tags[1]"),
        "there is no step `nope`; the steps before this one are `first`"
    );
    assert_eq!(
        at("steps[1] (second).input.tags[2]"),
        "in `{{ /a~2 }}`: `/a~2` has a `~` that is not `~0` (for `~`) or `~1` (for `/`)"
    );
    assert_eq!(
        at("steps[1] (second).input.tags[3]"),
        "`/steps/first/output/nope` is not in the output of `gmail.fetch-email`: the output \
             has no `nope`; it has `count`, `messages`, `next_page`, `raw`"
    );
    assert_eq!(
        at("steps[2] (third).action"),
        "`notion/create-page` is not an action: write `<integration>.<action>` in \
             lower-case kebab-case, like `gmail.fetch-email`"
    );
    assert_eq!(problems.len(), 13, "{problems:#?}");
}
