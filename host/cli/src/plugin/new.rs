//! `workway plugin new <dir> [--lang rust|python|js]`: scaffold an
//! integration that builds as is: a Rust crate on workway-sdk, or a Python
//! or JavaScript project with the contract's WIT beside it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use super::toolchain::{JS_TOOLKIT, Lang, PY_TOOLKIT};

const CARGO_TOML: &str = include_str!("template/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("template/lib.rs.tmpl");
const MANIFEST: &str = include_str!("template/workway.toml.tmpl");
const GITIGNORE: &str = include_str!("template/gitignore.tmpl");

/// The world of a Python or JavaScript project: the contract's, included.
const WORLD_WIT: &str = include_str!("template/world.wit.tmpl");
const PY_APP: &str = include_str!("template/python/app.py.tmpl");
const PY_MANIFEST: &str = include_str!("template/python/workway.toml.tmpl");
const PY_GITIGNORE: &str = include_str!("template/python/gitignore.tmpl");
const PY_README: &str = include_str!("template/python/README.md.tmpl");
const JS_APP: &str = include_str!("template/js/app.js.tmpl");
const JS_MANIFEST: &str = include_str!("template/js/workway.toml.tmpl");
const JS_GITIGNORE: &str = include_str!("template/js/gitignore.tmpl");
const JS_README: &str = include_str!("template/js/README.md.tmpl");

/// Where a project keeps the contract: `wit/deps/<namespace>-<name>-<version>/`,
/// the folder `wkg wit fetch` puts a dependency in.
pub(super) const CONTRACT_DIR: &str = "wit/deps/workway-plugin-0.1.0";

/// The contract `workway:plugin@0.1.0`, file by file, as the repository
/// holds it (`wit/since_v0.1.0/`): a project gets an exact copy.
pub(super) const CONTRACT: [(&str, &str); 6] = [
    (
        "world.wit",
        include_str!("../../../../wit/since_v0.1.0/world.wit"),
    ),
    (
        "types.wit",
        include_str!("../../../../wit/since_v0.1.0/types.wit"),
    ),
    (
        "log.wit",
        include_str!("../../../../wit/since_v0.1.0/log.wit"),
    ),
    (
        "config.wit",
        include_str!("../../../../wit/since_v0.1.0/config.wit"),
    ),
    (
        "connections.wit",
        include_str!("../../../../wit/since_v0.1.0/connections.wit"),
    ),
    (
        "http.wit",
        include_str!("../../../../wit/since_v0.1.0/http.wit"),
    ),
];

/// The publisher the templates' manifests name, and the namespace of the
/// project's own WIT package.
const TEMPLATE_PUBLISHER: &str = "you";

/// WIT's keywords: a package name that is one needs a `%` in front.
const WIT_KEYWORDS: &[&str] = &[
    "as",
    "async",
    "bool",
    "borrow",
    "char",
    "constructor",
    "enum",
    "error-context",
    "export",
    "f32",
    "f64",
    "flags",
    "float32",
    "float64",
    "from",
    "func",
    "future",
    "import",
    "include",
    "interface",
    "list",
    "option",
    "own",
    "package",
    "record",
    "resource",
    "result",
    "s16",
    "s32",
    "s64",
    "s8",
    "static",
    "stream",
    "string",
    "tuple",
    "type",
    "u16",
    "u32",
    "u64",
    "u8",
    "use",
    "variant",
    "with",
    "world",
];

/// Arguments of `workway plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Directory to create; must not exist or be empty.
    pub dir: PathBuf,

    /// The integration's name (kebab-case) [default: from the directory name].
    #[arg(long)]
    pub name: Option<String>,

    /// The language to write the integration in: a Rust crate on
    /// workway-sdk, or a Python (componentize-py) or JavaScript
    /// (componentize-js) project with the contract's WIT in `wit/`.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,

    /// Path of the workway-sdk crate the new crate depends on
    /// [default: the SDK of this workway checkout] (Rust only).
    #[arg(long, env = "WORKWAY_SDK_PATH", value_name = "DIR")]
    pub sdk_path: Option<PathBuf>,
}

/// The SDK next to the sources this binary was built from.
fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk")
}

/// A kebab-case integration name from a directory name.
fn name_from_dir(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_string();
    match name.chars().next() {
        Some(c) if c.is_ascii_lowercase() => name,
        Some(_) => format!("plugin-{name}"),
        None => "my-integration".into(),
    }
}

fn fill(template: &str, name: &str, sdk_path: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", name)
        .replace("{{sdk_path}}", sdk_path)
}

/// The WIT package name of a project: `you:<name>`, the name escaped
/// with `%` when it is a WIT keyword. (An integration name is kebab-case,
/// which is what a WIT identifier is.)
fn wit_package(name: &str) -> String {
    let escape = if WIT_KEYWORDS.contains(&name) {
        "%"
    } else {
        ""
    };
    format!("{TEMPLATE_PUBLISHER}:{escape}{name}")
}

/// Create the integration.
pub fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.unwrap_or_else(|| name_from_dir(&args.dir));
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !valid {
        bail!(
            "`{name}` is not a valid integration name: use lower-case kebab-case, like `google-sheets`"
        );
    }
    if args.dir.exists()
        && std::fs::read_dir(&args.dir)
            .with_context(|| format!("cannot read {}", args.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} already exists and is not empty; choose a new directory",
            args.dir.display()
        );
    }
    if args.lang != Lang::Rust {
        return new_wit_project(&args.dir, &name, args.lang);
    }
    let sdk = args.sdk_path.unwrap_or_else(default_sdk_path);
    let sdk = sdk.canonicalize().with_context(|| {
        format!(
            "cannot find workway-sdk at {}; pass --sdk-path <dir of the guest-sdk crate>",
            sdk.display()
        )
    })?;
    if !sdk.join("Cargo.toml").exists() {
        bail!(
            "{} has no Cargo.toml; --sdk-path must point at the guest-sdk crate",
            sdk.display()
        );
    }
    let sdk = sdk.to_string_lossy().replace('\\', "/");
    std::fs::create_dir_all(args.dir.join("src"))
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for (file, template) in [
        ("Cargo.toml", CARGO_TOML),
        ("src/lib.rs", LIB_RS),
        ("workway.toml", MANIFEST),
        (".gitignore", GITIGNORE),
    ] {
        let path = args.dir.join(file);
        std::fs::write(&path, fill(template, &name, &sdk))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("Created integration `{name}` in {}", args.dir.display());
    println!();
    println!("Next:");
    println!("  workway plugin build {}", args.dir.display());
    println!("  workway plugin check <the .wasm it prints>");
    println!("  workway plugin run <the .wasm> echo --input '{{\"message\": \"hello\"}}'");
    Ok(ExitCode::SUCCESS)
}

/// Create a Python or JavaScript project: its source, manifest, README,
/// `.gitignore`, and `wit/` (its own world and the contract in `deps/`).
fn new_wit_project(dir: &Path, name: &str, lang: Lang) -> anyhow::Result<ExitCode> {
    let (source, app, manifest, gitignore, readme, toolkit) = match lang {
        Lang::Python => (
            "app.py",
            PY_APP,
            PY_MANIFEST,
            PY_GITIGNORE,
            PY_README,
            PY_TOOLKIT,
        ),
        Lang::Js => (
            "app.js",
            JS_APP,
            JS_MANIFEST,
            JS_GITIGNORE,
            JS_README,
            JS_TOOLKIT,
        ),
        Lang::Rust => unreachable!("a Rust crate is made by `run`"),
    };
    let sdk_version = toolkit.label();
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{sdk_version}}", &sdk_version)
            .replace("{{wit_package}}", &wit_package(name))
            .replace("{{file}}", &name.replace('-', "_"))
    };
    let contract = dir.join(CONTRACT_DIR);
    std::fs::create_dir_all(&contract)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join(source), fill(app)),
        (dir.join("workway.toml"), fill(manifest)),
        (dir.join(".gitignore"), fill(gitignore)),
        (dir.join("README.md"), fill(readme)),
        (dir.join("wit/world.wit"), fill(WORLD_WIT)),
    ];
    files.extend(
        CONTRACT
            .iter()
            .map(|(file, text)| (contract.join(file), (*text).to_string())),
    );
    for (path, text) in files {
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "Created {} integration `{name}` in {}",
        lang.title(),
        dir.display()
    );
    println!();
    println!("Next:");
    println!(
        "  workway plugin build {}     # installs {sdk_version} on first use",
        dir.display()
    );
    println!("  workway plugin check <the .wasm it prints>");
    println!("  workway plugin run <the .wasm> echo --example");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_contract_is_every_file_of_the_repository_contract() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit/since_v0.1.0");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .expect("the contract folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wit"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = CONTRACT.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "add the new file to `CONTRACT`");
    }

    #[test]
    fn wit_package_names_escape_keywords() {
        assert_eq!(wit_package("hello-world"), "you:hello-world");
        assert_eq!(wit_package("world"), "you:%world");
    }

    #[test]
    fn names_come_from_directories() {
        assert_eq!(name_from_dir(Path::new("/tmp/My Plugin_2")), "my-plugin-2");
        assert_eq!(name_from_dir(Path::new("/tmp/p")), "p");
        assert_eq!(name_from_dir(Path::new("/tmp/42")), "plugin-42");
    }
}
