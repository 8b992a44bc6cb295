//! Extended attributes carried in layers (OCI image-spec `layer.md` leaves them to the tar format; Docker,
//! containerd and GNU tar write them as PAX `SCHILY.xattr.NAME` records).
//!
//! hoist carries `security.capability` (file capabilities, e.g. `ping`'s `cap_net_raw`) and `user.*`. It
//! leaves out `trusted.*` (needs the host's CAP_SYS_ADMIN), `security.selinux` and the other LSM labels
//! (they belong to the host's policy), ACLs, and `user.overlay.*` (overlayfs bookkeeping, not content).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The PAX record prefix: `SCHILY.xattr.user.foo` carries `user.foo`.
pub const PAX_PREFIX: &str = "SCHILY.xattr.";

/// Whether an attribute of this name goes into layers and comes out of them.
pub fn is_carried(name: &str) -> bool {
    name == "security.capability"
        || (name.starts_with("user.") && !name.starts_with("user.overlay."))
}

/// The carried attributes of `path` (a symlink's own, never its target's), sorted by name. A filesystem
/// without extended attributes has none.
pub fn read(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let path = CString::new(path.as_os_str().as_bytes())?;
    let names = list(&path)?;
    let mut out = Vec::new();
    for name in names.split(|b| *b == 0) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.is_empty() || !is_carried(name) {
            continue;
        }
        if let Some(value) = get(&path, &CString::new(name)?)? {
            out.push((name.to_string(), value));
        }
    }
    out.sort();
    Ok(out)
}

/// Sets attribute `name` on the open file or directory `fd`.
pub fn set(fd: BorrowedFd<'_>, name: &str, value: &[u8]) -> io::Result<()> {
    let name = CString::new(name)?;
    // SAFETY: `name` is NUL-terminated and `value` is valid for reads of `value.len()` bytes for the call.
    let rc = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The NUL-separated names of `path`'s attributes.
fn list(path: &CStr) -> io::Result<Vec<u8>> {
    loop {
        // SAFETY: a null buffer of size 0 only asks for the size; `path` is NUL-terminated.
        let size = unsafe { libc::llistxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::ENOTSUP) {
                Ok(Vec::new())
            } else {
                Err(e)
            };
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `path` is NUL-terminated.
        let n = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ERANGE) {
                continue; // grew between the two calls
            }
            return Err(e);
        }
        buf.truncate(n as usize);
        return Ok(buf);
    }
}

/// One attribute's value; `None` when it vanished since it was listed.
fn get(path: &CStr, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    loop {
        // SAFETY: a null buffer of size 0 only asks for the size; both strings are NUL-terminated.
        let size =
            unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::ENODATA) {
                Ok(None)
            } else {
                Err(e)
            };
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; both strings are NUL-terminated.
        let n = unsafe {
            libc::lgetxattr(
                path.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ERANGE) => continue,
                Some(libc::ENODATA) => return Ok(None),
                _ => return Err(e),
            }
        }
        buf.truncate(n as usize);
        return Ok(Some(buf));
    }
}
