//! The `workway worker` processes: where the binary is, starting N of them
//! on one database, and stopping them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a worker gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// The `workway` binary: `WORKWAY_BIN` when set, else the release build
/// beside this benchmark (`<target dir>/release/workway`: the benchmark
/// runs from `<target dir>/release/deps/`, so any `CARGO_TARGET_DIR` is
/// followed). An error saying how to build it when it is not there.
pub fn binary() -> Result<PathBuf, String> {
    let path = match std::env::var_os("WORKWAY_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot tell where this benchmark runs from: {e}"))?;
            let release = exe
                .parent()
                .and_then(Path::parent)
                .ok_or_else(|| format!("{} has no target folder", exe.display()))?;
            release.join(format!("workway{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the `workway` binary is not at {}: build it first with \
             `cargo build --release -p workway-cli` (scripts/bench.sh scaleout does), \
             or point WORKWAY_BIN at one",
            path.display()
        ))
    }
}

/// Worker processes sharing one database.
pub struct Workers {
    children: Vec<Child>,
    logs: Vec<PathBuf>,
}

impl Workers {
    /// Start `n` workers of `binary` with `env` (the scene's settings and
    /// the database URL), each logging to `<dir>/<label>-<i>.log`.
    pub fn start(
        binary: &Path,
        n: usize,
        env: &[(String, String)],
        dir: &Path,
        label: &str,
    ) -> Workers {
        let cache = std::env::temp_dir().join("workway-bench-worker-cache");
        let mut children = Vec::with_capacity(n);
        let mut logs = Vec::with_capacity(n);
        for i in 0..n {
            let log = dir.join(format!("{label}-{i}.log"));
            let file = std::fs::File::create(&log).expect("a log file");
            let mut command = Command::new(binary);
            command
                .arg("worker")
                .env("WORKWAY_CACHE_DIR", &cache)
                .env("WORKWAY_LOG", "warn")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(file);
            for (name, value) in env {
                command.env(name, value);
            }
            children.push(command.spawn().expect("the worker starts"));
            logs.push(log);
        }
        Workers { children, logs }
    }

    /// Whether every worker is still running.
    pub fn all_running(&mut self) -> bool {
        self.children
            .iter_mut()
            .all(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stop every worker: SIGTERM (each finishes the step it is in), then
    /// SIGKILL for any still running after [`STOP_GRACE`].
    pub async fn stop(mut self) {
        for child in &self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + STOP_GRACE;
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.children.clear();
    }

    /// The last lines of every worker's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            out.push_str(&format!("--- {}\n{tail}\n", log.display()));
        }
        out
    }

    /// How many lines of the workers' logs are warnings or errors.
    pub fn complaints(&self) -> usize {
        self.logs
            .iter()
            .map(|log| {
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .count()
            })
            .sum()
    }
}

impl Drop for Workers {
    /// Workers never outlive the benchmark, even when it panics.
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
