//! Build every crate of `tests/plugins` (the test plugins) and of `plugins`
//! (the first-party integrations) for `wasm32-wasip2` (release) and
//! generate constants with the paths of their components; and lean builds
//! of two test plugins (wasm32-unknown-unknown core modules turned into
//! components, as `workway plugin build --lean` makes them).

use std::path::{Path, PathBuf};

use workway_guest_build::{
    build_release, build_release_packages, componentize, rerun_if_dir_changed,
};

/// The first-party integrations under `plugins/`.
const FIRST_PARTY: &[&str] = &["gmail", "notion", "slack", "stripe"];

/// The test plugins also built lean (the runtime's tests run them both ways).
const LEAN_PLUGINS: [&str; 2] = ["well-behaved", "adversarial"];

const PLUGINS: &[&str] = &[
    "well-behaved",
    "adversarial",
    "imports-filesystem",
    "imports-sockets",
    "imports-forbidden",
    "evolving-v1",
    "evolving-v2",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let repo = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("tests/artifacts lives two levels below the repository root");
    let plugins = repo.join("tests/plugins");
    rerun_if_dir_changed(&plugins);
    rerun_if_dir_changed(&repo.join("guest-sdk"));
    rerun_if_dir_changed(&repo.join("wit"));

    let target_dir = repo.join("target/wasm-test-plugins");
    build_release(&plugins, "wasm32-wasip2", &target_dir);

    let mut generated = String::new();
    for plugin in PLUGINS {
        generated.push_str(&constant(&target_dir, plugin, "test plugin"));
    }
    build_release_packages(
        &plugins,
        "wasm32-unknown-unknown",
        &target_dir,
        &LEAN_PLUGINS,
    );
    for plugin in LEAN_PLUGINS {
        let file = plugin.replace('-', "_");
        let lean = target_dir.join("lean").join(format!("{file}.wasm"));
        componentize(
            &target_dir
                .join("wasm32-unknown-unknown/release")
                .join(format!("{file}.wasm")),
            &lean,
        );
        generated.push_str(&format!(
            "/// Path of the lean build of the `{plugin}` test plugin (`workway plugin build --lean`).\npub const {}_LEAN: &str = {:?};\n",
            file.to_uppercase(),
            lean.display().to_string()
        ));
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out_dir.join("artifacts.rs"), generated)
        .expect("cannot write the generated artifact paths");

    let first_party = repo.join("plugins");
    rerun_if_dir_changed(&first_party);
    let target_dir = repo.join("target/wasm-plugins");
    build_release(&first_party, "wasm32-wasip2", &target_dir);
    let mut generated = format!(
        "/// The folder of the first-party integrations' sources and manifests.\npub const DIR: &str = {:?};\n",
        first_party.display().to_string()
    );
    for plugin in FIRST_PARTY {
        generated.push_str(&constant(&target_dir, plugin, "first-party integration"));
    }
    std::fs::write(out_dir.join("first_party.rs"), generated)
        .expect("cannot write the generated artifact paths");
}

/// The line declaring the path of `plugin`'s component under `target_dir`.
fn constant(target_dir: &Path, plugin: &str, kind: &str) -> String {
    let file = target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", plugin.replace('-', "_")));
    assert!(file.exists(), "{} was not built", file.display());
    let constant = plugin.replace('-', "_").to_uppercase();
    format!(
        "/// Path of the `{plugin}` {kind} component.\npub const {constant}: &str = {:?};\n",
        file.display().to_string()
    )
}
