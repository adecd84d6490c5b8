//! The OpenAPI document: it is a valid OpenAPI 3.1 document (validated
//! offline against the official JSON Schemas vendored in `schemas/`),
//! every `$ref` in it resolves, every operation has answers and declares
//! its path parameters; and, on SQLite and PostgreSQL, the real server's
//! router serves exactly the documented routes (plus `/metrics`), serves
//! the document at `GET /v1/openapi.json` without a credential, and
//! answers every documented operation with a status it documents.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workway_engine::catalog::Catalog;
use workway_engine::platform::{HostConfig, Platform};
use workway_engine::review::Registry;
use workway_registry::approval::TrustedKeys;
use workway_registry::artifacts::ArtifactStore;
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::testing::{TestStore, test_stores};
use workway_vault::Keyring;

/// The vendored schemas, by the `$id` they are published under.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "https://spec.openapis.org/oas/3.1/schema/2025-09-15",
        include_str!("schemas/schema-2025-09-15.json"),
    ),
    (
        "https://spec.openapis.org/oas/3.1/schema-base/2025-09-15",
        include_str!("schemas/schema-base-2025-09-15.json"),
    ),
    (
        "https://spec.openapis.org/oas/3.1/dialect/2024-11-10",
        include_str!("schemas/dialect-2024-11-10.json"),
    ),
    (
        "https://spec.openapis.org/oas/3.1/meta/2024-11-10",
        include_str!("schemas/meta-2024-11-10.json"),
    ),
];

/// The schema documents are validated against: OpenAPI 3.1 with every
/// Schema Object checked against the OpenAPI dialect of JSON Schema.
const SCHEMA_BASE: &str = "https://spec.openapis.org/oas/3.1/schema-base/2025-09-15";

/// The HTTP methods an OpenAPI path item and an axum method router share.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The routes served but not documented: Prometheus text, not JSON.
const UNDOCUMENTED: &[(&str, &str)] = &[("/metrics", "get")];

/// The document as JSON.
fn document() -> Value {
    serde_json::to_value(workway_server::openapi_document()).expect("the document serializes")
}

/// Every error of validating `instance` against the OpenAPI 3.1 schema,
/// offline: the vendored schemas, the JSON Schema 2020-12 meta-schemas
/// built into `jsonschema`, nothing fetched.
fn openapi_errors(instance: &Value) -> Vec<String> {
    let resources = SCHEMAS
        .iter()
        .map(|(id, text)| {
            let schema: Value = serde_json::from_str(text).expect("a vendored schema is JSON");
            assert_eq!(schema["$id"], *id, "the vendored schema is the one named");
            (id.to_string(), schema)
        })
        .collect::<Vec<_>>();
    let registry = jsonschema::Registry::new()
        .extend(resources)
        .expect("the vendored schemas have valid ids")
        .prepare()
        .expect("the vendored schemas and the built-in meta-schemas resolve offline");
    let validator = jsonschema::options()
        .offline()
        .with_registry(&registry)
        .build(&json!({ "$ref": SCHEMA_BASE }))
        .expect("the OpenAPI 3.1 schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// Every operation of `doc`: path, method, operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut all = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                all.push((path.clone(), method.to_string(), operation.clone()));
            }
        }
    }
    all
}

/// Every string value of a `$ref` key in `value`.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

/// The `{name}`s of a path template.
fn template_parameters(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "an OpenAPI 3.1 document: {}",
        doc["openapi"]
    );
    let errors = openapi_errors(&doc);
    assert!(
        errors.is_empty(),
        "the document is not valid OpenAPI 3.1:\n{}",
        errors.join("\n")
    );

    // The validator does refuse what is not OpenAPI 3.1, so the check
    // above means something.
    let mut no_info = doc.clone();
    no_info.as_object_mut().expect("an object").remove("info");
    assert!(
        !openapi_errors(&no_info).is_empty(),
        "a document needs info"
    );
    let mut bad_status = doc.clone();
    bad_status["paths"]["/v1/runs"]["get"]["responses"]["2000"] = json!({"description": "x"});
    assert!(
        !openapi_errors(&bad_status).is_empty(),
        "a response key is an HTTP status"
    );
    let mut bad_schema = doc.clone();
    bad_schema["components"]["schemas"]["ApiError"]["type"] = json!("record");
    assert!(
        !openapi_errors(&bad_schema).is_empty(),
        "a Schema Object is checked against the OpenAPI dialect"
    );
    let mut old = doc;
    old["openapi"] = json!("3.0.3");
    assert!(!openapi_errors(&old).is_empty(), "3.0 is not 3.1");
}

#[test]
fn every_reference_resolves_and_every_operation_is_complete() {
    let doc = document();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("`{target}` points outside the document"));
        assert!(
            doc.pointer(pointer).is_some(),
            "`{target}` resolves to nothing"
        );
    }

    let all = operations(&doc);
    assert!(all.len() >= 40, "{} operations", all.len());
    let mut ids = BTreeSet::new();
    for (path, method, operation) in &all {
        let at = format!("{} {path}", method.to_uppercase());
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{at} has an operationId"));
        assert!(
            ids.insert(id.to_string()),
            "{at}: operationId `{id}` is not unique"
        );
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{at} has a summary"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| t.len() == 1),
            "{at} has one tag"
        );
        let responses = operation["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{at} has responses"));
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status.starts_with('3')),
            "{at} documents its answer: {responses:?}"
        );
        for (status, response) in responses {
            let described = response.get("$ref").is_some()
                || response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty());
            assert!(described, "{at} {status} has a description");
        }

        // The spec's rule the JSON Schema cannot check: each template
        // parameter is declared, in the path, required.
        let declared: BTreeSet<String> = operation["parameters"]
            .as_array()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{at}: {p}"))
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, template_parameters(path), "{at}: path parameters");

        // A credential: a token, or a session; a session's request that
        // changes something also needs its CSRF token.
        if let Some(security) = operation["security"].as_array() {
            assert!(!security.is_empty(), "{at}");
            for requirement in security {
                let requirement = requirement.as_object().expect("a requirement");
                for scheme in requirement.keys() {
                    assert!(
                        doc["components"]["securitySchemes"].get(scheme).is_some(),
                        "{at}: unknown security scheme {scheme}"
                    );
                }
                if requirement.contains_key("session") && method != "get" {
                    assert!(requirement.contains_key("csrf"), "{at}: {requirement:?}");
                }
            }
            for shared in ["401", "403", "429", "5XX"] {
                assert!(responses.contains_key(shared), "{at} lacks {shared}");
            }
        }
    }
}

#[test]
fn the_document_says_what_clients_need() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_token"]["type"], "http");
    assert_eq!(schemes["api_token"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "workway_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["csrf"]["name"], "x-csrf-token");

    let error = &doc["components"]["schemas"]["ApiError"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
    let paths = &doc["paths"];

    let signup = &paths["/v1/auth/signup"]["post"];
    assert!(
        signup.get("security").is_none(),
        "sign-up needs no credential"
    );
    assert!(signup["responses"]["201"].is_object());
    assert_eq!(
        paths["/v1/auth/signout"]["post"]["security"],
        json!([{"session": [], "csrf": []}]),
        "only a session signs out"
    );
    assert_eq!(
        paths["/v1/runs"]["post"]["security"],
        json!([{"api_token": ["run"]}, {"session": ["run"], "csrf": []}])
    );
    assert_eq!(
        paths["/v1/runs/{id}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/ApiError"
    );
    let query: Vec<&str> = paths["/v1/runs"]["get"]["parameters"]
        .as_array()
        .expect("GET /v1/runs has parameters")
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(query, ["workflow", "status", "limit", "cursor"]);

    // A submission is one JSON object; the component travels base64.
    let publish = &paths["/v1/submissions"]["post"]["requestBody"]["content"];
    assert_eq!(
        publish.as_object().map(|c| c.keys().collect::<Vec<_>>()),
        Some(vec![&"application/json".to_string()])
    );
    let body = &doc["components"]["schemas"]["Publish"];
    assert_eq!(
        body["properties"]["component"]["contentEncoding"], "base64",
        "{body}"
    );
    let mut required: Vec<&str> = body["required"]
        .as_array()
        .expect("required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["component", "manifest"]);

    // A definition is saved as JSON or YAML.
    let save = &paths["/v1/workflows"]["post"]["requestBody"]["content"];
    for media in ["application/json", "application/yaml", "text/yaml"] {
        assert!(save.get(media).is_some(), "{media}: {save}");
    }

    // The connect route may redirect; the webhook takes its signature.
    assert!(paths["/v1/connections/{provider}/connect"]["get"]["responses"]["303"].is_object());
    let hook = &paths["/v1/hooks/{token}"]["post"];
    assert!(hook.get("security").is_none());
    assert!(
        hook["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "Workway-Signature")
    );
    // Stripe's webhook takes Stripe's signature, no credential.
    let stripe = &paths["/v1/payments/stripe/webhook"]["post"];
    assert!(stripe.get("security").is_none(), "{stripe}");
    assert!(
        stripe["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "Stripe-Signature")
    );
    // Retrying a failed invoice is for admins, with the session's CSRF token.
    let retry = &paths["/v1/admin/invoices/{statement_id}/retry"]["post"];
    assert_eq!(
        retry["security"],
        json!([{"api_token": ["admin"]}, {"session": ["admin"], "csrf": []}]),
        "{retry}"
    );
    assert!(paths[workway_server::openapi::PATH]["get"].is_object());
    assert!(paths["/health/ready"]["get"].is_object());
    assert!(paths.get("/metrics").is_none(), "metrics are not JSON");
    assert!(
        doc["info"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("/metrics")),
        "the document says /metrics is left out"
    );
    assert!(
        paths
            .get(workway_server::api::oauth::CALLBACK_PATH)
            .is_some(),
        "the callback is documented at the path providers are given"
    );
}

/// Every (path, method) `router` serves, read from its `Debug` rendering
/// (axum has no public way to list routes): its route table maps route
/// ids to method routers (`RouteId(3): MethodRouter(MethodRouter { get:
/// Route, head: None, ... })`) and, in `node`, route ids to paths
/// (`RouteId(3): "/v1/runs"`). A method is served when its endpoint is
/// not `None`.
fn served_routes<S>(router: &axum::Router<S>) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    // The fallback router that follows has route ids of its own.
    let (table, _fallbacks) = text
        .split_once(", fallback_router: ")
        .unwrap_or_else(|| panic!("no fallback router after the route table:\n{text}"));
    let mut paths: BTreeMap<&str, &str> = BTreeMap::new();
    let mut methods: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for chunk in table.split("RouteId(").skip(1) {
        let Some((id, rest)) = chunk.split_once("): ") else {
            continue;
        };
        if let Some(path) = rest.strip_prefix('"') {
            paths.insert(id, path.split('"').next().unwrap_or_default());
        } else if rest.starts_with("MethodRouter(") {
            let set = methods.entry(id).or_default();
            for method in METHODS {
                let field = format!(" {method}: ");
                if rest.contains(&field) && !rest.contains(&format!("{field}None")) {
                    set.insert(method);
                }
            }
        } else {
            panic!("route {id} is not a method router (a bare service?): {rest}");
        }
    }
    assert!(
        !paths.is_empty() && paths.len() == methods.len(),
        "the router's Debug rendering changed shape ({} paths, {} method routers); \
         update served_routes:\n{text}",
        paths.len(),
        methods.len()
    );
    let mut served = BTreeSet::new();
    for (id, path) in &paths {
        let routed = methods
            .get(id)
            .filter(|routed| !routed.is_empty())
            .unwrap_or_else(|| panic!("no methods read for {path} (route {id}):\n{text}"));
        for method in routed {
            served.insert((path.to_string(), method.to_string()));
        }
    }
    served
}

#[test]
fn a_route_added_without_its_description_is_caught() {
    let documented: BTreeSet<(String, String)> = operations(&document())
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let (router, _) = workway_server::documented_routes().split_for_parts();
    let served = served_routes(&router);
    assert_eq!(
        served, documented,
        "documented_routes serves what it documents"
    );
    let router = router.route(
        "/v1/undocumented/{id}",
        axum::routing::post(|| async { "no description" }).delete(|| async { "none" }),
    );
    let served = served_routes(&router);
    let extra: Vec<_> = served.difference(&documented).collect();
    assert_eq!(
        extra,
        [
            &("/v1/undocumented/{id}".to_string(), "delete".to_string()),
            &("/v1/undocumented/{id}".to_string(), "post".to_string()),
        ],
        "the route table read from the router names every route and method"
    );
}

/// A platform over `t`'s store with nothing installed, its registry's
/// artifacts in `artifacts`.
fn platform(t: &TestStore, artifacts: &std::path::Path) -> Arc<Platform> {
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).expect("a runtime"));
    let registry = Arc::new(Registry::new(
        t.store.clone(),
        ArtifactStore::open(artifacts).expect("an artifact store"),
        runtime.clone(),
    ));
    let catalog = Arc::new(Catalog::new(
        registry.clone(),
        runtime.clone(),
        TrustedKeys::default(),
    ));
    let keyring =
        Arc::new(Keyring::parse(&Keyring::generate_entry("k1").expect("random")).expect("a key"));
    Arc::new(
        Platform::new(
            t.store.clone(),
            runtime,
            catalog,
            keyring,
            &HostConfig::default(),
        )
        .expect("the platform assembles")
        .with_registry(registry),
    )
}

/// An answer: status, headers (names lower-cased), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Send `method path` with no credential and an empty body, on a
/// connection of its own.
async fn call(address: SocketAddr, method: &str, path: &str) -> Answer {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an answer head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

#[tokio::test]
async fn the_server_serves_the_documented_routes_and_the_document() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    for t in test_stores().await {
        let artifacts = tempfile::tempdir().expect("a temporary directory");
        let platform = platform(&t, artifacts.path());

        // The real router serves the documented routes, and only those,
        // /metrics and the web UI's pages (HTML, not the API).
        let pages =
            served_routes(&workway_server::web::routes().with_state::<()>(platform.clone()));
        let served: BTreeSet<_> = served_routes(&workway_server::router(platform.clone()))
            .difference(&pages)
            .cloned()
            .collect();
        assert!(
            pages.iter().all(|(path, _)| !path.starts_with("/v1/")),
            "a page under /v1: {pages:?}"
        );
        let undocumented: Vec<_> = served
            .difference(&documented)
            .filter(|(path, method)| !UNDOCUMENTED.contains(&(path.as_str(), method.as_str())))
            .collect();
        assert!(
            undocumented.is_empty(),
            "{}: served but not in the OpenAPI document: {undocumented:?}",
            t.label
        );
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            unserved.is_empty(),
            "{}: documented but not served: {unserved:?}",
            t.label
        );
        for (path, method) in UNDOCUMENTED {
            assert!(served.contains(&(path.to_string(), method.to_string())));
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("bound");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(workway_server::serve(listener, platform, async move {
            let _ = stopped.await;
        }));

        // The document, without a credential, as generated.
        let answer = call(address, "GET", workway_server::openapi::PATH).await;
        assert_eq!(answer.status, 200, "{}: {}", t.label, answer.body);
        assert!(
            answer
                .headers
                .iter()
                .any(|(n, v)| n == "content-type" && v.starts_with("application/json")),
            "{:?}",
            answer.headers
        );
        let served_doc: Value = serde_json::from_str(&answer.body).expect("the document is JSON");
        assert_eq!(served_doc, doc, "{}: the served document", t.label);

        // Every documented operation is answered by its handler (not the
        // router's bare 404 or 405), without a credential, with a status
        // it documents.
        for (path, method, operation) in operations(&doc) {
            let concrete = template_parameters(&path)
                .iter()
                .fold(path.clone(), |p, name| {
                    p.replace(&format!("{{{name}}}"), "x")
                });
            let answer = call(address, &method.to_uppercase(), &concrete).await;
            let at = format!("{}: {} {concrete}", t.label, method.to_uppercase());
            assert!(
                !answer.body.is_empty(),
                "{at} answered {} with no body: no handler?",
                answer.status
            );
            let responses = operation["responses"].as_object().expect("responses");
            let range = format!("{}XX", answer.status / 100);
            assert!(
                responses.contains_key(&answer.status.to_string())
                    || responses.contains_key(&range),
                "{at} answered {} ({}), which it does not document: {:?}",
                answer.status,
                answer.body,
                responses.keys().collect::<Vec<_>>()
            );
            if path.starts_with("/v1/") && path != "/v1/openapi.json" && answer.status >= 400 {
                let body: Value = serde_json::from_str(&answer.body).expect("an error is JSON");
                // Deliveries (tagged `hooks`) answer senders, not API
                // clients: their refusals are `{"error": "..."}`.
                let delivery = operation["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|tag| tag == "hooks"));
                let shape = if delivery {
                    body["error"].is_string()
                } else {
                    body["error"]["code"].is_string() && body["error"]["message"].is_string()
                };
                assert!(shape, "{at}: the documented error shape: {body}");
            }
        }

        let _ = stop.send(());
        server
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        t.cleanup().await;
    }
}
