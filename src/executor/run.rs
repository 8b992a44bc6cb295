//! RUN steps: from a plan's [`RunSpec`] and the stage's config to a sandbox request, and back to a layer.
//!
//! The stage's root filesystem is a real directory kept for the stage's lifetime; it holds the image's
//! layers up to [`StageRoot::applied`], and the sandbox unpacks the rest before the command. RUN mounts
//! are prepared here (BuildKit's `commands_runmount.go` semantics): bind sources are copied out of the
//! context or a stage (writes to them are discarded), cache mounts live under the cache dir by id, a
//! secret is bound from its file (or a private temporary file for an environment secret) and never
//! reaches a layer, the history or a cache key.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::image::{BlobStore, Image, Layer, Platform};
use crate::plan::{
    BuildContext, CacheSharing, CopySource, CopySpec, Location, MountFrom, Network, RunMount,
    RunSpec,
};

use super::cache::{CachedStep, StepCache};
use super::layer::{Entry, EntryKind, FileContent};
use super::sandbox::{
    BaseDir, Isolation, LayerTarget, Mount, MountKind, Process, Request, Sandbox, Seed,
    StepRequest, StepResult,
};
use super::stage_fs::StageFs;

/// Where a build secret's value comes from; read only when a step mounts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    /// The name of an environment variable of hoist's own process.
    Env(String),
}

/// Everything RUN needs beyond the plan.
#[derive(Clone)]
pub struct RunOptions {
    /// Where step results are recorded (`None`: nowhere).
    pub cache: Option<std::sync::Arc<dyn StepCache>>,
    /// Look results up in `cache` (false with `--no-cache`: steps run, results are still recorded).
    pub use_cache: bool,
    pub sandbox: Sandbox,
    /// Scratch space for this build (stage root filesystems, bind sources); removed at the end.
    pub scratch: PathBuf,
    /// Where `--mount=type=cache` directories are kept between builds.
    pub cache_mounts: PathBuf,
    /// Where unpacked base images are kept between builds, by layer chain.
    pub rootfs_cache: PathBuf,
    /// Where the sandbox child stores what its layers hold for the architecture check (the directory
    /// of `validate::Verdicts`), read while the layer is written.
    pub verdicts: Option<PathBuf>,
    pub secrets: Vec<(String, SecretSource)>,
    /// Paths never snapshotted (in-container mode: mount points, hoist's own files).
    pub exclude: Vec<String>,
    /// Where a cache mount this machine does not have yet can start from (`None`: empty).
    pub cache_seeds: Option<std::sync::Arc<dyn CacheSeeds>>,
}

/// What a cache mount this machine does not have yet starts with — asked only when a step that
/// mounts it runs (`--cache-repo` keeps buildpack caches this way: a CI runner without a disk still
/// starts with the packages the last build downloaded). A seed is not part of the step's cache key:
/// like the cache itself it may speed a step up, never change what the step means.
pub trait CacheSeeds: Send + Sync {
    /// A directory made under `scratch` holding what cache `id` starts with; `None`: start empty.
    /// Its entries are given the cache's owner when copied in.
    fn seed(&self, id: &str, scratch: &Path) -> Option<PathBuf>;
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "{location}: `{text}` needs the RUN sandbox, which this build does not have\nhint: this is a bug in hoist: the executor was called without run options",
        text = location.text
    )]
    NoSandbox { location: Box<Location> },
    #[error(
        "{location}: `{text}` failed with exit code {code}{tail}\nhint: fix the command (its output is above); the step's changes were discarded",
        text = location.text
    )]
    Failed {
        location: Box<Location>,
        code: i32,
        tail: String,
    },
    #[error("{location}: `{text}`: {message}", text = location.text)]
    Setup {
        location: Box<Location>,
        message: String,
    },
}

/// A stage's root filesystem directory and how many of the image's layers it holds.
#[derive(Debug)]
pub struct StageRoot {
    pub dir: PathBuf,
    pub applied: usize,
    /// The stage's base image, unpacked once per machine and shared read-only (overlayfs lower).
    pub base: Option<BaseDir>,
}

/// Sources of a RUN step's mounts that come from other filesystems of the build.
pub struct MountSources<'a> {
    pub context: &'a BuildContext,
    /// The plan's named contexts, for `from=` a named context.
    pub named: &'a std::collections::BTreeMap<String, BuildContext>,
    /// The platform the step's stage is built for (part of the step cache key).
    pub platform: &'a Platform,
    pub blobs: &'a BlobStore,
    /// The index of stage `id` (for `from=stage`) or image (for `from=image`).
    pub lookup: &'a mut dyn FnMut(&MountFrom) -> Option<StageFs>,
}

/// What a RUN step gave: its layer (none when it changed nothing), and whether it came from the cache.
pub struct Ran {
    pub layer: Option<Layer>,
    pub cached: bool,
}

/// Runs `spec` on `image` in the stage's root directory (made on first use); returns the step's
/// layer when it changed anything. A cache hit runs nothing and does not need the root directory.
#[allow(clippy::too_many_arguments)]
pub fn run(
    options: &RunOptions,
    spec: &RunSpec,
    location: &Location,
    image: &Image,
    root: &mut Option<StageRoot>,
    stage: usize,
    base_layers: usize,
    blobs: &BlobStore,
    epoch: i64,
    level: u32,
    sources: MountSources<'_>,
    on_line: &mut dyn FnMut(&str),
    on_note: &mut dyn FnMut(String),
) -> Result<Ran, RunError> {
    let setup = |message: String| RunError::Setup {
        location: Box::new(location.clone()),
        message,
    };
    let step_dir = tempfile::Builder::new()
        .prefix("step-")
        .tempdir_in(&options.scratch)
        .map_err(|e| setup(format!("cannot make a scratch directory: {e}")))?;
    let config = &image.config().config;
    let mut env: Vec<String> = config.env.clone().unwrap_or_default();
    for (k, v) in &spec.env {
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != k);
        env.push(format!("{k}={v}"));
    }
    let mut locks = Vec::new();
    let mut mounts = Vec::new();
    let mut bind_digests = Vec::new();
    let mut unseeded: Vec<(usize, String)> = Vec::new();
    let mut secrets_dir: Option<std::io::Result<tempfile::TempDir>> = None;
    let mut sources = sources;
    for (n, mount) in spec.mounts.iter().enumerate() {
        match mount {
            RunMount::Bind {
                target,
                from,
                source,
                readwrite,
            } => {
                let dir = step_dir.path().join(format!("bind-{n}"));
                let host = export_source(&mut sources, from, source, &dir).map_err(setup)?;
                bind_digests.push(
                    super::cache::tree_digest(&host)
                        .map_err(|e| setup(format!("cannot read the bind mount's files: {e}")))?,
                );
                mounts.push(Mount {
                    target: target.clone(),
                    kind: MountKind::Bind {
                        source: host,
                        readonly: !readwrite,
                        create: None,
                        seed: None,
                    },
                });
            }
            RunMount::Cache {
                target,
                id,
                sharing,
                from,
                readonly,
                uid,
                gid,
                mode,
            } => {
                // `from=`/`source=`: what a new cache starts with.
                let seed = match from {
                    Some((origin, source)) => {
                        let dir = step_dir.path().join(format!("seed-{n}"));
                        let host =
                            export_source(&mut sources, origin, source, &dir).map_err(setup)?;
                        bind_digests.push(super::cache::tree_digest(&host).map_err(|e| {
                            setup(format!("cannot read the cache mount's seed: {e}"))
                        })?);
                        Some(Seed {
                            dir: host,
                            chown: false,
                        })
                    }
                    None => None,
                };
                let key = crate::image::Digest::of(id.as_bytes()).hex().to_string();
                std::fs::create_dir_all(&options.cache_mounts)
                    .map_err(|e| setup(format!("cannot create the cache dir: {e}")))?;
                let mut dir = options.cache_mounts.join(&key);
                // Its `.lock` (ours, whoever owns the directory) says when it was last used.
                mark_mount_used(&options.cache_mounts.join(format!("{key}.lock")));
                if *sharing != CacheSharing::Shared {
                    let lock = File::create(options.cache_mounts.join(format!("{key}.lock")))
                        .map_err(|e| setup(format!("cannot lock cache `{id}`: {e}")))?;
                    let mut lock =
                        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock);
                    if lock.is_err() && *sharing == CacheSharing::Locked {
                        on_line(&format!("waiting for cache mount `{id}` (sharing=locked)"));
                        let file = File::create(options.cache_mounts.join(format!("{key}.lock")))
                            .map_err(|e| setup(format!("cannot lock cache `{id}`: {e}")))?;
                        lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive);
                    }
                    match lock {
                        Ok(l) => locks.push(l),
                        // sharing=private and the cache is busy: a fresh one for this step.
                        Err(_) => dir = step_dir.path().join(format!("cache-{n}")),
                    }
                }
                if seed.is_none() && !dir.exists() {
                    // Asked for a seed once the step is known to run (below).
                    unseeded.push((mounts.len(), id.clone()));
                }
                mounts.push(Mount {
                    target: target.clone(),
                    kind: MountKind::Bind {
                        source: dir,
                        readonly: *readonly,
                        create: Some((*uid, *gid, *mode)),
                        seed,
                    },
                });
            }
            RunMount::Tmpfs { target, size } => mounts.push(Mount {
                target: target.clone(),
                kind: MountKind::Tmpfs { size: *size },
            }),
            RunMount::Script {
                target,
                name,
                content,
            } => {
                use std::os::unix::fs::PermissionsExt;
                let dir = step_dir.path().join(format!("script-{n}"));
                let write = || -> std::io::Result<()> {
                    std::fs::create_dir_all(&dir)?;
                    let file = dir.join(name);
                    std::fs::write(&file, content)?;
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
                    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                };
                write().map_err(|e| setup(format!("cannot write the heredoc script: {e}")))?;
                mounts.push(Mount {
                    target: target.clone(),
                    kind: MountKind::Bind {
                        source: dir,
                        readonly: true,
                        create: None,
                        seed: None,
                    },
                });
            }
            RunMount::Secret {
                id,
                target,
                env: var,
                required,
                uid,
                gid,
                mode,
            } => {
                let Some((_, source)) = options.secrets.iter().find(|(s, _)| s == id) else {
                    if *required {
                        return Err(setup(format!(
                            "secret `{id}` is required but was not given\nhint: pass it with `--secret id={id},src=FILE` or `--secret id={id},env=VARIABLE`"
                        )));
                    }
                    continue;
                };
                let value = match source {
                    SecretSource::File(path) => std::fs::read(path).map_err(|e| {
                        setup(format!(
                            "cannot read secret `{id}` from {}: {e}\nhint: check the path given to `--secret id={id},src=`",
                            path.display()
                        ))
                    })?,
                    SecretSource::Env(name) => std::env::var(name)
                        .map_err(|_| {
                            setup(format!(
                                "secret `{id}` comes from the environment variable `{name}`, which is not set\nhint: export {name} before the build"
                            ))
                        })?
                        .into_bytes(),
                };
                // A private copy (in memory where /dev/shm allows) that the sandbox gives the
                // mount's owner and mode; removed with the step.
                let value_file = secrets_dir
                    .get_or_insert_with(|| private_dir(step_dir.path()))
                    .as_ref()
                    .map_err(|e| setup(format!("cannot stage secret `{id}`: {e}")))?
                    .path()
                    .join(format!("secret-{n}"));
                write_private(&value_file, &value, 0o600)
                    .map_err(|e| setup(format!("cannot stage secret `{id}`: {e}")))?;
                if let Some(var) = var {
                    env.push(format!("{var}={}", String::from_utf8_lossy(&value)));
                }
                if var.is_none() || target.is_some() {
                    let target = target
                        .clone()
                        .unwrap_or_else(|| format!("/run/secrets/{id}"));
                    mounts.push(Mount {
                        target,
                        kind: MountKind::Secret {
                            source: value_file,
                            uid: *uid,
                            gid: *gid,
                            mode: *mode,
                        },
                    });
                }
            }
        }
    }
    let platform = sources.platform.clone();
    let key = super::cache::run_key(image, spec, &bind_digests, &platform, epoch, level);
    if options.use_cache
        && let Some(cache) = &options.cache
        && let Some(hit) = cache.get(&key, &platform, blobs)
    {
        return Ok(Ran {
            layer: hit.layer.map(|(descriptor, diff_id)| Layer {
                descriptor,
                diff_id,
            }),
            cached: true,
        });
    }
    if let Some(seeds) = &options.cache_seeds {
        for (index, id) in unseeded {
            if let MountKind::Bind { seed, .. } = &mut mounts[index].kind {
                *seed = seeds
                    .seed(&id, step_dir.path())
                    .map(|dir| Seed { dir, chown: true });
            }
        }
    }
    if root.is_none() {
        *root = Some(
            new_root(options, stage, &image.layers()[..base_layers], blobs)
                .map_err(|e| setup(format!("cannot make the stage's root directory: {e}")))?,
        );
    }
    let root = root.as_mut().expect("made above");
    let hosts = step_dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1\tlocalhost hoist\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )
    .map_err(|e| setup(format!("cannot write the sandbox's /etc/hosts: {e}")))?;
    let resolv = Path::new("/etc/resolv.conf");
    let apply = image.layers()[root.applied..]
        .iter()
        .map(|l| blobs.path(&l.descriptor.digest))
        .collect();
    let request = StepRequest {
        isolation: options.sandbox.isolation,
        rootfs: root.dir.clone(),
        base: root.base.clone(),
        apply,
        process: Process {
            argv: spec.argv.clone(),
            env,
            cwd: config
                .working_dir
                .clone()
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "/".into()),
            user: config.user.clone().unwrap_or_default(),
            hostname: "hoist".into(),
        },
        isolate_network: spec.network == Network::None,
        mounts,
        resolv_conf: resolv.is_file().then(|| resolv.to_path_buf()),
        hosts: Some(hosts),
        exclude: options.exclude.clone(),
        layer: LayerTarget {
            blobs: blobs.root().to_path_buf(),
            epoch,
            level,
            verdicts: options.verdicts.clone(),
        },
    };
    let outcome = options
        .sandbox
        .run(&Request::Run(Box::new(request)), on_line);
    drop(locks);
    let (result, tail) = outcome.map_err(|e| setup(e.to_string()))?;
    root.applied = image.layers().len() + usize::from(result.layer.is_some());
    let StepResult {
        exit_code,
        error,
        layer,
        notes,
    } = result;
    notes.into_iter().for_each(&mut *on_note);
    if let Some(message) = error {
        return Err(setup(message));
    }
    match exit_code {
        Some(0) => {}
        code => {
            let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
            return Err(RunError::Failed {
                location: Box::new(location.clone()),
                code: code.unwrap_or(-1),
                tail: if lines.is_empty() {
                    " and printed nothing".into()
                } else {
                    format!("; its last lines:\n  {}", lines.join("\n  "))
                },
            });
        }
    }
    if let Some(cache) = &options.cache {
        cache.put(
            &key,
            &platform,
            &CachedStep {
                layer: layer.clone(),
            },
            blobs,
        );
    }
    Ok(Ran {
        layer: layer.map(|(descriptor, diff_id)| Layer {
            descriptor,
            diff_id,
        }),
        cached: false,
    })
}

/// A fresh root directory for a stage whose image starts with `base` (in-container: this container's
/// own `/`). The base is shared: unpacked once under the rootfs cache, keyed by its layers and the id
/// mapping (owners on disk depend on it), and mounted read-only under the stage's own directory.
pub fn new_root(
    options: &RunOptions,
    stage: usize,
    base: &[Layer],
    blobs: &BlobStore,
) -> std::io::Result<StageRoot> {
    if options.sandbox.isolation == Isolation::InContainer {
        return Ok(StageRoot {
            dir: PathBuf::from("/"),
            applied: 0,
            base: None,
        });
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("stage-{stage}-"))
        .tempdir_in(&options.scratch)?
        .keep();
    if base.is_empty() {
        return Ok(StageRoot {
            dir,
            applied: 0,
            base: None,
        });
    }
    let chain: Vec<String> = base.iter().map(|l| l.diff_id.to_string()).collect();
    let key = crate::image::Digest::of(
        format!("{}\n{}", options.sandbox.mapping_key(), chain.join("\n")).as_bytes(),
    );
    Ok(StageRoot {
        dir,
        applied: base.len(),
        base: Some(BaseDir {
            dir: options.rootfs_cache.join(key.hex()),
            layers: base
                .iter()
                .map(|l| blobs.path(&l.descriptor.digest))
                .collect(),
        }),
    })
}

/// Removes a stage root (through the sandbox when its files belong to mapped ids).
pub fn remove_root(options: &RunOptions, root: StageRoot) {
    if options.sandbox.isolation == Isolation::Rootless {
        super::sandbox::remove_tree(&options.sandbox, &root.dir);
    }
}

/// Refreshes a cache mount's `.lock` (made when missing): `hoist prune --keep-storage` counts the
/// mount as used then. The directory itself may belong to a subordinate id this process cannot touch.
fn mark_mount_used(lock: &Path) {
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lock);
    crate::image::blobs::mark_used(lock);
}

/// A private directory for secrets: in /dev/shm (memory) when possible, else under `fallback`.
fn private_dir(fallback: &Path) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("hoist-secrets-")
        .tempdir_in("/dev/shm")
        .or_else(|_| {
            tempfile::Builder::new()
                .prefix("secrets-")
                .tempdir_in(fallback)
        })
}

fn write_private(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .open(path)?;
    f.write_all(bytes)
}

/// Copies `source` of a bind mount's origin into `dir` (or a single file next to it); returns the
/// host path to bind.
fn export_source(
    sources: &mut MountSources<'_>,
    from: &MountFrom,
    source: &str,
    dir: &Path,
) -> Result<PathBuf, String> {
    let mut scratch = StageFs::of_image(&Image::empty(sources.platform), sources.blobs)
        .map_err(|e| e.to_string())?;
    // The build context or a named one, when the files come from a local directory.
    let local = match from {
        MountFrom::Context => Some(sources.context),
        MountFrom::Named(name) => Some(sources.named.get(name).ok_or_else(|| {
            format!(
                "the named context `{name}` is not part of the build\nhint: this is a bug in hoist"
            )
        })?),
        MountFrom::Stage(_) | MountFrom::Image(_) => None,
    };
    let spec = CopySpec {
        source: match from {
            MountFrom::Context | MountFrom::Named(_) => CopySource::Context,
            MountFrom::Stage(id) => CopySource::Stage(*id),
            MountFrom::Image(r) => CopySource::Image(r.clone()),
        },
        sources: vec![if local.is_some() {
            source.trim_start_matches('/').to_string()
        } else {
            source.to_string()
        }],
        dest: "/src/".into(),
        owner: None,
        chmod: None,
        extract_archives: false,
        excludes: Vec::new(),
        parents: false,
        remote: Vec::new(),
        inline: Vec::new(),
        link: false,
    };
    let mut origin = match local {
        Some(_) => None,
        None => Some((sources.lookup)(from).ok_or_else(|| {
            "the mount's source stage or image is not available\nhint: this is a bug in hoist"
                .to_string()
        })?),
    };
    let context = local.unwrap_or(sources.context);
    let entries = super::copy::copy(&spec, context, origin.as_mut(), &mut scratch)
        .map_err(|e| format!("cannot prepare the bind mount from `{source}`: {e}"))?;
    write_tree(&entries, dir).map_err(|e| format!("cannot prepare the bind mount: {e}"))?;
    // A single file source lands as /src/NAME: bind that file.
    let files: Vec<&Entry> = entries.iter().filter(|e| e.path != "/src").collect();
    if let [only] = files.as_slice()
        && !matches!(only.kind, EntryKind::Dir)
        && !source.ends_with('/')
        && entries
            .iter()
            .all(|e| e.path == "/src" || e.path == only.path)
        && !local.is_some_and(|c| c.root.join(source.trim_start_matches('/')).is_dir())
    {
        return Ok(dir.join(only.path.trim_start_matches('/')));
    }
    Ok(dir.join("src"))
}

/// Writes copy entries as real files under `dir`.
fn write_tree(entries: &[Entry], dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir.join("src"))?;
    let mut dirs = Vec::new();
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for e in sorted {
        let host = dir.join(e.path.trim_start_matches('/'));
        if let Some(parent) = host.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match &e.kind {
            EntryKind::Dir => {
                std::fs::create_dir_all(&host)?;
                dirs.push((host, e.mode));
                continue;
            }
            EntryKind::File(FileContent::Path(p)) => {
                std::fs::copy(p, &host)?;
            }
            EntryKind::File(FileContent::Bytes(b)) => std::fs::write(&host, b)?,
            EntryKind::Symlink(target) => std::os::unix::fs::symlink(target, &host)?,
            EntryKind::Hardlink(target) => std::fs::hard_link(dir.join(target), &host)?,
        }
        if !matches!(e.kind, EntryKind::Symlink(_)) {
            std::fs::set_permissions(&host, std::fs::Permissions::from_mode(e.mode & 0o7777))?;
        }
    }
    for (host, mode) in dirs.into_iter().rev() {
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode & 0o7777))?;
    }
    Ok(())
}
