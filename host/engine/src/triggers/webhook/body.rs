//! A delivery's body as trigger data. A JSON body is read as JSON (an
//! empty one as `null`). GitHub (when its webhook's content type is
//! `application/x-www-form-urlencoded`) and Slack (slash commands and
//! interactions) also send forms: with that content type, the body
//! becomes an object of its fields, each a string (a repeated field keeps
//! its last value), except a `payload` field holding JSON, which is read
//! as that JSON (GitHub's form deliveries and Slack's interactions put
//! the event there). So `/trigger/body/payload/...` reads an interaction
//! and `/trigger/body/command` a slash command. Other formats take JSON
//! only.

use serde_json::{Map, Value};
use workway_workflow::webhook::WebhookFormat;

/// The form content type.
const FORM: &str = "application/x-www-form-urlencoded";

/// Why a body cannot be trigger data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON (and not a form the format may send).
    #[error("the body is not JSON: {0}")]
    NotJson(String),
}

/// The trigger data of `body`, sent with `content_type` to a `format`
/// webhook.
pub fn decode(
    format: WebhookFormat,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let takes_forms = matches!(format, WebhookFormat::Github | WebhookFormat::Slack);
    if takes_forms && content_type.is_some_and(is_form) {
        return Ok(form(body));
    }
    serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))
}

/// Whether a `Content-Type` value is the form type (any parameters).
fn is_form(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(FORM))
}

fn form(body: &[u8]) -> Value {
    let mut fields = Map::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let value = if name == "payload" {
            serde_json::from_str(&value).unwrap_or_else(|_| Value::String(value.into_owned()))
        } else {
            Value::String(value.into_owned())
        };
        fields.insert(name.into_owned(), value);
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_json_and_empty_is_null() {
        for format in WebhookFormat::ALL {
            assert_eq!(
                decode(format, Some("application/json"), br#"{"a":1}"#),
                Ok(json!({"a": 1}))
            );
            assert_eq!(decode(format, None, b" \n"), Ok(Value::Null));
        }
        assert!(decode(WebhookFormat::Stripe, Some(FORM), b"a=1").is_err());
    }

    #[test]
    fn slack_and_github_forms_are_fields_with_the_payload_read() {
        let command = b"command=%2Fweather&text=paris+tomorrow&text=lyon";
        assert_eq!(
            decode(
                WebhookFormat::Slack,
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                command
            ),
            Ok(json!({"command": "/weather", "text": "lyon"}))
        );
        let interaction = b"payload=%7B%22type%22%3A%22block_actions%22%7D";
        assert_eq!(
            decode(WebhookFormat::Slack, Some(FORM), interaction),
            Ok(json!({"payload": {"type": "block_actions"}}))
        );
        assert_eq!(
            decode(WebhookFormat::Github, Some(FORM), b"payload=not+json"),
            Ok(json!({"payload": "not json"}))
        );
        // A form sent without its content type is read as JSON, and refused.
        assert!(decode(WebhookFormat::Slack, None, command).is_err());
    }
}
