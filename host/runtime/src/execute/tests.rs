//! Fuel metering when epochs interrupt the guest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use workway_capabilities::Capabilities;
use workway_report::Outcome;
use workway_report::config::RuntimeConfig;

use crate::{ExecutionRequest, Runtime};

/// `greet` reads its configuration (a host call whose string result the
/// host writes into guest memory through the guest's `cabi_realloc`) and
/// logs (another host call). The execution id is fixed: the guest copies
/// it into its output, so a longer one costs more fuel.
fn greet() -> ExecutionRequest {
    let config = BTreeMap::from([("greeting-word".to_string(), "Hi".to_string())]);
    ExecutionRequest {
        capabilities: Capabilities::none().with_config(config),
        execution_id: Some("fuel-under-interruption".into()),
        ..ExecutionRequest::new("greet", r#"{"name": "Ada", "times": 2}"#)
    }
}

/// A guest's fuel is the same number for the same input however often the
/// epoch interrupts it, including inside a host call's `cabi_realloc` (see
/// `charge_host_fuel`): taking host-call fuel there was lost, and a light
/// execution under load reported 0 guest fuel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_fuel_does_not_depend_on_epoch_interruptions() {
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let bytes = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");
    let component = runtime.load(&bytes).await.expect("loads");
    let quiet = runtime.execute(&component, greet()).await;
    assert!(
        matches!(quiet.outcome, Outcome::Ok { .. }),
        "{:?}",
        quiet.outcome
    );
    assert!(quiet.fuel_used > 0);
    assert!(quiet.host_calls >= 2, "config and log calls are counted");

    // Advance the epoch as fast as a thread can, so that nearly every
    // deadline check in the guest runs the deadline callback (and yields).
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (runtime.engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                engine.increment_epoch();
            }
        })
    };
    let mut fuel = Vec::new();
    for _ in 0..200 {
        let report = runtime.execute(&component, greet()).await;
        assert!(
            matches!(report.outcome, Outcome::Ok { .. }),
            "{:?}",
            report.outcome
        );
        assert_eq!(report.host_calls, quiet.host_calls);
        fuel.push(report.fuel_used);
    }
    stop.store(true, Ordering::Relaxed);
    ticker.join().expect("the ticker thread ends");
    let differing: Vec<u64> = fuel.into_iter().filter(|f| *f != quiet.fuel_used).collect();
    assert!(
        differing.is_empty(),
        "{} of 200 interrupted executions reported guest fuel other than the {} of an \
         uninterrupted one: {differing:?}",
        differing.len(),
        quiet.fuel_used
    );
}
