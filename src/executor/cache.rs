//! The build cache: a RUN step's result, found again by a key of everything that can change it.
//!
//! The key hashes the parent state (the diff_ids of the layers below the step, the Env, User and
//! WorkingDir it runs with), the step as expanded (argv, build-arg environment, network, every mount's
//! options, the content of bind-mount sources — a secret by its id only, never its value), the
//! platform, and the epoch and gzip level the layer is written with. COPY and ADD are not cached: they
//! are cheap to redo and their layers are deterministic, so a COPY that yields the same layer lets the
//! RUN steps after it hit again (BuildKit's content-based cache has the same effect).
//!
//! [`LocalCache`] keeps results as small JSON files under the cache dir (the layers themselves are in
//! the blob store). A registry-backed cache (`--cache-repo`) implements [`StepCache`] in the app.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::image::{BlobStore, Descriptor, Digest, Image, Platform};
use crate::plan::{MountFrom, Network, RunMount, RunSpec};

/// A step's recorded result: its layer, or `None` when it changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedStep {
    pub layer: Option<(Descriptor, Digest)>,
}

/// A store of step results by key.
pub trait StepCache: Send + Sync {
    /// The result recorded for `key`, with its layer blob present in `blobs` (fetched if needed).
    /// `platform` is the platform of the step's stage (already part of `key`; a cache that stores
    /// images labels them with it).
    fn get(&self, key: &Digest, platform: &Platform, blobs: &BlobStore) -> Option<CachedStep>;
    /// Records a result; failures only cost a later miss.
    fn put(&self, key: &Digest, platform: &Platform, step: &CachedStep, blobs: &BlobStore);
    /// Where the cache lives, for messages.
    fn describe(&self) -> String;
}

/// Step results as files under a directory (`$cache_dir/steps/<key>.json`).
#[derive(Clone, Debug)]
pub struct LocalCache {
    dir: PathBuf,
}

impl LocalCache {
    pub fn new(dir: impl Into<PathBuf>) -> LocalCache {
        LocalCache { dir: dir.into() }
    }

    fn file(&self, key: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex()))
    }
}

impl StepCache for LocalCache {
    fn get(&self, key: &Digest, _platform: &Platform, blobs: &BlobStore) -> Option<CachedStep> {
        let file = self.file(key);
        let bytes = std::fs::read(&file).ok()?;
        let step: CachedStep = serde_json::from_slice(&bytes).ok()?;
        // A hit marks the result and its layer used (`hoist prune --keep-storage` keeps them longest).
        match &step.layer {
            Some((d, _)) if !blobs.reuse(&d.digest) => None,
            _ => {
                crate::image::blobs::mark_used(&file);
                Some(step)
            }
        }
    }

    fn put(&self, key: &Digest, _platform: &Platform, step: &CachedStep, _blobs: &BlobStore) {
        let _ = std::fs::create_dir_all(&self.dir);
        let path = self.file(key);
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec(step).expect("cached steps serialize");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Several caches: looked up in order, written to all (local first, then the registry).
pub struct Caches(pub Vec<Box<dyn StepCache>>);

impl StepCache for Caches {
    fn get(&self, key: &Digest, platform: &Platform, blobs: &BlobStore) -> Option<CachedStep> {
        for (i, cache) in self.0.iter().enumerate() {
            if let Some(hit) = cache.get(key, platform, blobs) {
                // Remember a remote hit locally.
                for earlier in &self.0[..i] {
                    earlier.put(key, platform, &hit, blobs);
                }
                return Some(hit);
            }
        }
        None
    }

    fn put(&self, key: &Digest, platform: &Platform, step: &CachedStep, blobs: &BlobStore) {
        for cache in &self.0 {
            cache.put(key, platform, step, blobs);
        }
    }

    fn describe(&self) -> String {
        let all: Vec<String> = self.0.iter().map(|c| c.describe()).collect();
        all.join(", ")
    }
}

/// The cache key of RUN `spec` on `image`; `bind_digests` are the content digests of the step's bind
/// mount sources, in mount order.
pub fn run_key(
    image: &Image,
    spec: &RunSpec,
    bind_digests: &[Digest],
    platform: &Platform,
    epoch: i64,
    level: u32,
) -> Digest {
    let config = &image.config().config;
    let mounts: Vec<serde_json::Value> = spec
        .mounts
        .iter()
        .map(|m| match m {
            RunMount::Bind {
                target,
                from,
                source,
                readwrite,
            } => serde_json::json!(["bind", target, from_key(from), source, readwrite]),
            RunMount::Cache {
                target,
                id,
                sharing,
                readonly,
                uid,
                gid,
                mode,
                ..
            } => serde_json::json!([
                "cache",
                target,
                id,
                format!("{sharing:?}"),
                readonly,
                uid,
                gid,
                mode
            ]),
            RunMount::Tmpfs { target, size } => serde_json::json!(["tmpfs", target, size]),
            RunMount::Script {
                target,
                name,
                content,
            } => serde_json::json!(["script", target, name, content]),
            RunMount::Secret {
                id,
                target,
                env,
                required,
                uid,
                gid,
                mode,
            } => serde_json::json!(["secret", id, target, env, required, uid, gid, mode]),
        })
        .collect();
    let key = serde_json::json!({
        "v": 1,
        "parent": image.layers().iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        "env": config.env,
        "user": config.user,
        "workdir": config.working_dir,
        "argv": spec.argv,
        "args": spec.env,
        "network": match spec.network { Network::None => "none", _ => "default" },
        "mounts": mounts,
        "binds": bind_digests.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "platform": platform.to_string(),
        "epoch": epoch,
        "level": level,
    });
    Digest::of(key.to_string().as_bytes())
}

fn from_key(from: &MountFrom) -> String {
    match from {
        MountFrom::Context => "context".into(),
        MountFrom::Named(name) => format!("context:{name}"),
        // The stage's content is in the bind digest; its position alone says nothing.
        MountFrom::Stage(_) => "stage".into(),
        MountFrom::Image(r) => r.to_string(),
    }
}

/// A digest of a directory tree's names, kinds, modes and contents (bind-mount sources).
pub fn tree_digest(root: &Path) -> std::io::Result<Digest> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let mut hasher = crate::image::digest::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let meta = entry.path().symlink_metadata()?;
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        hasher.update(format!("{:o}", meta.permissions().mode()).as_bytes());
        hasher.update(&[0]);
        if meta.file_type().is_symlink() {
            hasher.update(
                std::fs::read_link(entry.path())?
                    .to_string_lossy()
                    .as_bytes(),
            );
        } else if meta.is_file() {
            let mut f = std::fs::File::open(entry.path())?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        hasher.update(&[0]);
    }
    Ok(hasher.finish().0)
}
