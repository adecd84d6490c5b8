//! Content-addressed artifact storage: every component is a file named by
//! the sha256 of its bytes.
//!
//! Files live under one directory, opened once as a `cap-std` [`Dir`]: every
//! later path is resolved inside it, so no name (`../x`, an absolute path, a
//! symlink planted in the folder) can reach outside. A write goes to a
//! temporary file in the same directory, is synced, then renamed into place,
//! so a reader sees a whole artifact or none. Every read recomputes the
//! digest: a tampered or truncated file is refused, never handed out.
//!
//! ```text
//! <root>/sha256/<64 hex digits>   the artifacts
//! <root>/tmp/                     writes in progress
//! ```

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use crate::digest::{Digest, Digested};

/// The largest component the store accepts by default (32 MiB).
pub const DEFAULT_MAX_SIZE: u64 = 32 << 20;

/// Why an artifact cannot be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The storage directory cannot be used.
    #[error("artifact storage {path}: {cause}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// The I/O error (shown in the message, not chained as a source,
        /// so a report never states it twice).
        cause: std::io::Error,
    },
    /// Reading or writing a file failed.
    #[error("artifact {digest}: {cause}")]
    Io {
        /// The artifact.
        digest: Digest,
        /// The I/O error (shown in the message, not chained as a source,
        /// so a report never states it twice).
        cause: std::io::Error,
    },
    /// No artifact has this digest.
    #[error("no artifact {0} is stored")]
    Missing(Digest),
    /// The stored bytes no longer hash to their name: the file was altered
    /// or cut short after it was written. It is not loaded.
    #[error(
        "artifact {expected} is corrupt: its bytes hash to {actual}; it was altered or truncated on disk and will not be loaded"
    )]
    Corrupt {
        /// The digest the file is stored under.
        expected: Digest,
        /// What its bytes hash to now.
        actual: Digest,
    },
    /// The component is over the size limit.
    #[error("the component is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

/// Components stored by digest under one directory.
#[derive(Debug)]
pub struct ArtifactStore {
    root: PathBuf,
    dir: Dir,
    max_size: u64,
}

const ARTIFACTS: &str = "sha256";
const TMP: &str = "tmp";

impl ArtifactStore {
    /// Open (creating it if missing) the storage directory at `root`.
    pub fn open(root: &Path) -> Result<Self, ArtifactError> {
        let open_error = |cause| ArtifactError::Open {
            path: root.to_path_buf(),
            cause,
        };
        std::fs::create_dir_all(root).map_err(open_error)?;
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(open_error)?;
        for sub in [ARTIFACTS, TMP] {
            dir.create_dir_all(sub).map_err(open_error)?;
        }
        Ok(ArtifactStore {
            root: root.to_path_buf(),
            dir,
            max_size: DEFAULT_MAX_SIZE,
        })
    }

    /// The same store with a different size limit.
    pub fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// The size limit.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Where the store lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Store `bytes`; their digest. Storing the same bytes again is a no-op
    /// (a damaged copy already there is replaced).
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, ArtifactError> {
        let size = bytes.len() as u64;
        if size > self.max_size {
            return Err(ArtifactError::TooLarge {
                size,
                limit: self.max_size,
            });
        }
        let digest = Digest::of(bytes);
        match self.get(&digest) {
            Ok(_) => return Ok(digest),
            Err(ArtifactError::Missing(_) | ArtifactError::Corrupt { .. }) => {}
            Err(other) => return Err(other),
        }
        let io = |cause| ArtifactError::Io { digest, cause };
        let tmp_name = format!("{TMP}/{}.{}", digest.to_hex(), unique_suffix());
        let written = (|| {
            let mut file = self
                .dir
                .open_with(&tmp_name, OpenOptions::new().write(true).create_new(true))?;
            file.write_all(bytes)?;
            file.sync_all()?;
            self.dir
                .rename(&tmp_name, &self.dir, artifact_path(&digest))
        })();
        if let Err(e) = written {
            // Best effort: the temporary file is garbage either way.
            let _ = self.dir.remove_file(&tmp_name);
            return Err(io(e));
        }
        Ok(digest)
    }

    /// The bytes stored under `digest`, verified against it (and carrying
    /// it, so nobody downstream hashes them again).
    pub fn get(&self, digest: &Digest) -> Result<Digested, ArtifactError> {
        let mut file = match self.dir.open(artifact_path(digest)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArtifactError::Missing(*digest));
            }
            Err(cause) => {
                return Err(ArtifactError::Io {
                    digest: *digest,
                    cause,
                });
            }
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|cause| ArtifactError::Io {
                digest: *digest,
                cause,
            })?;
        Digested::expecting(bytes, digest).map_err(|actual| ArtifactError::Corrupt {
            expected: *digest,
            actual,
        })
    }

    /// Whether a file is stored under `digest` (not verified; use [`get`](Self::get)).
    pub fn contains(&self, digest: &Digest) -> bool {
        self.dir.exists(artifact_path(digest))
    }
}

fn artifact_path(digest: &Digest) -> String {
    format!("{ARTIFACTS}/{}", digest.to_hex())
}

/// A random suffix for temporary names, so concurrent writers never share one.
fn unique_suffix() -> String {
    let mut bytes = [0u8; 8];
    // A clock fallback keeps writes working where randomness is unavailable.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos as u64).to_le_bytes();
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ArtifactStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ArtifactStore::open(&dir.path().join("artifacts")).expect("opens");
        (dir, store)
    }

    #[test]
    fn bytes_come_back_by_digest() {
        let (_dir, store) = store();
        let digest = store.put(b"a component").expect("stored");
        assert_eq!(digest, Digest::of(b"a component"));
        assert_eq!(store.get(&digest).expect("read").bytes(), b"a component");
        assert_eq!(store.put(b"a component").expect("again"), digest);
        assert!(matches!(
            store.get(&Digest::of(b"other")),
            Err(ArtifactError::Missing(_))
        ));
    }

    #[test]
    fn a_flipped_byte_or_a_truncation_is_refused() {
        let (dir, store) = store();
        let digest = store.put(b"0123456789").expect("stored");
        let path = dir.path().join("artifacts/sha256").join(digest.to_hex());
        std::fs::write(&path, b"0123456788").expect("tamper");
        let err = store.get(&digest).unwrap_err();
        assert!(matches!(err, ArtifactError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("will not be loaded"), "{err}");
        std::fs::write(&path, b"01234").expect("truncate");
        assert!(matches!(
            store.get(&digest),
            Err(ArtifactError::Corrupt { .. })
        ));
        // Submitting the real bytes again repairs the entry.
        store.put(b"0123456789").expect("stored again");
        assert_eq!(store.get(&digest).expect("repaired").bytes(), b"0123456789");
    }

    #[test]
    fn oversized_components_are_refused_and_nothing_escapes_the_directory() {
        let (dir, store) = store();
        let store = store.with_max_size(4);
        assert!(matches!(
            store.put(b"12345"),
            Err(ArtifactError::TooLarge { size: 5, limit: 4 })
        ));
        // A symlink planted in the store pointing outside it is not followed.
        let outside = dir.path().join("secret");
        std::fs::write(&outside, b"1234").expect("write");
        let digest = Digest::of(b"1234");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                &outside,
                dir.path().join("artifacts/sha256").join(digest.to_hex()),
            )
            .expect("symlink");
            assert!(store.get(&digest).is_err(), "the symlink escapes the store");
        }
    }
}
