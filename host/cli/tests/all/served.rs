//! A `workway serve` process on 127.0.0.1 for the tests of the commands
//! that are API clients, with accounts made by the operator's `workway
//! admin create-user` and each signed in by `workway login` into a
//! credentials file of its own.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A running `workway serve` and the environment it was started with.
pub struct Served {
    child: Child,
    /// The server's URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The variables every operator command on this deployment needs
    /// (data folder, database, keys, host configuration).
    pub envs: Vec<(String, String)>,
    /// Where credentials files are kept.
    home: tempfile::TempDir,
}

/// An account signed in with `workway login`.
pub struct User {
    /// Its email.
    pub email: String,
    credentials: PathBuf,
    url: String,
}

/// The `workway` command with the test cache and none of the caller's
/// Workway variables.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_workway"));
    command.args(args).env(
        "WORKWAY_CACHE_DIR",
        std::env::temp_dir().join("workway-cli-test-cache"),
    );
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WORKWAY_") && name != "WORKWAY_CACHE_DIR" {
            command.env_remove(name);
        }
    }
    command
}

/// Run `command` with `stdin` written to its standard input.
pub fn with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the workway binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("the workway binary ends")
}

impl Served {
    /// Start `workway serve` (with `extra` arguments, such as
    /// `--api-only`) on a free port of 127.0.0.1 with `envs`; return once
    /// it listens.
    pub fn start(envs: &[(&str, &str)], extra: &[&str]) -> Served {
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = command(&args)
            .envs(envs.iter().map(|(n, v)| (n, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let address = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.strip_prefix("workway serving on http://")
                    .map(str::to_string)
            })
            .expect("serve says where it listens");
        // Keep reading its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref().map_while(Result::ok) {});
        Served {
            child,
            url: format!("http://{address}"),
            envs,
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `workway` with this deployment's operator variables.
    pub fn operator(&self, args: &[&str]) -> Command {
        let mut command = command(args);
        command.envs(self.envs.iter().map(|(n, v)| (n, v)));
        command
    }

    /// Make an account with `roles` (`workway admin create-user`) and sign
    /// it in (`workway login --password-stdin`).
    pub fn user(&self, email: &str, roles: &[&str]) -> User {
        let mut args = vec!["admin", "create-user", email, "--password-stdin"];
        for role in roles {
            args.extend(["--role", role]);
        }
        let password = format!("{email} long password");
        let made = with_stdin(self.operator(&args), &format!("{password}\n"));
        assert!(
            made.status.success(),
            "create-user {email}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let user = User {
            email: email.to_string(),
            credentials: self.home.path().join(format!("{email}.json")),
            url: self.url.clone(),
        };
        let login = with_stdin(
            user.command(&[
                "login",
                "--server",
                &self.url,
                "--email",
                email,
                "--password-stdin",
            ]),
            &format!("{password}\n"),
        );
        assert!(
            login.status.success(),
            "login {email}: {}",
            String::from_utf8_lossy(&login.stderr)
        );
        user
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl User {
    /// `workway` acting as this account.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = command(args);
        command
            .env("WORKWAY_CREDENTIALS", &self.credentials)
            .env("WORKWAY_SERVER", &self.url);
        command
    }

    /// Run `workway args` as this account.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("the workway binary runs")
    }

    /// Run `workway args` as this account with `stdin`.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        with_stdin(self.command(args), stdin)
    }

    /// Run and require success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} workway {args:?} failed:\n{}\n{}",
            self.email,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The credentials file `workway login` wrote.
    pub fn credentials(&self) -> &Path {
        &self.credentials
    }
}
