//! Integrations in Python and JavaScript: `workway plugin new --lang`,
//! `build` (which installs componentize-py and componentize-js on first
//! use), `check` and `run --example`.
//!
//! Building needs python3 with venv and pip, or npm and node, and the
//! package registries. Without them these tests say why and skip, unless
//! `WORKWAY_REQUIRE_TOOLCHAINS=1` (CI), which makes them fail instead. The
//! toolkits are installed once into the target directory
//! (`WORKWAY_TOOLS_DIR`), and each template is built once per run of this
//! test binary and shared by the tests that need it (`template`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::served::command;

/// A language other than Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Js,
}

impl Lang {
    fn arg(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// The template's integration name in these tests.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "hello-python",
            Lang::Js => "hello-js",
        }
    }

    /// What the template prints on stdout.
    fn printed(self) -> &'static str {
        match self {
            Lang::Python => "echo called from Python",
            Lang::Js => "echo called from JavaScript",
        }
    }

    /// The pinned toolkit, as the template's `describe()` reports it.
    fn toolkit(self) -> &'static str {
        match self {
            Lang::Python => "componentize-py 0.25.1",
            Lang::Js => "componentize-js 0.20.0",
        }
    }

    /// The toolkit's name, as `plugin check` reads it from the component.
    fn toolkit_name(self) -> &'static str {
        match self {
            Lang::Python => "componentize-py",
            Lang::Js => "componentize-js",
        }
    }

    /// Why this machine cannot build the language, if it cannot.
    fn missing(self) -> Option<String> {
        let works = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .output()
                .is_ok_and(|o| o.status.success())
        };
        match self {
            Lang::Python => (!works("python3", &["-c", "import venv, ensurepip"]))
                .then(|| "python3 with venv and pip (ensurepip) is not available".to_string()),
            Lang::Js => (!(works("npm", &["--version"]) && works("node", &["--version"])))
                .then(|| "npm and node are not available".to_string()),
        }
    }
}

/// Whether a missing toolchain fails the tests instead of skipping them.
fn required() -> bool {
    std::env::var("WORKWAY_REQUIRE_TOOLCHAINS").is_ok_and(|v| v == "1")
}

/// Skip (print why, return `None`), or fail when toolchains are required.
fn skip<T>(why: &str) -> Option<T> {
    assert!(
        !required(),
        "WORKWAY_REQUIRE_TOOLCHAINS=1 and {why}; install python3-venv and npm (see README.md)"
    );
    eprintln!("SKIPPED: {why} (set WORKWAY_REQUIRE_TOOLCHAINS=1 to make this a failure)");
    None
}

/// The tool folder every build in the tests shares.
pub fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("workway-tools")
}

/// `workway args` with the shared tool folder.
pub fn workway(args: &[&str]) -> Command {
    let mut command = command(args);
    command.env("WORKWAY_TOOLS_DIR", tools_dir());
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("the workway binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A template project, built.
#[derive(Debug)]
pub struct Built {
    /// The project's folder.
    pub dir: PathBuf,
    /// The component `workway plugin build` printed.
    pub wasm: String,
    /// Its digest, as printed.
    pub digest: String,
}

impl Built {
    /// The project's manifest.
    pub fn manifest(&self) -> String {
        self.dir
            .join("workway.toml")
            .to_str()
            .expect("utf-8")
            .to_string()
    }
}

/// The template of `lang`, made by `plugin new` and built by `plugin
/// build` once per run of the test binary; `None` when the tests skip.
pub fn template(lang: Lang) -> Option<&'static Built> {
    static PYTHON: OnceLock<Result<Built, String>> = OnceLock::new();
    static JS: OnceLock<Result<Built, String>> = OnceLock::new();
    let cell = match lang {
        Lang::Python => &PYTHON,
        Lang::Js => &JS,
    };
    match cell.get_or_init(|| build_template(lang)) {
        Ok(built) => Some(built),
        Err(why) => skip(why),
    }
}

fn build_template(lang: Lang) -> Result<Built, String> {
    if let Some(why) = lang.missing() {
        return Err(why);
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-lang-templates")
        .join(lang.name());
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path");
    let created = run(workway(&["plugin", "new", dir_arg, "--lang", lang.arg()]));
    assert!(created.status.success(), "{}", text(&created.stderr));
    let built = run(workway(&["plugin", "build", dir_arg]));
    let (out, err) = (text(&built.stdout), text(&built.stderr));
    if !built.status.success() {
        // The registry out of reach is a missing toolchain too; anything
        // else is a failure.
        if err.contains("could not install") && !required() {
            return Err(format!(
                "the {} toolkit could not be installed:\n{err}",
                lang.arg()
            ));
        }
        panic!("plugin build --lang {} failed:\n{out}\n{err}", lang.arg());
    }
    let mut lines = out.lines();
    let wasm = lines.next().expect("the component's path").to_string();
    let digest = lines.next().expect("the digest").to_string();
    Ok(Built { dir, wasm, digest })
}

#[test]
fn new_writes_python_and_js_projects_with_the_contract_in_wit_deps() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit/since_v0.1.0");
    for (lang, source) in [(Lang::Python, "app.py"), (Lang::Js, "app.js")] {
        let dir = tmp.path().join(format!("my-{}", lang.arg()));
        let made = run(workway(&[
            "plugin",
            "new",
            dir.to_str().expect("utf-8"),
            "--lang",
            lang.arg(),
        ]));
        assert!(made.status.success(), "{}", text(&made.stderr));
        for file in [source, "workway.toml", ".gitignore", "README.md"] {
            assert!(dir.join(file).is_file(), "{lang:?}: {file}");
        }
        let world = std::fs::read_to_string(dir.join("wit/world.wit")).expect("world.wit");
        assert!(
            world.contains(&format!("package you:my-{};", lang.arg()))
                && world.contains("world plugin {")
                && world.contains("include workway:plugin/integration@0.1.0;"),
            "{world}"
        );
        // An exact copy of the repository's contract, where `wkg wit
        // fetch` puts a dependency.
        for entry in std::fs::read_dir(&contract).expect("the contract") {
            let path = entry.expect("entry").path();
            let copy = dir
                .join("wit/deps/workway-plugin-0.1.0")
                .join(path.file_name().expect("a file"));
            assert_eq!(
                std::fs::read(&copy).expect("copied"),
                std::fs::read(&path).expect("the original"),
                "{}",
                copy.display()
            );
        }
        let code = std::fs::read_to_string(dir.join(source)).expect("source");
        assert!(
            code.contains(&format!("my-{}", lang.arg())) && code.contains(lang.toolkit()),
            "{code}"
        );
        let manifest = std::fs::read_to_string(dir.join("workway.toml")).expect("manifest");
        assert!(
            manifest.contains(&format!("name = \"my-{}\"", lang.arg()))
                && manifest.contains("example = "),
            "{manifest}"
        );
        let ignored = std::fs::read_to_string(dir.join(".gitignore")).expect("ignore");
        assert!(
            ignored.contains(".workway/") && ignored.contains("target/"),
            "{ignored}"
        );
        // --lean is a Rust build's.
        let lean = run(workway(&[
            "plugin",
            "build",
            dir.to_str().expect("utf-8"),
            "--lean",
        ]));
        assert!(!lean.status.success());
        assert!(
            text(&lean.stderr).contains("--lean is for Rust crates"),
            "{}",
            text(&lean.stderr)
        );
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("made");
    let unknown = run(workway(&[
        "plugin",
        "build",
        empty.to_str().expect("utf-8"),
    ]));
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no Cargo.toml, app.py or app.js"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn a_build_without_the_language_toolchain_says_what_to_install() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // No python3, npm or node on this PATH, and no tools installed yet.
    let bare_path = tmp.path().join("bin");
    std::fs::create_dir(&bare_path).expect("made");
    for (lang, expected) in [
        (Lang::Python, "python3 is not installed"),
        (Lang::Js, "npm or node is not installed"),
    ] {
        let dir = tmp.path().join(lang.name());
        let dir_arg = dir.to_str().expect("utf-8");
        let made = run(workway(&["plugin", "new", dir_arg, "--lang", lang.arg()]));
        assert!(made.status.success(), "{}", text(&made.stderr));
        let mut build = command(&["plugin", "build", dir_arg]);
        build
            .env("PATH", &bare_path)
            .env("WORKWAY_TOOLS_DIR", tmp.path().join("tools"));
        let built = run(build);
        let err = text(&built.stderr);
        assert!(!built.status.success(), "{err}");
        assert!(
            err.contains(expected) && err.contains("WORKWAY_TOOLS_DIR"),
            "{err}"
        );
        assert!(!dir.join("target").exists(), "nothing was built");
    }
}

/// The template of `lang` checks against its manifest and runs its
/// example, its `print`/`console.log` line and its `log` line in the log.
fn checks_and_runs(lang: Lang) {
    let Some(built) = template(lang) else {
        return;
    };
    let file = lang.name().replace('-', "_");
    assert!(
        Path::new(&built.wasm).ends_with(format!("target/wasm32-wasip2/release/{file}.wasm")),
        "{built:?}"
    );
    assert!(built.digest.starts_with("sha256:"), "{built:?}");

    // The manifest is found above the component, as for a Rust crate.
    let checked = run(workway(&["plugin", "check", &built.wasm]));
    let summary = text(&checked.stdout);
    assert!(
        checked.status.success(),
        "{summary}{}",
        text(&checked.stderr)
    );
    for expected in [
        format!("integration  {} 0.1.0", lang.name()),
        "echo  Echo a message back".to_string(),
        format!("built with {}", lang.toolkit_name()),
        "examples   1 of 1 actions".to_string(),
        "check        OK".to_string(),
    ] {
        assert!(summary.contains(&expected), "{expected}: {summary}");
    }

    let ran = run(workway(&[
        "plugin",
        "run",
        &built.wasm,
        "echo",
        "--example",
    ]));
    let report = text(&ran.stderr);
    assert!(ran.status.success(), "{report}");
    let result: serde_json::Value = serde_json::from_slice(&ran.stdout).expect("JSON result");
    assert_eq!(
        result["data"],
        serde_json::json!({"message": "HELLO", "length": 5})
    );
    for expected in [
        "outcome      ok",
        "echoing 5 characters", // the contract's `log` import
        lang.printed(),         // stdout, captured into the log
    ] {
        assert!(report.contains(expected), "{expected}: {report}");
    }

    // A typed error, raised (Python) or thrown (JavaScript).
    let refused = run(workway(&[
        "plugin",
        "run",
        &built.wasm,
        "echo",
        "--input",
        r#"{"message": ""}"#,
    ]));
    let report = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{report}");
    assert!(
        report.contains("integration-error invalid-input")
            && report.contains("message must not be empty"),
        "{report}"
    );
}

#[test]
fn a_python_integration_builds_checks_and_runs_its_example() {
    checks_and_runs(Lang::Python);
}

#[test]
fn a_javascript_integration_builds_checks_and_runs_its_example() {
    checks_and_runs(Lang::Js);
}

/// A Python integration that tries the filesystem and the network: the
/// host links `wasi:filesystem` and `wasi:sockets` inert, so CPython
/// starts, and every attempt fails inside the guest with an ordinary
/// Python exception.
const PROBE: &str = r#"
import json
import os
import socket

import wit_world
from wit_world.imports import types

SCHEMA = json.dumps({"type": "object"})


def attempt(what, f):
    try:
        return {"what": what, "ok": True, "value": repr(f())[:200]}
    except Exception as e:
        return {"what": what, "ok": False, "error": f"{type(e).__name__}: {e}"[:200]}


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    return s


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return types.IntegrationInfo(
            name="hello-python", version="0.1.0", sdk_version="componentize-py",
            actions=[types.ActionSpec(name="echo", description="Try files and sockets.",
                                      input_schema=SCHEMA, output_schema=SCHEMA)])

    def execute(self, action, input, context):
        port = json.loads(input)["port"]
        results = [
            attempt("read /etc/passwd", lambda: open("/etc/passwd").read()),
            attempt("list /", lambda: os.listdir("/")),
            attempt("write /tmp/probe", lambda: open("/tmp/probe", "w").write("x")),
            attempt("resolve", lambda: socket.getaddrinfo("127.0.0.1", port)),
            attempt("connect", lambda: connect(port)),
        ]
        print("probe done")
        return types.ActionResult(data=json.dumps({"results": results}), metadata=[])
"#;

#[test]
fn a_python_integrations_file_and_socket_calls_fail_cleanly_and_grant_nothing() {
    if let Some(why) = Lang::Python.missing() {
        skip::<()>(&why);
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-lang-probe")
        .join("hello-python");
    let _ = std::fs::remove_dir_all(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path");
    let made = run(workway(&["plugin", "new", dir_arg, "--lang", "python"]));
    assert!(made.status.success(), "{}", text(&made.stderr));
    std::fs::write(dir.join("app.py"), PROBE).expect("probe written");
    let built = run(workway(&["plugin", "build", dir_arg]));
    if !built.status.success() {
        let err = text(&built.stderr);
        if err.contains("could not install") && !required() {
            skip::<()>(&format!("componentize-py could not be installed:\n{err}"));
            return;
        }
        panic!("the probe did not build:\n{err}");
    }
    let wasm = text(&built.stdout)
        .lines()
        .next()
        .expect("the component's path")
        .to_string();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("bound").port();
    let ran = run(workway(&[
        "plugin",
        "run",
        &wasm,
        "echo",
        "--input",
        &format!(r#"{{"port": {port}}}"#),
    ]));
    let report = text(&ran.stderr);
    assert!(ran.status.success(), "{report}");
    assert!(
        report.contains("probe done"),
        "print() is in the log: {report}"
    );
    assert!(report.contains("http         0 requests"), "{report}");
    let result: serde_json::Value = serde_json::from_slice(&ran.stdout).expect("JSON result");
    let attempts = result["data"]["results"].as_array().expect("the attempts");
    assert_eq!(attempts.len(), 5, "{result}");
    for attempt in attempts {
        assert_eq!(attempt["ok"], false, "{attempt}");
    }
    let error = |what: &str| {
        attempts
            .iter()
            .find(|a| a["what"] == what)
            .and_then(|a| a["error"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    // No preopened directory: no path exists, nothing is written.
    assert!(
        error("read /etc/passwd").starts_with("FileNotFoundError"),
        "{result}"
    );
    assert!(error("list /").starts_with("FileNotFoundError"), "{result}");
    assert!(
        error("write /tmp/probe").starts_with("FileNotFoundError"),
        "{result}"
    );
    assert!(!result.to_string().contains("root:"), "{result}");
    // No address is allowed: the connection is refused in the guest and
    // the listener never sees it.
    assert!(error("connect").starts_with("PermissionError"), "{result}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the guest reached the host's network"
    );
}
