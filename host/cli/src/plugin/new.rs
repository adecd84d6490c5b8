//! `workway plugin new <dir>`: scaffold an integration crate that builds as is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

const CARGO_TOML: &str = include_str!("template/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("template/lib.rs.tmpl");
const MANIFEST: &str = include_str!("template/workway.toml.tmpl");
const GITIGNORE: &str = include_str!("template/gitignore.tmpl");

/// Arguments of `workway plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Directory to create; must not exist or be empty.
    pub dir: PathBuf,

    /// The integration's name (kebab-case) [default: from the directory name].
    #[arg(long)]
    pub name: Option<String>,

    /// Path of the workway-sdk crate the new crate depends on
    /// [default: the SDK of this workway checkout].
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

/// Create the crate.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_directories() {
        assert_eq!(name_from_dir(Path::new("/tmp/My Plugin_2")), "my-plugin-2");
        assert_eq!(name_from_dir(Path::new("/tmp/p")), "p");
        assert_eq!(name_from_dir(Path::new("/tmp/42")), "plugin-42");
    }
}
