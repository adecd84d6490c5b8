//! What a component may import, and what it says about its contract
//! version and SDK.
//!
//! A component may import the `workway:plugin` interfaces of a contract
//! version this host supports, and the WASI interfaces a plain `std` guest
//! needs to start: clocks, random, stdio, environment, exit and the I/O
//! streams they use. Anything else (filesystem, sockets, `wasi:http`, an
//! unknown package) is refused before the component is ever instantiated.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Contract versions of `workway:plugin` this host runs.
pub const SUPPORTED_CONTRACTS: &[&str] = &["0.1.0"];

/// WASI interfaces (without version) a component may import.
const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
];

/// `workway:plugin` interfaces a component may import.
const ALLOWED_WORKWAY: &[&str] = &[
    "workway:plugin/types",
    "workway:plugin/http",
    "workway:plugin/connections",
    "workway:plugin/log",
    "workway:plugin/config",
];

/// What the import check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Every import name, as the component spells it.
    pub imports: Vec<String>,
    /// The `workway:plugin` contract version the component targets.
    pub contract_version: String,
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((interface, version)) => (interface, Some(version)),
        None => (name, None),
    }
}

/// Why an import is refused, in words that tell the developer what to change.
fn refusal(name: &str) -> String {
    let (interface, _) = split_version(name);
    let hint = if interface.starts_with("wasi:filesystem") {
        "integrations have no filesystem: remove uses of std::fs and of crates that read files"
    } else if interface.starts_with("wasi:sockets") {
        "integrations cannot open sockets: make requests with workway_sdk::http, which the host brokers"
    } else if interface.starts_with("wasi:http") {
        "integrations make requests with workway_sdk::http (the `workway:plugin/http` import), not wasi:http"
    } else if interface.starts_with("workway:plugin/") {
        "this interface is not part of any contract version this host supports"
    } else {
        "it is not part of the Workway contract; build against workway-sdk"
    };
    format!("the component imports `{name}`, which Workway does not provide: {hint}")
}

/// Check every import of `component`; `Err` lists each refused import.
pub fn check_imports(engine: &Engine, component: &Component) -> Result<ImportSummary, Vec<String>> {
    let mut imports = Vec::new();
    let mut problems = Vec::new();
    let mut contract: Option<String> = None;
    for (name, _) in component.component_type().imports(engine) {
        imports.push(name.to_string());
        let (interface, version) = split_version(name);
        if ALLOWED_WORKWAY.contains(&interface) {
            match version {
                Some(v) if SUPPORTED_CONTRACTS.contains(&v) => match &contract {
                    Some(c) if c != v => problems.push(format!(
                        "the component mixes contract versions {c} and {v} of workway:plugin"
                    )),
                    _ => contract = Some(v.to_string()),
                },
                Some(v) => problems.push(format!(
                    "the component targets workway:plugin@{v}; this host supports {}. Rebuild with a supported workway-sdk",
                    SUPPORTED_CONTRACTS.join(", ")
                )),
                None => problems.push(format!("`{name}` has no version")),
            }
        } else if ALLOWED_WASI.contains(&interface) {
            if !version.is_some_and(|v| v.starts_with("0.2.")) {
                problems.push(format!(
                    "the component imports `{name}`; only WASI 0.2 (wasip2) is supported"
                ));
            }
        } else {
            problems.push(refusal(name));
        }
    }
    let Some(contract_version) = contract else {
        problems.push(
            "the component does not target any version of the workway:plugin contract; build it with workway-sdk".into(),
        );
        return Err(problems);
    };
    if problems.is_empty() {
        Ok(ImportSummary {
            imports,
            contract_version,
        })
    } else {
        Err(problems)
    }
}

/// The `workway-sdk` stamp (`workway-sdk=0.1.0;contract=0.1.0`) the SDK's
/// macro leaves in a custom section of the component's core module, if any.
pub fn sdk_stamp(bytes: &[u8]) -> Option<String> {
    let mut found = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let Ok(wasmparser::Payload::CustomSection(section)) = payload
            && section.name() == "workway-sdk"
        {
            found = Some(String::from_utf8_lossy(section.data()).into_owned());
        }
    }
    found
}
