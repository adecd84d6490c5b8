//! Placeholder: replaced by the stripe integration.

use workway_sdk::prelude::*;

/// Nothing yet.
#[derive(Deserialize, JsonSchema)]
pub struct PingInput {}

/// Nothing yet.
#[derive(Serialize, JsonSchema)]
pub struct PingOutput {}

/// Nothing yet.
#[action]
fn ping(_input: PingInput) -> Result<PingOutput> {
    Ok(PingOutput {})
}

workway_sdk::integration! {
    name: "stripe",
    actions: [ping],
}
