//! Compiled components are cached on disk and reused by a new runtime.

use workway_runtime::{Runtime, RuntimeConfig};

fn runtime_with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        max_concurrent_instances: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

fn cached_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for engine_dir in std::fs::read_dir(dir)
        .expect("cache dir exists")
        .flatten()
        .filter(|e| e.path().is_dir())
    {
        for file in std::fs::read_dir(engine_dir.path())
            .expect("engine dir")
            .flatten()
        {
            files.push(file.path());
        }
    }
    files
}

#[tokio::test]
async fn a_new_runtime_loads_the_serialized_component() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");

    let first = runtime_with_cache(dir.path());
    let loaded = first.load(&bytes).await.expect("loads");
    assert!(!loaded.from_cache);
    let files = cached_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .to_string_lossy()
            .ends_with(&format!("{}.cwasm", loaded.digest.to_hex()))
    );
    drop(first);

    let second = runtime_with_cache(dir.path());
    let again = second.load(&bytes).await.expect("loads from the cache");
    assert!(again.from_cache);
    assert_eq!(again.description, loaded.description);
    assert_greets(&second, &again).await;
    drop((again, second));

    // A corrupt cache entry is ignored and replaced, never loaded.
    std::fs::write(&files[0], b"not a compiled component").expect("corrupt the entry");
    let third = runtime_with_cache(dir.path());
    let recompiled = third.load(&bytes).await.expect("recompiles");
    assert_eq!(recompiled.digest, loaded.digest);
    assert!(!recompiled.from_cache);
    assert!(std::fs::metadata(&files[0]).expect("rewritten").len() > 1000);
}

async fn assert_greets(runtime: &Runtime, component: &workway_runtime::LoadedComponent) {
    let report = runtime
        .execute(
            component,
            workway_runtime::ExecutionRequest::new("greet", r#"{"name": "cache", "times": 1}"#),
        )
        .await;
    assert!(report.outcome.is_ok(), "{:?}", report.outcome);
}

/// Cache files are mapped, not copied, so a loaded component must survive
/// its file being removed and rewritten by another process's compile: the
/// cache replaces files by rename, never in place.
#[tokio::test]
async fn a_loaded_component_survives_its_cache_entry_being_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");
    runtime_with_cache(dir.path())
        .load(&bytes)
        .await
        .expect("compiles into the cache");
    let files = cached_files(dir.path());
    let mapped = runtime_with_cache(dir.path());
    let component = mapped.load(&bytes).await.expect("loads from the cache");
    assert!(component.from_cache);

    std::fs::remove_file(&files[0]).expect("remove the entry");
    let other = runtime_with_cache(dir.path());
    assert!(!other.load(&bytes).await.expect("recompiles").from_cache);
    assert!(files[0].exists(), "the entry is written again");

    for _ in 0..3 {
        assert_greets(&mapped, &component).await;
    }
}

/// The cache entry of the component with `digest` under `dir`.
fn entry_of(dir: &std::path::Path, digest: &workway_runtime::Digest) -> std::path::PathBuf {
    cached_files(dir)
        .into_iter()
        .find(|f| {
            f.to_string_lossy()
                .ends_with(&format!("{}.cwasm", digest.to_hex()))
        })
        .expect("an entry for the component")
}

#[tokio::test]
async fn a_cache_entry_is_trusted_only_if_this_host_wrote_it_for_that_component() {
    let well_behaved =
        std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");
    let evolving = std::fs::read(workway_test_artifacts::EVOLVING_V1).expect("test plugin built");
    let ours = tempfile::tempdir().expect("temp dir");
    let theirs = tempfile::tempdir().expect("temp dir");

    // Both hosts compile both components into their own caches.
    let mut digests = Vec::new();
    for dir in [ours.path(), theirs.path()] {
        let runtime = runtime_with_cache(dir);
        for bytes in [&well_behaved, &evolving] {
            let loaded = runtime.load(bytes).await.expect("compiles");
            assert!(!loaded.from_cache);
            digests.push(loaded.digest);
        }
    }
    let (wb, ev) = (digests[0], digests[1]);
    assert!(std::fs::metadata(ours.path().join("cache.key")).is_ok());
    assert_ne!(
        std::fs::read(ours.path().join("cache.key")).expect("key"),
        std::fs::read(theirs.path().join("cache.key")).expect("key"),
        "each host has its own key"
    );

    // Planted: another component's compiled code under this component's
    // name. Loading the file by its name would run `evolving`'s code as
    // `well-behaved`; it is compiled again instead.
    std::fs::copy(entry_of(ours.path(), &ev), entry_of(ours.path(), &wb)).expect("plant");
    let runtime = runtime_with_cache(ours.path());
    let loaded = runtime.load(&well_behaved).await.expect("recompiles");
    assert!(!loaded.from_cache, "a renamed entry is not loaded");
    assert_eq!(loaded.description.name, "well-behaved");
    assert_greets(&runtime, &loaded).await;
    drop((loaded, runtime));

    // Foreign: the same component's entry from another host's cache.
    std::fs::copy(entry_of(theirs.path(), &ev), entry_of(ours.path(), &ev)).expect("copy");
    let runtime = runtime_with_cache(ours.path());
    let loaded = runtime.load(&evolving).await.expect("recompiles");
    assert!(!loaded.from_cache, "another host's entry is not loaded");
    drop((loaded, runtime));

    // Both were rewritten by this host, and load from the cache again.
    let runtime = runtime_with_cache(ours.path());
    for bytes in [&well_behaved, &evolving] {
        assert!(runtime.load(bytes).await.expect("loads").from_cache);
    }
}
