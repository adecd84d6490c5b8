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
//!
//! Entries are evicted least recently used first, by modification time: a
//! hit sets its entry's time to now, and after each [`put`] the engine's
//! directory is trimmed to the budget (`RuntimeConfig::cache_max_mb`) by
//! removing the oldest entries, never the one just written (which may
//! alone exceed the budget). The same pass removes whole `wasmtime-<hash>`
//! directories of other engines (another wasmtime version or engine
//! configuration, whose entries this engine can never load) once nothing
//! in them has been written or loaded for [`FOREIGN_IDLE`], so hosts of two
//! versions sharing a root during an upgrade do not wipe each other's
//! entries; and temporary files older than [`STALE_TMP`], left by a write
//! that died. Nothing else under the root is touched: not `cache.key`, not
//! a file or directory of another name. The budget therefore bounds each
//! engine's directory; the root exceeds it only while engines of other
//! versions or configurations are in use beside this one.
//!
//! Removing an entry is safe while another process (or this one) has it
//! mapped: on Unix the name goes, the inode and its pages live on until
//! the last mapping is dropped, exactly as when [`put`] renames a new file
//! over an old one (where a mapped file cannot be removed, the removal
//! fails, is logged, and the entry stays until a later trim). Hosts
//! trimming the same directory at once only race to remove the same
//! files; a file already gone counts as removed. Eviction never fails a
//! load or a write: what it cannot do is logged and skipped.
//!
//! [`put`]: ComponentCache::put

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
/// What every engine directory's name starts with, before 16 hex digits.
const ENGINE_DIR_PREFIX: &str = "wasmtime-";
/// What a cached component's file name ends with.
const ENTRY_SUFFIX: &str = ".cwasm";
/// What the name of a temporary file made by `tempfile` starts with.
const TMP_PREFIX: &str = ".tmp";
/// Another engine's directory in which nothing has been written or loaded
/// for this long is removed whole.
const FOREIGN_IDLE: Duration = Duration::from_secs(24 * 60 * 60);
/// A temporary file this old is left from a write that died: removed.
const STALE_TMP: Duration = Duration::from_secs(60 * 60);

/// A directory of serialized components for one engine configuration.
pub struct ComponentCache {
    /// The cache root, holding the key and one directory per engine.
    root: PathBuf,
    dir: PathBuf,
    /// The directory's name: part of what each tag covers.
    engine_id: String,
    /// The host's cache key; without one the cache is off.
    key: Option<[u8; 32]>,
    /// The bytes this engine's entries may take; past it, after a write,
    /// the least recently used are removed.
    max_bytes: u64,
}

/// The cache budget in bytes for `cache_max_mb` MiB, or why it is refused.
pub(crate) fn budget_bytes(cache_max_mb: u64) -> Result<u64, String> {
    if cache_max_mb == 0 {
        return Err(
            "cache_max_mb = 0 leaves the compile cache no room: set it to at least 1 \
             (MiB; the default is 2048), or leave cache_dir unset to keep compiled \
             components in memory only"
                .into(),
        );
    }
    Ok(cache_max_mb.saturating_mul(1 << 20))
}

impl ComponentCache {
    /// The cache under `root` for `engine`'s configuration and version,
    /// whose entries may take `max_bytes` (see [`budget_bytes`]). If the
    /// host's cache key can be neither read nor made, the cache is off
    /// (components are compiled every time) and a warning says why.
    pub fn new(root: &Path, engine: &Engine, max_bytes: u64) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_id = format!("{ENGINE_DIR_PREFIX}{:016x}", hasher.finish());
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
            root: root.to_path_buf(),
            dir: root.join(&engine_id),
            engine_id,
            key,
            max_bytes,
        }
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}{ENTRY_SUFFIX}", digest.to_hex()))
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
    /// An authentic entry's modification time is set to now (through the
    /// open file, a metadata change only), so eviction keeps the entries
    /// in use; if that fails (a file of another owner), the entry merely
    /// ages as if unused.
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
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read a cache entry: {e}");
                return None;
            }
        };
        // Most recently used: the last to be evicted.
        let _ = entry.file.set_modified(SystemTime::now());
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
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
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
    /// file, then rename it over any old one), then trim the cache to its
    /// budget (see the module's documentation); trimming never fails the
    /// write.
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
        let path = self.path(digest);
        tmp.persist(&path).map_err(|e| e.error)?;
        self.trim(&path);
        Ok(())
    }

    /// Remove the least recently used entries of this engine until its
    /// entries fit the budget, keeping `written`; stale temporary files;
    /// and other engines' idle directories. Failures are logged, never
    /// returned; a file another process removed first counts as removed.
    fn trim(&self, written: &Path) {
        let now = SystemTime::now();
        if let Err(e) = self.trim_entries(written, now) {
            tracing::warn!(
                dir = %self.dir.display(),
                "cannot list the compile cache to trim it: {e}"
            );
        }
        if let Err(e) = self.remove_idle_engines(now) {
            tracing::warn!(
                dir = %self.root.display(),
                "cannot list the compile cache's root: {e}"
            );
        }
    }

    /// This engine's part of [`ComponentCache::trim`]: its entries over
    /// the budget and its stale temporary files. Only listing the
    /// directory can fail it; a file that cannot be removed is logged and
    /// skipped.
    fn trim_entries(&self, written: &Path, now: SystemTime) -> std::io::Result<()> {
        let mut entries = Vec::new();
        let mut total = 0u64;
        for item in std::fs::read_dir(&self.dir)? {
            let item = item?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            let is_entry = name.ends_with(ENTRY_SUFFIX);
            let is_tmp = name.starts_with(TMP_PREFIX);
            if !is_entry && !is_tmp {
                continue;
            }
            // `DirEntry::metadata` does not follow a symbolic link.
            let metadata = match item.metadata() {
                Ok(metadata) if metadata.is_file() => metadata,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::warn!(
                        path = %item.path().display(),
                        "cannot read a cache entry's size and age: {e}"
                    );
                    continue;
                }
            };
            let modified = metadata.modified().unwrap_or(now);
            if is_tmp {
                if age(now, modified) > STALE_TMP {
                    remove(&item.path(), "a stale temporary file");
                }
                continue;
            }
            total = total.saturating_add(metadata.len());
            entries.push((modified, item.path(), metadata.len()));
        }
        if total <= self.max_bytes {
            return Ok(());
        }
        // Oldest first; among equal times, by name, so hosts trimming at
        // once pick the same ones.
        entries.sort();
        for (_, path, len) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path != written && remove(&path, "a least recently used entry") {
                total = total.saturating_sub(len);
            }
        }
        Ok(())
    }

    /// Remove the directories of other engines (named `wasmtime-` and 16
    /// hex digits, like this engine's) in which nothing has been written
    /// or loaded for [`FOREIGN_IDLE`]. Nothing else under the root is
    /// touched. Only listing the root can fail it; a directory that cannot
    /// be read or removed is logged and skipped.
    fn remove_idle_engines(&self, now: SystemTime) -> std::io::Result<()> {
        for item in std::fs::read_dir(&self.root)? {
            let item = item?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if name == self.engine_id || !is_engine_dir_name(name) {
                continue;
            }
            // `DirEntry::file_type` does not follow a symbolic link.
            if !item.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            let path = item.path();
            let removed = match last_used(&path) {
                Ok(used) if age(now, used) > FOREIGN_IDLE => std::fs::remove_dir_all(&path),
                Ok(_) => continue,
                Err(e) => Err(e),
            };
            match removed {
                Ok(()) => tracing::debug!(
                    dir = %path.display(),
                    "removed another engine's idle compile cache"
                ),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(
                    dir = %path.display(),
                    "cannot remove another engine's idle compile cache: {e}"
                ),
            }
        }
        Ok(())
    }
}

/// Whether `name` is an engine directory's: `wasmtime-` and 16 lowercase
/// hex digits.
fn is_engine_dir_name(name: &str) -> bool {
    name.strip_prefix(ENGINE_DIR_PREFIX).is_some_and(|hash| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// When something in the engine directory `dir` was last written or
/// loaded: the newest modification time of its files (a hit sets its
/// entry's), or the directory's own if it holds none. The directory's own
/// time is not otherwise used: removing an entry changes it.
fn last_used(dir: &Path) -> std::io::Result<SystemTime> {
    let mut newest = None;
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        match item.metadata() {
            Ok(metadata) if metadata.is_file() => {
                let modified = metadata.modified()?;
                newest = Some(newest.map_or(modified, |n: SystemTime| n.max(modified)));
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    match newest {
        Some(newest) => Ok(newest),
        None => std::fs::symlink_metadata(dir)?.modified(),
    }
}

/// How long before `now` `then` was; zero if it is in the future.
fn age(now: SystemTime, then: SystemTime) -> Duration {
    now.duration_since(then).unwrap_or(Duration::ZERO)
}

/// Remove the cache file at `path` (`what` says which, for the log):
/// `true` if it is gone, whoever removed it. On Unix a process that has
/// the file mapped keeps its pages: only the name goes (elsewhere the
/// removal of a mapped file fails, is logged, and the file is kept).
fn remove(path: &Path, what: &str) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(
                path = %path.display(),
                "removed {what} from the compile cache"
            );
            true
        }
        Err(e) if e.kind() == ErrorKind::NotFound => true,
        Err(e) => {
            tracing::warn!(
                path = %path.display(),
                "cannot remove {what} from the compile cache: {e}"
            );
            false
        }
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
        Err(e) if e.kind() == ErrorKind::NotFound => {}
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
        Err(e) if e.error.kind() == ErrorKind::AlreadyExists => read(&path),
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

    /// Four distinct components, compiled.
    fn four(engine: &Engine) -> [(Digest, Component); 4] {
        [
            workway_test_artifacts::WELL_BEHAVED,
            workway_test_artifacts::ADVERSARIAL,
            workway_test_artifacts::EVOLVING_V1,
            workway_test_artifacts::EVOLVING_V2,
        ]
        .map(|path| compile(engine, path))
    }

    /// A cache under `root` with no budget to speak of until a test sets one.
    fn unbounded(root: &Path, engine: &Engine) -> ComponentCache {
        ComponentCache::new(root, engine, u64::MAX)
    }

    fn set_modified(path: &Path, time: SystemTime) {
        File::open(path)
            .expect("open")
            .set_modified(time)
            .expect("set the modification time");
    }

    fn modified(path: &Path) -> SystemTime {
        std::fs::metadata(path)
            .expect("metadata")
            .modified()
            .expect("modification time")
    }

    /// Put each entry in the cache, last used `hours` ago.
    fn put_aged<const N: usize>(cache: &ComponentCache, aged: [(u64, &(Digest, Component)); N]) {
        for (hours, (digest, component)) in aged {
            cache.put(digest, component).expect("cached");
            set_modified(&cache.path(digest), hours_ago(hours));
        }
    }

    fn hours_ago(hours: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(hours * 3600)
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).expect("metadata").len()
    }

    /// The entries in the cache's engine directory, by name.
    fn entries(cache: &ComponentCache) -> Vec<PathBuf> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&cache.dir)
            .expect("engine dir")
            .map(|item| item.expect("listed").path())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn past_its_budget_the_cache_drops_the_least_recently_used_entry() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cache = unbounded(dir.path(), &engine);
        let [a, b, c, d] = four(&engine);
        put_aged(&cache, [(3, &a), (2, &b), (1, &c)]);
        // Room for every entry but `a`, the oldest, once `d` is in.
        cache.put(&d.0, &d.1).expect("cached");
        let [pa, pb, pc, pd] = [&a, &b, &c, &d].map(|(digest, _)| cache.path(digest));
        cache.max_bytes = size(&pb) + size(&pc) + size(&pd);
        std::fs::remove_file(&pd).expect("removed");
        cache.put(&d.0, &d.1).expect("cached");

        let mut kept = vec![pb, pc, pd];
        kept.sort();
        assert_eq!(entries(&cache), kept, "only the oldest entry, {pa:?}, goes");
        assert!(cache.get(&engine, &a.0).is_none());
        assert!(cache.get(&engine, &b.0).is_some());
    }

    #[test]
    fn a_hit_keeps_an_entry_from_eviction() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cache = unbounded(dir.path(), &engine);
        let [a, b, c, d] = four(&engine);
        put_aged(&cache, [(3, &a), (2, &b), (1, &c)]);
        let [pa, pb, pc] = [&a, &b, &c].map(|(digest, _)| cache.path(digest));

        // `a` was written first but is used now: `b` is the least recently used.
        assert!(cache.get(&engine, &a.0).is_some(), "a hit");
        assert!(modified(&pa) > modified(&pc), "the hit refreshed its entry");
        // Room for `a`, `c` and `d` (whose size a first put tells).
        let pd = cache.path(&d.0);
        cache.put(&d.0, &d.1).expect("cached");
        cache.max_bytes = size(&pa) + size(&pc) + size(&pd);
        std::fs::remove_file(&pd).expect("removed");
        cache.put(&d.0, &d.1).expect("cached");

        let mut kept = vec![pa, pc, pd];
        kept.sort();
        assert_eq!(entries(&cache), kept, "{pb:?} is evicted, not the hit");
        assert!(cache.get(&engine, &a.0).is_some());
    }

    #[test]
    fn the_entry_just_written_stays_even_alone_over_the_budget() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = ComponentCache::new(dir.path(), &engine, 1);
        let [a, b, ..] = four(&engine);
        cache.put(&a.0, &a.1).expect("cached");
        assert_eq!(entries(&cache), vec![cache.path(&a.0)]);
        assert!(
            cache.get(&engine, &a.0).is_some(),
            "loads though over budget"
        );
        // Newer than `b` will be, so age alone would keep `a`, not `b`.
        set_modified(
            &cache.path(&a.0),
            SystemTime::now() + Duration::from_secs(3600),
        );
        cache.put(&b.0, &b.1).expect("cached");
        assert_eq!(entries(&cache), vec![cache.path(&b.0)]);
        assert!(cache.get(&engine, &b.0).is_some());
    }

    #[test]
    fn trimming_removes_idle_engines_and_stale_temporary_files_and_nothing_else() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let cache = unbounded(root, &engine);
        let [a, b, ..] = four(&engine);
        cache.put(&a.0, &a.1).expect("cached");
        let key = std::fs::read(root.join(KEY_FILE)).expect("the key");

        // Another engine's directory, unused for two days.
        let idle = root.join("wasmtime-0123456789abcdef");
        std::fs::create_dir(&idle).expect("made");
        std::fs::write(idle.join("old.cwasm"), b"old code").expect("written");
        std::fs::create_dir(idle.join("nested")).expect("made");
        set_modified(&idle.join("old.cwasm"), hours_ago(48));
        // Another engine's directory, one of whose entries was used an hour ago.
        let busy = root.join("wasmtime-fedcba9876543210");
        std::fs::create_dir(&busy).expect("made");
        std::fs::write(busy.join("old.cwasm"), b"old code").expect("written");
        std::fs::write(busy.join("used.cwasm"), b"used code").expect("written");
        set_modified(&busy.join("old.cwasm"), hours_ago(48));
        set_modified(&busy.join("used.cwasm"), hours_ago(1));
        // Not engine directories, however old.
        let unrelated = [
            root.join("wasmtime-backup"),
            root.join("wasmtime-0123456789ABCDEF"),
            root.join("wasmtime-0123456789abcdef0"),
            root.join("notes"),
        ];
        for path in &unrelated {
            std::fs::create_dir(path).expect("made");
            std::fs::write(path.join("old.cwasm"), b"kept").expect("written");
            set_modified(&path.join("old.cwasm"), hours_ago(48));
        }
        let plain = root.join("wasmtime-00000000000000aa");
        std::fs::write(&plain, b"a file, not a directory").expect("written");
        set_modified(&plain, hours_ago(48));
        // Temporary files in this engine's directory: one left by a write
        // that died, one being written now.
        let stale = cache.dir.join(".tmpSTALE1");
        let fresh = cache.dir.join(".tmpFRESH1");
        std::fs::write(&stale, b"partial").expect("written");
        std::fs::write(&fresh, b"partial").expect("written");
        set_modified(&stale, hours_ago(2));

        cache.put(&b.0, &b.1).expect("cached");

        assert!(!idle.exists(), "the idle engine's directory is removed");
        assert!(
            busy.join("old.cwasm").exists(),
            "a busy engine's is kept whole"
        );
        for path in &unrelated {
            assert!(path.join("old.cwasm").exists(), "{path:?} is kept");
        }
        assert!(plain.exists());
        assert!(!stale.exists(), "the stale temporary file is removed");
        assert!(fresh.exists(), "the fresh one is kept");
        assert_eq!(std::fs::read(root.join(KEY_FILE)).expect("the key"), key);
        assert!(cache.get(&engine, &a.0).is_some());
        assert!(cache.get(&engine, &b.0).is_some());
    }

    #[test]
    fn a_budget_of_zero_is_refused_with_what_to_write() {
        let refused = crate::Runtime::new(crate::RuntimeConfig {
            cache_max_mb: 0,
            ..Default::default()
        })
        .err()
        .expect("refused")
        .to_string();
        assert!(refused.contains("cache_max_mb = 0"), "{refused}");
        assert!(refused.contains("at least 1"), "{refused}");
        assert!(refused.contains("cache_dir unset"), "{refused}");
        assert_eq!(budget_bytes(1), Ok(1 << 20));
        assert_eq!(budget_bytes(u64::MAX), Ok(u64::MAX));
    }

    /// The tag is checked on one open file and wasmtime maps a file: the
    /// mapped file must be the checked one, not whatever the entry's name
    /// points to by then.
    #[test]
    fn an_entry_swapped_by_rename_after_its_check_is_not_what_loads() {
        let engine = Engine::default();
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = unbounded(dir.path(), &engine);
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
        let cache = unbounded(dir.path(), &engine);
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
