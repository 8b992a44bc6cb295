//! The diff of two snapshots as layer entries (the rules are in the parent module's documentation).

use std::collections::hash_map::Entry as Slot;
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use super::{Kind, Snapshot, Stat, host_path};
use crate::executor::layer::{Entry, EntryKind, FileContent};
use crate::executor::xattrs;

/// What one path of the diff becomes.
enum Change<'a> {
    /// The path as it is now.
    Write(&'a Stat),
    /// An empty marker file: a whiteout or an opaque-directory marker.
    Marker,
}

/// The entries of a layer that turns `before` into `after` (both captured from `root`, whose files the
/// entries point to), sorted by path.
pub fn diff(before: &Snapshot, after: &Snapshot, root: &Path) -> io::Result<Vec<Entry>> {
    let mut changes: Vec<(String, Change<'_>)> = Vec::new();
    // Directories written whole: everything below them is emitted, deletions below them need no whiteout.
    let mut replaced: HashSet<&str> = HashSet::new();
    let mut old = before.carried().peekable();
    let mut new = after.carried().peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            std::cmp::Ordering::Less => {
                let Some((path, _)) = old.next() else { break };
                if whiteout_needed(path, before, after) {
                    let (dir, name) = split(path);
                    changes.push((format!("{dir}/.wh.{name}"), Change::Marker));
                }
            }
            std::cmp::Ordering::Greater => {
                let Some((path, now)) = new.next() else { break };
                changes.push((path.to_string(), Change::Write(now)));
            }
            std::cmp::Ordering::Equal => {
                let (Some((path, was)), Some((_, now))) = (old.next(), new.next()) else {
                    break;
                };
                // Only a kind change makes a directory opaque. A directory deleted and made again is
                // compared like any directory: whether the file system reused its inode number is
                // chance, and a layer must not depend on it (same input, same digest).
                let made_again = now.kind == Kind::Dir && was.kind != Kind::Dir;
                if made_again {
                    replaced.insert(path);
                    changes.push((format!("{path}/.wh..wh..opq"), Change::Marker));
                }
                if made_again || was.changed(now) || below_any(path, &replaced) {
                    changes.push((path.to_string(), Change::Write(now)));
                }
            }
        }
    }
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut first_of_inode: HashMap<(u64, u64), String> = HashMap::new();
    let mut entries = Vec::with_capacity(changes.len());
    for (path, change) in changes {
        let stat = match change {
            Change::Marker => {
                entries.push(marker(path));
                continue;
            }
            Change::Write(stat) => stat,
        };
        if stat.kind == Kind::File && stat.nlink > 1 {
            match first_of_inode.entry((stat.dev, stat.ino)) {
                Slot::Occupied(first) => {
                    let target = first.get().trim_start_matches('/').to_string();
                    entries.push(Entry {
                        path,
                        kind: EntryKind::Hardlink(target),
                        uid: stat.uid,
                        gid: stat.gid,
                        mode: stat.mode,
                        xattrs: Vec::new(),
                        mtime: None,
                    });
                    continue;
                }
                Slot::Vacant(slot) => {
                    slot.insert(path.clone());
                }
            }
        }
        if let Some(entry) = written(path, stat, root)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// A deleted path needs its own whiteout when its parent is a directory before and after; otherwise the
/// parent's whiteout or replacement already hides it.
fn whiteout_needed(path: &str, before: &Snapshot, after: &Snapshot) -> bool {
    let (parent, _) = split(path);
    if parent.is_empty() {
        return true; // the root is never replaced
    }
    before.is_dir(parent).is_some() && after.is_dir(parent).is_some()
}

/// Whether `path` is below one of the `replaced` directories.
fn below_any(path: &str, replaced: &HashSet<&str>) -> bool {
    if replaced.is_empty() {
        return false;
    }
    let mut rest = path;
    while let Some((parent, _)) = rest.rsplit_once('/') {
        if parent.is_empty() {
            return false;
        }
        if replaced.contains(parent) {
            return true;
        }
        rest = parent;
    }
    false
}

/// `/a/b` → (`/a`, `b`); `/a` → (``, `a`).
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn marker(path: String) -> Entry {
    Entry {
        path,
        kind: EntryKind::File(FileContent::Bytes(Vec::new())),
        uid: 0,
        gid: 0,
        mode: 0,
        xattrs: Vec::new(),
        mtime: None,
    }
}

/// The entry for a path as it is now; `None` for kinds layers do not carry.
fn written(path: String, stat: &Stat, root: &Path) -> io::Result<Option<Entry>> {
    let host = host_path(root, &path);
    let context = |e: io::Error| io::Error::new(e.kind(), format!("`{}`: {e}", host.display()));
    let (kind, xattrs) = match stat.kind {
        Kind::Dir => (EntryKind::Dir, xattrs::read(&host).map_err(context)?),
        Kind::File => {
            let xattrs = xattrs::read(&host).map_err(context)?;
            (EntryKind::File(FileContent::Path(host.clone())), xattrs)
        }
        Kind::Symlink => {
            let target = std::fs::read_link(&host).map_err(context)?;
            let target = target.into_os_string().into_string().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the symlink `{}` points to a name that is not UTF-8; layer entries hold UTF-8 names only",
                        host.display()
                    ),
                )
            })?;
            (EntryKind::Symlink(target), Vec::new())
        }
        Kind::Other => return Ok(None),
    };
    Ok(Some(Entry {
        path,
        kind,
        uid: stat.uid,
        gid: stat.gid,
        mode: stat.mode,
        xattrs,
        mtime: None,
    }))
}
