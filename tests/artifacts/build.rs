//! Build every crate of `tests/plugins` for `wasm32-wasip2` (release) and
//! generate constants with the paths of their components.

use std::path::{Path, PathBuf};

use workway_guest_build::{build_release, rerun_if_dir_changed};

const PLUGINS: &[&str] = &[
    "well-behaved",
    "adversarial",
    "imports-filesystem",
    "imports-sockets",
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
