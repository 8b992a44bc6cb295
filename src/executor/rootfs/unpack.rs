//! Applying one layer's entries, in order, to an open image root (see the parent module for the rules).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, fstatat, futimens, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchown, fchownat, linkat, mkfifoat, symlinkat};

use super::header::Meta;
use super::remove::{list_dir, remove_at};
use super::root::{FileId, Root};
use super::{READ_HINT, RootfsError, UnpackOptions, UnpackReport, normalize};
use crate::executor::xattrs;

/// Applies one layer's entries, in order.
pub struct Unpacker<'a> {
    root: Root,
    options: &'a UnpackOptions,
    report: UnpackReport,
    /// (parent directory, name) of everything this layer wrote: an opaque directory keeps those.
    written: HashSet<(FileId, OsString)>,
    /// This layer's directories (normalised names) and their (atime, mtime), set at the end.
    dir_times: Vec<(PathBuf, TimeSpec, TimeSpec)>,
    buf: Vec<u8>,
}

/// Where an entry goes: its name in an open parent directory.
#[derive(Clone, Copy)]
struct At<'a> {
    dir: BorrowedFd<'a>,
    name: &'a OsStr,
}

impl<'a> Unpacker<'a> {
    pub fn new(root: Root, options: &'a UnpackOptions) -> Unpacker<'a> {
        Unpacker {
            root,
            options,
            report: UnpackReport::default(),
            written: HashSet::new(),
            dir_times: Vec::new(),
            buf: vec![0; 128 * 1024],
        }
    }

    pub fn apply<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), RootfsError> {
        let raw = entry.path_bytes().into_owned();
        let display = String::from_utf8_lossy(&raw).into_owned();
        let path = normalize(&raw).ok_or_else(|| RootfsError::Escape {
            entry: display.clone(),
        })?;
        // The root itself (`./`) keeps its own metadata, as in containerd.
        let (Some(name), Some(parent)) = (path.file_name(), path.parent()) else {
            return Ok(());
        };
        if let Some(target) = name.as_bytes().strip_prefix(b".wh.") {
            return self.whiteout(parent, OsStr::from_bytes(target), &display);
        }
        let meta = Meta::read(&mut entry).map_err(|source| RootfsError::Read {
            source,
            hint: READ_HINT,
        })?;
        let mut created = Vec::new();
        let dir = self
            .root
            .create_dir_all(parent, Mode::from_bits_truncate(0o755), &mut created)
            .map_err(self.fail(&display, "create the parent directories"))?;
        for made in created {
            self.written.insert((made.parent, made.name));
        }
        let dir_id = FileId::of(dir.as_fd()).map_err(self.fail(&display, "open the parent"))?;
        self.written.insert((dir_id, name.to_owned()));
        let at = At {
            dir: dir.as_fd(),
            name,
        };
        match entry.header().entry_type() {
            tar::EntryType::Directory => self.directory(at, &path, &meta, &display),
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                self.file(at, &mut entry, &meta, &display)
            }
            tar::EntryType::Symlink => {
                let target = link_name(&entry, &display)?;
                self.symlink(at, &target, &meta, &display)
            }
            tar::EntryType::Link => {
                let target = link_name(&entry, &display)?;
                self.hardlink(at, dir_id, &target, &display)
            }
            kind @ (tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo) => {
                let header = entry.header();
                let number = |n: io::Result<Option<u32>>| n.ok().flatten().unwrap_or(0);
                let dev =
                    libc::makedev(number(header.device_major()), number(header.device_minor()));
                self.special(at, kind, dev, &meta, &display)
            }
            // Headers the reader consumes itself, and types with no file behind them.
            _ => Ok(()),
        }
    }

    /// A whiteout `.wh.NAME` removes NAME; `.wh..wh..opq` empties its directory of what earlier layers put
    /// there. Other `.wh..wh.` names are AUFS bookkeeping, not content.
    fn whiteout(&mut self, parent: &Path, target: &OsStr, entry: &str) -> Result<(), RootfsError> {
        let dir = match self.root.dir(parent) {
            Ok(dir) => dir,
            // Nothing there to hide.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                return Ok(());
            }
            Err(e) => return Err(self.fail(entry, "open the directory of the whiteout")(e)),
        };
        let target = target.as_bytes();
        if target == b".wh..opq" {
            return self.opaque(dir, entry);
        }
        if target.starts_with(b".wh.") {
            return Ok(());
        }
        if target.is_empty() || target == b"." || target == b".." || target.contains(&b'/') {
            return Err(RootfsError::Malformed {
                entry: entry.to_string(),
                why: "a whiteout must name one file of its directory",
            });
        }
        remove_at(dir.as_fd(), OsStr::from_bytes(target))
            .map_err(self.fail(entry, "remove the file the whiteout hides"))
    }

    /// Removes every child of `dir` this layer did not write.
    fn opaque(&mut self, dir: OwnedFd, entry: &str) -> Result<(), RootfsError> {
        let id = FileId::of(dir.as_fd()).map_err(self.fail(entry, "open the opaque directory"))?;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let names = openat(&dir, ".", flags, Mode::empty())
            .map_err(io::Error::from)
            .and_then(list_dir)
            .map_err(self.fail(entry, "list the opaque directory"))?;
        for name in names {
            let key = (id, name);
            if !self.written.contains(&key) {
                remove_at(dir.as_fd(), &key.1)
                    .map_err(self.fail(entry, "empty the opaque directory"))?;
            }
        }
        Ok(())
    }

    fn directory(
        &mut self,
        at: At<'_>,
        path: &Path,
        meta: &Meta,
        entry: &str,
    ) -> Result<(), RootfsError> {
        let exists = match fstatat(at.dir, at.name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if file_type(st.st_mode) == SFlag::S_IFDIR => true,
            Ok(_) => {
                remove_at(at.dir, at.name).map_err(self.fail(entry, "replace what is there"))?;
                false
            }
            Err(Errno::ENOENT) => false,
            Err(e) => return Err(self.fail(entry, "look at what is there")(e)),
        };
        if !exists {
            mkdirat(at.dir, at.name, Mode::S_IRWXU)
                .map_err(self.fail(entry, "create the directory"))?;
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(at.dir, at.name, flags, Mode::empty())
            .map_err(self.fail(entry, "open the directory"))?;
        self.owner(Target::Open(fd.as_fd()), meta, entry)?;
        fchmod(&fd, meta.mode).map_err(self.fail(entry, "set the mode"))?;
        self.xattrs(fd.as_fd(), meta, entry);
        self.dir_times
            .push((path.to_path_buf(), meta.atime, meta.mtime));
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        at: At<'_>,
        data: &mut R,
        meta: &Meta,
        entry: &str,
    ) -> Result<(), RootfsError> {
        remove_at(at.dir, at.name).map_err(self.fail(entry, "replace what is there"))?;
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(at.dir, at.name, flags, Mode::S_IRUSR | Mode::S_IWUSR)
            .map_err(self.fail(entry, "create the file"))?;
        let mut file = File::from(fd);
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(RootfsError::Read {
                        source,
                        hint: READ_HINT,
                    });
                }
            };
            file.write_all(&self.buf[..n])
                .map_err(self.fail(entry, "write the file"))?;
        }
        self.owner(Target::Open(file.as_fd()), meta, entry)?;
        fchmod(&file, meta.mode).map_err(self.fail(entry, "set the mode"))?;
        self.xattrs(file.as_fd(), meta, entry);
        futimens(&file, &meta.atime, &meta.mtime).map_err(self.fail(entry, "set the times"))
    }

    fn symlink(
        &mut self,
        at: At<'_>,
        target: &OsStr,
        meta: &Meta,
        entry: &str,
    ) -> Result<(), RootfsError> {
        remove_at(at.dir, at.name).map_err(self.fail(entry, "replace what is there"))?;
        symlinkat(target, at.dir, at.name).map_err(self.fail(entry, "create the symlink"))?;
        self.owner(Target::At(at), meta, entry)?;
        utimensat(
            at.dir,
            at.name,
            &meta.atime,
            &meta.mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(self.fail(entry, "set the times"))
    }

    /// A hard link to `target`, a path inside the root (its directories resolved inside the root; the
    /// target itself not followed, so a link to a symlink links the symlink).
    fn hardlink(
        &mut self,
        at: At<'_>,
        dir_id: FileId,
        target: &OsStr,
        entry: &str,
    ) -> Result<(), RootfsError> {
        let target_name = target.to_string_lossy().into_owned();
        let link_err = |source: io::Error| RootfsError::LinkTarget {
            entry: entry.to_string(),
            target: target_name.clone(),
            source,
        };
        let normal = normalize(target.as_bytes()).ok_or_else(|| RootfsError::LinkEscape {
            entry: entry.to_string(),
            target: target_name.clone(),
        })?;
        let (Some(name), Some(parent)) = (normal.file_name(), normal.parent()) else {
            return Err(link_err(io::Error::from(io::ErrorKind::IsADirectory)));
        };
        let target_dir = self.root.dir(parent).map_err(link_err)?;
        let target_id = FileId::of(target_dir.as_fd()).map_err(link_err)?;
        if target_id == dir_id && name == at.name {
            return Ok(()); // a link to itself: already there
        }
        remove_at(at.dir, at.name).map_err(self.fail(entry, "replace what is there"))?;
        linkat(&target_dir, name, at.dir, at.name, AtFlags::empty()).map_err(|e| link_err(e.into()))
    }

    /// Device nodes (skipped where mknod is not permitted) and fifos.
    fn special(
        &mut self,
        at: At<'_>,
        kind: tar::EntryType,
        dev: libc::dev_t,
        meta: &Meta,
        entry: &str,
    ) -> Result<(), RootfsError> {
        remove_at(at.dir, at.name).map_err(self.fail(entry, "replace what is there"))?;
        let made = match kind {
            tar::EntryType::Fifo => mkfifoat(at.dir, at.name, Mode::S_IRUSR | Mode::S_IWUSR),
            tar::EntryType::Block => mknodat(at.dir, at.name, SFlag::S_IFBLK, Mode::S_IRUSR, dev),
            _ => mknodat(at.dir, at.name, SFlag::S_IFCHR, Mode::S_IRUSR, dev),
        };
        match made {
            Ok(()) => {}
            Err(Errno::EPERM) if kind != tar::EntryType::Fifo => {
                self.report.skipped_devices.push(entry.to_string());
                return Ok(());
            }
            Err(e) => return Err(self.fail(entry, "create the device node or fifo")(e)),
        }
        self.owner(Target::At(at), meta, entry)?;
        // Just made by us, so not a symlink: following is safe.
        fchmodat(at.dir, at.name, meta.mode, FchmodatFlags::FollowSymlink)
            .map_err(self.fail(entry, "set the mode"))?;
        utimensat(
            at.dir,
            at.name,
            &meta.atime,
            &meta.mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(self.fail(entry, "set the times"))
    }

    /// Sets the owner; an id this user namespace does not map is reported (or fatal when strict).
    fn owner(&mut self, target: Target<'_>, meta: &Meta, entry: &str) -> Result<(), RootfsError> {
        let result = match (u32::try_from(meta.uid), u32::try_from(meta.gid)) {
            (Ok(uid), Ok(gid)) => target.chown(Uid::from_raw(uid), Gid::from_raw(gid)),
            _ => Err(Errno::EINVAL),
        };
        match result {
            Ok(()) => Ok(()),
            Err(Errno::EINVAL | Errno::EPERM) if !self.options.strict_owners => {
                self.report.unmapped_owners.push(entry.to_string());
                Ok(())
            }
            Err(e @ (Errno::EINVAL | Errno::EPERM)) => Err(RootfsError::Owner {
                entry: entry.to_string(),
                uid: meta.uid,
                gid: meta.gid,
                source: e.into(),
            }),
            Err(e) => Err(self.fail(entry, "set the owner")(e)),
        }
    }

    fn xattrs(&mut self, fd: BorrowedFd<'_>, meta: &Meta, entry: &str) {
        for (name, value) in &meta.xattrs {
            if let Err(e) = xattrs::set(fd, name, value) {
                self.report.notes.push(format!(
                    "`{entry}`: extended attribute `{name}` not applied: {e}"
                ));
            }
        }
    }

    /// Sets the times of this layer's directories, now that nothing more is written into them.
    pub fn finish(self) -> Result<UnpackReport, RootfsError> {
        for (path, atime, mtime) in &self.dir_times {
            let (Some(name), Some(parent)) = (path.file_name(), path.parent()) else {
                continue;
            };
            // Gone or replaced later in the layer: nothing to set.
            let Ok(dir) = self.root.dir(parent) else {
                continue;
            };
            match fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if file_type(st.st_mode) == SFlag::S_IFDIR => {}
                _ => continue,
            }
            utimensat(&dir, name, atime, mtime, UtimensatFlags::NoFollowSymlink)
                .map_err(self.fail(&path.to_string_lossy(), "set the times of the directory"))?;
        }
        Ok(self.report)
    }

    fn fail<E: Into<io::Error>>(
        &self,
        entry: &str,
        action: &'static str,
    ) -> impl FnOnce(E) -> RootfsError + use<E> {
        let entry = entry.to_string();
        let root = self.root.path().to_path_buf();
        move |source| RootfsError::Write {
            entry,
            action,
            root,
            source: source.into(),
        }
    }
}

/// What an owner change applies to: an open file or directory, or a name that is not followed.
enum Target<'a> {
    Open(BorrowedFd<'a>),
    At(At<'a>),
}

impl Target<'_> {
    fn chown(&self, uid: Uid, gid: Gid) -> nix::Result<()> {
        match self {
            Target::Open(fd) => fchown(fd, Some(uid), Some(gid)),
            Target::At(at) => fchownat(
                at.dir,
                at.name,
                Some(uid),
                Some(gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ),
        }
    }
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>, display: &str) -> Result<OsString, RootfsError> {
    match entry.link_name_bytes() {
        Some(name) if !name.is_empty() => Ok(OsString::from_vec(name.into_owned())),
        _ => Err(RootfsError::Malformed {
            entry: display.to_string(),
            why: "a link without a target",
        }),
    }
}

fn file_type(mode: u32) -> SFlag {
    SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits())
}
