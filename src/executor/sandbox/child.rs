//! The sandbox child: `hoist __sandbox` reads one [`Request`] on stdin and carries it out.
//!
//! For a RUN step it: enters its namespaces (rootless), unpacks the layers the stage's directory lacks,
//! snapshots the directory, creates the mount points the command needs (and nothing else), runs the
//! command, removes those mount points again, snapshots a second time and writes the difference as a
//! layer. Its [`StepResult`] goes to stderr as one line starting with [`RESULT_PREFIX`].

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::executor::layer::LayerWriter;
use crate::executor::rootfs::{self, UnpackOptions};
use crate::executor::snapshot::{self, Snapshot};
use crate::image::BlobStore;
use crate::image::tap::LayerTap;

use super::user::{self, ExecUser};
use super::{
    BaseDir, Isolation, MountKind, RESULT_PREFIX, Request, Seed, StepRequest, StepResult,
    in_container, linux,
};

/// Makes the tap a RUN layer is shown to, for a directory named in the request (main.rs passes the
/// architecture check's verdict cache: this module may not name `validate`).
pub type TapMaker<'a> = &'a dyn Fn(&Path) -> Box<dyn LayerTap>;

/// Entry point of `hoist __sandbox`; returns the process exit code.
pub fn main(make_tap: TapMaker<'_>) -> i32 {
    if std::env::args_os().any(|a| a == super::USERNS_ARG) {
        // Single-threaded here, as unshare(CLONE_NEWUSER) requires. We keep the full capabilities it
        // gives inside the namespace; the parent writes the id maps once we say we are ready.
        let unshared = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER);
        let mut out = std::io::stdout().lock();
        let line = match unshared {
            Ok(()) => format!("{}\n", super::READY),
            Err(e) => format!("{} {e}\n", super::READY),
        };
        let _ = std::io::Write::write_all(&mut out, line.as_bytes());
        let _ = std::io::Write::flush(&mut out);
        if unshared.is_err() {
            return 1;
        }
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        return fail(format!("cannot read the request: {e}"));
    }
    let request: Request = match serde_json::from_slice(&input) {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot parse the request: {e}")),
    };
    let result = match request {
        Request::Remove(path) => {
            let _ = rootfs::remove_tree(&path);
            StepResult::default()
        }
        Request::Run(step) => run(&step, make_tap).unwrap_or_else(|error| StepResult {
            error: Some(error),
            ..Default::default()
        }),
    };
    report(&result);
    0
}

fn fail(error: String) -> i32 {
    report(&StepResult {
        error: Some(error),
        ..Default::default()
    });
    1
}

fn report(result: &StepResult) {
    let json = serde_json::to_string(result).expect("results serialize");
    eprintln!("{RESULT_PREFIX}{json}");
}

/// A mount point made for the command and removed after it: the topmost path we created, and its
/// parent's times to put back.
struct Stub {
    created: PathBuf,
    parent_times: Option<(nix::sys::time::TimeSpec, nix::sys::time::TimeSpec)>,
}

/// Makes `path` (a host path inside the rootfs) exist as a directory or an empty file; remembers what
/// it created.
fn ensure(path: &Path, dir: bool, stubs: &mut Vec<Stub>) -> Result<(), String> {
    if path.symlink_metadata().is_ok() {
        return Ok(());
    }
    let mut top = path.to_path_buf();
    while let Some(parent) = top.parent() {
        if parent.symlink_metadata().is_ok() {
            break;
        }
        top = parent.to_path_buf();
    }
    let parent_times = top.parent().and_then(|p| {
        nix::sys::stat::lstat(p).ok().map(|st| {
            (
                nix::sys::time::TimeSpec::new(st.st_atime, st.st_atime_nsec),
                nix::sys::time::TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
            )
        })
    });
    let made = if dir {
        std::fs::create_dir_all(path)
    } else {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::File::create(path).map(drop))
    };
    made.map_err(|e| format!("cannot create the mount point {}: {e}", path.display()))?;
    stubs.push(Stub {
        created: top,
        parent_times,
    });
    Ok(())
}

fn remove_stubs(stubs: Vec<Stub>) {
    for stub in stubs.into_iter().rev() {
        let _ = rootfs::remove_tree(&stub.created);
        if let (Some(parent), Some((atime, mtime))) = (stub.created.parent(), stub.parent_times) {
            let _ = nix::sys::stat::utimensat(
                nix::fcntl::AT_FDCWD,
                parent,
                &atime,
                &mtime,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            );
        }
    }
}

/// Unpacks one layer blob into `root`, turning what was skipped into notes for the user.
fn unpack(blob: &Path, root: &Path, result: &mut StepResult) -> Result<(), String> {
    let report = rootfs::unpack_blob(blob, true, root, &UnpackOptions::default())
        .map_err(|e| format!("cannot unpack layer {}: {e}", blob.display()))?;
    if !report.skipped_devices.is_empty() {
        result.notes.push(format!(
            "{} device node(s) of the base image skipped (not allowed in a user namespace), e.g. {}",
            report.skipped_devices.len(),
            report.skipped_devices[0]
        ));
    }
    result.notes.extend(report.notes);
    if !report.unmapped_owners.is_empty() {
        result.notes.push(format!(
            "{} file(s) of the base image keep owner root: their owners are not mapped into the sandbox, e.g. {}",
            report.unmapped_owners.len(),
            report.unmapped_owners[0]
        ));
    }
    Ok(())
}

/// The root filesystem the step works in. Rootless: `STAGE/upper`, or `STAGE/merged` — overlayfs with
/// the shared, unpacked base as its lower layer and `upper` holding the stage's own changes (the base is
/// unpacked once under the rootfs cache). Whether a stage uses overlayfs is decided at its first step
/// and recorded in `STAGE/mode`: where the kernel refuses the mount, the base is unpacked into `upper`.
fn prepare_root(req: &StepRequest, result: &mut StepResult) -> Result<PathBuf, String> {
    if req.isolation == Isolation::InContainer {
        return Ok(req.rootfs.clone());
    }
    let stage = &req.rootfs;
    let upper = stage.join("upper");
    let io = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
    std::fs::create_dir_all(&upper).map_err(|e| io("create the stage's directory", e))?;
    let Some(base) = &req.base else {
        return Ok(upper);
    };
    let mode_file = stage.join("mode");
    let mode = std::fs::read_to_string(&mode_file).unwrap_or_default();
    if mode == "plain" {
        return Ok(upper);
    }
    ensure_base(base, result)?;
    let (work, merged) = (stage.join("work"), stage.join("merged"));
    for dir in [&work, &merged] {
        std::fs::create_dir_all(dir).map_err(|e| io("create the stage's directory", e))?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        base.dir.display(),
        upper.display(),
        work.display()
    );
    let mounted = nix::mount::mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(options.as_str()),
    );
    match mounted {
        Ok(()) => {
            if mode.is_empty() {
                std::fs::write(&mode_file, "overlay")
                    .map_err(|e| io("record the stage's mode", e))?;
            }
            Ok(merged)
        }
        Err(e) if mode == "overlay" => Err(format!(
            "cannot mount the stage's overlay filesystem again: {e}"
        )),
        Err(e) => {
            result.notes.push(format!(
                "overlayfs is not available here ({e}): the base image is unpacked for this stage"
            ));
            std::fs::write(&mode_file, "plain").map_err(|e| io("record the stage's mode", e))?;
            for blob in &base.layers {
                unpack(blob, &upper, result)?;
            }
            Ok(upper)
        }
    }
}

/// Unpacks the base into its shared directory unless it is there: into a private temporary directory
/// first, then renamed, so a half-unpacked base is never used.
fn ensure_base(base: &BaseDir, result: &mut StepResult) -> Result<(), String> {
    if base.dir.is_dir() {
        // Mounted again: marked used (`hoist prune --keep-storage` keeps it longest).
        crate::image::blobs::mark_used(&base.dir);
        return Ok(());
    }
    let parent = base.dir.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.{}",
        base.dir.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = rootfs::remove_tree(&tmp);
    std::fs::create_dir(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    for blob in &base.layers {
        if let Err(e) = unpack(blob, &tmp, result) {
            let _ = rootfs::remove_tree(&tmp);
            return Err(e);
        }
    }
    if std::fs::rename(&tmp, &base.dir).is_err() {
        // Another build got there first.
        let _ = rootfs::remove_tree(&tmp);
    }
    // Its time was the base's root directory's in the layer, not this use.
    crate::image::blobs::mark_used(&base.dir);
    Ok(())
}

/// A mount for the command, with its target resolved to a host path inside the rootfs.
pub struct Resolved {
    pub target: PathBuf,
    pub kind: MountKind,
}

fn run(req: &StepRequest, make_tap: TapMaker<'_>) -> Result<StepResult, String> {
    let mut result = StepResult::default();
    if req.isolation == Isolation::Rootless {
        linux::enter_namespaces(req.isolate_network, &req.process.hostname)
            .map_err(|e| format!("cannot create the sandbox's namespaces: {e}"))?;
    } else if !req.mounts.is_empty() {
        return Err("RUN --mount needs the rootless sandbox; in-container mode cannot mount\nhint: drop `--sandbox=in-container`, or remove the mount from the RUN step".into());
    }
    let root = prepare_root(req, &mut result)?;
    for blob in &req.apply {
        unpack(blob, &root, &mut result)?;
    }
    let exec_user = user::resolve_in(&root, &req.process.user)?;
    let mut env = req.process.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", exec_user.home));
    }
    let before = Snapshot::capture(&root, &req.exclude)
        .map_err(|e| format!("cannot read the root filesystem: {e}"))?;

    let mut stubs = Vec::new();
    let outcome = prepare_and_run(req, &root, &exec_user, &env, &mut stubs);
    remove_stubs(stubs);
    let code = outcome?;
    result.exit_code = Some(code);
    if code != 0 {
        return Ok(result);
    }
    let after = Snapshot::capture(&root, &req.exclude)
        .map_err(|e| format!("cannot read the root filesystem after the command: {e}"))?;
    let entries = snapshot::diff(&before, &after, &root)
        .map_err(|e| format!("cannot compute the step's changes: {e}"))?;
    if entries.is_empty() {
        return Ok(result);
    }
    let blobs = BlobStore::open(&req.layer.blobs).map_err(|e| e.to_string())?;
    let mut writer = LayerWriter::with_level(&blobs, req.layer.epoch, req.layer.level)
        .map_err(|e| e.to_string())?
        .with_tap(req.layer.verdicts.as_deref().map(make_tap));
    writer.write_all(entries).map_err(|e| e.to_string())?;
    let layer = writer.finish().map_err(|e| e.to_string())?;
    result.layer = Some((layer.descriptor, layer.diff_id));
    Ok(result)
}

fn prepare_and_run(
    req: &StepRequest,
    root: &Path,
    exec_user: &ExecUser,
    env: &[String],
    stubs: &mut Vec<Stub>,
) -> Result<i32, String> {
    let resolve = |p: &str| {
        rootfs::resolve_in_root(root, p)
            .map_err(|e| format!("cannot resolve {p} in the image: {e}"))
    };
    match req.isolation {
        Isolation::InContainer => in_container::run(&req.process, exec_user, env),
        Isolation::Rootless => {
            let mut mounts = Vec::new();
            for dir in ["/proc", "/dev"] {
                let path = resolve(dir)?;
                ensure(&path, true, stubs)?;
            }
            let mut files = Vec::new();
            for (target, source) in [
                ("/etc/resolv.conf", &req.resolv_conf),
                ("/etc/hosts", &req.hosts),
            ] {
                if let Some(source) = source {
                    let path = resolve(target)?;
                    if path.is_dir() {
                        continue;
                    }
                    ensure(&path, false, stubs)?;
                    files.push((source.clone(), path));
                }
            }
            for mount in &req.mounts {
                let path = resolve(&mount.target)?;
                let is_file = match &mount.kind {
                    MountKind::Bind { source, create, .. } => create.is_none() && source.is_file(),
                    MountKind::Secret { .. } => true,
                    MountKind::Tmpfs { .. } => false,
                };
                ensure(&path, !is_file, stubs)?;
                match &mount.kind {
                    MountKind::Bind {
                        source,
                        create: Some((uid, gid, mode)),
                        seed,
                        ..
                    } if !source.exists() => {
                        make_cache_dir(source, *uid, *gid, *mode, seed.as_ref())?
                    }
                    MountKind::Secret {
                        source,
                        uid,
                        gid,
                        mode,
                    } => {
                        use std::os::unix::fs::PermissionsExt;
                        let err = |e: std::io::Error| format!("cannot prepare a secret: {e}");
                        std::os::unix::fs::lchown(source, Some(*uid), Some(*gid)).map_err(err)?;
                        std::fs::set_permissions(source, std::fs::Permissions::from_mode(*mode))
                            .map_err(err)?;
                    }
                    _ => {}
                }
                mounts.push(Resolved {
                    target: path,
                    kind: mount.kind.clone(),
                });
            }
            let cwd = resolve(&req.process.cwd)?;
            if !cwd.is_dir() {
                return Err(format!(
                    "the working directory {} does not exist in the image\nhint: create it with WORKDIR or an earlier RUN mkdir",
                    req.process.cwd
                ));
            }
            linux::run(root, &req.process, exec_user, env, &files, &mounts)
        }
    }
}

fn make_cache_dir(
    path: &Path,
    uid: u32,
    gid: u32,
    mode: u32,
    seed: Option<&Seed>,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| format!("cannot create the cache mount {}: {e}", path.display());
    std::fs::create_dir_all(path).map_err(err)?;
    if let Some(seed) = seed {
        copy_tree(&seed.dir, path, seed.chown.then_some((uid, gid))).map_err(err)?;
    }
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)
}

/// Copies the contents of `from` into the existing directory `to` (files, directories, symlinks),
/// each copy owned by `owner` when given.
fn copy_tree(from: &Path, to: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let own = |path: &Path| match owner {
        Some((uid, gid)) => std::os::unix::fs::lchown(path, Some(uid), Some(gid)),
        None => Ok(()),
    };
    if from.is_file() {
        let dest = to.join(from.file_name().unwrap_or_default());
        std::fs::copy(from, &dest)?;
        return own(&dest);
    }
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dest = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
        own(&dest)?;
    }
    Ok(())
}
