//! Cross-checking a manifest against what the component's `describe()`
//! reports, run in the sandbox.

use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;

/// What a component says about itself through `describe()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationDescription {
    /// The integration's name.
    pub name: String,
    /// The integration's version.
    pub version: String,
    /// The SDK version it was built with.
    pub sdk_version: String,
    /// Its actions.
    pub actions: Vec<ActionDescription>,
}

/// One action as `describe()` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDescription {
    /// The action's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its input.
    pub input_schema: serde_json::Value,
    /// JSON Schema of its output.
    pub output_schema: serde_json::Value,
}

/// Every way the manifest and the component disagree, as sentences.
/// An empty list means they agree.
pub fn crosscheck(manifest: &Manifest, described: &IntegrationDescription) -> Vec<String> {
    let mut problems = Vec::new();
    if manifest.name != described.name {
        problems.push(format!(
            "the manifest names the integration `{}` but the component calls itself `{}`",
            manifest.name, described.name
        ));
    }
    if manifest.version != described.version {
        problems.push(format!(
            "the manifest's version is {} but the component reports {}",
            manifest.version, described.version
        ));
    }
    for name in manifest.actions.keys() {
        if !described.actions.iter().any(|a| &a.name == name) {
            problems.push(format!(
                "the manifest declares action `{name}` but the component does not offer it"
            ));
        }
    }
    for action in &described.actions {
        if !manifest.actions.contains_key(&action.name) {
            problems.push(format!(
                "the component offers action `{}` that the manifest does not declare; add [actions.{}]",
                action.name, action.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::from_toml(
            r#"
name = "demo"
version = "1.0.0"
publisher = "me"
description = "d"
[actions.a]
description = "A"
[actions.b]
description = "B"
"#,
        )
        .expect("valid")
    }

    fn action(name: &str) -> ActionDescription {
        ActionDescription {
            name: name.into(),
            description: String::new(),
            input_schema: serde_json::json!({}),
            output_schema: serde_json::json!({}),
        }
    }

    #[test]
    fn agreeing_descriptions_have_no_problems() {
        let d = IntegrationDescription {
            name: "demo".into(),
            version: "1.0.0".into(),
            sdk_version: "0.1.0".into(),
            actions: vec![action("a"), action("b")],
        };
        assert!(crosscheck(&manifest(), &d).is_empty());
    }

    #[test]
    fn each_disagreement_is_reported() {
        let d = IntegrationDescription {
            name: "other".into(),
            version: "2.0.0".into(),
            sdk_version: "0.1.0".into(),
            actions: vec![action("a"), action("c")],
        };
        let problems = crosscheck(&manifest(), &d);
        assert_eq!(problems.len(), 4, "{problems:#?}");
    }
}
