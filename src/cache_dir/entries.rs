//! The entries of a cache directory as `hoist prune` counts them — what each is, the disk it takes, when
//! a build last used it, and whether it is garbage (nothing can use it) — and the choice of what goes:
//! garbage always; with a size limit the least recently used entries until the rest fits (BuildKit's
//! `--keep-storage`); with `--all` everything.
//!
//! An entry is what is removed whole: a blob, a step result, a verdict, an unpacked base, a cache mount
//! (its directory and its `.lock`), a scratch directory or a file an interrupted command left. Scanning
//! runs under the exclusive lock (see [`super::lock`]): no build runs, so whatever a build keeps only
//! while it runs (`tmp/`, `blobs/tmp/`, half-written files) is left from builds that are gone.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::CacheDir;
use crate::executor::cache::CachedStep;
use crate::image::Digest;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A layer in `blobs/sha256/`.
    Blob,
    /// A RUN step's result in `steps/`.
    Step,
    /// A layer's verdict in `verdicts/`.
    Verdict,
    /// An unpacked base image in `rootfs/`.
    Rootfs,
    /// A `RUN --mount=type=cache` directory in `mounts/`, with its `.lock`.
    CacheMount,
    /// A build's scratch directory in `tmp/`.
    Scratch,
    /// What an interrupted write left: `blobs/tmp/*`, a temporary file beside step results or
    /// verdicts, a half-unpacked base, a directory an interrupted prune had set aside.
    Partial,
}

impl Kind {
    /// The word the listing uses.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Blob => "blob",
            Kind::Step => "step",
            Kind::Verdict => "verdict",
            Kind::Rootfs => "rootfs",
            Kind::CacheMount => "cache-mount",
            Kind::Scratch => "scratch",
            Kind::Partial => "partial",
        }
    }

    /// Directories are removed as trees (their files may belong to ids of the user namespace).
    pub fn is_tree(self) -> bool {
        match self {
            Kind::Rootfs | Kind::CacheMount | Kind::Scratch | Kind::Partial => true,
            Kind::Blob | Kind::Step | Kind::Verdict => false,
        }
    }
}

/// Why an entry is of no use to any build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Garbage {
    /// Kept only while a build or a write runs, and none runs.
    LeftBehind,
    /// A step result whose layer blob is gone: a build would run the step again anyway.
    MissingLayer,
    /// A step result that cannot be read: a build treats it as a miss.
    Unreadable,
    /// A cache mount's `.lock` whose directory is gone.
    LockWithoutMount,
}

/// Why an entry goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Garbage(Garbage),
    /// Among the least recently used, beyond `--keep-storage`.
    LeastRecentlyUsed,
    /// A step result whose layer blob goes.
    LayerRemoved,
    /// `--all`.
    All,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reason::Garbage(Garbage::LeftBehind) => "left by a command that is gone",
            Reason::Garbage(Garbage::MissingLayer) => "its layer blob is gone",
            Reason::Garbage(Garbage::Unreadable) => "unreadable",
            Reason::Garbage(Garbage::LockWithoutMount) => "its cache mount is gone",
            Reason::LeastRecentlyUsed => "least recently used",
            Reason::LayerRemoved => "its layer blob goes",
            Reason::All => "--all",
        })
    }
}

/// One entry of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub path: PathBuf,
    /// A cache mount's lock file, removed with it.
    pub lock: Option<PathBuf>,
    /// Bytes on disk (allocated blocks, hard links counted once, as `du`). Inside directories only
    /// what this process can read without the user namespace is counted.
    pub size: u64,
    /// The last use: the modification time builds refresh.
    pub used: SystemTime,
    /// A blob's digest; a step result's layer blob.
    pub digest: Option<Digest>,
    pub garbage: Option<Garbage>,
}

/// What a prune removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Garbage only.
    Garbage,
    /// Garbage, then the least recently used until the rest takes at most this many bytes.
    KeepStorage(u64),
    /// Everything.
    All,
}

/// The entries that go, oldest first, and those that stay.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub remove: Vec<(Entry, Reason)>,
    pub keep: Vec<Entry>,
}

impl Plan {
    pub fn freed(&self) -> u64 {
        self.remove.iter().map(|(e, _)| e.size).sum()
    }

    pub fn kept(&self) -> u64 {
        self.keep.iter().map(|e| e.size).sum()
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read `{path}`: {source}\nhint: the cache directory must be readable by this user; prune it as the user whose builds filled it"
)]
pub struct ScanError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Every entry of `cache`; a part that does not exist has none.
pub fn scan(cache: &CacheDir) -> Result<Vec<Entry>, ScanError> {
    let mut entries = Vec::new();
    let entry = |kind, path: PathBuf, meta: &Metadata, garbage| Entry {
        kind,
        size: disk_usage(&path, meta),
        used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        path,
        lock: None,
        digest: None,
        garbage,
    };
    let left = Some(Garbage::LeftBehind);

    for (name, path, meta) in list(&cache.blobs().join("sha256"))? {
        let digest = name
            .to_str()
            .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok());
        if let Some(digest) = digest {
            entries.push(Entry {
                digest: Some(digest),
                ..entry(Kind::Blob, path, &meta, None)
            });
        }
    }
    for (_, path, meta) in list(&cache.blobs().join("tmp"))? {
        entries.push(entry(Kind::Partial, path, &meta, left));
    }
    let blobs: HashSet<Digest> = entries.iter().filter_map(|e| e.digest.clone()).collect();

    for (_, path, meta) in list(&cache.steps())? {
        match path.extension().and_then(OsStr::to_str) {
            Some("json") => {
                let step = std::fs::read(&path)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice::<CachedStep>(&bytes).ok());
                let (digest, garbage) = match step {
                    None => (None, Some(Garbage::Unreadable)),
                    Some(CachedStep { layer: None }) => (None, None),
                    Some(CachedStep {
                        layer: Some((descriptor, _)),
                    }) => {
                        let missing = !blobs.contains(&descriptor.digest);
                        (
                            Some(descriptor.digest),
                            missing.then_some(Garbage::MissingLayer),
                        )
                    }
                };
                entries.push(Entry {
                    digest,
                    ..entry(Kind::Step, path, &meta, garbage)
                });
            }
            Some("tmp") => entries.push(entry(Kind::Partial, path, &meta, left)),
            _ => {}
        }
    }
    for (name, path, meta) in list(&cache.verdicts())? {
        if hidden(&name) {
            entries.push(entry(Kind::Partial, path, &meta, left));
        } else if path.extension() == Some(OsStr::new("json")) {
            entries.push(entry(Kind::Verdict, path, &meta, None));
        }
    }
    for (name, path, meta) in list(&cache.rootfs())? {
        if hidden(&name) {
            entries.push(entry(Kind::Partial, path, &meta, left));
        } else if meta.is_dir() {
            entries.push(entry(Kind::Rootfs, path, &meta, None));
        }
    }
    let mounts = list(&cache.mounts())?;
    let locks: HashMap<PathBuf, Metadata> = mounts
        .iter()
        .filter(|(_, path, _)| path.extension() == Some(OsStr::new("lock")))
        .map(|(_, path, meta)| (path.clone(), meta.clone()))
        .collect();
    for (name, path, meta) in &mounts {
        if hidden(name) {
            entries.push(entry(Kind::Partial, path.clone(), meta, left));
        } else if meta.is_dir() {
            let lock_path = path.with_extension("lock");
            let mut found = entry(Kind::CacheMount, path.clone(), meta, None);
            if let Some(lock) = locks.get(&lock_path) {
                found.size += disk_usage(&lock_path, lock);
                found.used = found.used.max(lock.modified().unwrap_or(found.used));
                found.lock = Some(lock_path);
            }
            entries.push(found);
        } else if locks.contains_key(path) && !path.with_extension("").is_dir() {
            let garbage = Some(Garbage::LockWithoutMount);
            entries.push(entry(Kind::CacheMount, path.clone(), meta, garbage));
        }
    }
    for (_, path, meta) in list(&cache.tmp())? {
        entries.push(entry(Kind::Scratch, path, &meta, left));
    }
    Ok(entries)
}

/// `.name`: a temporary name (an unpack in progress, `tempfile`'s `.tmpXXXX`, a prune's set-aside).
fn hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}

/// The names in `dir` with their paths and `lstat`; none when `dir` does not exist.
fn list(dir: &Path) -> Result<Vec<(std::ffi::OsString, PathBuf, Metadata)>, ScanError> {
    let error = |source| ScanError {
        path: dir.to_path_buf(),
        source,
    };
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(error(e)),
    };
    let mut out = Vec::new();
    for item in read {
        let item = item.map_err(error)?;
        let path = item.path();
        // Gone since the listing: nothing to count.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        out.push((item.file_name(), path, meta));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Allocated bytes of `path` and, for a directory, of everything readable below it.
fn disk_usage(path: &Path, meta: &Metadata) -> u64 {
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    let mut seen = HashSet::new();
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_dir() || m.nlink() < 2 || seen.insert((m.dev(), m.ino())))
        .map(|m| m.blocks() * 512)
        .sum()
}

/// What goes under `policy`: garbage always; then, for a size limit, the least recently used entries
/// (oldest modification time first, by path among equals) until the rest fits — a step result goes
/// with its layer blob, since it is garbage without it.
pub fn plan(entries: Vec<Entry>, policy: Policy) -> Plan {
    let mut plan = Plan::default();
    let mut live = Vec::new();
    for entry in entries {
        match entry.garbage {
            Some(garbage) => plan.remove.push((entry, Reason::Garbage(garbage))),
            None => live.push(entry),
        }
    }
    let limit = match policy {
        Policy::Garbage => {
            plan.keep = live;
            return plan;
        }
        Policy::All => {
            plan.remove
                .extend(live.into_iter().map(|e| (e, Reason::All)));
            return plan;
        }
        Policy::KeepStorage(limit) => limit,
    };
    live.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
    let mut steps_of: HashMap<Digest, Vec<usize>> = HashMap::new();
    for (i, entry) in live.iter().enumerate() {
        if let (Kind::Step, Some(digest)) = (entry.kind, &entry.digest) {
            steps_of.entry(digest.clone()).or_default().push(i);
        }
    }
    let mut total: u64 = live.iter().map(|e| e.size).sum();
    let mut gone: Vec<Option<Reason>> = vec![None; live.len()];
    for i in 0..live.len() {
        if total <= limit {
            break;
        }
        if gone[i].is_some() {
            continue;
        }
        gone[i] = Some(Reason::LeastRecentlyUsed);
        total -= live[i].size;
        if let (Kind::Blob, Some(digest)) = (live[i].kind, &live[i].digest) {
            for &step in steps_of.get(digest).into_iter().flatten() {
                if gone[step].is_none() {
                    gone[step] = Some(Reason::LayerRemoved);
                    total -= live[step].size;
                }
            }
        }
    }
    for (entry, gone) in live.into_iter().zip(gone) {
        match gone {
            Some(reason) => plan.remove.push((entry, reason)),
            None => plan.keep.push(entry),
        }
    }
    plan
}

#[cfg(test)]
#[path = "entries_tests.rs"]
mod tests;
