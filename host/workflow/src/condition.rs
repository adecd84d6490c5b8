//! A step's `when:`: a condition on the run's context (the same document
//! its input is rendered against), deciding whether the step runs.
//!
//! ```yaml
//! when:
//!   all:
//!     - exists: /steps/fetch/output/messages/0
//!     - not: { equals: [/trigger/mode, "dry-run"] }
//! ```

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::checked::deserialize_checked;

/// A condition on the run's context; every pointer is a JSON pointer
/// (`/steps/fetch/output/count`). Written as a map with one key, the
/// condition's name (`exists: /trigger/id`).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The pointer has a value (even `null`).
    Exists(String),
    /// The pointer has no value.
    Missing(String),
    /// The value is present and not `null`, `false`, `0`, `""`, `[]` or `{}`.
    Truthy(String),
    /// The value is absent, or one of `null`, `false`, `0`, `""`, `[]`, `{}`.
    Falsy(String),
    /// The value is present and equal to the given one (`1` equals `1.0`).
    Equals(String, Value),
    /// The value is absent or differs from the given one.
    NotEquals(String, Value),
    /// Every condition holds (true when the list is empty).
    All(Vec<Condition>),
    /// At least one condition holds (false when the list is empty).
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

impl Serialize for Condition {
    /// A one-key map in every format (serde's externally tagged enums
    /// become `!tags` in YAML, which would not read back).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Condition::Exists(p) => map.serialize_entry("exists", p)?,
            Condition::Missing(p) => map.serialize_entry("missing", p)?,
            Condition::Truthy(p) => map.serialize_entry("truthy", p)?,
            Condition::Falsy(p) => map.serialize_entry("falsy", p)?,
            Condition::Equals(p, v) => map.serialize_entry("equals", &(p, v))?,
            Condition::NotEquals(p, v) => map.serialize_entry("not_equals", &(p, v))?,
            Condition::All(conditions) => map.serialize_entry("all", conditions)?,
            Condition::Any(conditions) => map.serialize_entry("any", conditions)?,
            Condition::Not(condition) => map.serialize_entry("not", condition)?,
        }
        map.end()
    }
}

/// A condition as written: every name a possible key, so a typo is
/// refused with its position (serde_yaml reads externally tagged enums
/// only from `!tags`, and a one-key map reads the same in YAML and JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    exists: Option<String>,
    missing: Option<String>,
    truthy: Option<String>,
    falsy: Option<String>,
    equals: Option<(String, Value)>,
    not_equals: Option<(String, Value)>,
    all: Option<Vec<Condition>>,
    any: Option<Vec<Condition>>,
    not: Option<Box<Condition>>,
}

const CONDITION_NAMES: &str =
    "`exists`, `missing`, `truthy`, `falsy`, `equals`, `not_equals`, `all`, `any`, `not`";

/// Why a map is not a condition: it must hold exactly one condition name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum ConditionError {
    /// No condition name was given.
    #[error("a condition needs one of {}", CONDITION_NAMES)]
    Empty,
    /// Several were given in one map.
    #[error(
        "a condition has exactly one key; combine conditions with `all: [...]` or `any: [...]`"
    )]
    SeveralKeys,
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_checked::<D, RawCondition, Condition>(
            deserializer,
            "a condition: a map with one key, like `exists: /trigger/id`",
        )
    }
}

impl TryFrom<RawCondition> for Condition {
    type Error = ConditionError;

    fn try_from(raw: RawCondition) -> Result<Self, Self::Error> {
        let mut given: Vec<Condition> = [
            raw.exists.map(Condition::Exists),
            raw.missing.map(Condition::Missing),
            raw.truthy.map(Condition::Truthy),
            raw.falsy.map(Condition::Falsy),
            raw.equals.map(|(p, v)| Condition::Equals(p, v)),
            raw.not_equals.map(|(p, v)| Condition::NotEquals(p, v)),
            raw.all.map(Condition::All),
            raw.any.map(Condition::Any),
            raw.not.map(Condition::Not),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given.len() {
            1 => Ok(given.remove(0)),
            0 => Err(ConditionError::Empty),
            _ => Err(ConditionError::SeveralKeys),
        }
    }
}

impl Condition {
    /// Whether the condition holds in `context`. Never fails: a pointer
    /// with no value is simply absent.
    pub fn evaluate(&self, context: &Value) -> bool {
        match self {
            Condition::Exists(pointer) => context.pointer(pointer).is_some(),
            Condition::Missing(pointer) => context.pointer(pointer).is_none(),
            Condition::Truthy(pointer) => context.pointer(pointer).is_some_and(is_truthy),
            Condition::Falsy(pointer) => !context.pointer(pointer).is_some_and(is_truthy),
            Condition::Equals(pointer, expected) => equals(context, pointer, expected),
            Condition::NotEquals(pointer, expected) => !equals(context, pointer, expected),
            Condition::All(conditions) => conditions.iter().all(|c| c.evaluate(context)),
            Condition::Any(conditions) => conditions.iter().any(|c| c.evaluate(context)),
            Condition::Not(condition) => !condition.evaluate(context),
        }
    }

    /// Every pointer the condition reads, in order, for validation.
    pub fn pointers(&self) -> Vec<&str> {
        let mut pointers = Vec::new();
        self.collect_pointers(&mut pointers);
        pointers
    }

    fn collect_pointers<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Condition::Exists(p)
            | Condition::Missing(p)
            | Condition::Truthy(p)
            | Condition::Falsy(p)
            | Condition::Equals(p, _)
            | Condition::NotEquals(p, _) => out.push(p),
            Condition::All(conditions) | Condition::Any(conditions) => {
                for condition in conditions {
                    condition.collect_pointers(out);
                }
            }
            Condition::Not(condition) => condition.collect_pointers(out),
        }
    }
}

fn equals(context: &Value, pointer: &str, expected: &Value) -> bool {
    context
        .pointer(pointer)
        .is_some_and(|actual| same_json(actual, expected))
}

/// Whether a value counts as true: anything but `null`, `false`, zero, and
/// empty strings, arrays and objects.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// JSON equality where numbers compare by value, so `1` (an integer in one
/// document) equals `1.0` (a float in another).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
        return x == y;
    }
    x.as_f64() == y.as_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "trigger": {"mode": "live", "count": 0, "flag": true, "empty": "", "list": [], "obj": {}, "none": null},
            "steps": {"fetch": {"output": {"messages": [{"subject": "hi"}], "total": 1}, "metadata": {}}},
        })
    }

    fn when(yaml: &str) -> Condition {
        serde_yaml::from_str(yaml).expect("condition parses")
    }

    #[test]
    fn the_yaml_forms_parse() {
        assert_eq!(
            when("exists: /steps/fetch/output/messages/0"),
            Condition::Exists("/steps/fetch/output/messages/0".into())
        );
        assert_eq!(
            when("equals: [/trigger/mode, live]"),
            Condition::Equals("/trigger/mode".into(), json!("live"))
        );
        assert_eq!(
            when("not: { missing: /trigger/x }"),
            Condition::Not(Box::new(Condition::Missing("/trigger/x".into())))
        );
        let all = when("all:\n  - truthy: /a\n  - any: [{falsy: /b}, {not_equals: [/c, 3]}]\n");
        assert_eq!(all.pointers(), vec!["/a", "/b", "/c"]);
        assert!(serde_yaml::from_str::<Condition>("equals: [/a]").is_err());
        let typo = serde_yaml::from_str::<Condition>("exist: /a").unwrap_err();
        assert!(typo.to_string().contains("exist"), "{typo}");
        let two = serde_yaml::from_str::<Condition>("{exists: /a, missing: /b}").unwrap_err();
        assert!(two.to_string().contains("exactly one key"), "{two}");
        let none = serde_yaml::from_str::<Condition>("{}").unwrap_err();
        assert!(none.to_string().contains("needs one of"), "{none}");
    }

    #[test]
    fn json_reads_and_writes_the_same_form() {
        let condition = Condition::All(vec![
            Condition::Equals("/a".into(), json!(1)),
            Condition::Not(Box::new(Condition::Exists("/b".into()))),
        ]);
        let text = serde_json::to_string(&condition).unwrap();
        assert_eq!(
            text,
            r#"{"all":[{"equals":["/a",1]},{"not":{"exists":"/b"}}]}"#
        );
        assert_eq!(serde_json::from_str::<Condition>(&text).unwrap(), condition);
        let yaml = serde_yaml::to_string(&condition).unwrap();
        assert!(!yaml.contains('!'), "{yaml}");
        assert_eq!(serde_yaml::from_str::<Condition>(&yaml).unwrap(), condition);
        let from_yaml: Condition =
            serde_yaml::from_str("all:\n  - equals: [/a, 1]\n  - not: {exists: /b}\n").unwrap();
        assert_eq!(from_yaml, condition);
    }

    #[test]
    fn exists_and_missing() {
        let ctx = context();
        assert!(Condition::Exists("/steps/fetch/output/messages/0".into()).evaluate(&ctx));
        assert!(!Condition::Exists("/steps/fetch/output/messages/1".into()).evaluate(&ctx));
        assert!(
            Condition::Exists("/trigger/none".into()).evaluate(&ctx),
            "null exists"
        );
        assert!(Condition::Missing("/steps/page/output".into()).evaluate(&ctx));
        assert!(!Condition::Missing("/trigger/mode".into()).evaluate(&ctx));
    }

    #[test]
    fn truthiness() {
        let ctx = context();
        for falsy in ["count", "empty", "list", "obj", "none", "absent"] {
            let pointer = format!("/trigger/{falsy}");
            assert!(
                !Condition::Truthy(pointer.clone()).evaluate(&ctx),
                "{falsy}"
            );
            assert!(Condition::Falsy(pointer).evaluate(&ctx), "{falsy}");
        }
        for truthy in [
            "/trigger/mode",
            "/trigger/flag",
            "/steps/fetch/output/total",
        ] {
            assert!(Condition::Truthy(truthy.into()).evaluate(&ctx), "{truthy}");
            assert!(!Condition::Falsy(truthy.into()).evaluate(&ctx), "{truthy}");
        }
        assert!(!is_truthy(&json!(0.0)));
        assert!(is_truthy(&json!(-1)));
    }

    #[test]
    fn equality_compares_numbers_by_value() {
        let ctx = context();
        assert!(Condition::Equals("/trigger/mode".into(), json!("live")).evaluate(&ctx));
        assert!(Condition::Equals("/steps/fetch/output/total".into(), json!(1.0)).evaluate(&ctx));
        assert!(
            Condition::Equals(
                "/steps/fetch/output/messages".into(),
                json!([{"subject": "hi"}])
            )
            .evaluate(&ctx)
        );
        assert!(!Condition::Equals("/trigger/absent".into(), Value::Null).evaluate(&ctx));
        assert!(Condition::NotEquals("/trigger/absent".into(), Value::Null).evaluate(&ctx));
        assert!(Condition::NotEquals("/trigger/mode".into(), json!("dry-run")).evaluate(&ctx));
        assert!(!Condition::Equals("/trigger/count".into(), json!("0")).evaluate(&ctx));
    }

    #[test]
    fn combinators() {
        let ctx = context();
        let yes = || Condition::Exists("/trigger".into());
        let no = || Condition::Missing("/trigger".into());
        assert!(Condition::All(vec![yes(), yes()]).evaluate(&ctx));
        assert!(!Condition::All(vec![yes(), no()]).evaluate(&ctx));
        assert!(Condition::Any(vec![no(), yes()]).evaluate(&ctx));
        assert!(!Condition::Any(vec![]).evaluate(&ctx));
        assert!(Condition::All(vec![]).evaluate(&ctx));
        assert!(Condition::Not(Box::new(no())).evaluate(&ctx));
    }

    #[test]
    fn a_refused_condition_says_exactly_why() {
        let error = |value: Value| {
            serde_json::from_value::<Condition>(value)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(json!({})),
            "a condition needs one of `exists`, `missing`, `truthy`, `falsy`, `equals`, \
             `not_equals`, `all`, `any`, `not`"
        );
        assert_eq!(
            error(json!({"exists": "/a", "missing": "/b"})),
            "a condition has exactly one key; combine conditions with `all: [...]` or `any: [...]`"
        );
    }
}
