//! Side-by-side benchmark of one trivial action (echo a small JSON object)
//! through Workway's isolated execution path (for a wasm32-wasip2 and a lean
//! build of the same plugin) and its alternatives, plus
//! throughput, fuel overhead, compile-cache and concurrency figures, all
//! measured in one process and one run.
//!
//! Run with `cargo bench -p workway-bench` (or `scripts/bench.sh`).
//! `BENCH_ITERATIONS` sets the samples per row (default 5000);
//! `BENCH_SECTIONS` picks sections (comma-separated: latency, languages,
//! throughput, fuel, cache, concurrency; default all). The languages
//! section runs the same echo written in Python and JavaScript, built by
//! `workway plugin build` from `bench/plugins/`; `scripts/bench.sh
//! isolation` builds them and passes their paths in `BENCH_ECHO_PY` and
//! `BENCH_ECHO_JS`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use workway_bench::timing::{Spread, spread, time_async, time_sync};
use workway_bench::{ECHO_INPUT, SlowUpstream, native_echo};
use workway_capabilities::Capabilities;
use workway_registry::{Digested, SandboxLimits};
use workway_report::Outcome;
use workway_runtime::{ExecutionRequest, LoadedComponent, Runtime, RuntimeConfig};

fn bench_config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("workway-bench-cache")),
        ..RuntimeConfig::default()
    }
}

/// The echo plugin both ways: `(label, path)` of its wasm32-wasip2 build
/// (the default) and of its lean build (`workway plugin build --lean`).
const BUILDS: [(&str, &str); 2] = [
    ("wasm32-wasip2", workway_test_artifacts::WELL_BEHAVED),
    ("lean", workway_test_artifacts::WELL_BEHAVED_LEAN),
];

async fn load(runtime: &Runtime, path: &str) -> Arc<LoadedComponent> {
    let bytes = std::fs::read(path).expect("test plugin built");
    runtime.load(&bytes).await.expect("well-behaved loads")
}

async fn isolated(runtime: &Runtime, component: &LoadedComponent, action: &str, input: &str) {
    let report = runtime
        .execute(component, ExecutionRequest::new(action, input))
        .await;
    assert!(
        matches!(report.outcome, Outcome::Ok { .. }),
        "{action} failed: {:?}",
        report.outcome
    );
}

/// The Extism rows of the latency table: the same echo through Extism's
/// host (feature `extism`, which `scripts/bench.sh` turns on; without it the
/// workspace builds one wasmtime, not two).
#[cfg(feature = "extism")]
fn extism_rows(iterations: usize) -> Vec<(&'static str, Spread)> {
    fn manifest() -> extism::Manifest {
        static WASM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let bytes = WASM
            .get_or_init(|| std::fs::read(env!("EXTISM_ECHO_WASM")).expect("extism-echo built"));
        extism::Manifest::new([extism::Wasm::data(bytes.clone())])
    }
    let mut rows = Vec::new();
    let mut reused = extism::Plugin::new(manifest(), [], false).expect("extism plugin");
    rows.push((
        "Extism, call into a running plugin",
        time_sync(iterations, || {
            let out: String = reused.call("echo", ECHO_INPUT).expect("extism echo");
            std::hint::black_box(out);
        }),
    ));
    let compiled = extism::PluginBuilder::new(manifest())
        .compile()
        .expect("extism compiles");
    rows.push((
        "Extism, fresh instance per call",
        time_sync(iterations / 5, || {
            let mut plugin = extism::Plugin::new_from_compiled(&compiled).expect("instance");
            let out: String = plugin.call("echo", ECHO_INPUT).expect("extism echo");
            std::hint::black_box(out);
        }),
    ));
    rows.push((
        "Extism, new plugin per call (compiles)",
        time_sync(iterations / 50, || {
            let mut plugin = extism::Plugin::new(manifest(), [], false).expect("plugin");
            let out: String = plugin.call("echo", ECHO_INPUT).expect("extism echo");
            std::hint::black_box(out);
        }),
    ));
    rows
}

/// Without the `extism` feature the table has no Extism rows; say how to
/// get them.
#[cfg(not(feature = "extism"))]
fn extism_rows(_iterations: usize) -> Vec<(&'static str, Spread)> {
    eprintln!(
        "(no Extism rows: run scripts/bench.sh, or cargo bench -p workway-bench --features extism)"
    );
    Vec::new()
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

async fn latency_table(iterations: usize) {
    let runtime = Runtime::new(bench_config()).expect("runtime");
    let component = load(&runtime, workway_test_artifacts::WELL_BEHAVED).await;
    let lean = load(&runtime, workway_test_artifacts::WELL_BEHAVED_LEAN).await;
    assert_eq!(native_echo(ECHO_INPUT), ECHO_INPUT);

    let mut rows: Vec<(&str, Spread)> = Vec::new();
    rows.push((
        "native Rust function (floor)",
        time_sync(iterations, || {
            std::hint::black_box(native_echo(std::hint::black_box(ECHO_INPUT)));
        }),
    ));
    let mut warm = runtime
        .warm_instance(&component)
        .await
        .expect("warm instance");
    rows.push((
        "warm call, reused instance (no isolation)",
        time_async(iterations, async || {
            warm.call("echo", ECHO_INPUT).await.expect("warm echo");
        })
        .await,
    ));
    rows.push((
        "Workway isolated execution",
        time_async(iterations, async || {
            isolated(&runtime, &component, "echo", ECHO_INPUT).await;
        })
        .await,
    ));
    rows.push((
        "Workway isolated execution, lean component",
        time_async(iterations, async || {
            isolated(&runtime, &lean, "echo", ECHO_INPUT).await;
        })
        .await,
    ));
    rows.extend(extism_rows(iterations));
    let exe = env!("CARGO_BIN_EXE_echo-process");
    rows.push((
        "spawn a native process per call",
        time_sync(iterations / 20, || {
            let mut child = Command::new(exe)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn");
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(ECHO_INPUT.as_bytes()).expect("write");
            }
            let out = child.wait_with_output().expect("wait");
            assert_eq!(out.stdout, ECHO_INPUT.as_bytes());
        }),
    ));

    let isolated_median = rows[2].1.median;
    println!("\n## Echo a small JSON object ({iterations} samples per row, fewer for slow rows)\n");
    println!("| path | median µs | p99 µs | median vs Workway isolated |");
    println!("|---|---:|---:|---:|");
    for (name, s) in &rows {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}x |",
            s.median,
            s.p99,
            s.median / isolated_median
        );
    }
}

/// The echo in each language a plugin can be written in: isolated
/// execution time and fuel, the component's size, and what loading it
/// costs cold (compile) and from the compile cache.
async fn languages_table(iterations: usize) {
    let mut builds = vec![(
        "Rust (workway-sdk, wasm32-wasip2)",
        Some(workway_test_artifacts::WELL_BEHAVED.to_string()),
    )];
    builds.push((
        "JavaScript (componentize-js)",
        std::env::var("BENCH_ECHO_JS").ok(),
    ));
    builds.push((
        "Python (componentize-py)",
        std::env::var("BENCH_ECHO_PY").ok(),
    ));
    let dir = std::env::temp_dir().join(format!("workway-bench-languages-{}", std::process::id()));
    let config = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..RuntimeConfig::default()
    };
    let mut rows = Vec::new();
    for (label, path) in builds {
        let Some(path) = path else {
            println!(
                "{label}: skipped (its component's path is not set; scripts/bench.sh isolation builds it)"
            );
            continue;
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let runtime = Runtime::new(config.clone()).expect("runtime");
        let started = Instant::now();
        let component = runtime.load(&bytes).await.expect("the echo loads");
        let cold = started.elapsed();
        // A host loads an approved component with its digest already
        // computed (the artifact store's checked read); hashing it is timed
        // apart, once.
        let started = Instant::now();
        let digested = Digested::new(bytes.clone());
        let hashed = started.elapsed();
        let mut cached_times = Vec::new();
        for _ in 0..5 {
            let fresh = Runtime::new(config.clone()).expect("runtime");
            let started = Instant::now();
            let cached = fresh
                .load_digested(&digested, &SandboxLimits::default())
                .await
                .expect("loads");
            cached_times.push(started.elapsed());
            assert!(cached.from_cache);
        }
        let report = runtime
            .execute(&component, ExecutionRequest::new("echo", ECHO_INPUT))
            .await;
        let Outcome::Ok { data, .. } = &report.outcome else {
            panic!("{label}: echo failed: {:?}", report.outcome);
        };
        let echoed: serde_json::Value = data.clone();
        let sent: serde_json::Value = serde_json::from_str(ECHO_INPUT).expect("JSON");
        assert_eq!(echoed, sent, "{label} echoes its input");
        let samples = if bytes.len() > 4 << 20 {
            iterations / 5
        } else {
            iterations
        };
        let latency = time_async(samples, async || {
            isolated(&runtime, &component, "echo", ECHO_INPUT).await;
        })
        .await;
        rows.push((
            label,
            bytes.len(),
            latency,
            report.fuel_used,
            cold,
            spread(cached_times),
            hashed,
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let Some(rust) = rows.first().map(|row| row.2.median) else {
        return;
    };
    println!(
        "\n## The echo in each plugin language (isolated execution; fewer samples for the big components)\n"
    );
    println!(
        "| language | size MiB | median µs | p99 µs | vs Rust | fuel | cold load ms | cached load ms | SHA-256 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, size, latency, fuel, cold, cached, hashed) in &rows {
        println!(
            "| {label} | {:.1} | {:.1} | {:.1} | {:.1}x | {fuel} | {:.0} | {:.1} | {:.1} |",
            *size as f64 / (1 << 20) as f64,
            latency.median,
            latency.p99,
            latency.median / rust,
            cold.as_secs_f64() * 1e3,
            cached.median / 1e3,
            hashed.as_secs_f64() * 1e3
        );
    }
}

async fn throughput(seconds: u64, (label, path): (&str, &str)) {
    let runtime = Arc::new(Runtime::new(bench_config()).expect("runtime"));
    let component = load(&runtime, path).await;
    let done = Arc::new(AtomicU64::new(0));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (runtime, component, done) = (runtime.clone(), component.clone(), done.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                isolated(&runtime, &component, "echo", ECHO_INPUT).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let per_second = done.load(Ordering::Relaxed) as f64 / seconds as f64;
    println!(
        "isolated echo executions per second on {} cores ({label} component): {per_second:.0}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

fn document() -> String {
    let mut items = Vec::new();
    let mut i = 0u64;
    loop {
        items.push(serde_json::json!({
            "id": i,
            "name": format!("item number {i}"),
            "price": (i as f64) * 1.25,
            "tags": ["alpha", "beta", "gamma"],
            "nested": {"depth": 1, "flag": i.is_multiple_of(2)},
        }));
        i += 1;
        let text = serde_json::to_string(&items).expect("serializable");
        if text.len() >= 100 * 1024 {
            return text;
        }
    }
}

async fn fuel_overhead(iterations: usize, (label, path): (&str, &str)) {
    let input = serde_json::json!({ "document": document() }).to_string();
    let mut rows = Vec::new();
    for (name, fuel, epochs) in [
        ("fuel + epochs (production)", true, true),
        ("epochs only", false, true),
        ("neither", false, false),
    ] {
        let runtime = Runtime::new(RuntimeConfig {
            consume_fuel: fuel,
            epoch_interruption: epochs,
            ..bench_config()
        })
        .expect("runtime");
        let component = load(&runtime, path).await;
        let s = time_async(iterations, async || {
            isolated(&runtime, &component, "transform", &input).await;
        })
        .await;
        rows.push((name, s));
    }
    let epochs_only = rows[1].1.median;
    println!(
        "\n## CPU-bound action: parse and summarise a {} KiB JSON document ({label} component, {iterations} samples)\n",
        input.len() / 1024
    );
    println!("| interruption | median µs | p99 µs | vs epochs only |");
    println!("|---|---:|---:|---:|");
    for (name, s) in &rows {
        println!(
            "| {name} | {:.0} | {:.0} | {:.3}x |",
            s.median,
            s.p99,
            s.median / epochs_only
        );
    }
}

async fn compile_cache() {
    let dir = std::env::temp_dir().join(format!("workway-bench-cold-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bytes = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");
    let config = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..RuntimeConfig::default()
    };
    let cold_runtime = Runtime::new(config.clone()).expect("runtime");
    let started = Instant::now();
    let cold = cold_runtime.load(&bytes).await.expect("loads");
    let cold_time = started.elapsed();
    assert!(!cold.from_cache);
    let mut cached_times = Vec::new();
    for _ in 0..10 {
        let runtime = Runtime::new(config.clone()).expect("runtime");
        let started = Instant::now();
        let cached = runtime.load(&bytes).await.expect("loads");
        cached_times.push(started.elapsed());
        assert!(cached.from_cache);
    }
    let cached = spread(cached_times);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\n## Component ready to run ({} KiB component; load = compile or deserialize, link, describe, compile schemas)\n",
        bytes.len() / 1024
    );
    println!("| load | ms |");
    println!("|---|---:|");
    println!("| cold compile | {:.1} |", cold_time.as_secs_f64() * 1e3);
    println!(
        "| from the serialized cache (median of 10) | {:.2} |",
        cached.median / 1e3
    );
}

async fn concurrency(executions: u32) {
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            max_concurrent_instances: executions,
            ..bench_config()
        })
        .expect("runtime"),
    );
    let component = load(&runtime, workway_test_artifacts::WELL_BEHAVED).await;
    let capabilities = Capabilities {
        http: Arc::new(SlowUpstream {
            delay: Duration::from_millis(100),
        }),
        ..Capabilities::none()
    };
    // Reset the peak-RSS mark so it measures this phase alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..executions {
        let (runtime, component) = (runtime.clone(), component.clone());
        let request = ExecutionRequest {
            capabilities: capabilities.clone(),
            ..ExecutionRequest::new("wait-upstream", "{}")
        };
        tasks.spawn(async move {
            let report = runtime.execute(&component, request).await;
            report.outcome.is_ok()
        });
    }
    let mut ok = 0u32;
    while let Some(result) = tasks.join_next().await {
        if result.unwrap_or(false) {
            ok += 1;
        }
    }
    let wall = started.elapsed();
    let peak = rss_kib("VmHWM:");
    println!("\n## {executions} executions in flight at once, each awaiting a 100 ms upstream\n");
    println!("| completed | wall time ms | RSS before MiB | peak RSS MiB |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {ok}/{executions} | {:.0} | {:.0} | {:.0} |",
        wall.as_secs_f64() * 1e3,
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let sections = std::env::var("BENCH_SECTIONS").unwrap_or_default();
    let wanted = |name: &str| sections.is_empty() || sections.split(',').any(|s| s == name);
    rt.block_on(async {
        if wanted("latency") {
            latency_table(iterations).await;
        }
        if wanted("languages") {
            languages_table(iterations).await;
        }
        if wanted("throughput") {
            println!("\n## Throughput\n");
            for build in BUILDS {
                throughput(3, build).await;
            }
        }
        if wanted("fuel") {
            for build in BUILDS {
                fuel_overhead((iterations / 50).max(20), build).await;
            }
        }
        if wanted("cache") {
            compile_cache().await;
        }
        if wanted("concurrency") {
            concurrency(10_000).await;
        }
    });
}
