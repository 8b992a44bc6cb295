//! Removing what a layer replaces or hides: a whole tree, never following a symlink, making read-only
//! directories writable on the way (a layer may well hold `dr-x------` directories).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{FchmodatFlags, Mode, fchmod, fchmodat, fstat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// Removes `name` in `dir`, recursively, without following symlinks. Missing is fine.
pub fn remove_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = match openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::EACCES) => {
            // Unreadable: make it ours to read. `name` is a directory (unlink said so), not a symlink.
            fchmodat(dir, name, Mode::S_IRWXU, FchmodatFlags::FollowSymlink)?;
            openat(dir, name, flags, Mode::empty())?
        }
        Err(e) => return Err(e.into()),
    };
    let mode = fstat(&fd)?.st_mode;
    if mode & 0o700 != 0o700 {
        fchmod(&fd, Mode::from_bits_truncate((mode & 0o7777) | 0o700))?;
    }
    let handle = fd.try_clone()?;
    for child in &list_dir(fd)? {
        remove_at(handle.as_fd(), child)?;
    }
    match unlinkat(dir, name, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The names in an open directory, `.` and `..` left out.
pub fn list_dir(fd: OwnedFd) -> io::Result<Vec<OsString>> {
    let mut dir = nix::dir::Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name));
        }
    }
    Ok(names)
}
