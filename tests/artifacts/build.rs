//! Build every crate of `tests/plugins` for `wasm32-wasip2` (release) and
//! generate constants with the paths of their components.
//!
//! The plugins are their own Cargo workspace with their own target
//! directory under the host workspace's `target/`, so this nested build
//! never contends for the outer build's lock and is cached between runs.

use std::path::{Path, PathBuf};
use std::process::Command;

const PLUGINS: &[&str] = &[
    "well-behaved",
    "adversarial",
    "imports-filesystem",
    "imports-sockets",
];

fn rerun_for_dir(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        if path.is_dir() {
            rerun_for_dir(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let repo = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("tests/artifacts lives two levels below the repository root");
    let plugins = repo.join("tests/plugins");
    rerun_for_dir(&plugins);
    rerun_for_dir(&repo.join("guest-sdk"));
    rerun_for_dir(&repo.join("wit"));

    let target_dir = repo.join("target/wasm-test-plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&plugins)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    // The outer build's settings are for the host target; keep them out.
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
    let status = cmd
        .status()
        .expect("cannot run cargo to build the test plugins");
    assert!(
        status.success(),
        "building tests/plugins for wasm32-wasip2 failed; is the target installed? (rustup target add wasm32-wasip2)"
    );

    let mut generated = String::new();
    for plugin in PLUGINS {
        let file = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", plugin.replace('-', "_")));
        assert!(file.exists(), "{} was not built", file.display());
        let constant = plugin.replace('-', "_").to_uppercase();
        generated.push_str(&format!(
            "/// Path of the `{plugin}` test plugin component.\npub const {constant}: &str = {:?};\n",
            file.display().to_string()
        ));
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("artifacts.rs");
    std::fs::write(out, generated).expect("cannot write the generated artifact paths");
}
