//! A well-behaved integration exercising the whole contract: typed input and
//! output, configuration, logs, connections and brokered HTTP.

use workway_sdk::prelude::*;

/// A greeting request.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GreetInput {
    /// Who to greet.
    pub name: String,
    /// How many times, 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub times: u8,
}

/// The greeting.
#[derive(Serialize, JsonSchema)]
pub struct GreetOutput {
    /// The greeting text.
    pub greeting: String,
    /// The `greeting-word` configuration setting in use.
    pub word: String,
}

/// Greet someone, a number of times.
#[action]
fn greet(ctx: &Context, input: GreetInput) -> Result<GreetOutput> {
    let word = ctx
        .config("greeting-word")
        .unwrap_or_else(|| "Hello".into());
    log::info(format!("greeting {}", input.name));
    let one = format!("{word}, {}!", input.name);
    ctx.set_metadata("execution", ctx.execution_id());
    Ok(GreetOutput {
        greeting: vec![one; usize::from(input.times)].join(" "),
        word,
    })
}

/// Work to do.
#[derive(Deserialize, JsonSchema)]
pub struct WorkInput {
    /// Rounds of hashing.
    pub rounds: u32,
}

/// The work's result.
#[derive(Serialize, JsonSchema)]
pub struct WorkOutput {
    /// A digest of the rounds.
    pub digest: u64,
}

/// Burn CPU deterministically: `rounds` rounds of an FNV-style hash.
#[action]
fn work(input: WorkInput) -> Result<WorkOutput> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for i in 0..input.rounds {
        h ^= u64::from(i);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Ok(WorkOutput { digest: h })
}

/// A profile lookup.
#[derive(Deserialize, JsonSchema)]
pub struct ProfileInput {
    /// The user id at the upstream service.
    pub user: String,
}

/// What the upstream said about the user, and what the plugin can see of its
/// connection.
#[derive(Serialize, JsonSchema)]
pub struct ProfileOutput {
    /// The upstream's display name for the user.
    pub display_name: String,
    /// The connection's provider.
    pub provider: String,
    /// The connection's account.
    pub account: Option<String>,
    /// The connection's scopes.
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct UpstreamProfile {
    display_name: String,
}

/// Fetch a profile from the example upstream with the user's connection.
#[action]
fn profile(ctx: &Context, input: ProfileInput) -> Result<ProfileOutput> {
    let conn = ctx.connection("slack")?;
    let profile: UpstreamProfile =
        http::get(format!("https://api.example.com/users/{}", input.user))
            .header("accept", "application/json")
            .auth(&conn)
            .send()?
            .error_for_status()?
            .json()?;
    Ok(ProfileOutput {
        display_name: profile.display_name,
        provider: conn.provider(),
        account: conn.account(),
        scopes: conn.scopes(),
    })
}

/// A request to make through the host's broker.
#[derive(Deserialize, JsonSchema)]
pub struct FetchInput {
    /// The absolute URL.
    pub url: String,
    /// `GET` (the default) or `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// A JSON body to send (POST).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// The provider whose connection should authorise the request.
    #[serde(default)]
    pub connection: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// How many times to send the request (to exercise the request cap).
    #[serde(default)]
    pub times: Option<u32>,
}

/// What came back.
#[derive(Serialize, JsonSchema)]
pub struct FetchOutput {
    /// The last response's status.
    pub status: u16,
    /// The last response's body as text.
    pub body: String,
}

/// Send an arbitrary request through the host's broker: the test suite's
/// way of exercising the egress policy and the token vault from inside a
/// real sandbox.
#[action]
fn fetch(ctx: &Context, input: FetchInput) -> Result<FetchOutput> {
    let connection = match &input.connection {
        Some(provider) => Some(ctx.connection(provider)?),
        None => None,
    };
    let mut last = None;
    for _ in 0..input.times.unwrap_or(1).max(1) {
        let mut request = match input.method.as_deref().unwrap_or("GET") {
            "POST" => http::post(input.url.clone()),
            _ => http::get(input.url.clone()),
        };
        for (name, value) in &input.headers {
            request = request.header(name.clone(), value.clone());
        }
        if let Some(json) = &input.json {
            request = request.json(json)?;
        }
        let response = match &connection {
            Some(c) => request.auth(c).send()?,
            None => request.send()?,
        };
        last = Some(FetchOutput {
            status: response.status,
            body: response.text(),
        });
    }
    last.ok_or_else(|| Error::Internal("no request was sent".into()))
}

/// Nothing in particular.
#[derive(Deserialize, JsonSchema)]
pub struct Empty {}

/// A promise the output schema does not keep: the schema says `value` is a
/// number, the serialization writes a string.
#[derive(JsonSchema)]
pub struct Promise {
    /// A number, says the schema.
    pub value: u32,
}

impl Serialize for Promise {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("value", &format!("{} as text", self.value))?;
        map.end()
    }
}

/// Return output that does not match its own declared schema.
#[action]
fn broken_promise(_input: Empty) -> Result<Promise> {
    Ok(Promise { value: 7 })
}

/// Fail with a typed rate-limit error.
#[action]
fn rate_limited(_input: Empty) -> Result<Promise> {
    Err(Error::RateLimited {
        retry_after: Some(std::time::Duration::from_secs(30)),
        message: "slow down".into(),
    })
}

/// The small JSON object the benchmark echoes.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Echo {
    /// A message.
    pub message: String,
    /// A number.
    pub count: u32,
    /// Some tags.
    pub tags: Vec<String>,
}

/// Echo a small object back (the benchmark's trivial action).
#[action]
fn echo(input: Echo) -> Result<Echo> {
    Ok(input)
}

/// A JSON document, as text, to parse inside the sandbox.
#[derive(Deserialize, JsonSchema)]
pub struct TransformInput {
    /// The document.
    pub document: String,
}

/// A summary of the document.
#[derive(Serialize, JsonSchema, Default)]
pub struct TransformOutput {
    /// Objects in the document.
    pub objects: u64,
    /// Numbers in the document.
    pub numbers: u64,
    /// Their sum.
    pub sum: f64,
    /// Strings in the document.
    pub strings: u64,
    /// The longest string, upper-cased.
    pub longest: String,
}

fn summarise(value: &serde_json::Value, out: &mut TransformOutput) {
    match value {
        serde_json::Value::Object(map) => {
            out.objects += 1;
            map.values().for_each(|v| summarise(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| summarise(v, out)),
        serde_json::Value::Number(n) => {
            out.numbers += 1;
            out.sum += n.as_f64().unwrap_or(0.0);
        }
        serde_json::Value::String(s) => {
            out.strings += 1;
            if s.len() > out.longest.len() {
                out.longest = s.to_uppercase();
            }
        }
        _ => {}
    }
}

/// Parse a JSON document and summarise it (the benchmark's CPU-bound action).
#[action]
fn transform(input: TransformInput) -> Result<TransformOutput> {
    let document: serde_json::Value = serde_json::from_str(&input.document)
        .map_err(|e| Error::invalid_input(format!("document: {e}")))?;
    let mut out = TransformOutput::default();
    summarise(&document, &mut out);
    Ok(out)
}

/// The upstream's status.
#[derive(Serialize, JsonSchema)]
pub struct UpstreamStatus {
    /// HTTP status.
    pub status: u16,
}

/// Call the benchmark's slow upstream and report its status.
#[action]
fn wait_upstream(_input: Empty) -> Result<UpstreamStatus> {
    let response = http::get("https://upstream.bench.example/slow").send()?;
    Ok(UpstreamStatus {
        status: response.status,
    })
}

workway_sdk::integration! {
    name: "well-behaved",
    actions: [greet, work, profile, broken_promise, rate_limited, echo, transform, wait_upstream, fetch],
}
