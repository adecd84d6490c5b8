use workway_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct In {}

#[derive(Serialize, JsonSchema)]
pub struct Out {}

#[action]
fn undocumented(_input: In) -> Result<Out> {
    Ok(Out {})
}

fn main() {}
