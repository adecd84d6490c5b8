//! The on-disk cache of compiled components, keyed by the component's
//! digest and the engine's compatibility hash, so a restart (or a second
//! process) loads a component in milliseconds instead of recompiling it.
//!
//! Compiled code is machine code this process will execute, so an entry is
//! never trusted for its file name: each one carries a keyed BLAKE3 tag
//! (a MAC, as HMAC is, at several times SHA-256's speed: the tag is checked
//! on every load, over tens of MiB for an interpreter's component) over
//! the engine directory, the component's digest and the compiled bytes,
//! keyed by a secret of this host (`cache.key` beside the entries, 32
//! random bytes made on first use, readable by the host's user only). An
//! entry whose tag does not verify (written by another host, planted,
//! renamed from another component's entry, altered) is compiled again and
//! replaced, never deserialized.
//!
//! The tag and magic come after the compiled bytes, so that an entry
//! starts with wasmtime's own artifact and can be mapped from its file as
//! it is (see [`ComponentCache::get`]).
//!
//! ```text
//! <root>/cache.key                      the host's cache key
//! <root>/wasmtime-<hash>/<hex>.cwasm    the compiled component, the 32-byte tag, "WWCACHE3"
//! ```

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use workway_registry::Digest;

/// Every entry ends with these bytes, after its tag.
const MAGIC: &[u8; 8] = b"WWCACHE3";
/// The length of an entry's tag.
const TAG_LEN: usize = 32;
/// The tag and the magic that end an entry.
const TRAILER_LEN: usize = TAG_LEN + MAGIC.len();
/// How much of an entry is read (and hashed) at a time: small enough to
/// stay in the CPU cache, large enough to need few reads.
const CHUNK: usize = 64 * 1024;
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

    /// The MAC of an entry for `digest` whose compiled bytes are
    /// `compiled_len` long, before those bytes are fed to it.
    fn mac(&self, key: &[u8; 32], digest: &Digest, compiled_len: u64) -> blake3::Hasher {
        let mut mac = blake3::Hasher::new_keyed(key);
        mac.update(b"workway-compiled-component-v3\n");
        mac.update(self.engine_id.as_bytes());
        mac.update(b"\n");
        mac.update(digest.to_hex().as_bytes());
        mac.update(b"\n");
        mac.update(&compiled_len.to_le_bytes());
        mac
    }

    /// The compiled component for `digest`, if cached, authentic and
    /// loadable.
    ///
    /// The entry is opened once, its tag checked by reading it through that
    /// open file, and wasmtime then maps that same open file (on Linux, by
    /// `/proc/self/fd/<n>`, which names the open inode, not the directory
    /// entry), so only the pages an execution touches are faulted in, from
    /// the page cache, instead of the artifact being copied into a buffer
    /// and again into executable memory. A rename of another file over the
    /// entry's name between the check and the mapping therefore changes
    /// nothing: what is mapped is the inode that was checked. Its content
    /// cannot change either: [`put`] never writes an entry in place (it
    /// writes a new file, mode 0600, and renames it over the old one, whose
    /// inode lives on for whoever holds it), so writing into an entry takes
    /// the host user's own rights, which also read the key. Where the open
    /// inode cannot be named, the checked file is read into memory instead.
    ///
    /// [`put`]: ComponentCache::put
    pub fn get(&self, engine: &Engine, digest: &Digest) -> Option<Component> {
        let key = self.key.as_ref()?;
        let path = self.path(digest);
        let entry = match self.open_authentic(key, digest, &path) {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                tracing::warn!(
                    path = %path.display(),
                    "ignoring a cache entry this host did not write for this component; compiling again"
                );
                return None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read a cache entry: {e}");
                return None;
            }
        };
        match entry.load(engine) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e:#}");
                None
            }
        }
    }

    /// The entry at `path`, open, if its magic and tag hold for `digest`;
    /// `None` if they do not.
    fn open_authentic(
        &self,
        key: &[u8; 32],
        digest: &Digest,
        path: &Path,
    ) -> std::io::Result<Option<Authentic>> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let Some(compiled_len) = len.checked_sub(TRAILER_LEN as u64) else {
            return Ok(None);
        };
        let mut mac = self.mac(key, digest, compiled_len);
        let mut buf = vec![0u8; CHUNK];
        let mut compiled = (&mut file).take(compiled_len);
        let mut hashed = 0u64;
        loop {
            let read = match compiled.read(&mut buf) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            mac.update(&buf[..read]);
            hashed += read as u64;
        }
        let mut trailer = [0u8; TRAILER_LEN];
        if hashed != compiled_len || file.read_exact(&mut trailer).is_err() {
            return Ok(None);
        }
        let (tag, magic) = trailer.split_at(TAG_LEN);
        // `blake3::Hash` compares in constant time.
        let authentic = <[u8; TAG_LEN]>::try_from(tag)
            .is_ok_and(|tag| blake3::Hash::from_bytes(tag) == mac.finalize());
        if magic != MAGIC.as_slice() || !authentic {
            return Ok(None);
        }
        Ok(Some(Authentic { file, compiled_len }))
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
        let mut mac = self.mac(key, digest, compiled.len() as u64);
        mac.update(&compiled);
        let tag = *mac.finalize().as_bytes();
        std::fs::create_dir_all(&self.dir)?;
        // A new temporary file is mode 0600: only the host's user can write it.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&compiled)?;
        tmp.write_all(&tag)?;
        tmp.write_all(MAGIC)?;
        tmp.persist(self.path(digest)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// An open cache entry whose tag verified.
struct Authentic {
    file: File,
    /// The length of the compiled bytes, before the trailer.
    compiled_len: u64,
}

impl Authentic {
    /// The component in this entry: mapped from the open file where it can
    /// be named, read from it otherwise.
    fn load(mut self, engine: &Engine) -> wasmtime::Result<Component> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd as _;
            let open_inode = PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()));
            if open_inode.is_file() {
                // SAFETY: `open_inode` names the file `open_authentic` opened
                // and checked (this process holds it open until wasmtime has
                // opened it again; the name follows the open file, not the
                // directory entry, so a rename over the entry does not change
                // what it names). Its bytes carry a valid tag under this
                // host's secret key for this digest and engine directory, so
                // they are what `put` wrote from `Component::serialize` of
                // this engine configuration, and entries are never written in
                // place, so the mapped pages stay those bytes (see `get`).
                // Wasmtime also checks the header and version and refuses
                // anything else; the trailer after its artifact is ignored.
                #[allow(unsafe_code)]
                return unsafe { Component::deserialize_file(engine, &open_inode) };
            }
        }
        let mut compiled = Vec::with_capacity(usize::try_from(self.compiled_len)?);
        self.file.seek(SeekFrom::Start(0))?;
        (&mut self.file)
            .take(self.compiled_len)
            .read_to_end(&mut compiled)?;
        // SAFETY: these are the bytes whose tag `open_authentic` checked,
        // read again from the same open file, which is never written in
        // place (see `get`); they are an owned copy, so nothing changes them
        // while wasmtime loads them. Wasmtime also checks the header and
        // version and refuses anything else.
        #[allow(unsafe_code)]
        unsafe {
            Component::deserialize(engine, &compiled)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The names a component imports, which tell two components apart.
    fn imports(engine: &Engine, component: &Component) -> Vec<String> {
        component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    fn compile(engine: &Engine, path: &str) -> (Digest, Component) {
        let bytes = std::fs::read(path).expect("test plugin built");
        let component = Component::new(engine, &bytes).expect("compiles");
        (Digest::of(&bytes), component)
    }

    /// The tag is checked on one open file and wasmtime maps a file: the
    /// mapped file must be the checked one, not whatever the entry's name
    /// points to by then.
    #[test]
    fn an_entry_swapped_by_rename_after_its_check_is_not_what_loads() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = ComponentCache::new(dir.path(), &engine);
        let key = cache.key.expect("the cache has a key");
        let (digest, checked) = compile(&engine, workway_test_artifacts::WELL_BEHAVED);
        let (_, planted) = compile(&engine, workway_test_artifacts::IMPORTS_FILESYSTEM);
        assert_ne!(imports(&engine, &checked), imports(&engine, &planted));
        cache.put(&digest, &checked).expect("cached");

        let path = cache.path(&digest);
        let entry = cache
            .open_authentic(&key, &digest, &path)
            .expect("readable")
            .expect("authentic");
        let swap = dir.path().join("planted.cwasm");
        std::fs::write(&swap, planted.serialize().expect("serializes")).expect("written");
        std::fs::rename(&swap, &path).expect("renamed over the entry");

        let loaded = entry.load(&engine).expect("loads");
        assert_eq!(imports(&engine, &loaded), imports(&engine, &checked));
        assert!(
            cache.get(&engine, &digest).is_none(),
            "the planted file itself is refused"
        );
    }

    #[test]
    fn an_entry_altered_in_its_compiled_bytes_is_not_loaded() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = ComponentCache::new(dir.path(), &engine);
        let (digest, component) = compile(&engine, workway_test_artifacts::WELL_BEHAVED);
        cache.put(&digest, &component).expect("cached");
        assert!(cache.get(&engine, &digest).is_some());

        let path = cache.path(&digest);
        let mut bytes = std::fs::read(&path).expect("entry");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&path, &bytes).expect("altered");
        assert!(cache.get(&engine, &digest).is_none());
    }
}
