//! The rootless Linux sandbox: namespaces, the command's mounts, `pivot_root`, and the exec itself.
//!
//! Follows what runc does for an OCI runtime-spec container (`config-linux.md`, default mounts of
//! `runtime-spec/config.md`), cut down to what a build step needs: `/proc`, a minimal `/dev` (null, zero,
//! full, random, urandom, tty, pts with its own ptmx, shm), `/etc/resolv.conf` and `/etc/hosts` bound
//! read-only from host files, the step's own mounts, then `pivot_root` into the stage's root filesystem.
//! The sandbox child (already root in its user namespace) calls [`enter_namespaces`] once; the command
//! process gets a mount namespace of its own, so nothing it mounts is seen by the snapshot.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use super::child::Resolved;
use super::user::ExecUser;
use super::{MountKind, Process};

/// Mount, pid, uts and ipc namespaces (and net when `isolate_network`) for the sandbox child.
pub fn enter_namespaces(isolate_network: bool, hostname: &str) -> io::Result<()> {
    // No CLONE_NEWPID here: a process that unshared its pid namespace cannot start threads, and the
    // child writes the layer on every core. The command alone gets the new pid namespace (see `run`).
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
    if isolate_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    nix::unistd::sethostname(hostname)?;
    if isolate_network {
        loopback_up()?;
    }
    Ok(())
}

/// `ip link set lo up` in the new network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket and ioctl calls on a zeroed, correctly sized `ifreq`.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let err = io::Error::last_os_error();
        libc::close(fd);
        if rc != 0 {
            return Err(err);
        }
    }
    Ok(())
}

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Runs the command as pid 1 of a new pid namespace, in a mount namespace of its own, rooted in
/// `rootfs`; returns its exit code (128 + the signal for a killed command).
pub fn run(
    rootfs: &Path,
    process: &Process,
    user: &ExecUser,
    env: &[String],
    files: &[(PathBuf, PathBuf)],
    mounts: &[Resolved],
) -> Result<i32, String> {
    if process.argv.is_empty() {
        return Err("RUN has an empty command".into());
    }
    let cstr = |s: &str| CString::new(s).map_err(|_| format!("`{s}` contains a NUL byte"));
    let argv: Vec<CString> = process
        .argv
        .iter()
        .map(|a| cstr(a))
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = env.iter().map(|e| cstr(e)).collect::<Result<_, _>>()?;
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let setup = Setup {
        rootfs: rootfs.to_path_buf(),
        files: files.to_vec(),
        mounts: mounts
            .iter()
            .map(|m| (m.target.clone(), m.kind.clone()))
            .collect(),
        cwd: cstr(&process.cwd)?,
        user: user.clone(),
    };
    // Setup errors travel back on a close-on-exec pipe: nothing arrives when the exec succeeds.
    let (err_read, err_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| format!("cannot make a pipe: {e}"))?;
    let mut stack = vec![0u8; 1024 * 1024];
    let child = Box::new(|| -> isize {
        let failure = match setup.apply() {
            Ok(()) => exec(&argv, &envp, &path_var),
            Err(e) => e,
        };
        let _ = nix::unistd::write(&err_write, failure.to_string().as_bytes());
        127
    });
    // SAFETY: the sandbox child is single-threaded here; without CLONE_VM the callback runs on a copy
    // of this process's memory, as after fork.
    let pid = unsafe {
        nix::sched::clone(
            child,
            &mut stack,
            CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS,
            Some(libc::SIGCHLD),
        )
    }
    .map_err(|e| format!("cannot start the command in new namespaces: {e}"))?;
    drop(err_write);
    let status = loop {
        match nix::sys::wait::waitpid(pid, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(|e| format!("cannot wait for the command: {e}"))?,
        }
    };
    let mut message = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::fs::File::from(err_read), &mut message);
    if !message.is_empty() {
        let message = String::from_utf8_lossy(&message);
        let program = &process.argv[0];
        return Err(
            if message.contains("ENOENT") && message.starts_with("exec") {
                format!(
                    "`{program}` was not found in the image (PATH={path_var})\nhint: install it in an earlier step or use the full path"
                )
            } else {
                format!("cannot start `{program}`: {message}")
            },
        );
    }
    use nix::sys::wait::WaitStatus;
    Ok(match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => -1,
    })
}

/// `execvpe` inside the new root: the program looked up on the step's PATH.
fn exec(argv: &[CString], envp: &[CString], path_var: &str) -> io::Error {
    let program = argv[0].to_bytes();
    let candidates: Vec<CString> = if program.contains(&b'/') {
        vec![argv[0].clone()]
    } else {
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .filter_map(|d| {
                let mut full = d.as_bytes().to_vec();
                full.push(b'/');
                full.extend_from_slice(program);
                CString::new(full).ok()
            })
            .collect()
    };
    let mut last = nix::errno::Errno::ENOENT;
    for candidate in &candidates {
        match nix::unistd::execve(candidate, argv, envp) {
            Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ENOTDIR) => continue,
            Err(e) => last = e,
            Ok(never) => match never {},
        }
    }
    io::Error::other(format!("exec: {last}"))
}

/// Everything the command process does between fork and exec.
struct Setup {
    rootfs: PathBuf,
    files: Vec<(PathBuf, PathBuf)>,
    mounts: Vec<(PathBuf, MountKind)>,
    cwd: CString,
    user: ExecUser,
}

fn ctx<T>(what: &str, r: nix::Result<T>) -> io::Result<T> {
    r.map_err(|e| io::Error::other(format!("{what}: {e}")))
}

impl Setup {
    fn apply(&self) -> io::Result<()> {
        let root = &self.rootfs;
        ctx(
            "unshare the mount namespace",
            unshare(CloneFlags::CLONE_NEWNS),
        )?;
        ctx(
            "make mounts private",
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            ),
        )?;
        ctx(
            "bind the root filesystem",
            mount(
                Some(root),
                root,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            ),
        )?;
        let proc = root.join("proc");
        ctx(
            "mount /proc",
            mount(
                Some("proc"),
                &proc,
                Some("proc"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None::<&str>,
            ),
        )?;
        self.mount_dev(&root.join("dev"))?;
        for (source, target) in &self.files {
            bind(source, target, true)?;
        }
        for (target, kind) in &self.mounts {
            match kind {
                MountKind::Bind {
                    source, readonly, ..
                } => {
                    // A target under the fresh /dev (BuildKit's /dev/pipes) is made here, in the tmpfs.
                    if target.symlink_metadata().is_err() && source.is_dir() {
                        std::fs::create_dir_all(target)?;
                    }
                    bind(source, target, *readonly)?
                }
                MountKind::Secret { source, .. } => bind(source, target, true)?,
                MountKind::Tmpfs { size } => {
                    let data = size.map(|s| format!("size={s}"));
                    ctx(
                        "mount a tmpfs",
                        mount(
                            Some("tmpfs"),
                            target,
                            Some("tmpfs"),
                            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                            data.as_deref(),
                        ),
                    )?;
                }
            }
        }
        std::env::set_current_dir(root)?;
        ctx("pivot_root", nix::unistd::pivot_root(".", "."))?;
        ctx("detach the old root", umount2(".", MntFlags::MNT_DETACH))?;
        std::env::set_current_dir("/")?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::chdir(self.cwd.as_ptr()) } != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("cannot enter the working directory: {e}"),
            ));
        }
        let groups: Vec<nix::unistd::Gid> = self
            .user
            .groups
            .iter()
            .map(|g| nix::unistd::Gid::from_raw(*g))
            .collect();
        if let Err(e) = nix::unistd::setgroups(&groups) {
            // Denied in a single-id namespace; harmless when the user is root with no other groups.
            if !(self.user.uid == 0 && self.user.groups.iter().all(|g| *g == 0)) {
                return Err(io::Error::other(format!("setgroups: {e}")));
            }
        }
        let gid = nix::unistd::Gid::from_raw(self.user.gid);
        let uid = nix::unistd::Uid::from_raw(self.user.uid);
        ctx(
            &format!("switch to group {}", self.user.gid),
            nix::unistd::setresgid(gid, gid, gid),
        )?;
        ctx(
            &format!("switch to user {}", self.user.uid),
            nix::unistd::setresuid(uid, uid, uid),
        )?;
        Ok(())
    }

    fn mount_dev(&self, dev: &Path) -> io::Result<()> {
        ctx(
            "mount /dev",
            mount(
                Some("tmpfs"),
                dev,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
                Some("mode=755,size=65536k"),
            ),
        )?;
        for name in DEVICES {
            let host = Path::new("/dev").join(name);
            if !host.exists() {
                continue;
            }
            let target = dev.join(name);
            std::fs::File::create(&target)?;
            bind(&host, &target, false)?;
        }
        let pts = dev.join("pts");
        std::fs::create_dir(&pts)?;
        ctx(
            "mount /dev/pts",
            mount(
                Some("devpts"),
                &pts,
                Some("devpts"),
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                Some("newinstance,ptmxmode=0666,mode=0620"),
            ),
        )?;
        std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx"))?;
        let shm = dev.join("shm");
        std::fs::create_dir(&shm)?;
        ctx(
            "mount /dev/shm",
            mount(
                Some("shm"),
                &shm,
                Some("tmpfs"),
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("mode=1777,size=65536k"),
            ),
        )?;
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            std::os::unix::fs::symlink(target, dev.join(name))?;
        }
        Ok(())
    }
}

/// Bind `source` onto `target`, read-only when asked. A read-only remount must keep the flags the
/// kernel locked on the source mount (nosuid, nodev, noexec) or a user namespace gets EPERM.
fn bind(source: &Path, target: &Path, readonly: bool) -> io::Result<()> {
    let what = format!("bind {} onto {}", source.display(), target.display());
    ctx(
        &what,
        mount(
            Some(source),
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
    )?;
    if readonly {
        let locked = nix::sys::statvfs::statvfs(target)
            .map(|s| s.flags())
            .unwrap_or(nix::sys::statvfs::FsFlags::empty());
        let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        use nix::sys::statvfs::FsFlags;
        for (fs, ms) in [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        ] {
            if locked.contains(fs) {
                flags |= ms;
            }
        }
        ctx(
            &format!("make {} read-only", target.display()),
            mount(None::<&str>, target, None::<&str>, flags, None::<&str>),
        )?;
    }
    Ok(())
}
