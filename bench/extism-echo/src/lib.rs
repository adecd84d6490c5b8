//! `echo`: the same typed echo as the Workway bench action, written with
//! extism-pdk.

use extism_pdk::{FnResult, Json, plugin_fn};
use serde::{Deserialize, Serialize};

/// The small JSON object echoed.
#[derive(Serialize, Deserialize)]
pub struct Echo {
    /// A message.
    pub message: String,
    /// A number.
    pub count: u32,
    /// Some tags.
    pub tags: Vec<String>,
}

/// Echo the object back.
#[plugin_fn]
pub fn echo(Json(input): Json<Echo>) -> FnResult<Json<Echo>> {
    Ok(Json(input))
}
