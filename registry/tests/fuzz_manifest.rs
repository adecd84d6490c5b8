//! Property tests of the manifest parser (`workway.toml`), run with the
//! normal suite for a bounded number of cases: arbitrary text, TOML-shaped
//! text assembled from the manifest's own keys, and arbitrary structured
//! manifests written out as TOML. Parsing never panics: whatever is wrong
//! comes back as a `ManifestError`, and a manifest that parses survives
//! being written out and read back unchanged.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;
use workway_registry::manifest::{HttpRequirement, ManifestAction, OAuthRequirement, Pricing};
use workway_registry::{Manifest, ManifestError};

/// Few enough cases to finish in a second or two, with no regression files
/// written beside the sources (a failure found here becomes a named test).
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Parse `text` and, when it parses, use everything a caller uses.
fn exercise(text: &str) -> Result<Manifest, ManifestError> {
    let parsed = Manifest::from_toml(text);
    match &parsed {
        Ok(manifest) => {
            assert!(manifest.problems().is_empty(), "a parsed manifest is valid");
            let _ = manifest.host_patterns();
        }
        Err(ManifestError::Invalid(problems)) => {
            assert!(!problems.is_empty(), "an invalid manifest says why");
        }
        Err(ManifestError::Parse(message)) => {
            assert!(!message.is_empty(), "a parse error says why");
        }
        Err(ManifestError::Read { .. }) => panic!("from_toml reads no file"),
    }
    let _ = parsed.as_ref().map_err(ToString::to_string);
    parsed
}

/// Keys and section names a manifest has, and a few it does not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_string()),
        Just("version".to_string()),
        Just("publisher".to_string()),
        Just("description".to_string()),
        Just("example".to_string()),
        Just("scopes".to_string()),
        Just("hosts".to_string()),
        Just("upfront_cents".to_string()),
        "[a-z_-]{1,8}",
        "\"[^\"\\\\\n]{0,8}\"",
    ]
}

/// TOML values, well-formed and not.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "\"[^\"\\\\\n]{0,24}\"",
        "-?[0-9]{1,12}",
        Just("true".to_string()),
        Just("1.5e300".to_string()),
        Just("4294967296".to_string()),
        Just("\"https://*.googleapis.com\"".to_string()),
        Just("\"https://[::1]:99999\"".to_string()),
        Just("\"1.2.3-rc.1+build\"".to_string()),
        Just("\"\u{0}\u{202e}é\"".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        "[^\n]{0,12}",
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|v| {
                let pairs: Vec<String> = v.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

/// A line of a manifest: a section header or a `key = value`.
fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (key(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop_oneof![
            Just("[http]".to_string()),
            Just("[pricing]".to_string()),
            "\\[actions\\.[a-z-]{0,6}\\]",
            "\\[actions\\.[a-z-]{1,6}\\.example\\]",
            "\\[oauth\\.(google|notion|slack|stripe|[a-z]{1,5})\\]",
            "\\[\\[[a-z]{1,6}\\]\\]",
        ],
    ]
}

/// A valid manifest's text, to mutate.
const VALID: &str = r#"name = "example"
version = "0.1.0"
publisher = "acme"
description = "Echoes messages."

[actions.echo]
description = "Echo a message back."
example = { message = "hello" }

[oauth.slack]
scopes = ["chat:write"]

[http]
hosts = ["https://slack.com"]

[pricing]
upfront_cents = 1900
"#;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        prop::collection::vec(toml_line(), 0..16).prop_map(|lines| lines.join("\n")),
        // The valid manifest with a byte range cut out or a line added.
        (0..VALID.len(), 0..VALID.len()).prop_map(|(a, b)| {
            let (from, to) = (a.min(b), a.max(b));
            format!("{}{}", &VALID[..from], &VALID[to..])
        }),
        (toml_line(), 0..VALID.lines().count()).prop_map(|(line, at)| {
            let mut lines: Vec<&str> = VALID.lines().collect();
            lines.insert(at, &line);
            lines.join("\n")
        }),
    ]
}

/// Strings a manifest field could hold: plausible ones and anything.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,12}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-[a-z0-9.]{1,6})?",
        "https?://[a-z*.]{0,20}(:[0-9]{1,6})?(/[a-z]{0,4})?",
        ".{0,24}",
    ]
}

/// JSON values TOML can hold (no `null`), for action examples.
fn example() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `valid` most of the time, anything otherwise: so that some generated
/// manifests are accepted and the round trip is exercised too.
fn mostly(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![3 => valid, 1 => field()]
}

fn manifest() -> impl Strategy<Value = Manifest> {
    let action = (mostly("[a-z][a-z ]{0,12}"), prop::option::of(example())).prop_map(
        |(description, example)| ManifestAction {
            description,
            example,
        },
    );
    let provider = prop_oneof![
        Just("google".to_string()),
        Just("notion".to_string()),
        Just("slack".to_string()),
        Just("stripe".to_string()),
        "[a-z]{1,8}",
    ];
    (
        (
            mostly("[a-z]{1,6}(-[a-z0-9]{1,4})?"),
            mostly("[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}"),
            mostly("[a-z]{1,8}"),
            mostly("[A-Za-z][a-z .]{0,20}"),
        ),
        prop::collection::btree_map(mostly("[a-z]{1,6}(-[a-z]{1,4})?"), action, 0..4),
        prop::collection::btree_map(
            provider,
            prop::collection::vec(field(), 0..4).prop_map(|scopes| OAuthRequirement { scopes }),
            0..2,
        ),
        prop::collection::vec(mostly("https://[a-z]{1,8}\\.(com|example)"), 0..4),
        prop::option::of(prop_oneof![1_900u32..=24_900, any::<u32>()]),
    )
        .prop_map(
            |((name, version, publisher, description), actions, oauth, hosts, upfront)| Manifest {
                name,
                version,
                publisher,
                description,
                actions,
                oauth,
                http: HttpRequirement { hosts },
                pricing: Pricing {
                    upfront_cents: upfront,
                },
                limits: Default::default(),
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    /// Any text, TOML-shaped or not, parses or is refused with a reason.
    #[test]
    fn arbitrary_manifest_text_never_panics(text in text()) {
        let _ = exercise(&text);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Any structured manifest, written as TOML, is accepted exactly when it
    /// breaks no rule, and an accepted one reads back as itself.
    #[test]
    fn arbitrary_structured_manifests_never_panic(manifest in manifest()) {
        let problems = manifest.problems();
        let Ok(text) = toml::to_string(&manifest) else {
            // Not representable in TOML: nothing to parse.
            return Ok(());
        };
        match exercise(&text) {
            Ok(parsed) => {
                prop_assert!(problems.is_empty(), "accepted despite {problems:?}");
                prop_assert_eq!(parsed, manifest);
            }
            Err(ManifestError::Invalid(found)) => prop_assert_eq!(found, problems),
            Err(other) => prop_assert!(false, "written by toml, refused by the parser: {other}\n{text}"),
        }
    }
}

/// An example nested ten thousand arrays deep (TOML allows the syntax) is
/// read or refused as a parse error, without overflowing the stack.
#[test]
fn deeply_nested_examples_are_refused_or_parsed_without_overflow() {
    let depth = 10_000;
    let header = &VALID[..VALID.find("[actions").unwrap_or(0)];
    let text = format!(
        "{header}[actions.echo]\ndescription = \"d\"\nexample = {{ a = {}1{} }}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let parsed = exercise(&text);
    assert!(
        matches!(parsed, Ok(_) | Err(ManifestError::Parse(_))),
        "{parsed:?}"
    );
}
