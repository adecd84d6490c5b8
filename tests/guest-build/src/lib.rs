//! Building guest crates (plugins) for a wasm target from a build script.
//!
//! The guests are their own Cargo workspaces with their own target
//! directory under the host workspace's `target/`, so the nested build never
//! contends for the outer build's lock and is cached between runs. Used by
//! `tests/artifacts` (wasm32-wasip2 test plugins, and a lean build of one)
//! and `bench` (the Extism plugin).

use std::path::Path;
use std::process::Command;

/// Variables of the outer build that describe the host target or the outer
/// package; the nested build must not inherit them.
const OUTER_BUILD_VARS: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_PKG_NAME",
];

/// Ask cargo to rerun the build script when anything under `dir` (outside
/// `target/` folders) changes.
pub fn rerun_if_dir_changed(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name() == "target" {
            continue;
        }
        if path.is_dir() {
            rerun_if_dir_changed(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// `cargo build --release --target <target>` of the workspace in
/// `workspace_dir` into `target_dir`; panics with a hint on failure, as a
/// build script should.
pub fn build_release(workspace_dir: &Path, target: &str, target_dir: &Path) {
    build_release_packages(workspace_dir, target, target_dir, &[]);
}

/// [`build_release`] of only `packages` of the workspace (all of it when
/// empty).
pub fn build_release_packages(
    workspace_dir: &Path,
    target: &str,
    target_dir: &Path,
    packages: &[&str],
) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_dir)
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(target_dir);
    for package in packages {
        cmd.args(["--package", package]);
    }
    if std::env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for var in OUTER_BUILD_VARS {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {}: {e}", workspace_dir.display()));
    assert!(
        status.success(),
        "building {} for {target} failed; is the target installed? (rustup target add {target})",
        workspace_dir.display()
    );
}

/// Turn the core module at `core` (a `wasm32-unknown-unknown` build of a
/// crate using the SDK, which embeds the contract's component type) into a
/// lean component at `component`, as `workway plugin build --lean` does;
/// panics with the reason on failure, as a build script should.
pub fn componentize(core: &Path, component: &Path) {
    let module = std::fs::read(core)
        .unwrap_or_else(|e| panic!("cannot read the core module {}: {e}", core.display()));
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("cannot componentize {}: {e:#}", core.display()));
    if let Some(dir) = component.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(component, bytes)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", component.display()));
}
