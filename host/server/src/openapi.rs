//! The API's OpenAPI 3.1 document, generated from the code and served at
//! `GET /v1/openapi.json` (no credential needed).
//!
//! Every route is registered with utoipa-axum's `routes!`, which adds a
//! handler to the router and its `#[utoipa::path]` description to the
//! document in one step, so a route cannot be served undocumented (the
//! one exception is `GET /metrics`, Prometheus text rather than JSON,
//! which [`crate::router`] adds by hand). The request and response
//! schemas are derived (`ToSchema`) from the types the handlers read and
//! write. [`base`] holds what no handler says: the title, the security
//! schemes, the tags, the shared error responses and the schema of a
//! workflow definition; [`finish`] gives every operation the error
//! answers it shares with the others (401, 403, 429 and 5XX for a route
//! that needs a credential; 400, 413 and 415 for one that takes JSON).

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::info::{InfoBuilder, LicenseBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, ComponentsBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{OpenApi, OpenApiBuilder, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use workway_engine::accounts::sessions::{COOKIE, CSRF_HEADER};
use workway_engine::accounts::{Role, Scope};

use crate::api::error::{ApiError, ErrorBody};

/// Where the document is served.
pub const PATH: &str = "/v1/openapi.json";

/// The security scheme of an API token (`Authorization: Bearer wwk_...`).
pub const API_TOKEN: &str = "api_token";

/// The security scheme of a browser session (the `workway_session` cookie).
pub const SESSION: &str = "session";

/// The security scheme of a session's CSRF token (the `x-csrf-token`
/// header), required with [`SESSION`] on every state-changing request.
pub const CSRF: &str = "csrf";

/// The operation tags, in the order the document lists them, each with
/// what it groups.
const TAGS: &[(&str, &str)] = &[
    (
        "account",
        "Sign-up, sign-in, sign-out, the account, its password and its API tokens.",
    ),
    (
        "admin",
        "Operating the platform: accounts, their roles, disabling and enabling them (the `admin` scope).",
    ),
    (
        "workflows",
        "Workflow definitions, their versions and webhook signing secrets.",
    ),
    (
        "runs",
        "Starting runs, listing them a page at a time, reading their step attempts.",
    ),
    (
        "installations",
        "Which approved version of each integration the account's workflows may call.",
    ),
    (
        "connections",
        "Accounts at providers whose grants the vault holds sealed, and connecting them (OAuth with PKCE).",
    ),
    (
        "submissions",
        "Publishing integrations (the `publish` scope) and reading submissions.",
    ),
    (
        "reviews",
        "The review queue; approving, rejecting and revoking (the `review` scope).",
    ),
    (
        "integrations",
        "The marketplace: integrations with an approved, not revoked version.",
    ),
    (
        "listings",
        "An integration's marketplace listing: summary, Markdown description, categories, price, \
         icon, actions with their schemas, and the hosts and OAuth scopes it may use.",
    ),
    (
        "ratings",
        "Ratings and reviews of integrations by the users who ran them, the publisher's replies, \
         admins hiding abusive ones.",
    ),
    (
        "publishers",
        "Developer profiles, their verification by an admin, and the co-maintainers an \
         integration's owner lets publish it.",
    ),
    (
        "billing",
        "Usage and its charges (20 free executions a month, then light and heavy prices), \
         monthly statements, developers' earnings, and the ledger for admins. Amounts are \
         integers: `_mills` in thousandths of a dollar, `_cents` in cents.",
    ),
    (
        "hooks",
        "Webhook deliveries: a signed POST to a workflow's secret URL starts a run; the \
         payment provider's signed notifications settle purchases, credit and invoices.",
    ),
    (
        "operations",
        "Health probes and this document. `GET /metrics` (Prometheus text format, \
         unauthenticated, for the operator's scraper) is served too but not described here: \
         it is not JSON.",
    ),
];

/// What the document says about the API as a whole.
const DESCRIPTION: &str = "The Workway platform API: one JSON API for the CLI, the web UI and \
third parties. Every route under `/v1` but sign-up, sign-in, webhook delivery and this document \
needs a credential: an API token (`Authorization: Bearer wwk_...`, made with `POST /v1/tokens`) \
or a browser session (the `workway_session` cookie set by `POST /v1/auth/signin`), which must \
also send its CSRF token in the `x-csrf-token` header on every request that changes something. \
A security requirement's list names the scope the credential must carry (`read`, `run`, \
`publish`, `review`, `admin`). Every resource belongs to an account: another account's resource \
answers 404, exactly as a missing one. Every error of the `/v1` API has one shape, the `ApiError` \
schema, with the HTTP status that fits (webhook delivery answers `{\"error\": \"...\"}`). \
Requests are rate-limited per credential and per client address (429 with `Retry-After`). \
`GET /metrics` (Prometheus text format) is served but not described here. See docs/API.md.";

/// The document before any route is added: info, tags, security schemes,
/// the shared error responses and the schemas no handler derives.
pub fn base() -> OpenApi {
    let tags = TAGS
        .iter()
        .map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })
        .collect::<Vec<_>>();
    let info = InfoBuilder::new()
        .title("Workway platform API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    let mut components = ComponentsBuilder::new()
        .security_scheme(API_TOKEN, api_token_scheme())
        .security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE,
                SESSION_DESCRIPTION,
            ))),
        )
        .security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CSRF_HEADER,
                CSRF_DESCRIPTION,
            ))),
        )
        .schemas_from_iter(error_schemas())
        .schema(WORKFLOW_DEFINITION, workflow_definition())
        .build();
    for (name, description) in SHARED_RESPONSES {
        components
            .responses
            .insert(name.to_string(), error_response(description).into());
    }
    components
        .responses
        .insert(RATE_LIMITED.to_string(), rate_limited().into());
    OpenApiBuilder::new()
        .info(info)
        .tags(Some(tags))
        .components(Some(components))
        .build()
}

/// What the session scheme says.
const SESSION_DESCRIPTION: &str = "A browser session: the cookie `POST /v1/auth/signin` sets \
(`HttpOnly; Secure; SameSite=Lax`). It carries every scope the account's roles allow.";

/// What the CSRF scheme says.
const CSRF_DESCRIPTION: &str = "The session's CSRF token (`csrf_token` in the sign-in answer): \
required with the session cookie on every request that is not GET, HEAD or OPTIONS; a request \
without it is refused with 403.";

/// The shared response of a refused credential.
const UNAUTHENTICATED: &str = "Unauthenticated";
/// The shared response of a credential that may not do this.
const FORBIDDEN: &str = "Forbidden";
/// The shared response of a rate limit.
const RATE_LIMITED: &str = "RateLimited";
/// The shared response of a failure of the platform.
const UNAVAILABLE: &str = "Unavailable";
/// The shared response of a body that is not the route's JSON.
const INVALID_BODY: &str = "InvalidBody";
/// The shared response of a body over the route's limit.
const TOO_LARGE: &str = "TooLarge";
/// The shared response of a body of another content type.
const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";

/// The shared error responses but [`RATE_LIMITED`] (which has a header
/// too), each with what it means; every one has the `ApiError` body.
const SHARED_RESPONSES: &[(&str, &str)] = &[
    (
        UNAUTHENTICATED,
        "No credential, or one that is unknown, expired or revoked (`unauthenticated`).",
    ),
    (
        FORBIDDEN,
        "The credential lacks the scope or the account the role (`forbidden`); a session's \
         state-changing request without its CSRF token (`forbidden`, `details.reason` = \
         `csrf`); a disabled account.",
    ),
    (
        UNAVAILABLE,
        "The platform failed (`internal`), or its store does not answer (503); the cause is \
         logged for the operator, never sent. Retry later.",
    ),
    (
        INVALID_BODY,
        "The body is not JSON of this route's shape (`invalid_body`: the message quotes the \
         parser), or one input is wrong (`invalid_input`: `details.field` names it).",
    ),
    (
        TOO_LARGE,
        "The body is larger than this route takes (`invalid_body`).",
    ),
    (
        UNSUPPORTED_MEDIA_TYPE,
        "The body is not sent as `application/json` (`invalid_body`).",
    ),
];

/// The `ApiError` schema and the schemas it refers to.
fn error_schemas() -> Vec<(String, RefOr<Schema>)> {
    let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    schemas
}

/// The name of the workflow definition's schema.
const WORKFLOW_DEFINITION: &str = "WorkflowDefinition";

/// A reference to the workflow definition's schema, for the fields that
/// hold one (`#[schema(schema_with = ...)]`).
pub fn workflow_definition_ref() -> Ref {
    Ref::from_schema_name(WORKFLOW_DEFINITION)
}

/// A workflow definition's schema (`WorkflowDefinition`), for the
/// request bodies that take one: the definition's own type lives in
/// `workway-workflow`, which does not depend on utoipa.
#[derive(Debug, Clone, Copy)]
pub struct WorkflowDefinitionBody;

impl PartialSchema for WorkflowDefinitionBody {
    fn schema() -> RefOr<Schema> {
        workflow_definition().into()
    }
}

impl ToSchema for WorkflowDefinitionBody {
    fn name() -> std::borrow::Cow<'static, str> {
        WORKFLOW_DEFINITION.into()
    }
}

/// The bearer API token scheme.
fn api_token_scheme() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("wwk_...")
            .description(Some(
                "An API token (`Authorization: Bearer wwk_...`), made by a signed-in account \
                 with `POST /v1/tokens` and shown only then. It carries the scopes it was made \
                 with, never more than its account's roles allow.",
            ))
            .build(),
    )
}

/// An error response with `description` and the `ApiError` body.
fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
}

/// The 429 response, with its `Retry-After` header.
fn rate_limited() -> utoipa::openapi::Response {
    let mut response = error_response(
        "A rate limit (`rate_limited`): by default 100 requests per 15-minute window per \
         credential or client address, and 5 failed sign-ins per window per account and per \
         address. `details.retry_after_secs` and the `Retry-After` header say when to retry.",
    );
    response.headers.insert(
        "Retry-After".to_string(),
        HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(0)),
            ))
            .description(Some("Seconds until the window ends."))
            .build()
            .into(),
    );
    response
}

/// A workflow definition, as far as the API checks its shape; the
/// platform validates the rest against the account's installations when
/// it is saved (422 `invalid_workflow`).
fn workflow_definition() -> Schema {
    let string = |description: &str| {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some(description))
    };
    let step = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .description(Some(
            "One step: an action of an installed integration and the input built for it.",
        ))
        .property(
            "id",
            string(
                "The step's id, `[a-z][a-z0-9_-]*`, unique in the workflow; later steps read \
                 its output as `/steps/<id>/output`.",
            ),
        )
        .required("id")
        .property(
            "action",
            string("The action, `<integration>.<action>` (`gmail.fetch-email`)."),
        )
        .required("action")
        .property(
            "input",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some("The input template; an empty object when left out.")),
        )
        .property(
            "when",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some("Run the step only if this condition holds.")),
        )
        .property(
            "retry",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some("How failures of this step are retried.")),
        );
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .description(Some(
            "A workflow definition: its name, what starts it and its steps (the same document \
             `workway workflow` reads as YAML).",
        ))
        .property(
            "name",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .pattern(Some("^[a-z0-9][a-z0-9-]*$"))
                .max_length(Some(64))
                .description(Some("The workflow's name, unique in the account.")),
        )
        .required("name")
        .property("description", string("What the workflow does, for people."))
        .property(
            "trigger",
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .description(Some(
                    "What starts a run: `{kind: manual}`, `{kind: webhook, ...}`, \
                     `{kind: schedule, cron: ...}` or `{kind: event, ...}`.",
                ))
                .property(
                    "kind",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .enum_values(Some(["manual", "webhook", "schedule", "event"])),
                )
                .required("kind")
                .property(
                    "format",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .enum_values(Some(
                            workway_workflow::webhook::WebhookFormat::ALL.map(|f| f.as_str()),
                        ))
                        .description(Some(
                            "A webhook trigger's sender format: how deliveries are signed \
                             (`workway` when left out).",
                        )),
                ),
        )
        .required("trigger")
        .property(
            "steps",
            ArrayBuilder::new()
                .items(step)
                .description(Some("The steps, run in this order.")),
        )
        .required("steps")
        .into()
}

/// The schema of a list of roles (`AccountView.roles`).
pub fn roles_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .description(Some(
            "Roles: every account is a `user`; `developer` publishes, `reviewer` reviews, \
             `admin` operates.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .enum_values(Some(Role::ALL.map(Role::as_str))),
        )
}

/// The schema of a list of scopes (a credential's, a token's).
pub fn scopes_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .description(Some(
            "Scopes: what a credential may do. `read` and `run` need the `user` role, \
             `publish` the `developer` role, `review` the `reviewer` role, `admin` the \
             `admin` role.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .enum_values(Some(Scope::ALL.map(Scope::as_str))),
        )
}

/// Finish `document`: give every operation an id unique in the document,
/// `<tag>_<handler>` (`runs_list`; utoipa names an operation after its
/// handler alone, and several modules have a `list`), and the error
/// answers it shares with the others, unless it describes that status
/// itself: 401, 403, 429 and 5XX when it needs a credential; 400, 413
/// and 415 when it takes JSON.
pub fn finish(mut document: OpenApi) -> OpenApi {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            qualify_operation_id(operation);
            add_shared_responses(operation);
        }
    }
    document
}

/// Prefix `operation`'s id with its first tag.
fn qualify_operation_id(operation: &mut Operation) {
    let tag = operation.tags.as_ref().and_then(|tags| tags.first());
    if let (Some(tag), Some(id)) = (tag, &operation.operation_id) {
        operation.operation_id = Some(format!("{tag}_{id}"));
    }
}

/// The tag of webhook delivery, whose refusals are not `ApiError`s (a
/// sender is not an API client): it describes every answer itself.
const HOOKS_TAG: &str = "hooks";

/// Add the shared error answers `operation` lacks (see [`finish`]).
fn add_shared_responses(operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let hook = operation
        .tags
        .as_ref()
        .is_some_and(|tags| tags.iter().any(|tag| tag == HOOKS_TAG));
    let takes_json = !hook
        && operation
            .request_body
            .as_ref()
            .is_some_and(|body| match body {
                RefOr::T(body) => body.content.contains_key("application/json"),
                RefOr::Ref(_) => false,
            });
    let mut shared = Vec::new();
    if secured {
        shared.extend([
            ("401", UNAUTHENTICATED),
            ("403", FORBIDDEN),
            ("429", RATE_LIMITED),
            ("5XX", UNAVAILABLE),
        ]);
    }
    if takes_json {
        shared.extend([
            ("400", INVALID_BODY),
            ("413", TOO_LARGE),
            ("415", UNSUPPORTED_MEDIA_TYPE),
        ]);
    }
    for (status, name) in shared {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| Ref::from_response_name(name).into());
    }
}

/// The document, as served: generated once, on first use.
static DOCUMENT: LazyLock<Result<String, String>> = LazyLock::new(|| {
    crate::openapi_document()
        .to_pretty_json()
        .map_err(|e| e.to_string())
});

/// This document: the API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json", body = Object),
        (status = 500, description = "The document could not be rendered (logged for the operator).", body = ErrorBody),
    ),
)]
pub async fn document() -> Response {
    match &*DOCUMENT {
        Ok(json) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json.as_str(),
        )
            .into_response(),
        Err(e) => ApiError::internal(&format!("the OpenAPI document cannot be rendered: {e}"))
            .into_response(),
    }
}
