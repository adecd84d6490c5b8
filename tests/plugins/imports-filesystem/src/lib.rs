//! An integration that reads a file: it imports `wasi:filesystem`, which
//! the host links inert (no preopened directory), so the read must fail
//! inside the guest and return nothing of the host's files.

use workway_sdk::prelude::*;

/// No input.
#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

/// A file's text.
#[derive(Serialize, JsonSchema)]
pub struct Contents {
    /// The text.
    pub text: String,
}

/// Read /etc/passwd.
#[action]
fn read_passwd(_input: Nothing) -> Result<Contents> {
    let text =
        std::fs::read_to_string("/etc/passwd").map_err(|e| Error::internal(e.to_string()))?;
    Ok(Contents { text })
}

workway_sdk::integration! {
    name: "imports-filesystem",
    actions: [read_passwd],
}
