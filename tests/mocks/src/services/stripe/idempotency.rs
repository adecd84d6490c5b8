//! Every POST goes through [`post`]: the form content type, `Idempotency-Key`
//! (the same key with the same parameters replays the first answer with
//! `Idempotent-Replayed: true`; with other parameters, or on another
//! endpoint, it is a 400 `idempotency_error`), the endpoint's parameters,
//! then `expand[]` on the answer.
//!
//! As at Stripe, only an answer from an endpoint that ran is saved: a
//! request refused by validation can be retried with the same key.

use serde_json::Value;

use super::wire::{self, Form, Schema};
use super::{Call, State, expand};
use crate::response::MockResponse;

/// A response saved under an idempotency key.
#[derive(Debug, Clone)]
pub(super) struct Saved {
    endpoint: String,
    params: Vec<(String, String)>,
    request_id: String,
    response: MockResponse,
}

/// Answer the POST `call` with the object `build` makes from its form
/// (checked against `schema`), or with the saved answer to its
/// idempotency key.
pub(super) fn post(
    state: &mut State,
    call: &Call<'_>,
    schema: &Schema,
    build: impl FnOnce(&mut State, &Form, &Call<'_>) -> Result<Value, MockResponse>,
) -> MockResponse {
    if let Some(rejection) = wire::require_form(call.req) {
        return rejection;
    }
    let params = call.req.form();
    let endpoint = format!("{} {}", call.req.method, call.req.path);
    let mut sorted = params.clone();
    sorted.sort();
    let slot = call
        .idempotency_key()
        .map(|k| (call.key.to_string(), k.to_string()));
    if let Some((_, k)) = &slot
        && let Some(saved) = slot.as_ref().and_then(|s| state.idempotency.get(s))
    {
        if saved.endpoint != endpoint || saved.params != sorted {
            return wire::error_response(
                400,
                "idempotency_error",
                None,
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{k}' if you meant to execute a different request."
                ),
                None,
            );
        }
        return saved
            .response
            .clone()
            .header("idempotent-replayed", "true")
            .header("original-request", saved.request_id.clone());
    }
    let form = match Form::parse(params, schema) {
        Ok(form) => form,
        Err(rejection) => return rejection,
    };
    let expansions = form.list("expand");
    // A path that cannot be expanded is only found on the answer; the
    // request then has no effect.
    let before = (!expansions.is_empty()).then(|| state.clone());
    let mut object = match build(state, &form, call) {
        Ok(object) => object,
        Err(rejection) => return rejection,
    };
    if let Err(rejection) = expand::apply(state, &mut object, &expansions) {
        if let Some(before) = before {
            *state = before;
        }
        return rejection;
    }
    let mut response = MockResponse::json(200, &object);
    if let Some(slot) = slot {
        response = response.header("idempotency-key", slot.1.clone());
        state.idempotency.insert(
            slot,
            Saved {
                endpoint,
                params: sorted,
                request_id: call.request_id.to_string(),
                response: response.clone(),
            },
        );
    }
    response
}
