//! CI cannot pass without PostgreSQL: `.ci/run` has the project's script
//! install and start it and always requires its tests, and the script
//! fails, rather than skips, when PostgreSQL cannot be installed. The
//! script runs here on a PATH without PostgreSQL and with an `apt-get`
//! that fails, so nothing on this machine is installed or removed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root (host/cli is two levels down)")
        .to_path_buf()
}

/// A folder for PATH holding the basic tools the script uses (links to
/// this machine's), no PostgreSQL, and an `apt-get` that records its
/// arguments and fails.
fn path_without_postgres(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin folder");
    for tool in [
        "bash", "ls", "sort", "id", "env", "seq", "sleep", "sed", "tail", "cat",
    ] {
        let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} is on this machine"));
        std::os::unix::fs::symlink(found, bin.join(tool)).expect("linked");
    }
    let log = dir.join("apt-get.log");
    std::fs::write(
        bin.join("apt-get"),
        format!("#!/bin/bash\necho \"$*\" >> {}\nexit 100\n", log.display()),
    )
    .expect("stub written");
    Command::new("chmod")
        .args(["+x", bin.join("apt-get").to_str().expect("utf-8")])
        .status()
        .expect("chmod runs");
    bin
}

fn start_postgres(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin.join("bash"))
        .arg(repo().join("scripts/start-postgres.sh"))
        .args(args)
        .env_clear()
        .env("PATH", bin)
        .output()
        .expect("the script runs")
}

#[test]
fn ci_cannot_pass_without_postgres() {
    // CI installs and starts PostgreSQL with the project's script, fails
    // if it cannot, and then requires the PostgreSQL tests whatever happened.
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    let lines: Vec<&str> = ci.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"./scripts/start-postgres.sh --install"),
        "{ci}"
    );
    assert!(lines.contains(&"export WORKWAY_REQUIRE_POSTGRES=1"), "{ci}");
    assert!(
        !ci.contains("start-postgres.sh ||"),
        "a failure of the script must stop CI: {ci}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let bin = path_without_postgres(dir.path());

    // CI's call: PostgreSQL is missing, apt-get is tried and fails: fatal.
    let out = start_postgres(&bin, &["--install"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("apt-get could not install PostgreSQL"),
        "{stderr}"
    );
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let tried = std::fs::read_to_string(dir.path().join("apt-get.log")).unwrap_or_default();
        assert!(tried.starts_with("update"), "apt-get was run: {tried}");
    }

    // A developer's call: told, not installed for them; the caller decides.
    let out = start_postgres(&bin, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("PostgreSQL is not installed here"),
        "{stderr}"
    );
}
