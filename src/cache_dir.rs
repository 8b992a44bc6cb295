//! The cache directory (`--cache-dir`, `$HOIST_CACHE_DIR`, `~/.cache/hoist`): its layout, the lock every
//! command that uses it holds, and its entries as `hoist prune` counts them.
//!
//! ```text
//! lock        flock(2): shared while a command uses the cache, exclusive while `hoist prune` runs
//! blobs/      content-addressed layers (sha256/<hex>), tmp/ for blobs being written
//! rootfs/     base images unpacked once per layer chain, shared read-only (overlay lower dirs)
//! steps/      RUN step results: <key>.json naming a layer blob
//! verdicts/   what each layer holds, for the architecture check: <key>.json
//! mounts/     RUN --mount=type=cache directories by id (<hex>/) and their <hex>.lock files
//! tmp/        per-build scratch directories, removed when the build ends
//! ```
//!
//! Every use refreshes what it used (a blob reused, a step result hit, a verdict read, an unpacked base
//! mounted, a cache mount bound) by setting its modification time, so the time is the last use:
//! `hoist prune --keep-storage` removes the least recently used entries first ([`entries`]).

pub mod entries;
pub mod lock;

use std::path::{Path, PathBuf};

pub use entries::{Entry, Garbage, Kind, Plan, Policy};
pub use lock::{Access, CacheLock, LockError};

/// A cache directory: where each part of the cache lives.
#[derive(Clone, Debug)]
pub struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    pub fn new(root: impl Into<PathBuf>) -> CacheDir {
        CacheDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store (`image::BlobStore`).
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Unpacked base images, by layer chain.
    pub fn rootfs(&self) -> PathBuf {
        self.root.join("rootfs")
    }

    /// RUN step results (`executor::cache::LocalCache`).
    pub fn steps(&self) -> PathBuf {
        self.root.join("steps")
    }

    /// Layer verdicts (`validate::Verdicts`).
    pub fn verdicts(&self) -> PathBuf {
        self.root.join("verdicts")
    }

    /// `RUN --mount=type=cache` directories.
    pub fn mounts(&self) -> PathBuf {
        self.root.join("mounts")
    }

    /// Per-build scratch directories.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Holds the cache for a command that uses it (shared) or for `hoist prune` (exclusive), until the
    /// returned lock is dropped; `on_wait` is told once when another holder makes it wait.
    pub fn lock(
        &self,
        access: Access,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<CacheLock, LockError> {
        lock::acquire(self, access, on_wait)
    }
}
