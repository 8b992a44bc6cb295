//! Snapshots of a root filesystem, and what changed between two of them as layer entries: the layer of a
//! RUN step (OCI image-spec `layer.md`, "Change Types", "Whiteouts"). Changes are found the way
//! containerd's and Docker's "changes" find them, by comparing `lstat` results, never by reading contents.
//!
//! A path changed when its kind, mode, owner, size, mtime, ctime (not for directories) or inode changed. A directory that gained
//! or lost children changed too (its mtime moved) and is emitted, as containerd does; an untouched parent
//! is not. A deleted path becomes one whiteout `DIR/.wh.NAME`, for the topmost deleted path only. A
//! directory that replaced a file or symlink is written whole after an opaque marker
//! `DIR/.wh..wh..opq`; a directory deleted and made again is compared like any other (whiteouts for
//! what it lost), since whether its inode number was reused is chance and the layer must not depend on
//! it. Whiteouts and opaque markers are empty
//! regular files with mode 0 owned by 0:0, as containerd writes them. Regular files sharing an inode
//! become hard links to the first of them in path order. Sockets, fifos and device nodes are not carried
//! ([`Kind::Other`]); nor is the root directory's own metadata.
//!
//! Known limit of any stat-based diff: a file rewritten with the same size within the filesystem's
//! timestamp granularity, keeping its inode, looks unchanged (kernels since 6.13 give ext4, xfs, btrfs and
//! tmpfs fine-grained ctimes once a file's ctime has been read, which closes that window).

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};

pub use diff::diff;

mod diff;

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    /// Fifo, socket or device node: seen, not carried into layers.
    Other,
}

/// A timestamp: seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub sec: i64,
    pub nsec: i64,
}

/// What `lstat` says about a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    /// Permission bits with set-id and sticky bits (`& 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: Time,
    pub ctime: Time,
    pub ino: u64,
    pub dev: u64,
    pub nlink: u64,
}

impl Stat {
    fn of(st: &FileStat) -> Stat {
        let kind = match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFREG => Kind::File,
            SFlag::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        };
        Stat {
            kind,
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            mtime: Time {
                sec: st.st_mtime,
                nsec: st.st_mtime_nsec,
            },
            ctime: Time {
                sec: st.st_ctime,
                nsec: st.st_ctime_nsec,
            },
            ino: st.st_ino,
            dev: st.st_dev,
            nlink: st.st_nlink,
        }
    }

    /// The same inode on the same device.
    fn same_inode(&self, other: &Stat) -> bool {
        self.ino == other.ino && self.dev == other.dev
    }

    /// Whether anything a layer records (or that betrays a content change) differs.
    fn changed(&self, other: &Stat) -> bool {
        self.kind != other.kind
            || self.mode != other.mode
            || self.uid != other.uid
            || self.gid != other.gid
            || self.size != other.size
            || self.mtime != other.mtime
            // A directory's ctime also moves when the sandbox makes and removes a mount point in it
            // (its mtime is put back); what a layer records of a directory is covered above.
            || (self.ctime != other.ctime && self.kind != Kind::Dir)
            || !self.same_inode(other)
    }
}

/// Every path under a root (absolute inside it: `/`, `/etc/passwd`) and its [`Stat`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    entries: BTreeMap<String, Stat>,
    non_utf8: Vec<PathBuf>,
}

impl Snapshot {
    /// Walks `root` without following symlinks, `lstat` only. Paths in `exclude` (absolute inside the
    /// root, e.g. `/proc`) are skipped with everything below them, and so are directories on another
    /// filesystem than the root's (mount points).
    pub fn capture(root: &Path, exclude: &[String]) -> io::Result<Snapshot> {
        let context = |e: Errno| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("`{}`: {e}", root.display()),
            )
        };
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(root, flags, Mode::empty()).map_err(context)?;
        let st = fstat(&fd).map_err(context)?;
        let mut walk = Walk {
            root,
            exclude: exclude
                .iter()
                .map(|e| e.trim_end_matches('/'))
                .filter(|e| !e.is_empty())
                .collect(),
            dev: st.st_dev,
            snapshot: Snapshot::default(),
        };
        walk.snapshot.entries.insert("/".to_string(), Stat::of(&st));
        let mut key = String::with_capacity(512);
        walk.dir(fd, &mut key)?;
        Ok(walk.snapshot)
    }

    pub fn get(&self, path: &str) -> Option<&Stat> {
        self.entries.get(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Paths and stats in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Stat)> {
        self.entries.iter().map(|(p, s)| (p.as_str(), s))
    }

    /// Host paths left out because their names are not UTF-8 (layer entries hold UTF-8 names only).
    pub fn non_utf8(&self) -> &[PathBuf] {
        &self.non_utf8
    }

    /// The paths a layer can carry: not the root, not [`Kind::Other`].
    fn carried(&self) -> impl Iterator<Item = (&str, &Stat)> {
        self.iter()
            .filter(|(p, s)| *p != "/" && s.kind != Kind::Other)
    }

    fn is_dir(&self, path: &str) -> Option<&Stat> {
        self.get(path).filter(|s| s.kind == Kind::Dir)
    }
}

struct Walk<'a> {
    root: &'a Path,
    exclude: Vec<&'a str>,
    dev: u64,
    snapshot: Snapshot,
}

impl Walk<'_> {
    /// Records the children of the open directory whose path is `key` ("" for the root), depth first.
    fn dir(&mut self, fd: OwnedFd, key: &mut String) -> io::Result<()> {
        let stat_fd = fd.try_clone()?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(|e| self.error(key, e))?;
        for entry in dir.iter() {
            let entry = entry.map_err(|e| self.error(key, e))?;
            let name = entry.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                let host = self.host(key).join(std::ffi::OsStr::from_bytes(bytes));
                self.snapshot.non_utf8.push(host);
                continue;
            };
            let len = key.len();
            key.push('/');
            key.push_str(text);
            let result = self.child(&stat_fd, name, key);
            key.truncate(len);
            result?;
        }
        Ok(())
    }

    fn child(&mut self, dir: &OwnedFd, name: &CStr, key: &mut String) -> io::Result<()> {
        if self.exclude.contains(&key.as_str()) {
            return Ok(());
        }
        let st = match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(()), // gone while we looked
            Err(e) => return Err(self.error(key, e)),
        };
        let stat = Stat::of(&st);
        if stat.kind == Kind::Dir && stat.dev != self.dev {
            return Ok(()); // another filesystem mounted here
        }
        self.snapshot.entries.insert(key.clone(), stat);
        if stat.kind != Kind::Dir {
            return Ok(());
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => self.dir(fd, key),
            Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn host(&self, key: &str) -> PathBuf {
        host_path(self.root, key)
    }

    fn error(&self, key: &str, e: Errno) -> io::Error {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("cannot read `{}`: {e}", self.host(key).display()),
        )
    }
}

fn host_path(root: &Path, key: &str) -> PathBuf {
    let relative = key.trim_start_matches('/');
    if relative.is_empty() {
        root.to_path_buf()
    } else {
        root.join(relative)
    }
}

#[cfg(test)]
mod tests;
