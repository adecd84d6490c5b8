use workway_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct In {}

#[derive(Serialize, JsonSchema)]
pub struct Out {}

/// Badly named.
#[action(name = "Send_Message")]
fn send(_input: In) -> Result<Out> {
    Ok(Out {})
}

fn main() {}
