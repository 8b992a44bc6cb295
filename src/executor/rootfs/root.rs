//! An image root: a host directory treated as `/`. Every path is resolved inside it the way the container
//! will see it: symlinks are followed *within* the root (an absolute target starts at the root, `..` stops
//! at it), never out of it. These are the semantics of containerd's `fs.RootPath` and of securejoin.
//!
//! The kernel enforces them when a directory exists (`openat2` with `RESOLVE_IN_ROOT`). When directories
//! have to be created, the path is first resolved here, component by component, and then walked one real
//! directory at a time with `O_NOFOLLOW`, so a symlink swapped in between cannot lead outside either.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2, readlinkat};
use nix::sys::stat::{Mode, SFlag, fchmod, fstat, fstatat, mkdirat};

/// Linux's own limit on the symlinks one lookup follows.
const MAX_SYMLINKS: usize = 40;

/// A file's identity: device and inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub fn of(fd: BorrowedFd<'_>) -> io::Result<FileId> {
        let st = fstat(fd)?;
        Ok(FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }
}

/// A directory made while walking to another: its parent and its name.
pub struct Created {
    pub parent: FileId,
    pub name: OsString,
}

/// An open image root.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Root> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(path, flags, Mode::empty())?;
        Ok(Root {
            fd,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The host path of `resolved` (a path [`Root::resolve`] returned).
    pub fn host_path(&self, resolved: &Path) -> PathBuf {
        if resolved.as_os_str().is_empty() {
            self.path.clone()
        } else {
            self.path.join(resolved)
        }
    }

    /// `path` with every symlink resolved inside the root, relative to it (empty: the root itself). From
    /// the first name that does not exist on, names are kept as written and `..` removes the name before.
    pub fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut resolved = PathBuf::new();
        let mut pending = reversed_names(path);
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            resolved.push(&name);
            match fstatat(&self.fd, &resolved, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if is_symlink(st.st_mode) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "more than {MAX_SYMLINKS} symlinks on the way to `{}`",
                                path.display()
                            ),
                        ));
                    }
                    let target = readlinkat(&self.fd, &resolved)?;
                    resolved.pop();
                    if target.as_bytes().starts_with(b"/") {
                        resolved = PathBuf::new();
                    }
                    pending.extend(reversed_names(Path::new(&target)));
                }
                Ok(_) | Err(Errno::ENOENT | Errno::ENOTDIR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(resolved)
    }

    /// The existing directory `path` (symlinks resolved inside the root), as an `O_PATH` handle.
    pub fn dir(&self, path: &Path) -> io::Result<OwnedFd> {
        match self.open_in_root(path) {
            Err(Errno::ENOSYS) => self.walk(&self.resolve(path)?, None, &mut Vec::new()),
            other => other.map_err(io::Error::from),
        }
    }

    /// `mkdir -p` inside the root: the directory `path`, created with `mode` where missing (each
    /// directory made is added to `created`), as an `O_PATH` handle.
    pub fn create_dir_all(
        &self,
        path: &Path,
        mode: Mode,
        created: &mut Vec<Created>,
    ) -> io::Result<OwnedFd> {
        match self.open_in_root(path) {
            Ok(fd) => Ok(fd),
            Err(Errno::ENOENT | Errno::ENOSYS) => {
                self.walk(&self.resolve(path)?, Some(mode), created)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn open_in_root(&self, path: &Path) -> nix::Result<OwnedFd> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let mut retries = 0;
        loop {
            // EAGAIN: a rename or mount raced with the lookup; the kernel asks us to try again.
            match openat2(&self.fd, path, how) {
                Err(Errno::EAGAIN) if retries < 16 => retries += 1,
                other => return other,
            }
        }
    }

    /// Descends `resolved` (no symlinks, no `..`) one real directory at a time, never following a symlink;
    /// creates the missing directories when `create` gives their mode.
    pub fn walk(
        &self,
        resolved: &Path,
        create: Option<Mode>,
        created: &mut Vec<Created>,
    ) -> io::Result<OwnedFd> {
        let mut dir = self.fd.try_clone()?;
        let mut walked = PathBuf::new();
        for component in resolved.components() {
            let Component::Normal(name) = component else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{}` is not a resolved path", resolved.display()),
                ));
            };
            walked.push(name);
            let next = match open_child_dir(dir.as_fd(), name) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    let Some(mode) = create else {
                        return Err(Errno::ENOENT.into());
                    };
                    match mkdirat(&dir, name, mode) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    // Opened for reading to set the exact mode (mkdir applies the umask).
                    let flags =
                        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                    let fd = openat(&dir, name, flags, Mode::empty())?;
                    fchmod(&fd, mode)?;
                    created.push(Created {
                        parent: FileId::of(dir.as_fd())?,
                        name: name.to_owned(),
                    });
                    fd
                }
                Err(Errno::ENOTDIR | Errno::ELOOP) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotADirectory,
                        format!("`{}` is not a directory", walked.display()),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            dir = next;
        }
        Ok(dir)
    }
}

/// The child directory `name` of `dir`, not following a symlink.
fn open_child_dir(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    openat(dir, name, flags, Mode::empty())
}

fn is_symlink(mode: u32) -> bool {
    SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) == SFlag::S_IFLNK
}

/// The names of `path` (`..` included, `.` and `/` left out), last first: a stack to pop from.
fn reversed_names(path: &Path) -> Vec<OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
        })
        .collect()
}
