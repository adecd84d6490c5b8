//! Version 1.0.0 of the `evolving` integration: two builds of one
//! integration, for the registry's tests of a new version under review while
//! the previous one keeps serving.

use workway_sdk::prelude::*;

/// Nothing to give.
#[derive(Deserialize, JsonSchema)]
pub struct PingInput {}

/// Which build answered.
#[derive(Serialize, JsonSchema)]
pub struct PingOutput {
    /// The integration's version.
    pub version: String,
}

/// Say which version answers.
#[action]
fn ping(_input: PingInput) -> Result<PingOutput> {
    Ok(PingOutput {
        version: "1.0.0".into(),
    })
}

workway_sdk::integration! {
    name: "evolving",
    version: "1.0.0",
    actions: [ping],
}
