//! Build the Extism counterpart of the echo action (`extism-echo`) for
//! `wasm32-unknown-unknown`, and hand its path to the benchmark; only with
//! the `extism` feature, which the Extism rows need.

use std::path::PathBuf;

use workway_guest_build::{build_release, rerun_if_dir_changed};

fn main() {
    if std::env::var_os("CARGO_FEATURE_EXTISM").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let plugin = manifest_dir.join("extism-echo");
    rerun_if_dir_changed(&plugin);
    let target_dir = manifest_dir
        .parent()
        .map(|repo| repo.join("target/bench-extism"))
        .expect("bench/ lives below the repository root");
    build_release(&plugin, "wasm32-unknown-unknown", &target_dir);
    let wasm = target_dir.join("wasm32-unknown-unknown/release/extism_echo.wasm");
    assert!(wasm.exists(), "{} was not built", wasm.display());
    println!("cargo:rustc-env=EXTISM_ECHO_WASM={}", wasm.display());
}
