use workway_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct In {}

/// Returns a bare string.
#[action]
fn bare(_input: In) -> String {
    String::new()
}

fn main() {}
