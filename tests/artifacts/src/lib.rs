//! Paths of the test plugins under `tests/plugins` and of the first-party
//! integrations under `plugins`, built for `wasm32-wasip2` by this crate's
//! build script (and `*_LEAN`, lean builds of two test plugins).

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

/// The first-party integrations (`plugins/`): their components and the
/// folder of their sources (each integration's `workway.toml` and
/// `replay.json` are in `DIR/<name>/`).
pub mod first_party {
    include!(concat!(env!("OUT_DIR"), "/first_party.rs"));
}
