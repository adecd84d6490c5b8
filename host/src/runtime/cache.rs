//! The on-disk cache of compiled components, keyed by the component's
//! digest and the engine's compatibility hash, so a restart (or a second
//! process) loads a component in milliseconds instead of recompiling it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use workway_registry::Digest;

/// A directory of serialized components for one engine configuration.
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// The cache under `root` for `engine`'s configuration and version.
    pub fn new(root: &Path, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("wasmtime-{:016x}", hasher.finish()));
        ComponentCache { dir }
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.to_hex()))
    }

    /// The compiled component for `digest`, if cached and loadable.
    ///
    /// The file is read into memory rather than mapped, so a cache file
    /// replaced or damaged while a component is loaded can never fault a
    /// running execution.
    pub fn get(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let path = self.path(digest);
        let bytes = std::fs::read(&path).ok()?;
        // SAFETY: the file was written by `put` below from `Component::serialize`
        // of this engine configuration (the directory is keyed by its
        // compatibility hash); wasmtime checks the header and version and
        // refuses anything else. The cache directory belongs to the host
        // operator, never to plugin code.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, &bytes) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e}");
                None
            }
        }
    }

    /// Store `component` under `digest`, atomically (write then rename).
    pub fn put(&self, digest: &Digest, component: &Component) -> std::io::Result<()> {
        let bytes = component
            .serialize()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&bytes)?;
        tmp.persist(self.path(digest)).map_err(|e| e.error)?;
        Ok(())
    }
}
