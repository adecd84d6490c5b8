use workway_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct In {}

#[derive(Serialize, JsonSchema)]
pub struct Out {}

/// Tries to be async.
#[action]
async fn eager(_input: In) -> Result<Out> {
    Ok(Out {})
}

fn main() {}
