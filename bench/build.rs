//! Build the Extism counterpart of the echo action (`extism-echo`) for
//! `wasm32-unknown-unknown`, and hand its path to the benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let plugin = manifest_dir.join("extism-echo");
    for file in ["Cargo.toml", "src/lib.rs"] {
        println!("cargo:rerun-if-changed={}", plugin.join(file).display());
    }
    let target_dir = manifest_dir
        .parent()
        .map(|repo| repo.join("target/bench-extism"))
        .expect("bench/ lives below the repository root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&plugin)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--target-dir",
        ])
        .arg(&target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cannot run cargo to build extism-echo");
    assert!(
        status.success(),
        "building bench/extism-echo failed; is the target installed? (rustup target add wasm32-unknown-unknown)"
    );
    let wasm: &Path = &target_dir.join("wasm32-unknown-unknown/release/extism_echo.wasm");
    assert!(wasm.exists(), "{} was not built", wasm.display());
    println!("cargo:rustc-env=EXTISM_ECHO_WASM={}", wasm.display());
}
