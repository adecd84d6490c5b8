//! The on-disk cache of compiled components, keyed by the component's
//! digest and the engine's compatibility hash, so a restart (or a second
//! process) loads a component in milliseconds instead of recompiling it.
//!
//! Compiled code is machine code this process will execute, so an entry is
//! never trusted for its file name: each one carries an HMAC-SHA256 over
//! the engine directory, the component's digest and the compiled bytes,
//! keyed by a secret of this host (`cache.key` beside the entries, 32
//! random bytes made on first use, readable by the host's user only). An
//! entry whose tag does not verify (written by another host, planted,
//! renamed from another component's entry, altered) is compiled again and
//! replaced, never deserialized.
//!
//! ```text
//! <root>/cache.key                      the host's cache key
//! <root>/wasmtime-<hash>/<hex>.cwasm    "WWCACHE1", the 32-byte tag, the compiled component
//! ```

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use workway_registry::Digest;

/// Every entry starts with these bytes.
const MAGIC: &[u8; 8] = b"WWCACHE1";
/// The length of an entry's tag.
const TAG_LEN: usize = 32;
/// The name of the key file under the cache root.
const KEY_FILE: &str = "cache.key";

/// A directory of serialized components for one engine configuration.
pub struct ComponentCache {
    dir: PathBuf,
    /// The directory's name: part of what each tag covers.
    engine_id: String,
    /// The host's cache key; without one the cache is off.
    key: Option<[u8; 32]>,
}

impl ComponentCache {
    /// The cache under `root` for `engine`'s configuration and version. If
    /// the host's cache key can be neither read nor made, the cache is off
    /// (components are compiled every time) and a warning says why.
    pub fn new(root: &Path, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_id = format!("wasmtime-{:016x}", hasher.finish());
        let key = match load_or_make_key(root) {
            Ok(key) => Some(key),
            Err(e) => {
                tracing::warn!(
                    path = %root.join(KEY_FILE).display(),
                    "the compiled-code cache is off: its key cannot be read or made: {e}"
                );
                None
            }
        };
        ComponentCache {
            dir: root.join(&engine_id),
            engine_id,
            key,
        }
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.to_hex()))
    }

    /// The tag of `compiled` stored as the entry for `digest`.
    fn mac(&self, key: &[u8; 32], digest: &Digest, compiled: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"workway-compiled-component-v1\n");
        mac.update(self.engine_id.as_bytes());
        mac.update(b"\n");
        mac.update(digest.to_hex().as_bytes());
        mac.update(b"\n");
        mac.update(compiled);
        mac
    }

    /// The compiled component for `digest`, if cached, authentic and
    /// loadable.
    ///
    /// The entry is read whole and its tag checked before wasmtime sees a
    /// byte of it; wasmtime then copies the checked bytes, so a file
    /// changed after the check is never what runs.
    pub fn get(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let key = self.key.as_ref()?;
        let path = self.path(digest);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read a cache entry: {e}");
                return None;
            }
        };
        let Some(compiled) = self.authentic(key, digest, &bytes) else {
            tracing::warn!(
                path = %path.display(),
                "ignoring a cache entry this host did not write for this component; compiling again"
            );
            return None;
        };
        // SAFETY: the bytes carry a valid tag under this host's secret key
        // for this digest and engine directory, so they are what `put` below
        // wrote from `Component::serialize` of this engine configuration;
        // wasmtime also checks the header and version and refuses anything
        // else. They are an owned copy, so nothing changes them while
        // wasmtime loads them.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, compiled) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e:#}");
                None
            }
        }
    }

    /// The compiled bytes of `entry` if its magic and tag hold.
    fn authentic<'a>(&self, key: &[u8; 32], digest: &Digest, entry: &'a [u8]) -> Option<&'a [u8]> {
        let rest = entry.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < TAG_LEN {
            return None;
        }
        let (tag, compiled) = rest.split_at(TAG_LEN);
        self.mac(key, digest, compiled).verify_slice(tag).ok()?;
        Some(compiled)
    }

    /// Store `component` under `digest`, tagged, atomically (write a new
    /// file, then rename it over any old one).
    pub fn put(&self, digest: &Digest, component: &Component) -> std::io::Result<()> {
        let Some(key) = self.key.as_ref() else {
            return Ok(());
        };
        let compiled = component
            .serialize()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let tag = self.mac(key, digest, &compiled).finalize().into_bytes();
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&tag)?;
        tmp.write_all(&compiled)?;
        tmp.persist(self.path(digest)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The host's cache key under `root`, made (32 random bytes, mode 0600) on
/// first use. Two processes making it at once agree: the file is written
/// under a temporary name and linked into place only if none exists.
fn load_or_make_key(root: &Path) -> std::io::Result<[u8; 32]> {
    let path = root.join(KEY_FILE);
    let read = |path: &Path| -> std::io::Result<[u8; 32]> {
        std::fs::read(path)?.try_into().map_err(|_| {
            std::io::Error::other("the key file is not 32 bytes; remove it to make a new key")
        })
    };
    match read(&path) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(root)?;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(root)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(&key)?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(key),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e.error),
    }
}
