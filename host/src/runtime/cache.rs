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
    /// The file is mapped, not read: only the pages an execution touches are
    /// faulted in, from the page cache, instead of copying the whole
    /// artifact twice (into a buffer, then into executable memory). A
    /// mapped file must never change while it is loaded; [`put`] never
    /// changes one in place (it writes a new file and renames it over the
    /// old, whose inode lives on for whoever mapped it), and nothing else
    /// writes the cache directory.
    ///
    /// [`put`]: ComponentCache::put
    pub fn get(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let path = self.path(digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file was written by `put` below from
        // `Component::serialize` of this engine configuration (the directory
        // is keyed by its compatibility hash); wasmtime checks the header and
        // version and refuses anything else. The cache directory belongs to
        // the host operator, never to plugin code, and its files are replaced
        // only by rename, so a mapped file is never modified (see above).
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize_file(engine, &path) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e:#}");
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
