//! Paths of the test plugins under `tests/plugins`, built for
//! `wasm32-wasip2` by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
