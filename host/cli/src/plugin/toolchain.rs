//! Integrations in Python and JavaScript: which language a project is
//! in, the pinned toolkits that compile them to components
//! (componentize-py, componentize-js), installed on first use into the
//! project's tool folder, and the build itself.
//!
//! A tool folder is `<project>/.workway/tools/` unless `WORKWAY_TOOLS_DIR`
//! names another (one install shared by many projects, by CI, or prepared
//! beforehand for an offline machine). Each toolkit is installed under a
//! folder named after its pinned version, holding a marker written last:
//! a folder without the marker is an interrupted install and is made
//! again. Installs take a lock file in the tool folder, so two builds
//! installing at once wait for each other instead of mixing files.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};
use clap::ValueEnum;

use workway_registry::Manifest;

/// The language an integration is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// A Rust crate on workway-sdk, built with cargo.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    #[value(alias = "javascript")]
    Js,
}

impl Lang {
    /// The language's name in prose.
    pub(super) fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }

    /// The language of the project in `dir`, from the files it has:
    /// `Cargo.toml` (Rust), `app.py` or `pyproject.toml` (Python),
    /// `package.json` or `app.js` (JavaScript).
    pub(super) fn detect(dir: &Path) -> Option<Lang> {
        let has = |file: &str| dir.join(file).is_file();
        if has("Cargo.toml") {
            Some(Lang::Rust)
        } else if has("app.py") || has("pyproject.toml") {
            Some(Lang::Python)
        } else if has("package.json") || has("app.js") {
            Some(Lang::Js)
        } else {
            None
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// A pinned toolkit.
#[derive(Debug, Clone, Copy)]
pub(super) struct Toolkit {
    /// Its command's name.
    pub name: &'static str,
    /// The version installed.
    pub version: &'static str,
}

impl Toolkit {
    /// `name version`: what a component built with it reports as its
    /// `sdk-version`.
    pub(super) fn label(self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// componentize-py, from PyPI.
pub(super) const PY_TOOLKIT: Toolkit = Toolkit {
    name: "componentize-py",
    version: "0.25.1",
};

/// componentize-js, from npm (`@bytecodealliance/componentize-js`).
/// 0.20.0 rather than the newest (0.23.0): the same plugin built with
/// 0.21.0 to 0.23.0 burns 1.8 to 4.6 times the fuel per call (the
/// benchmark echo: 686,909 with 0.20.0, 1,241,784 with 0.23.0, 3.18 M
/// with 0.21.0 and 0.22.0), and fuel is what its users are billed by.
pub(super) const JS_TOOLKIT: Toolkit = Toolkit {
    name: "componentize-js",
    version: "0.20.0",
};

/// The world every project's `wit/world.wit` defines.
const WORLD: &str = "plugin";

/// The environment variable naming a tool folder shared by projects.
const TOOLS_DIR_VAR: &str = "WORKWAY_TOOLS_DIR";

/// Written into a toolkit's folder once its install is complete.
const INSTALLED_MARKER: &str = ".workway-installed";

/// The tool folder of the project in `dir`.
fn tools_dir(dir: &Path) -> PathBuf {
    match std::env::var_os(TOOLS_DIR_VAR) {
        Some(shared) if !shared.is_empty() => PathBuf::from(shared),
        _ => dir.join(".workway").join("tools"),
    }
}

/// How to tell the user to get a toolkit onto a machine that cannot
/// download it.
fn offline_hint() -> String {
    format!(
        "On a machine without access to the package registry, set {TOOLS_DIR_VAR} to a folder where \
         `workway plugin build` has already installed the tools (at the same path)."
    )
}

/// Build the Python or JavaScript project in `dir` into a component,
/// written where a Rust build writes its own
/// (`target/wasm32-wasip2/release/<name>.wasm`, the name from
/// `workway.toml` with `-` as `_`): its path and bytes.
pub(super) fn build(dir: &Path, lang: Lang) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let (toolkit, source) = match lang {
        Lang::Python => (PY_TOOLKIT, "app.py"),
        Lang::Js => (JS_TOOLKIT, "app.js"),
        Lang::Rust => bail!("a Rust crate is built with cargo"),
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    let manifest_path = dir.join("workway.toml");
    if !manifest_path.is_file() {
        bail!(
            "{} has no workway.toml; pass the directory of an integration (create one with `workway plugin new --lang {}`)",
            dir.display(),
            lang_arg(lang)
        );
    }
    let manifest = Manifest::from_file(&manifest_path)?;
    if !dir.join(source).is_file() {
        bail!(
            "{} has no {source}: a {lang} integration's code is {source} (see `workway plugin new --lang {}`)",
            dir.display(),
            lang_arg(lang)
        );
    }
    if !dir.join("wit").join("world.wit").is_file() {
        bail!(
            "{} has no wit/world.wit: it defines the world `{WORLD}` that includes workway:plugin/integration@0.1.0 \
             (see `workway plugin new --lang {}`)",
            dir.display(),
            lang_arg(lang)
        );
    }
    let tool = install(lang, toolkit, &tools_dir(&dir))?;

    let out_dir = dir.join("target").join("wasm32-wasip2").join("release");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let wasm = out_dir.join(format!("{}.wasm", manifest.name.replace('-', "_")));
    // Written beside the component and renamed over it once complete, so
    // nothing ever reads half a component.
    let partial = out_dir.join(format!(
        ".{}.{}.partial",
        manifest.name.replace('-', "_"),
        std::process::id()
    ));
    let mut command = Command::new(&tool);
    command.current_dir(&dir);
    match lang {
        Lang::Python => {
            command
                .args(["-d", "wit", "-w", WORLD, "componentize", "app", "-o"])
                .arg(&partial);
        }
        Lang::Js => {
            // Without `http` and `fetch-event` disabled the component
            // imports wasi:http, which the host refuses: HTTP goes through
            // the contract's `http` import. Clocks, random and stdio stay:
            // disabling them freezes Date.now() and Math.random() at build
            // time and drops console.log.
            command
                .args([source, "--wit", "wit", "--world-name", WORLD])
                .args(["-d", "http", "fetch-event", "-o"])
                .arg(&partial);
        }
        Lang::Rust => unreachable!(),
    }
    eprintln!("building     {} with {}", dir.display(), toolkit.label());
    let started = std::time::Instant::now();
    let built = run_step(
        &format!("building the component with {}", toolkit.label()),
        &mut command,
    );
    if let Err(e) = built {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &wasm).with_context(|| {
        format!(
            "{} reported success but wrote no component",
            toolkit.label()
        )
    })?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    Ok((wasm, bytes))
}

/// The `--lang` value of a language.
fn lang_arg(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "rust",
        Lang::Python => "python",
        Lang::Js => "js",
    }
}

/// Run one step of a build or an install, its output captured; on
/// failure, show the output and say which step failed.
fn run_step(step: &str, command: &mut Command) -> anyhow::Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .with_context(|| format!("{step}: cannot run {program}"))?;
    if !output.status.success() {
        show_output(&output);
        bail!("{step} failed ({}); its output is above", output.status);
    }
    Ok(output)
}

fn show_output(output: &Output) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(&output.stdout);
    let _ = err.write_all(&output.stderr);
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The toolkit's folder in `tools`, and its command in that folder.
fn toolkit_paths(lang: Lang, toolkit: Toolkit, tools: &Path) -> (PathBuf, PathBuf) {
    let home = tools.join(format!("{}-{}", toolkit.name, toolkit.version));
    let command = match lang {
        Lang::Python if cfg!(windows) => home.join("Scripts").join("componentize-py.exe"),
        Lang::Python => home.join("bin").join("componentize-py"),
        Lang::Js if cfg!(windows) => home
            .join("node_modules")
            .join(".bin")
            .join("componentize-js.cmd"),
        _ => home
            .join("node_modules")
            .join(".bin")
            .join("componentize-js"),
    };
    (home, command)
}

/// The toolkit's command, installed into `tools` first if it is not there.
fn install(lang: Lang, toolkit: Toolkit, tools: &Path) -> anyhow::Result<PathBuf> {
    let (home, command) = toolkit_paths(lang, toolkit, tools);
    let installed = || home.join(INSTALLED_MARKER).is_file() && command.is_file();
    if installed() {
        return Ok(command);
    }
    std::fs::create_dir_all(tools)
        .with_context(|| format!("cannot create the tool folder {}", tools.display()))?;
    let lock_path = tools.join(format!(".{}.lock", toolkit.name));
    let lock = File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!(
            "waiting      for another build installing {} into {}",
            toolkit.label(),
            tools.display()
        );
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    }
    // Another build may have installed it while this one waited.
    if installed() {
        return Ok(command);
    }
    if home.exists() {
        std::fs::remove_dir_all(&home).with_context(|| {
            format!(
                "cannot remove the interrupted install in {}",
                home.display()
            )
        })?;
    }
    eprintln!(
        "installing   {} into {} (first build only)",
        toolkit.label(),
        home.display()
    );
    let started = std::time::Instant::now();
    let result = match lang {
        Lang::Python => install_python(toolkit, &home),
        Lang::Js => install_js(toolkit, &home),
        Lang::Rust => unreachable!(),
    };
    if let Err(e) = result {
        // Leave nothing that looks like a tool behind.
        let _ = std::fs::remove_dir_all(&home);
        return Err(e);
    }
    if !command.is_file() {
        let _ = std::fs::remove_dir_all(&home);
        bail!(
            "the install of {} finished but {} is missing",
            toolkit.label(),
            command.display()
        );
    }
    std::fs::write(home.join(INSTALLED_MARKER), toolkit.label())
        .with_context(|| format!("cannot write into {}", home.display()))?;
    eprintln!("installed    in {:.1} s", started.elapsed().as_secs_f64());
    drop(lock);
    Ok(command)
}

/// The Python that makes virtual environments.
fn python() -> &'static str {
    if cfg!(windows) { "python" } else { "python3" }
}

/// componentize-py in a virtual environment at `home`.
fn install_python(toolkit: Toolkit, home: &Path) -> anyhow::Result<()> {
    let python = python();
    if !runs(python) {
        bail!(
            "{python} is not installed (or not on PATH): Python integrations are built with {}, which needs Python 3.9 or later \
             with venv and pip. Install Python 3 (Debian/Ubuntu: `apt-get install python3 python3-venv`) and build again. {}",
            toolkit.label(),
            offline_hint()
        );
    }
    run_step(
        &format!("making a virtual environment with `{python} -m venv`"),
        Command::new(python).args(["-m", "venv"]).arg(home),
    )
    .context(
        "Python's venv module is missing or broken: install it (Debian/Ubuntu: `apt-get install python3-venv`) and build again",
    )?;
    let venv_python = if cfg!(windows) {
        home.join("Scripts").join("python.exe")
    } else {
        home.join("bin").join("python")
    };
    let spec = format!("{}=={}", toolkit.name, toolkit.version);
    run_step(
        &format!("installing {spec} with pip"),
        Command::new(venv_python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            &spec,
        ]),
    )
    .with_context(|| {
        format!(
            "pip could not install {spec}: is the Python package index (pypi.org, or your pip's index) reachable? {}",
            offline_hint()
        )
    })?;
    Ok(())
}

/// componentize-js installed with npm under `home`.
fn install_js(toolkit: Toolkit, home: &Path) -> anyhow::Result<()> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !runs(npm) || !runs("node") {
        bail!(
            "npm or node is not installed (or not on PATH): JavaScript integrations are built with {}, which needs Node.js 18 \
             or later and npm. Install them (https://nodejs.org, or Debian/Ubuntu: `apt-get install nodejs npm`) and build again. {}",
            toolkit.label(),
            offline_hint()
        );
    }
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    let spec = format!("@bytecodealliance/{}@{}", toolkit.name, toolkit.version);
    run_step(
        &format!("installing {spec} with npm"),
        Command::new(npm)
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(home)
            .arg(&spec),
    )
    .with_context(|| {
        format!(
            "npm could not install {spec}: is the npm registry (registry.npmjs.org, or your npm's registry) reachable? {}",
            offline_hint()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_told_by_their_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(Lang::detect(dir.path()), None);
        std::fs::write(dir.path().join("app.js"), "").expect("written");
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Js));
        std::fs::write(dir.path().join("app.py"), "").expect("written");
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Python));
        std::fs::write(dir.path().join("Cargo.toml"), "").expect("written");
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Rust));
    }

    #[test]
    fn toolkits_are_installed_under_their_pinned_versions() {
        let (home, command) = toolkit_paths(Lang::Python, PY_TOOLKIT, Path::new("/t"));
        assert_eq!(home, Path::new("/t/componentize-py-0.25.1"));
        assert!(command.starts_with(&home));
        assert_eq!(JS_TOOLKIT.label(), "componentize-js 0.20.0");
    }
}
