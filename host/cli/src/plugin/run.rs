//! `workway plugin run <component.wasm | name[@version]> <action>`: run one
//! action in the sandbox, exactly as the platform would: a component file
//! while developing it, or an approved integration resolved through the
//! registry (its signed approval verified, its approved hosts enforced).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use workway_registry::Manifest;
use workway_registry::hosts::HostPattern;

use super::check::find_manifest;
use super::thousands;

use crate::registry::{RegistryOptions, TrustOptions};
use workway_capabilities::record::Recorder;
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_capabilities::{Capabilities, HttpBroker};
use workway_egress::{Egress, EgressConfig};
use workway_report::{ExecutionReport, Outcome};
use workway_runtime::{ExecutionRequest, LoadedComponent, Runtime, limits_with};
use workway_vault::oauth::providers::ProviderRegistry;
use workway_vault::static_tokens::StaticTokens;

/// How the execution report is printed on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned text for people.
    Text,
    /// One JSON object, for scripts.
    Json,
}

/// Arguments of `workway plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The component (`.wasm`), or an approved integration as
    /// NAME[@VERSION] (its newest approved version by default).
    pub component: PathBuf,

    /// The action to run.
    pub action: String,

    /// The input: JSON text, `@file` to read a file, or `-` for stdin.
    #[arg(long, short, default_value = "{}")]
    pub input: String,

    /// Use the action's example input from the manifest instead of `--input`.
    #[arg(long, conflicts_with = "input")]
    pub example: bool,

    /// The integration's manifest, for `--example` [default: the nearest
    /// workway.toml above the component].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// A replay file of recorded HTTP responses and connections; without
    /// it (or live mode), every outbound request is refused (capability-denied).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["allow_host", "record"])]
    pub replay: Option<PathBuf>,

    /// Live mode: let the action reach this host for real, through the same
    /// broker as production (address checks, redirects re-checked, caps).
    /// A pattern with an explicit scheme, `https://api.slack.com` or
    /// `https://*.googleapis.com` (repeatable).
    #[arg(long = "allow-host", value_name = "PATTERN")]
    pub allow_host: Vec<String>,

    /// A connection for live mode, as PROVIDER=TOKEN (repeatable). The host
    /// attaches the token, only to the provider's API hosts; the action
    /// sees a handle, never the token.
    #[arg(
        long = "connection",
        value_name = "PROVIDER=TOKEN",
        requires = "allow_host"
    )]
    pub connection: Vec<String>,

    /// In live mode, write every request and response to FILE as a replay
    /// file for `--replay` (tokens are never written).
    #[arg(long, value_name = "FILE", requires = "allow_host")]
    pub record: Option<PathBuf>,

    /// Send requests for HOST[:PORT] to ADDRESS:PORT instead of what DNS
    /// says, for a local stand-in of a service (repeatable). The only way a
    /// named host reaches a private or loopback address.
    #[arg(
        long = "resolve",
        value_name = "HOST[:PORT]=ADDR:PORT",
        requires = "allow_host"
    )]
    pub resolve: Vec<String>,

    /// A PEM file of extra root certificates to trust in live mode (a
    /// corporate proxy's CA, a local test CA).
    #[arg(long = "ca-cert", value_name = "PEM", requires = "allow_host")]
    pub ca_cert: Vec<PathBuf>,

    /// An installation setting the action can read, as KEY=VALUE (repeatable).
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
    pub config: Vec<String>,

    /// Fuel limit [default: 2000000000].
    #[arg(long)]
    pub fuel: Option<u64>,

    /// Wall-clock deadline in milliseconds [default: 10000].
    #[arg(long)]
    pub timeout_ms: Option<u64>,

    /// Linear memory limit in MiB [default: 64].
    #[arg(long)]
    pub memory_mb: Option<usize>,

    /// Report format on stderr.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub report: ReportFormat,

    /// Run the action this many times, each in a fresh sandbox, and print
    /// the wall-time spread (the result and report shown are the last run's).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,

    #[command(flatten)]
    pub registry: RegistryOptions,

    #[command(flatten)]
    pub trust: TrustOptions,
}

/// What runs: a component file, or an approved integration.
struct Target {
    component: Arc<LoadedComponent>,
    /// Where the manifest came from, and the manifest, for `--example`.
    manifest: Option<(String, Manifest)>,
    /// For an approved integration: the hosts its signed approval allows.
    approved_hosts: Option<Vec<String>>,
}

/// `NAME[@VERSION]` when `arg` names an integration rather than a file.
fn integration_ref(arg: &std::path::Path) -> Option<(String, Option<String>)> {
    if arg.exists() {
        return None;
    }
    let text = arg.to_str()?;
    if text.contains(['/', '\\']) || text.ends_with(".wasm") {
        return None;
    }
    match text.split_once('@') {
        Some((name, version)) => Some((name.to_string(), Some(version.to_string()))),
        None => Some((text.to_string(), None)),
    }
}

async fn target(args: &RunArgs, runtime: Arc<Runtime>) -> anyhow::Result<Target> {
    if let Some((name, version)) = integration_ref(&args.component) {
        let registry = args.registry.registry(runtime.clone()).await?;
        let catalog = args.trust.catalog(registry, runtime)?;
        let approved = catalog
            .get(&name, version.as_deref())
            .await
            .with_context(|| {
                format!(
                    "no file `{}`, and it cannot run as an approved integration",
                    args.component.display()
                )
            })?;
        eprintln!(
            "integration  {} {} (approved by {}, {})",
            approved.claims.integration,
            approved.claims.version,
            approved.claims.approved_by,
            approved.claims.digest
        );
        return Ok(Target {
            component: approved.component.clone(),
            manifest: Some((
                format!("the approved manifest of {name}"),
                approved.manifest.clone(),
            )),
            approved_hosts: Some(approved.claims.hosts.clone()),
        });
    }
    let bytes = std::fs::read(&args.component)
        .with_context(|| format!("cannot read {}", args.component.display()))?;
    // The manifest's `[limits]` apply to every run of its component, so it
    // is read whenever there is one; `--example` cannot do without it.
    let found = args
        .manifest
        .clone()
        .or_else(|| args.component.parent().and_then(find_manifest));
    let manifest = match found {
        Some(path) => Some((path.display().to_string(), Manifest::from_file(&path)?)),
        None if args.example => anyhow::bail!(
            "--example needs the manifest: none was found above the component; pass --manifest"
        ),
        None => None,
    };
    let limits = manifest.as_ref().map(|(_, m)| m.limits).unwrap_or_default();
    let component = runtime.load_with(&bytes, &limits).await?;
    Ok(Target {
        component,
        manifest,
        approved_hosts: None,
    })
}

fn read_input(spec: &str) -> anyhow::Result<String> {
    if spec == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the input from stdin")?;
        Ok(text)
    } else if let Some(path) = spec.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("cannot read the input file {path}"))
    } else {
        Ok(spec.to_string())
    }
}

/// The manifest's example input of the action being run.
fn example_input(manifest: Option<&(String, Manifest)>, action: &str) -> anyhow::Result<String> {
    let (source, manifest) = manifest.context("--example needs the manifest; pass --manifest")?;
    let declared = manifest.actions.get(action).with_context(|| {
        format!(
            "{source} declares no action `{action}`; it declares: {}",
            manifest
                .actions
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let example = declared.example.as_ref().with_context(|| {
        format!("{source} gives no example for `{action}`; add [actions.{action}.example] or pass --input")
    })?;
    Ok(example.to_string())
}

fn parse_config(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("--config `{pair}` must be KEY=VALUE"),
        })
        .collect()
}

/// Run the action; print the result on stdout and the report on stderr.
pub async fn run(args: RunArgs, runtime: Arc<Runtime>) -> anyhow::Result<ExitCode> {
    let target = target(&args, runtime.clone()).await?;
    let input = if args.example {
        example_input(target.manifest.as_ref(), &args.action)?
    } else {
        read_input(&args.input)?
    };
    let config = parse_config(&args.config)?;
    let mut capabilities = Capabilities::none().with_config(config);
    let mut recording = None;
    if let Some(path) = &args.replay {
        let broker = Arc::new(ReplayBroker::new(ReplayFile::load(path)?));
        capabilities.http = broker.clone();
        capabilities.connections = broker;
    } else if !args.allow_host.is_empty() {
        if let Some(approved) = &target.approved_hosts {
            check_approved(&args.allow_host, approved)?;
        }
        let live = live_capabilities(&args)?;
        capabilities.connections = live.tokens.clone();
        capabilities.http = match &args.record {
            Some(path) => {
                let recorder = Arc::new(Recorder::new(live.broker));
                recording = Some((path.clone(), recorder.clone(), live.tokens.connections()));
                recorder
            }
            None => live.broker,
        };
    }
    let component = target.component;
    let limits = limits_with(
        &component.limits,
        args.fuel,
        args.timeout_ms,
        args.memory_mb,
    );
    let request = ExecutionRequest {
        action: args.action,
        input,
        capabilities,
        limits: Some(limits),
        ..Default::default()
    };
    let mut wall_times = Vec::with_capacity(args.repeat as usize);
    let mut report = runtime.execute(&component, request.clone()).await;
    wall_times.push(report.wall_time_us);
    for _ in 1..args.repeat {
        report = runtime.execute(&component, request.clone()).await;
        wall_times.push(report.wall_time_us);
    }
    if let Some((path, recorder, connections)) = recording {
        recorder
            .save(&path, &connections)
            .with_context(|| format!("cannot write the recording to {}", path.display()))?;
        eprintln!("recorded     {}", path.display());
    }
    if let Outcome::Ok { data, metadata } = &report.outcome {
        let metadata: serde_json::Map<String, serde_json::Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let result = serde_json::json!({ "data": data, "metadata": metadata });
        println!("{}", serde_json::to_string_pretty(&result)?);
    }
    match args.report {
        ReportFormat::Json => eprintln!("{}", serde_json::to_string(&report)?),
        ReportFormat::Text => eprint!("{}", text_report(&report)),
    }
    if args.repeat > 1 {
        eprintln!("{}", spread(&mut wall_times));
    }
    Ok(match &report.outcome {
        Outcome::Ok { .. } => ExitCode::SUCCESS,
        Outcome::IntegrationError { error } => {
            eprintln!("error: integration-error {error}");
            ExitCode::FAILURE
        }
        Outcome::HostError { error } => {
            eprintln!("error: host-error {error}");
            ExitCode::FAILURE
        }
    })
}

/// An approved integration reaches only its approved hosts: every
/// `--allow-host` must be one of them.
fn check_approved(allow_host: &[String], approved: &[String]) -> anyhow::Result<()> {
    let approved_patterns: Vec<String> = approved
        .iter()
        .filter_map(|h| h.parse::<HostPattern>().ok())
        .map(|p| p.to_string())
        .collect();
    for pattern in allow_host {
        let parsed = pattern
            .parse::<HostPattern>()
            .with_context(|| format!("--allow-host `{pattern}`"))?;
        if !approved_patterns.contains(&parsed.to_string()) {
            bail!(
                "--allow-host `{pattern}` was not approved for this integration; it may reach: {}",
                if approved.is_empty() {
                    "nothing".to_string()
                } else {
                    approved.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// What live mode runs with.
struct Live {
    broker: Arc<dyn HttpBroker>,
    tokens: Arc<StaticTokens>,
}

/// The production egress broker limited to `--allow-host`, with
/// `--connection` tokens, `--resolve` overrides and `--ca-cert` roots.
fn live_capabilities(args: &RunArgs) -> anyhow::Result<Live> {
    let approved = args
        .allow_host
        .iter()
        .map(|p| {
            p.parse::<HostPattern>()
                .with_context(|| format!("--allow-host `{p}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let providers = Arc::new(ProviderRegistry::builtin());
    let tokens = Arc::new(StaticTokens::parse(providers, &args.connection)?);
    let config = EgressConfig {
        overrides: args.resolve.clone(),
        extra_root_certificates: args.ca_cert.clone(),
        ..EgressConfig::default()
    };
    let egress = Arc::new(
        Egress::new(config)
            .context("cannot set up outbound HTTP")?
            .with_credentials(tokens.clone()),
    );
    Ok(Live {
        broker: Arc::new(egress.broker(approved)),
        tokens,
    })
}

/// Median, p99 and extremes of per-execution wall times, in microseconds.
fn spread(wall_times: &mut [u64]) -> String {
    wall_times.sort_unstable();
    let at = |q: f64| {
        let index = ((wall_times.len() - 1) as f64 * q).round() as usize;
        wall_times[index]
    };
    format!(
        "repeat       {} executions: median {} µs, p99 {} µs, min {} µs, max {} µs",
        wall_times.len(),
        at(0.5),
        at(0.99),
        at(0.0),
        at(1.0)
    )
}

/// The report as aligned text.
pub fn text_report(r: &ExecutionReport) -> String {
    let outcome = match &r.outcome {
        Outcome::Ok { .. } => "ok".to_string(),
        // The message itself is printed once, on the closing `error:` line.
        Outcome::IntegrationError { error } => format!("integration-error {}", error.kind()),
        Outcome::HostError { error } => format!("host-error {}", error.kind()),
    };
    let class = serde_json::to_value(r.billing_class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str("── execution report ──\n");
    out.push_str(&format!("execution    {}\n", r.execution_id));
    out.push_str(&format!("component    {}\n", r.digest));
    out.push_str(&format!("action       {}\n", r.action));
    out.push_str(&format!("outcome      {outcome}\n"));
    out.push_str(&format!("fuel         {}\n", thousands(r.fuel_used)));
    out.push_str(&format!(
        "host calls   {} ({} units)\n",
        r.host_calls,
        thousands(r.host_call_units)
    ));
    out.push_str(&format!("http         {} requests\n", r.http_requests));
    out.push_str(&format!(
        "bytes        {} in, {} out\n",
        r.bytes_in, r.bytes_out
    ));
    out.push_str(&format!(
        "compute      {} units ({class})\n",
        thousands(r.compute_units)
    ));
    out.push_str(&format!("wall time    {} µs\n", thousands(r.wall_time_us)));
    out.push_str(&format!(
        "log          {} entries{}\n",
        r.log.entries.len(),
        if r.log.truncated() {
            format!(", {} bytes dropped", thousands(r.log.dropped_bytes))
        } else {
            String::new()
        }
    ));
    for entry in r.log.entries.iter().take(20) {
        out.push_str(&format!("  [{}] {}\n", entry.source, entry.message));
    }
    if r.log.entries.len() > 20 {
        out.push_str(&format!("  ... {} more\n", r.log.entries.len() - 20));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pairs_need_an_equals_sign() {
        let ok = parse_config(&["a=1".into(), "b=x=y".into()]).expect("valid");
        assert_eq!(ok["b"], "x=y");
        assert!(parse_config(&["novalue".into()]).is_err());
        assert!(parse_config(&["=v".into()]).is_err());
    }

    #[test]
    fn spread_reports_order_statistics() {
        let mut times: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(
            spread(&mut times),
            "repeat       100 executions: median 51 µs, p99 99 µs, min 1 µs, max 100 µs"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
