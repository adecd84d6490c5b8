//! What a component may import, and what it says about its contract
//! version and the toolchain that built it.
//!
//! A component may import the `workway:plugin` interfaces of a contract
//! version this host supports, and the WASI interfaces a `std` guest or an
//! embedded interpreter needs to start: clocks, random, stdio, environment,
//! exit and the I/O streams they use. `wasi:filesystem` and `wasi:sockets`
//! are linked **inert**: CPython and JS runtimes always import them, and the
//! host's WASI context has no preopened directory, allows no address and
//! resolves no name, so every call fails and nothing is granted. Anything
//! else (`wasi:http`, an unknown package) is refused: it would be a second
//! way out besides the brokered `workway:plugin/http`.
//!
//! The imports are read from the component's bytes before it is compiled
//! ([`scan`]), so a refusal costs milliseconds, not a compilation; the
//! linker holds nothing else, so linking the compiled component enforces
//! the same rule again.

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

/// WASI interfaces (without version) linked to a context that grants
/// nothing: no directories, no addresses, no name lookup.
const INERT_WASI: &[&str] = &[
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/ip-name-lookup",
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
    /// The imports linked inert (filesystem, sockets): present, granting nothing.
    pub inert: Vec<String>,
    /// The `workway:plugin` contract version the component targets.
    pub contract_version: String,
}

/// The toolchain that built a component, as far as the component says:
/// the SDK's stamp, or the `producers` section a componentizer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolkit {
    /// Rust with `workway-sdk`, and its version.
    WorkwaySdk(String),
    /// Python with `componentize-py`, and the CPython it embeds.
    ComponentizePy(String),
    /// JavaScript with `componentize-js`, and its version.
    ComponentizeJs(String),
    /// Nothing the host recognises.
    Unknown,
}

impl Toolkit {
    /// The toolchain's name and version, for reports (`componentize-py 0.25.1`).
    pub fn describe(&self) -> String {
        let named = |name: &str, version: &str| {
            if version.is_empty() {
                name.to_string()
            } else {
                format!("{name} {version}")
            }
        };
        match self {
            Toolkit::WorkwaySdk(v) => named("workway-sdk", v),
            Toolkit::ComponentizePy(python) if !python.is_empty() => {
                format!("componentize-py ({python})")
            }
            Toolkit::ComponentizePy(_) => "componentize-py".into(),
            Toolkit::ComponentizeJs(v) => named("componentize-js", v),
            Toolkit::Unknown => "an unrecognised toolchain".into(),
        }
    }

    /// How to reach a service without `wasi:http`, in the toolchain's terms.
    fn http_hint(&self) -> &'static str {
        match self {
            Toolkit::ComponentizePy(_) => {
                "make requests with `wit_world.imports.http.send` (the `workway:plugin/http` import, which the host brokers); urllib and requests are not available"
            }
            Toolkit::ComponentizeJs(_) => {
                "build with `workway plugin build`, which passes componentize-js `-d http fetch-event` so fetch() is left out, and make requests with `send` from 'workway:plugin/http@0.1.0', which the host brokers"
            }
            _ => {
                "make requests with workway_sdk::http (the `workway:plugin/http` import, which the host brokers), not wasi:http"
            }
        }
    }

    /// How to build against the contract, in the toolchain's terms.
    fn build_hint(&self) -> &'static str {
        match self {
            Toolkit::ComponentizePy(_) | Toolkit::ComponentizeJs(_) => {
                "build it with `workway plugin build`, against the world `workway:plugin/integration@0.1.0` (a project from `workway plugin new --lang python|js` has the WIT in wit/deps/)"
            }
            _ => "build it with workway-sdk (`workway plugin new`, then `workway plugin build`)",
        }
    }
}

/// What reading a component's bytes found, before compiling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The component's own (top-level) imports, as it spells them.
    pub imports: Vec<String>,
    /// The `workway-sdk` stamp (`workway-sdk=0.1.0;contract=0.1.0`) the
    /// SDK's macro leaves in a custom section, if any.
    pub sdk_stamp: Option<String>,
    /// The toolchain that built it.
    pub toolkit: Toolkit,
}

/// Read a component's top-level imports, SDK stamp and producers without
/// compiling it. `Err` says why the bytes are not a component.
pub fn scan(bytes: &[u8]) -> Result<Scan, String> {
    let mut imports = Vec::new();
    let mut sdk_stamp = None;
    let mut producer = Toolkit::Unknown;
    // Nested modules and components are parsed inline; only depth 0 is the
    // component's own import list.
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| e.to_string())?;
        match payload {
            wasmparser::Payload::Version { encoding, .. }
                if depth == 0 && encoding != wasmparser::Encoding::Component =>
            {
                return Err("this is a core WebAssembly module, not a component: build it with a component toolchain (`workway plugin build`)".into());
            }
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => match depth.checked_sub(1) {
                Some(outer) => depth = outer,
                None => break,
            },
            wasmparser::Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    // A type import (a world's `use`) reaches nothing.
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        imports.push(import.name.name.to_string());
                    }
                }
            }
            // componentize-py links CPython as a shared library: its modules
            // import from `libpython3.NN.so`, and no producer names it.
            wasmparser::Payload::ImportSection(reader) if producer == Toolkit::Unknown => {
                for import in reader.into_imports().flatten() {
                    if let Some(version) = import
                        .module
                        .strip_prefix("libpython")
                        .and_then(|rest| rest.strip_suffix(".so"))
                    {
                        producer = Toolkit::ComponentizePy(format!("CPython {version}"));
                        break;
                    }
                }
            }
            wasmparser::Payload::CustomSection(section) => {
                if section.name() == "workway-sdk" {
                    sdk_stamp = Some(String::from_utf8_lossy(section.data()).into_owned());
                } else if let wasmparser::KnownCustom::Producers(fields) = section.as_known()
                    && producer == Toolkit::Unknown
                {
                    producer = producer_toolkit(fields);
                }
            }
            _ => {}
        }
    }
    let toolkit = match &sdk_stamp {
        Some(stamp) => Toolkit::WorkwaySdk(
            stamp
                .split(';')
                .find_map(|part| part.strip_prefix("workway-sdk="))
                .unwrap_or_default()
                .to_string(),
        ),
        None => producer,
    };
    Ok(Scan {
        imports,
        sdk_stamp,
        toolkit,
    })
}

/// The componentizer a `producers` section names, if any.
fn producer_toolkit(fields: wasmparser::ProducersSectionReader<'_>) -> Toolkit {
    for field in fields.into_iter().flatten() {
        for value in field.values.into_iter().flatten() {
            match value.name {
                "componentize-js" | "ComponentizeJS" => {
                    return Toolkit::ComponentizeJs(value.version.to_string());
                }
                _ => {}
            }
        }
    }
    Toolkit::Unknown
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((interface, version)) => (interface, Some(version)),
        None => (name, None),
    }
}

/// Why an import is refused, in words that tell the developer what to change
/// with the toolchain they used.
fn refusal(name: &str, toolkit: &Toolkit) -> String {
    let (interface, _) = split_version(name);
    let hint = if interface.starts_with("wasi:http") {
        toolkit.http_hint()
    } else if interface.starts_with("workway:plugin/") {
        "this interface is not part of any contract version this host supports"
    } else {
        return format!(
            "the component imports `{name}`, which Workway does not provide: it is not part of the Workway contract; {}",
            toolkit.build_hint()
        );
    };
    format!("the component imports `{name}`, which Workway does not provide: {hint}")
}

/// Check every import `name`; `Err` lists each refused import.
pub fn check_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    toolkit: &Toolkit,
) -> Result<ImportSummary, Vec<String>> {
    let mut imports = Vec::new();
    let mut inert = Vec::new();
    let mut problems = Vec::new();
    let mut contract: Option<String> = None;
    for name in names {
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
                    "the component targets workway:plugin@{v}; this host supports {}. Rebuild against a supported contract: {}",
                    SUPPORTED_CONTRACTS.join(", "),
                    toolkit.build_hint()
                )),
                None => problems.push(format!("`{name}` has no version")),
            }
        } else if ALLOWED_WASI.contains(&interface) || INERT_WASI.contains(&interface) {
            if !version.is_some_and(|v| v.starts_with("0.2.")) {
                problems.push(format!(
                    "the component imports `{name}`; only WASI 0.2 (wasip2) is supported"
                ));
            } else if INERT_WASI.contains(&interface) {
                inert.push(name.to_string());
            }
        } else {
            problems.push(refusal(name, toolkit));
        }
    }
    let Some(contract_version) = contract else {
        problems.push(format!(
            "the component does not target any version of the workway:plugin contract; {}",
            toolkit.build_hint()
        ));
        return Err(problems);
    };
    if problems.is_empty() {
        Ok(ImportSummary {
            imports,
            inert,
            contract_version,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: Toolkit = Toolkit::Unknown;

    #[test]
    fn filesystem_and_sockets_are_linked_inert_and_http_is_refused() {
        let names = [
            "workway:plugin/log@0.1.0",
            "wasi:io/streams@0.2.9",
            "wasi:filesystem/types@0.2.9",
            "wasi:sockets/tcp@0.2.9",
        ];
        let summary = check_names(names, &PY).expect("accepted");
        assert_eq!(
            summary.inert,
            ["wasi:filesystem/types@0.2.9", "wasi:sockets/tcp@0.2.9"]
        );
        assert_eq!(summary.contract_version, "0.1.0");

        let python = Toolkit::ComponentizePy("CPython 3.14".into());
        let refused = check_names(
            ["workway:plugin/log@0.1.0", "wasi:http/types@0.2.10"],
            &python,
        )
        .expect_err("wasi:http refused");
        assert!(
            refused[0].contains("wit_world.imports.http.send"),
            "{refused:?}"
        );
        let js = Toolkit::ComponentizeJs("0.23.0".into());
        let refused = check_names(
            [
                "workway:plugin/log@0.1.0",
                "wasi:http/outgoing-handler@0.2.10",
            ],
            &js,
        )
        .expect_err("wasi:http refused");
        assert!(refused[0].contains("-d http fetch-event"), "{refused:?}");
        let rust = Toolkit::WorkwaySdk("0.1.0".into());
        let refused = check_names(["acme:exfil/upload@1.0.0"], &rust).expect_err("unknown");
        assert!(refused.iter().any(|r| r.contains("acme:exfil/upload")));
        assert!(refused.iter().any(|r| r.contains("workway-sdk")));
    }

    #[test]
    fn wasi_outside_0_2_is_refused_even_where_inert() {
        let refused = check_names(
            ["workway:plugin/log@0.1.0", "wasi:filesystem/types@0.3.0"],
            &PY,
        )
        .expect_err("refused");
        assert!(refused[0].contains("WASI 0.2"), "{refused:?}");
    }

    #[test]
    fn a_core_module_or_garbage_is_not_a_component() {
        let module = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        assert!(scan(&module).expect_err("a module").contains("core"));
        assert!(scan(b"not wasm at all").is_err());
    }

    #[test]
    fn toolkits_are_named_with_their_versions() {
        assert_eq!(
            Toolkit::ComponentizePy("CPython 3.14".into()).describe(),
            "componentize-py (CPython 3.14)"
        );
        assert_eq!(
            Toolkit::WorkwaySdk("0.1.0".into()).describe(),
            "workway-sdk 0.1.0"
        );
    }
}
