//! A content-addressed blob store on disk: `ROOT/sha256/<hex>`, the same shape as an OCI layout's
//! `blobs/` directory (image-layout.md). Used as the download cache for base images and as the place where
//! built layers land. Every write goes to a temporary file first and is renamed into place only after its
//! digest is known (and checked, when one was expected), so the store never holds a partial or wrong blob.
//! A blob used again (pulled or written again) has its modification time refreshed: [`mark_used`].

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::digest::{Digest, HashingWriter};

#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("cannot use blob store `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("blob content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {0} is not in the store `{1}`")]
    Missing(Digest, PathBuf),
}

impl BlobStore {
    /// Opens (creating) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        let root = root.into();
        for dir in [root.join("sha256"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(|source| BlobError::Io { path: dir, source })?;
        }
        Ok(BlobStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("sha256").join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Whether the store has the blob, marking it used when it has (a pull or a layer that reuses
    /// it: see [`mark_used`]).
    pub fn reuse(&self, digest: &Digest) -> bool {
        let path = self.path(digest);
        path.is_file() && {
            mark_used(&path);
            true
        }
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File, BlobError> {
        let path = self.path(digest);
        File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => BlobError::Missing(digest.clone(), self.root.clone()),
            _ => BlobError::Io { path, source },
        })
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, BlobError> {
        let path = self.path(digest);
        fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => BlobError::Missing(digest.clone(), self.root.clone()),
            _ => BlobError::Io { path, source },
        })
    }

    /// Stores `bytes`, returning their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, BlobError> {
        let mut w = self.writer()?;
        w.write_all(bytes).map_err(|source| BlobError::Io {
            path: self.root.clone(),
            source,
        })?;
        Ok(w.commit(None)?.0)
    }

    /// A writer for a new blob; nothing is visible in the store until [`BlobWriter::commit`].
    pub fn writer(&self) -> Result<BlobWriter, BlobError> {
        let dir = self.root.join("tmp");
        let file = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|source| BlobError::Io { path: dir, source })?;
        Ok(BlobWriter {
            store: self.clone(),
            inner: HashingWriter::new(io::BufWriter::with_capacity(1 << 20, file)),
        })
    }
}

/// Marks a cache file or directory as used now: sets its modification time, which is what `hoist
/// prune --keep-storage` orders entries by (one `utimensat`, nothing written). A failure only makes the
/// entry look older than it is.
pub fn mark_used(path: &Path) {
    use nix::sys::stat::{UtimensatFlags, utimensat};
    use nix::sys::time::TimeSpec;
    let _ = utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &TimeSpec::UTIME_NOW,
        &TimeSpec::UTIME_NOW,
        UtimensatFlags::NoFollowSymlink,
    );
}

/// A blob being written: hashed as it streams to a temporary file.
pub struct BlobWriter {
    store: BlobStore,
    inner: HashingWriter<io::BufWriter<tempfile::NamedTempFile>>,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        // HashingWriter does not expose its count mid-stream; the BufWriter's file position does.
        self.inner
            .get_ref()
            .get_ref()
            .as_file()
            .metadata()
            .map(|m| m.len())
            .unwrap_or(0)
            + self.inner.get_ref().buffer().len() as u64
    }

    /// Moves the blob into the store under its digest; fails (and stores nothing) when `expected` is given
    /// and differs.
    pub fn commit(self, expected: Option<&Digest>) -> Result<(Digest, u64), BlobError> {
        let (buf, digest, size) = self.inner.finish();
        let io_err = |source| BlobError::Io {
            path: self.store.root.clone(),
            source,
        };
        let tmp = buf.into_inner().map_err(|e| io_err(e.into_error()))?;
        if let Some(expected) = expected
            && *expected != digest
        {
            return Err(BlobError::DigestMismatch {
                expected: expected.clone(),
                actual: digest,
            });
        }
        let dest = self.store.path(&digest);
        if !self.store.reuse(&digest) {
            tmp.persist(&dest).map_err(|e| io_err(e.error))?;
        }
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_digest_and_refuses_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let d = store.put(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert_eq!(store.read(&d).unwrap(), b"hello");

        let mut w = store.writer().unwrap();
        w.write_all(b"other").unwrap();
        let err = w.commit(Some(&Digest::of(b"not other"))).unwrap_err();
        assert!(matches!(err, BlobError::DigestMismatch { .. }));
        assert!(!store.contains(&Digest::of(b"other")));
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
