//! Unpacking image layers into a real directory: the root filesystem a RUN step runs in. Follows OCI
//! image-spec `layer.md` (changesets; whiteouts `.wh.NAME`; opaque directories `.wh..wh..opq`) and applies
//! layers the way containerd's applier does.
//!
//! A layer is untrusted input, and nothing it holds may write outside the root. Names are normalised (a
//! leading `/` is dropped, `..` above the root is refused); parent directories are resolved inside the
//! root, as the container will resolve them ([`root`]); the last component is never followed: whatever is
//! there is removed first, and files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`. Hard link targets are
//! resolved the same way.
//!
//! Owners, modes (set after the owner, since chown clears the set-id bits), carried extended attributes
//! (see [`super::xattrs`]) and times come from the headers; a directory's times are set once the whole
//! layer is written, since writing its children changes them. What a user namespace cannot do is
//! reported, not fatal: device nodes (mknod needs the host's CAP_MKNOD) and owners whose ids are not
//! mapped.

mod header;
mod remove;
mod root;
mod unpack;

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use remove::remove_at;
use root::Root;
use unpack::Unpacker;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("cannot open the image root `{}`: {source}", root.display())]
    Root { root: PathBuf, source: io::Error },
    #[error("cannot open the layer blob `{}`: {source}", path.display())]
    Blob { path: PathBuf, source: io::Error },
    #[error(
        "the layer blob `{}` is {compression}-compressed, which hoist cannot unpack yet\nhint: rebuild the base image with gzip layers",
        path.display()
    )]
    Compression {
        path: PathBuf,
        compression: &'static str,
    },
    #[error("cannot read the layer: {source}\nhint: {hint}")]
    Read {
        source: io::Error,
        hint: &'static str,
    },
    #[error(
        "layer entry `{entry}`: the layer tries to write outside the image root\nhint: the layer is malformed or hostile; it was not applied"
    )]
    Escape { entry: String },
    #[error(
        "layer entry `{entry}` is a hard link to `{target}`: the layer tries to link to a file outside the image root\nhint: the layer is malformed or hostile; it was not applied"
    )]
    LinkEscape { entry: String, target: String },
    #[error(
        "layer entry `{entry}` is a hard link to `{target}`, which cannot be linked: {source}\nhint: a hard link must name a file written earlier in this layer or in an earlier one"
    )]
    LinkTarget {
        entry: String,
        target: String,
        source: io::Error,
    },
    #[error("layer entry `{entry}` is malformed: {why}")]
    Malformed { entry: String, why: &'static str },
    #[error(
        "cannot give layer entry `{entry}` the owner {uid}:{gid}: {source}\nhint: the id is not mapped in this user namespace; map a range of ids (/etc/subuid, /etc/subgid) or accept files owned by root"
    )]
    Owner {
        entry: String,
        uid: u64,
        gid: u64,
        source: io::Error,
    },
    #[error("cannot {action} for layer entry `{entry}` under `{}`: {source}", root.display())]
    Write {
        entry: String,
        action: &'static str,
        root: PathBuf,
        source: io::Error,
    },
}

/// How strictly to unpack.
#[derive(Clone, Debug, Default)]
pub struct UnpackOptions {
    /// Fail when an owner cannot be set (its id is not mapped in this user namespace) instead of
    /// reporting it in [`UnpackReport::unmapped_owners`].
    pub strict_owners: bool,
}

/// What an unpack could not apply, entry names as in the layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnpackReport {
    /// Device nodes not created because mknod is not permitted (always so in a user namespace).
    pub skipped_devices: Vec<String>,
    /// Entries whose owner could not be set; they belong to the unpacking user.
    pub unmapped_owners: Vec<String>,
    /// Other things left out, one line each (extended attributes the filesystem or namespace refused).
    pub notes: Vec<String>,
}

const READ_HINT: &str = "the blob is truncated or is not a tar stream; pull it again";
const MEDIA_HINT: &str = "the blob's media type and its first bytes disagree about gzip; the image or the registry is wrong";

/// Unpacks the layer blob at `path` into `root`: gzip when the blob starts with the gzip magic bytes,
/// plain tar otherwise (the bytes decide, as in containerd; `media_type_is_gzip` only sharpens the error
/// when the two disagree).
pub fn unpack_blob(
    path: &Path,
    media_type_is_gzip: bool,
    root: &Path,
    options: &UnpackOptions,
) -> Result<UnpackReport, RootfsError> {
    let blob_err = |source| RootfsError::Blob {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path).map_err(blob_err)?);
    let head = reader.fill_buf().map_err(blob_err)?;
    let is_gzip = head.starts_with(&[0x1f, 0x8b]);
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(RootfsError::Compression {
            path: path.to_path_buf(),
            compression: "zstd",
        });
    }
    let result = if is_gzip {
        unpack_layer(flate2::read::MultiGzDecoder::new(reader), root, options)
    } else {
        unpack_layer(reader, root, options)
    };
    match result {
        Err(RootfsError::Read { source, .. }) if is_gzip != media_type_is_gzip => {
            Err(RootfsError::Read {
                source,
                hint: MEDIA_HINT,
            })
        }
        other => other,
    }
}

/// Applies the uncompressed layer tar stream `reader` to the directory `root`.
pub fn unpack_layer(
    reader: impl Read,
    root: &Path,
    options: &UnpackOptions,
) -> Result<UnpackReport, RootfsError> {
    let root = Root::open(root).map_err(|source| RootfsError::Root {
        root: root.to_path_buf(),
        source,
    })?;
    let read_err = |source| RootfsError::Read {
        source,
        hint: READ_HINT,
    };
    let mut archive = tar::Archive::new(reader);
    let mut unpacker = Unpacker::new(root, options);
    for entry in archive.entries().map_err(read_err)? {
        unpacker.apply(entry.map_err(read_err)?)?;
    }
    unpacker.finish()
}

/// The host path `path` (a path inside the image) stands for, every symlink resolved inside `root`
/// (securejoin semantics: absolute targets start at `root`, `..` stops at it). Missing names are kept.
pub fn resolve_in_root(root: &Path, path: &str) -> io::Result<PathBuf> {
    let root = Root::open(root)?;
    Ok(root.host_path(&root.resolve(Path::new(path))?))
}

/// `mkdir -p path` inside `root`, symlinks resolved inside it; missing directories get `mode` exactly.
/// Returns the host path of the directory (for a mount point, say).
pub fn create_dir_all_in_root(root: &Path, path: &str, mode: u32) -> io::Result<PathBuf> {
    let root = Root::open(root)?;
    let resolved = root.resolve(Path::new(path))?;
    root.walk(
        &resolved,
        Some(Mode::from_bits_truncate(mode)),
        &mut Vec::new(),
    )?;
    Ok(root.host_path(&resolved))
}

/// Removes `path` and everything below it, making read-only directories writable on the way; a symlink
/// is removed, never followed. A missing `path` is no error.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing to remove `{}`", path.display()),
        ));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let dir = nix::fcntl::open(parent, flags, Mode::empty())?;
    remove_at(dir.as_fd(), name)
}

/// A layer name made relative to the root: `/` and `.` dropped, `..` applied; `None` when it climbs
/// above the root.
fn normalize(raw: &[u8]) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(raw)).components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
