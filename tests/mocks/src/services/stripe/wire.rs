//! Stripe's wire format: error bodies, ids, the form parameters of a
//! request in bracket syntax (`line_items[0][price_data][currency]`) and
//! the checks Stripe makes on their values.

use serde_json::{Map, Value, json};

use crate::request::RecordedRequest;
use crate::response::MockResponse;

// ---------------------------------------------------------------------------
// Errors

pub(super) fn error_body(
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Value {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    json!({ "error": error })
}

pub(super) fn error_response(
    status: u16,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> MockResponse {
    MockResponse::json(status, error_body(kind, code, message, param))
}

/// A 400 `invalid_request_error` with `code` and `param`.
pub(super) fn invalid(code: Option<&str>, message: &str, param: &str) -> MockResponse {
    error_response(400, "invalid_request_error", code, message, Some(param))
}

/// Stripe's 401: its `type` is `invalid_request_error`.
pub(super) fn unauthorized(message: &str) -> MockResponse {
    error_response(401, "invalid_request_error", None, message, None)
        .header("www-authenticate", "Basic realm=\"Stripe\"")
}

/// `No such <what>: '<id>'` (`resource_missing`).
pub(super) fn no_such(what: &str, id: &str, param: &str, status: u16) -> MockResponse {
    error_response(
        status,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {what}: '{id}'"),
        Some(param),
    )
}

pub(super) fn invalid_integer(param: &str, value: &str) -> MockResponse {
    invalid(
        Some("parameter_invalid_integer"),
        &format!("Invalid integer: {value}"),
        param,
    )
}

/// `Missing required param: <name>.` (`parameter_missing`).
pub(super) fn missing(param: &str) -> MockResponse {
    invalid(
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        param,
    )
}

/// `This value must be greater than or equal to <min>.`
pub(super) fn below(param: &str, min: i64) -> MockResponse {
    invalid(
        None,
        &format!("This value must be greater than or equal to {min}."),
        param,
    )
}

/// `You may only specify one of these parameters: a, b.`
pub(super) fn exclusive(names: &[&str]) -> MockResponse {
    error_response(
        400,
        "invalid_request_error",
        None,
        &format!(
            "You may only specify one of these parameters: {}.",
            names.join(", ")
        ),
        None,
    )
}

/// Stripe's 400 for a POST whose body is not a form.
pub(super) fn require_form(req: &RecordedRequest) -> Option<MockResponse> {
    let form_encoded = req.header("content-type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    (!form_encoded && !req.body.is_empty()).then(|| {
        error_response(
            400,
            "invalid_request_error",
            None,
            "Invalid request (check that your POST content type is application/x-www-form-urlencoded). If you have any questions, we can help at https://support.stripe.com/.",
            None,
        )
    })
}

// ---------------------------------------------------------------------------
// Parameters

/// What a parameter name may continue with after its first segment.
#[derive(Debug)]
pub(super) enum Shape {
    /// A plain value: `name=v`.
    Value,
    /// Any one key: `name[key]=v` (metadata).
    Map,
    /// A list of values: `name[]=v` or `name[0]=v` (`expand[]`).
    List,
    /// A hash of known fields: `name[field]...`.
    Hash(&'static Schema),
    /// An indexed list of hashes: `name[0][field]...`.
    Array(&'static Schema),
}

/// The parameters an endpoint takes.
pub(super) type Schema = [(&'static str, Shape)];

/// The parameters of a retrieve endpoint: only `expand[]`.
pub(super) const EXPAND_ONLY: &Schema = &[("expand", Shape::List)];

/// `line_items[0][price_data]` → `["line_items", "0", "price_data"]`, or
/// `None` for a malformed name.
fn segments(name: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut segments = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let segment = &inner[..end];
        if segment.contains('[') {
            return None;
        }
        segments.push(segment);
        rest = &inner[end + 1..];
    }
    Some(segments)
}

fn index(segment: &str) -> Option<usize> {
    (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
        .then(|| segment.parse().ok())
        .flatten()
}

fn known(schema: &Schema, segments: &[&str]) -> bool {
    let Some((name, rest)) = segments.split_first() else {
        return false;
    };
    let Some((_, shape)) = schema.iter().find(|(n, _)| n == name) else {
        return false;
    };
    match (shape, rest) {
        (Shape::Value, []) => true,
        (Shape::Map, [key]) => !key.is_empty(),
        (Shape::List, [i]) => i.is_empty() || index(i).is_some(),
        (Shape::Hash(inner), rest) => !rest.is_empty() && known(inner, rest),
        (Shape::Array(inner), [i, rest @ ..]) => {
            index(i).is_some() && !rest.is_empty() && known(inner, rest)
        }
        _ => false,
    }
}

/// Stripe's 400 for the first parameter `known` does not accept.
pub(super) fn unknown_param(
    params: &[(String, String)],
    known: impl Fn(&str) -> bool,
) -> Option<MockResponse> {
    let (name, _) = params.iter().find(|(k, _)| !known(k))?;
    Some(invalid(
        Some("parameter_unknown"),
        &format!("Received unknown parameter: {name}"),
        name,
    ))
}

/// The form (or query) parameters of a request, checked against the
/// endpoint's [`Schema`], with Stripe's value checks.
#[derive(Debug, Clone)]
pub(super) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// `pairs`, or Stripe's `parameter_unknown` for the first one `schema`
    /// does not take.
    pub(super) fn parse(
        pairs: Vec<(String, String)>,
        schema: &Schema,
    ) -> Result<Form, MockResponse> {
        let accepted = |name: &str| segments(name).is_some_and(|s| known(schema, &s));
        match unknown_param(&pairs, accepted) {
            Some(rejection) => Err(rejection),
            None => Ok(Form { pairs }),
        }
    }

    /// The last value given for `name` (Stripe takes the last).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name`'s value if given and not empty (an empty value unsets).
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// `name`'s value, or `Missing required param`.
    pub(super) fn required(&self, name: &str) -> Result<&str, MockResponse> {
        self.text(name).ok_or_else(|| missing(name))
    }

    /// `name` as an integer.
    pub(super) fn integer(&self, name: &str) -> Result<Option<i64>, MockResponse> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| invalid_integer(name, v)),
        }
    }

    /// `name` as an integer of at least `min`.
    pub(super) fn integer_at_least(
        &self,
        name: &str,
        min: i64,
    ) -> Result<Option<i64>, MockResponse> {
        match self.integer(name)? {
            Some(n) if n < min => Err(below(name, min)),
            n => Ok(n),
        }
    }

    /// `name` as a boolean (`true` or `false`).
    pub(super) fn boolean(&self, name: &str) -> Result<Option<bool>, MockResponse> {
        match self.text(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(invalid(
                Some("parameter_invalid_boolean"),
                &format!("Invalid boolean: {v}"),
                name,
            )),
        }
    }

    /// `name`, which must be one of `allowed`.
    pub(super) fn choice(
        &self,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<&str>, MockResponse> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(_) => Err(invalid(
                None,
                &format!("Invalid {name}: must be one of {}", one_of(allowed)),
                name,
            )),
        }
    }

    /// `name` as a currency: three lowercase ASCII letters.
    pub(super) fn currency(&self, name: &str) -> Result<Option<String>, MockResponse> {
        match self.text(name) {
            None => Ok(None),
            Some(v) if v.len() == 3 && v.bytes().all(|b| b.is_ascii_lowercase()) => {
                Ok(Some(v.to_string()))
            }
            Some(v) => Err(invalid(
                None,
                &format!(
                    "Invalid currency: {v}. Stripe currently supports these currencies: usd, aed, afn, all, amd, ang, aud, eur, gbp, jpy, ... (lowercase ISO codes)."
                ),
                name,
            )),
        }
    }

    /// `name` as an absolute `http(s)` URL.
    pub(super) fn url(&self, name: &str) -> Result<Option<&str>, MockResponse> {
        match self.text(name) {
            None => Ok(None),
            Some(v)
                if url::Url::parse(v).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                }) =>
            {
                Ok(Some(v))
            }
            Some(_) => Err(invalid(None, "Not a valid URL", name)),
        }
    }

    /// `name` as an email address.
    pub(super) fn email(&self, name: &str) -> Result<Option<&str>, MockResponse> {
        match self.text(name) {
            Some(email)
                if email.contains(char::is_whitespace)
                    || !email.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && domain.contains('.')
                    }) =>
            {
                Err(invalid(
                    Some("email_invalid"),
                    &format!("Invalid email address: {email}"),
                    name,
                ))
            }
            email => Ok(email),
        }
    }

    /// The values of list `name` (`name[]=a&name[]=b`, `name[0]=a`), in order.
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        let mut indexed = Vec::new();
        for (position, (k, v)) in self.pairs.iter().enumerate() {
            if let Some(inner) = bracketed(k, name) {
                let order = if inner.is_empty() {
                    (usize::MAX, position)
                } else {
                    (index(inner).unwrap_or(usize::MAX), position)
                };
                indexed.push((order, v.clone()));
            }
        }
        indexed.sort_by_key(|(order, _)| *order);
        indexed.into_iter().map(|(_, v)| v).collect()
    }

    /// The indices given for array `name` (`name[3][..]`), ascending.
    pub(super) fn indices(&self, name: &str) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .pairs
            .iter()
            .filter_map(|(k, _)| {
                let s = segments(k)?;
                (s.first() == Some(&name)).then(|| s.get(1).and_then(|i| index(i)))?
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Whether any parameter starts with `prefix` (`prefix` or `prefix[..]`).
    pub(super) fn has(&self, prefix: &str) -> bool {
        self.pairs
            .iter()
            .any(|(k, _)| k == prefix || k.starts_with(&format!("{prefix}[")))
    }

    /// The metadata under `prefix` (`metadata` or
    /// `payment_intent_data[metadata]`) with Stripe's limits: 50 keys, keys
    /// up to 40 characters, values up to 500; an empty value unsets.
    pub(super) fn metadata(&self, prefix: &str) -> Result<Map<String, Value>, MockResponse> {
        let mut metadata = Map::new();
        for (k, v) in &self.pairs {
            let Some(meta_key) = bracketed(k, prefix) else {
                continue;
            };
            let length = meta_key.chars().count();
            if length > 40 {
                return Err(invalid(
                    None,
                    &format!(
                        "Metadata keys can have up to 40 characters, but you passed in a key that is {length} characters. Invalid key: '{meta_key}'"
                    ),
                    prefix,
                ));
            }
            let length = v.chars().count();
            if length > 500 {
                return Err(invalid(
                    None,
                    &format!(
                        "Metadata values can have up to 500 characters, but you passed in a value that is {length} characters. Invalid value: '{v}'"
                    ),
                    &format!("{prefix}[{meta_key}]"),
                ));
            }
            if v.is_empty() {
                metadata.remove(meta_key);
            } else {
                metadata.insert(meta_key.to_string(), json!(v));
            }
        }
        if metadata.len() > 50 {
            return Err(invalid(
                None,
                &format!(
                    "You can have at most 50 metadata keys, but you passed in {} keys.",
                    metadata.len()
                ),
                prefix,
            ));
        }
        Ok(metadata)
    }
}

/// `a, b, or c`.
fn one_of(allowed: &[&str]) -> String {
    match allowed {
        [] => String::new(),
        [one] => (*one).to_string(),
        [first @ .., last] => format!("{}, or {last}", first.join(", ")),
    }
}

/// `inner` of `outer[inner]` (`outer` may itself be bracketed).
pub(super) fn bracketed<'a>(name: &'a str, outer: &str) -> Option<&'a str> {
    name.strip_prefix(outer)?
        .strip_prefix('[')?
        .strip_suffix(']')
        .filter(|inner| !inner.contains(['[', ']']))
}

// ---------------------------------------------------------------------------
// Headers, ids and amounts

/// `2024-06-20`, optionally with a preview suffix (`2024-06-20.acacia`).
pub(super) fn valid_version(version: &str) -> bool {
    let date = version.split_once('.').map_or(version, |(d, _)| d);
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Stripe's way of echoing a key: the prefix, stars, the last four.
pub(super) fn mask_key(key: &str) -> String {
    let prefix_end = key.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{}{}{tail}", &key[..prefix_end], "*".repeat(20))
}

/// Replace `target`'s fields with those of `fields` (a JSON object).
pub(super) fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        for (k, v) in fields {
            target.insert(k, v);
        }
    }
}

/// A deterministic id shaped like Stripe's: `<prefix>_` and `len` base-62 characters.
pub(super) fn stripe_id(prefix: &str, seq: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let salt = prefix
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut x = seq ^ salt.rotate_left(32);
    let mut id = format!("{prefix}_");
    for i in 0..len {
        if i % 10 == 0 {
            x = splitmix(x ^ i as u64);
        }
        id.push(ALPHABET[(x % 62) as usize] as char);
        x /= 62;
    }
    id
}

pub(super) fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `$39.00` for USD, `39.00 EUR` otherwise (as Stripe's messages show amounts).
pub(super) fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, part) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    if currency == "usd" {
        format!("{sign}${whole}.{part:02}")
    } else {
        format!("{sign}{whole}.{part:02} {}", currency.to_ascii_uppercase())
    }
}

/// `part * whole_share / whole`, rounded half up (non-negative operands).
pub(super) fn share(part: i64, of: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    let (part, of, whole) = (i128::from(part), i128::from(of), i128::from(whole));
    i64::try_from((2 * part * of + whole) / (2 * whole)).unwrap_or(i64::MAX)
}

/// Stripe's standard US card fee: 2.9% of `amount` rounded half up, plus 30 cents.
pub(super) fn card_fee(amount: i64) -> i64 {
    share(amount, 29, 1000) + 30
}

/// A list object of `data` at `url`.
pub(super) fn list_object(data: Vec<Value>, url: &str) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}

/// An empty address.
pub(super) fn no_address() -> Value {
    json!({"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null})
}

/// The seconds since the epoch on this machine's clock.
pub(super) fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &Schema = &[
        ("mode", Shape::Value),
        ("metadata", Shape::Map),
        ("expand", Shape::List),
        ("line_items", Shape::Array(&[("quantity", Shape::Value)])),
        (
            "payment_intent_data",
            Shape::Hash(&[(
                "transfer_data",
                Shape::Hash(&[("destination", Shape::Value)]),
            )]),
        ),
    ];

    fn check(name: &str) -> bool {
        segments(name).is_some_and(|s| known(SCHEMA, &s))
    }

    #[test]
    fn bracket_names_follow_the_schema() {
        for ok in [
            "mode",
            "metadata[k]",
            "expand[]",
            "expand[3]",
            "line_items[0][quantity]",
            "payment_intent_data[transfer_data][destination]",
        ] {
            assert!(check(ok), "{ok}");
        }
        for bad in [
            "colour",
            "mode[x]",
            "metadata",
            "metadata[]",
            "metadata[a][b]",
            "line_items[x][quantity]",
            "line_items[0]",
            "line_items[0][colour]",
            "payment_intent_data",
            "payment_intent_data[transfer_data]",
            "payment_intent_data[transfer_data][amount]",
            "[x]",
            "mode]",
            "expand[a",
        ] {
            assert!(!check(bad), "{bad}");
        }
    }

    #[test]
    fn amounts_round_like_stripe() {
        assert_eq!(card_fee(3900), 143);
        assert_eq!(card_fee(1000), 59);
        // 2.9% of 50 is 1.45 (down), of 500 is 14.5 (half up).
        assert_eq!(card_fee(50), 31);
        assert_eq!(card_fee(500), 45);
        assert_eq!(share(1950, 3900, 3900), 1950);
        assert_eq!(share(1, 3, 2), 2);
        assert_eq!(money(3900, "usd"), "$39.00");
        assert_eq!(money(5, "eur"), "0.05 EUR");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b, or c");
    }
}
