//! Property tests of what the host parses from people it does not trust,
//! run with the normal suite for a bounded number of cases: workflow input
//! templates and `when:` conditions (and whole workflow definitions),
//! webhook signature headers, replay files, and JSON inputs checked against
//! the JSON Schemas real components derive with schemars. None may panic:
//! what is wrong comes back as an error.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_capabilities::{ConnectionBroker as _, HttpBroker as _, OutboundRequest};
use workway_engine::triggers::webhook;
use workway_registry::schema::Schema;
use workway_runtime::{LoadedComponent, Runtime, RuntimeConfig};
use workway_workflow::condition::{Condition, is_truthy};
use workway_workflow::definition::WorkflowDefinition;
use workway_workflow::template;

/// Few enough cases for each property to finish in a few seconds on two
/// cores, with no regression files written beside the sources (a failure
/// found here becomes a named test).
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text biased towards what the parsers look for: placeholders, pointers
/// and their escapes, `$ref`, signature parts.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("/".to_string()),
        Just("~".to_string()),
        Just("~0".to_string()),
        Just("~1".to_string()),
        Just(" ".to_string()),
        Just("$ref".to_string()),
        Just("/steps/fetch/output".to_string()),
        Just("/trigger/0".to_string()),
        Just("é\u{0}\u{202e}".to_string()),
        "[a-z0-9]{1,4}",
        ".{0,3}",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

/// Arbitrary JSON, with object keys and strings drawn from `tricky_text`
/// so that references, placeholders and pointers appear often.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        tricky_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        let key = prop_oneof![
            3 => tricky_text(),
            1 => Just("$ref".to_string()),
            1 => Just("default".to_string()),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A run context shaped like the executor's (trigger, steps, run), with
/// arbitrary contents.
fn context() -> impl Strategy<Value = Value> {
    (json_value(), json_value(), json_value(), any::<i64>()).prop_map(
        |(trigger, output, metadata, attempt)| {
            json!({
                "trigger": trigger,
                "steps": {"fetch": {"output": output, "metadata": metadata}},
                "run": {"id": "run-1", "workflow": "w", "attempt": attempt},
            })
        },
    )
}

/// A condition as written in JSON (what `when:` deserializes from),
/// well-formed or not.
fn condition_json() -> impl Strategy<Value = Value> {
    let pointer = prop_oneof![tricky_text(), "/[a-z~01/]{0,12}"];
    let leaf = prop_oneof![
        (
            prop_oneof![
                Just("exists"),
                Just("missing"),
                Just("truthy"),
                Just("falsy"),
                Just("bogus")
            ],
            pointer.clone()
        )
            .prop_map(|(k, p)| json!({ k: p })),
        (
            prop_oneof![Just("equals"), Just("not_equals")],
            pointer,
            json_value()
        )
            .prop_map(|(k, p, v)| json!({ k: [p, v] })),
        json_value(),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({ "all": v })),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({ "any": v })),
            inner.clone().prop_map(|c| json!({ "not": c })),
            (inner.clone(), inner).prop_map(|(a, b)| json!({ "all": [a], "not": b })),
        ]
    })
}

proptest! {
    #![proptest_config(config(512))]

    /// Any template renders or fails with an error naming a field; the
    /// static checks agree with rendering about malformed templates.
    #[test]
    fn arbitrary_templates_and_contexts_never_panic(t in json_value(), ctx in context()) {
        let problems = template::check(&t);
        let _ = template::references(&t);
        let literal = template::is_literal(&t);
        match template::render(&t, &ctx) {
            Ok(rendered) => {
                prop_assert!(problems.is_empty(), "rendered despite {problems:?}");
                if literal {
                    prop_assert_eq!(rendered, t);
                }
            }
            Err(e) => {
                prop_assert!(!literal, "a literal template cannot fail: {e}");
                prop_assert!(e.field().starts_with(template::ROOT_FIELD));
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    /// Any text splits into segments or is refused; any text is a pointer
    /// or is refused.
    #[test]
    fn arbitrary_placeholders_and_pointers_never_panic(text in tricky_text()) {
        if let Ok(segments) = template::segments(&text) {
            let rebuilt_len: usize = segments
                .iter()
                .map(|s| match s {
                    template::Segment::Text(t) | template::Segment::Pointer(t) => t.len(),
                })
                .sum();
            prop_assert!(rebuilt_len <= text.len());
        }
        if let Ok(tokens) = template::parse_pointer(&text) {
            prop_assert!(text.starts_with('/'));
            prop_assert_eq!(tokens.len(), text.split('/').count() - 1);
        }
    }

    /// Any JSON is a condition or is refused; a condition evaluates on any
    /// context, `not` inverts it, and it reads back as itself.
    #[test]
    fn arbitrary_conditions_never_panic(raw in condition_json(), ctx in context()) {
        if let Ok(condition) = serde_json::from_value::<Condition>(raw) {
            let holds = condition.evaluate(&ctx);
            let _ = condition.pointers();
            prop_assert_eq!(Condition::Not(Box::new(condition.clone())).evaluate(&ctx), !holds);
            let written = serde_json::to_value(&condition).expect("a condition serializes");
            let back: Condition = serde_json::from_value(written).expect("and reads back");
            prop_assert_eq!(back, condition);
        }
        let _ = is_truthy(&ctx);
    }
}

/// Workflow YAML shaped like a definition, with arbitrary pieces in it.
fn workflow_yaml() -> impl Strategy<Value = String> {
    let name = prop_oneof!["[a-z-]{1,12}", ".{0,8}"];
    let trigger = prop_oneof![
        Just("  kind: manual".to_string()),
        "  kind: schedule\n  cron: \"[0-9*/ ,-]{0,20}\"",
        "  kind: schedule\n  cron: \"\\* \\* \\* \\* \\*\"\n  timezone: [A-Za-z/_]{0,16}",
        Just("  kind: webhook\n  idempotency_header: X-Id".to_string()),
        Just("  kind: event\n  event: run_finished".to_string()),
        ".{0,20}",
    ];
    let input = json_value().prop_map(|v| v.to_string());
    let when = condition_json().prop_map(|v| v.to_string());
    (name, trigger, input, prop::option::of(when), "[a-z._-]{0,20}").prop_map(
        |(name, trigger, input, when, action)| {
            let when = when.map_or(String::new(), |w| format!("    when: {w}\n"));
            format!(
                "name: {name}\ntrigger:\n{trigger}\nsteps:\n  - id: s\n    action: {action}\n{when}    input: {input}\n"
            )
        },
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// Any workflow YAML, or any text at all, is read or refused.
    #[test]
    fn arbitrary_workflow_definitions_never_panic(
        yaml in prop_oneof![workflow_yaml(), ".{0,200}"]
    ) {
        if let Ok(definition) = WorkflowDefinition::from_yaml(&yaml) {
            for step in &definition.steps {
                let _ = template::check(&step.input);
                if let Some(when) = &step.when {
                    let _ = when.pointers();
                }
            }
            let _ = definition.trigger.schedule();
        }
    }
}

/// `Workway-Signature` header values: well-formed parts, broken ones,
/// absurd numbers, and anything.
fn signature_header() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        any::<i64>().prop_map(|t| format!("t={t}")),
        Just(format!("t={}", i64::MAX)),
        Just(format!("t={}", i64::MIN)),
        "t=[0-9a-z+-]{0,24}",
        "v1=[0-9a-f]{0,70}",
        "v1=.{0,70}",
        Just("v1=".to_string()),
        Just("=".to_string()),
        Just(",,".to_string()),
        ".{0,16}",
    ];
    prop_oneof![
        prop::collection::vec(part, 0..6).prop_map(|parts| parts.join(",")),
        ".{0,120}",
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Any header, body, clock and tolerance is verified or refused with a
    /// reason; a header made by `sign` for the body verifies, and the same
    /// header for another body does not.
    #[test]
    fn arbitrary_webhook_signature_headers_never_panic(
        header in signature_header(),
        secret in ".{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in any::<i64>(),
        tolerance in any::<u64>(),
    ) {
        if let Err(e) = webhook::verify(&secret, Some(&header), &body, now, tolerance) {
            prop_assert!(!e.to_string().is_empty());
        }
        prop_assert!(webhook::verify(&secret, None, &body, now, tolerance).is_err());
        let signed = webhook::sign(&secret, now, &body);
        prop_assert!(webhook::verify(&secret, Some(&signed), &body, now, 300).is_ok());
        let mut other = body.clone();
        other.push(b'x');
        prop_assert!(webhook::verify(&secret, Some(&signed), &other, now, 300).is_err());
    }
}

/// A replay file as JSON: arbitrary values in the places the format has,
/// and arbitrary JSON anywhere.
fn replay_json() -> impl Strategy<Value = Value> {
    let base64ish = prop_oneof!["[A-Za-z0-9+/=]{0,24}", ".{0,12}"];
    let response = (
        prop_oneof![
            Just(json!(200)),
            any::<i64>().prop_map(Value::from),
            json_value()
        ],
        prop::option::of(json_value()),
        prop::option::of(".{0,12}"),
        prop::option::of(base64ish),
        prop::collection::btree_map("[a-zA-Z-]{0,8}", ".{0,8}", 0..3),
    )
        .prop_map(|(status, json, body, b64, headers)| {
            let mut r = json!({ "status": status, "headers": headers });
            if let Some(j) = json {
                r["json"] = j;
            }
            if let Some(b) = body {
                r["body"] = json!(b);
            }
            if let Some(b) = b64 {
                r["body_base64"] = json!(b);
            }
            r
        });
    let interaction = (
        prop_oneof![Just("GET".to_string()), Just("post".to_string()), ".{0,6}"],
        prop_oneof![Just("https://api.example.com/x".to_string()), ".{0,20}"],
        prop::option::of(prop_oneof![Just("slack".to_string()), ".{0,6}"]),
        prop::option::of(json_value()),
        response,
        prop_oneof![Just(0u64), 0u64..3],
    )
        .prop_map(|(method, url, by, body, response, delay)| {
            let mut request = json!({ "method": method, "url": url });
            if let Some(by) = by {
                request["authorized_by"] = json!(by);
            }
            if let Some(body) = body {
                request["json"] = body;
            }
            json!({ "request": request, "response": response, "delay_ms": delay })
        });
    let connection = (
        prop::option::of(".{0,8}"),
        prop::collection::vec(".{0,8}", 0..3),
    )
        .prop_map(|(account, scopes)| json!({ "account": account, "scopes": scopes }));
    prop_oneof![
        3 => (
            prop::collection::btree_map("[a-z]{0,6}", connection, 0..3),
            prop::collection::vec(interaction, 0..4),
        )
            .prop_map(|(c, i)| json!({ "connections": c, "interactions": i })),
        1 => json_value(),
    ]
}

/// A tokio runtime for the brokers' async calls.
fn tokio() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// Any JSON (or text) is a replay file or is refused; a replay file
    /// answers any request with a recorded response or a denial, and hands
    /// out its connections.
    #[test]
    fn arbitrary_replay_files_never_panic(
        file in prop_oneof![3 => replay_json().prop_map(|v| v.to_string()), 1 => ".{0,120}"],
        method in prop_oneof![Just("GET".to_string()), Just("POST".to_string()), ".{0,6}"],
        url in prop_oneof![Just("https://api.example.com/x".to_string()), ".{0,20}"],
        body in prop::collection::vec(any::<u8>(), 0..32),
        provider in prop_oneof![Just("slack".to_string()), ".{0,6}"],
    ) {
        let Ok(parsed) = ReplayFile::parse(&file) else {
            return Ok(());
        };
        let broker = ReplayBroker::new(parsed);
        let connection = broker.get(&provider).ok();
        let request = OutboundRequest {
            method,
            url,
            headers: Vec::new(),
            body,
            timeout: Duration::from_millis(1),
            max_response_bytes: 1 << 20,
        };
        let _ = tokio().block_on(broker.send(request, connection.as_ref()));
    }
}

/// The components whose derived schemas inputs are checked against: the
/// well-behaved test plugin and the four first-party integrations, loaded
/// once.
fn components() -> &'static [Arc<LoadedComponent>] {
    static LOADED: OnceLock<Vec<Arc<LoadedComponent>>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("workway-test-component-cache")),
            ..RuntimeConfig::default()
        })
        .expect("the runtime starts");
        let first_party = workway_test_artifacts::first_party::GMAIL;
        [
            workway_test_artifacts::WELL_BEHAVED,
            first_party,
            workway_test_artifacts::first_party::NOTION,
            workway_test_artifacts::first_party::SLACK,
            workway_test_artifacts::first_party::STRIPE,
        ]
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).expect("the component is built");
            tokio()
                .block_on(runtime.load(&bytes))
                .expect("the component loads")
        })
        .collect()
    })
}

/// Every (component, action) pair, by index.
fn action_index() -> impl Strategy<Value = (usize, usize)> {
    let pairs: Vec<(usize, usize)> = components()
        .iter()
        .enumerate()
        .flat_map(|(c, component)| (0..component.description.actions.len()).map(move |a| (c, a)))
        .collect();
    prop::sample::select(pairs)
}

/// `base` with one member replaced by `value`, at a depth chosen by `path`.
fn mutate(base: &Value, path: &[usize], value: Value) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return value;
    };
    match base {
        Value::Object(map) if !map.is_empty() => {
            let mut map = map.clone();
            let key = map
                .keys()
                .nth(first % map.len())
                .cloned()
                .unwrap_or_default();
            let inner = map.get(&key).cloned().unwrap_or(Value::Null);
            map.insert(key, mutate(&inner, rest, value));
            Value::Object(map)
        }
        Value::Array(items) if !items.is_empty() => {
            let mut items = items.clone();
            let i = first % items.len();
            items[i] = mutate(&items[i], rest, value);
            Value::Array(items)
        }
        _ => value,
    }
}

/// An input close to the action's schema: an object with the schema's
/// property names holding arbitrary values, with one member replaced.
fn near_input(
    schema: &Value,
    names: Vec<usize>,
    values: Vec<Value>,
    path: Vec<usize>,
    at: Value,
) -> Value {
    let properties: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut object = Map::new();
    for (n, v) in names.iter().zip(values) {
        if let Some(name) = properties.get(n % properties.len().max(1)) {
            object.insert(name.clone(), v);
        }
    }
    mutate(&Value::Object(object), &path, at)
}

proptest! {
    #![proptest_config(config(384))]

    /// Any JSON, and JSON shaped like an action's input, is accepted or
    /// refused by the action's derived input schema with the fields named;
    /// the output schemas check arbitrary JSON too.
    #[test]
    fn arbitrary_json_against_derived_schemas_never_panics(
        (c, a) in action_index(),
        names in prop::collection::vec(any::<usize>(), 0..6),
        values in prop::collection::vec(json_value(), 0..6),
        path in prop::collection::vec(any::<usize>(), 0..4),
        at in json_value(),
        anything in json_value(),
    ) {
        let component = &components()[c];
        let action = &component.description.actions[a];
        let near = near_input(&action.input_schema, names, values, path, at);
        for input in [&near, &anything] {
            if let Err(errors) = component.check_input(&action.name, input) {
                prop_assert!(!errors.is_empty());
            }
        }
        let output = Schema::compile(&action.output_schema).expect("a loaded component's schema compiles");
        let _ = output.check(&anything);
        let _ = output.check(&near);
    }
}
