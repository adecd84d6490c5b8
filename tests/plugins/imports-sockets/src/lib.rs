//! An integration that opens a TCP socket: it imports `wasi:sockets`,
//! which the host links inert (no address allowed, no name lookup), so the
//! connection must fail inside the guest.

use std::io::Write;

use workway_sdk::prelude::*;

/// No input.
#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

/// Nothing.
#[derive(Serialize, JsonSchema)]
pub struct Done {}

/// Connect to the metadata service directly.
#[action]
fn connect(_input: Nothing) -> Result<Done> {
    let mut stream = std::net::TcpStream::connect("169.254.169.254:80")
        .map_err(|e| Error::internal(e.to_string()))?;
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(Done {})
}

workway_sdk::integration! {
    name: "imports-sockets",
    actions: [connect],
}
