//! The stage filesystem: an index of what a stage's root filesystem holds, built by streaming its layers
//! (OCI image-spec `layer.md`: changesets, `.wh.` whiteouts and `.wh..wh..opq` opaque directories) and
//! updated with every layer the executor writes.
//!
//! The index answers the questions COPY asks about its destination (does this path exist, is it a
//! directory, where does it lead through symlinks, who is `app` in `/etc/passwd`) without unpacking the
//! image. When file contents are needed (COPY --from), only the needed files are extracted into a private
//! temporary directory as flat numbered files: no path from a layer is ever used as a host path.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

use crate::image::{BlobStore, Image, Layer};

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("cannot read layer {digest} of the base image: {source}")]
    Layer { digest: String, source: io::Error },
    #[error("cannot open a layer of the base image: {0}")]
    Blob(#[from] crate::image::blobs::BlobError),
    #[error("cannot extract files for the copy into a temporary directory: {0}")]
    Temp(io::Error),
    #[error(
        "too many levels of symbolic links resolving `{0}`\nhint: check the image for a symlink loop"
    )]
    SymlinkLoop(String),
}

/// Where the bytes of a regular file are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// In the image's layer `layer`, at `path` (relative tar name).
    Layer {
        layer: usize,
        path: String,
    },
    /// In a file on the host (a context file, or one we extracted).
    Host(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File(Content),
    Symlink(String),
    /// Devices, fifos: kept in the index, never copied.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    /// The layer that last wrote this node (`usize::MAX` for ours), for opaque whiteouts.
    layer: usize,
    /// A modification time of its own (a downloaded file's `Last-Modified`), else the build's epoch.
    pub mtime: Option<u64>,
}

impl Node {
    pub fn new(kind: NodeKind, uid: u32, gid: u32, mode: u32) -> Node {
        Node {
            kind,
            uid,
            gid,
            mode: mode & 0o7777,
            layer: usize::MAX,
            mtime: None,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir)
    }
}

/// A stage's filesystem index. Paths are absolute and normalised (`/`, `/usr/bin`).
#[derive(Clone, Debug)]
pub struct StageFs {
    nodes: BTreeMap<String, Node>,
    layers: Vec<Layer>,
    blobs: BlobStore,
    keep_alive: Vec<Arc<tempfile::TempDir>>,
}

/// Normalises an absolute path: no `.`, `..` clamped at the root, no trailing slash.
/// What a tar entry is, read from its header: the part of a [`Node`] that does not depend on where
/// the content will be found.
pub enum EntryKind {
    Dir,
    Symlink(String),
    /// A hard link to this (normalised) path, earlier in the same stream.
    HardLink(String),
    File,
    /// Devices, fifos and the like.
    Other,
}

/// Owner, mode and kind of a tar entry. Some archivers leave numeric fields blank: those read as 0
/// (mode 0644) rather than refusing the archive.
pub fn entry_meta<R: Read>(entry: &tar::Entry<R>) -> io::Result<(u32, u32, u32, EntryKind)> {
    let h = entry.header();
    let link = || -> io::Result<String> {
        Ok(entry
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default())
    };
    let kind = match h.entry_type() {
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => EntryKind::Symlink(link()?),
        tar::EntryType::Link => EntryKind::HardLink(normalize(&link()?)),
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            EntryKind::File
        }
        _ => EntryKind::Other,
    };
    let (uid, gid, mode) = (
        h.uid().unwrap_or(0) as u32,
        h.gid().unwrap_or(0) as u32,
        h.mode().unwrap_or(0o644),
    );
    Ok((uid, gid, mode, kind))
}

pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    Some(match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    })
}

pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        normalize(&format!("/{name}"))
    } else {
        normalize(&format!("{dir}/{name}"))
    }
}

impl StageFs {
    /// An empty filesystem (only `/`) reading blobs from the same store: where `COPY --link` places
    /// its files.
    pub fn empty_like(&self) -> StageFs {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".into(), Node::new(NodeKind::Dir, 0, 0, 0o755));
        StageFs {
            nodes,
            layers: Vec::new(),
            blobs: self.blobs.clone(),
            keep_alive: Vec::new(),
        }
    }

    /// Takes over the temporary directories `other` keeps alive.
    pub fn adopt(&mut self, other: StageFs) {
        self.keep_alive.extend(other.keep_alive);
    }

    /// The index of `image`'s filesystem, read from its layers in `blobs`.
    pub fn of_image(image: &Image, blobs: &BlobStore) -> Result<StageFs, FsError> {
        let mut fs = StageFs {
            nodes: BTreeMap::new(),
            layers: image.layers().to_vec(),
            blobs: blobs.clone(),
            keep_alive: Vec::new(),
        };
        fs.nodes
            .insert("/".into(), Node::new(NodeKind::Dir, 0, 0, 0o755));
        for (i, layer) in image.layers().iter().enumerate() {
            let digest = layer.descriptor.digest.to_string();
            let err = |source| FsError::Layer {
                digest: digest.clone(),
                source,
            };
            let mut ar = tar::Archive::new(open_layer(blobs, layer)?);
            for entry in ar.entries().map_err(err)? {
                let entry = entry.map_err(err)?;
                fs.apply_entry(i, &entry).map_err(err)?;
            }
        }
        Ok(fs)
    }

    /// Adds a layer written on top of this filesystem (a RUN step's) to the index.
    pub fn add_layer(&mut self, layer: &Layer) -> Result<(), FsError> {
        let index = self.layers.len();
        self.layers.push(layer.clone());
        let digest = layer.descriptor.digest.to_string();
        let err = |source| FsError::Layer {
            digest: digest.clone(),
            source,
        };
        let mut ar = tar::Archive::new(open_layer(&self.blobs, layer)?);
        for entry in ar.entries().map_err(err)? {
            let entry = entry.map_err(err)?;
            self.apply_entry(index, &entry).map_err(err)?;
        }
        Ok(())
    }

    fn apply_entry<R: Read>(&mut self, layer: usize, entry: &tar::Entry<R>) -> io::Result<()> {
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = normalize(&raw);
        if path == "/" {
            return Ok(());
        }
        let name = path.rsplit('/').next().unwrap_or_default();
        let dir = parent(&path).unwrap_or("/").to_string();
        if name == ".wh..wh..opq" {
            let doomed: Vec<String> = self
                .subtree(&dir)
                .filter(|(p, n)| p.as_str() != dir && n.layer < layer)
                .map(|(p, _)| p.clone())
                .collect();
            for p in doomed {
                self.nodes.remove(&p);
            }
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            self.remove(&join(&dir, hidden));
            return Ok(());
        }
        let (uid, gid, mode, kind) = entry_meta(entry)?;
        let kind = match kind {
            EntryKind::Dir => NodeKind::Dir,
            EntryKind::Symlink(target) => NodeKind::Symlink(target),
            EntryKind::HardLink(target) => match self.nodes.get(&target) {
                Some(n) => n.kind.clone(),
                None => NodeKind::Other,
            },
            EntryKind::File => NodeKind::File(Content::Layer {
                layer,
                path: raw.clone(),
            }),
            EntryKind::Other => NodeKind::Other,
        };
        let mut node = Node::new(kind, uid, gid, mode);
        node.layer = layer;
        self.insert(&path, node);
        Ok(())
    }

    /// Every node at or under `dir`, in path order.
    pub fn subtree<'a>(
        &'a self,
        dir: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        // The children are the keys from `dir/` on that start with it: `dir.txt` or `dir-old` sort
        // between `dir` and `dir/` (`.` and `-` come before `/`), so the range cannot start at `dir`.
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let own = (dir != "/")
            .then(|| self.nodes.get_key_value(dir))
            .flatten();
        own.into_iter().chain(
            self.nodes
                .range(prefix.clone()..)
                .take_while(move |(p, _)| p.starts_with(&prefix)),
        )
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Adds or replaces a node; parents missing from the index are added as `0755` directories, and a
    /// non-directory replacing a directory removes what was under it.
    pub fn insert(&mut self, path: &str, node: Node) {
        if !node.is_dir() {
            self.remove(path);
        }
        let mut missing = Vec::new();
        let mut p = parent(path);
        while let Some(dir) = p {
            if self.nodes.get(dir).is_some_and(Node::is_dir) {
                break;
            }
            missing.push(dir.to_string());
            p = parent(dir);
        }
        for dir in missing {
            let mut n = Node::new(NodeKind::Dir, 0, 0, 0o755);
            n.layer = node.layer;
            self.nodes.insert(dir, n);
        }
        self.nodes.insert(path.to_string(), node);
    }

    pub fn remove(&mut self, path: &str) {
        let doomed: Vec<String> = self.subtree(path).map(|(p, _)| p.clone()).collect();
        for p in doomed {
            self.nodes.remove(&p);
        }
    }

    /// Resolves `path` through the index's symlinks (relative and absolute, clamped at the root);
    /// the last component is followed only when `follow_last`. Missing components are kept as they are.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String, FsError> {
        let mut todo: Vec<String> = normalize(path)
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut cur = "/".to_string();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                cur = parent(&cur).unwrap_or("/").to_string();
                continue;
            }
            if c == "." {
                continue;
            }
            let next = join(&cur, &c);
            let is_last = todo.is_empty();
            match self.nodes.get(&next).map(|n| &n.kind) {
                Some(NodeKind::Symlink(target)) if follow_last || !is_last => {
                    hops += 1;
                    if hops > 40 {
                        return Err(FsError::SymlinkLoop(path.to_string()));
                    }
                    if target.starts_with('/') {
                        cur = "/".to_string();
                    }
                    todo.extend(
                        target
                            .split('/')
                            .filter(|c| !c.is_empty())
                            .rev()
                            .map(str::to_string),
                    );
                }
                _ => cur = next,
            }
        }
        Ok(cur)
    }

    /// Keeps `dir` alive as long as this index (or a clone) points into it.
    pub fn keep(&mut self, dir: Arc<tempfile::TempDir>) {
        self.keep_alive.push(dir);
    }

    /// Extracts every file at or under `roots` still inside a layer into a temporary directory, so that
    /// every such node's content becomes [`Content::Host`].
    pub fn materialize(&mut self, roots: &[String]) -> Result<(), FsError> {
        let mut wanted: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for root in roots {
            for (_, node) in self.subtree(root) {
                if let NodeKind::File(Content::Layer { layer, path }) = &node.kind {
                    wanted.entry(*layer).or_default().insert(path.clone());
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let tmp = Arc::new(tempfile::tempdir().map_err(FsError::Temp)?);
        let mut extracted: BTreeMap<(usize, String), PathBuf> = BTreeMap::new();
        for (layer, paths) in &wanted {
            let l = &self.layers[*layer];
            let err = |source| FsError::Layer {
                digest: l.descriptor.digest.to_string(),
                source,
            };
            let mut ar = tar::Archive::new(open_layer(&self.blobs, l)?);
            for entry in ar.entries().map_err(err)? {
                let mut entry = entry.map_err(err)?;
                let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                if paths.contains(&raw) {
                    let host = tmp.path().join(extracted.len().to_string());
                    let mut out = File::create(&host).map_err(FsError::Temp)?;
                    io::copy(&mut entry, &mut out).map_err(err)?;
                    extracted.insert((*layer, raw), host);
                }
            }
        }
        for node in self.nodes.values_mut() {
            if let NodeKind::File(Content::Layer { layer, path }) = &node.kind
                && let Some(host) = extracted.get(&(*layer, path.clone()))
            {
                node.kind = NodeKind::File(Content::Host(host.clone()));
            }
        }
        self.keep(tmp);
        Ok(())
    }

    /// The bytes of a regular file (small files such as `/etc/passwd`), if present.
    pub fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, FsError> {
        let resolved = self.resolve(path, true)?;
        self.materialize(std::slice::from_ref(&resolved))?;
        Ok(match self.nodes.get(&resolved).map(|n| &n.kind) {
            Some(NodeKind::File(Content::Host(p))) => std::fs::read(p).ok(),
            Some(NodeKind::File(Content::Bytes(b))) => Some(b.as_ref().clone()),
            Some(NodeKind::File(Content::Layer { .. }))
            | Some(NodeKind::Dir)
            | Some(NodeKind::Symlink(_))
            | Some(NodeKind::Other)
            | None => None,
        })
    }
}

/// A layer's tar stream, gunzipped when it is gzip (by its magic bytes, whatever its media type says).
fn open_layer(blobs: &BlobStore, layer: &Layer) -> Result<Box<dyn Read>, FsError> {
    let file = blobs.open_blob(&layer.descriptor.digest)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|source| FsError::Layer {
        digest: layer.descriptor.digest.to_string(),
        source,
    })?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::layer::{Entry, EntryKind, FileContent, LayerWriter};
    use crate::image::{History, Platform};

    fn layer(blobs: &BlobStore, paths: &[(&str, EntryKind)]) -> Layer {
        let mut w = LayerWriter::new(blobs, 0).unwrap();
        let entries = paths
            .iter()
            .map(|(p, kind)| Entry {
                path: p.to_string(),
                kind: kind.clone(),
                uid: 0,
                gid: 0,
                mode: 0o755,
                xattrs: Vec::new(),
                mtime: None,
            })
            .collect();
        w.write_all(entries).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn a_subtree_holds_every_child_even_when_a_sibling_sorts_between() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let file = |s: &str| EntryKind::File(FileContent::Bytes(s.as_bytes().to_vec()));
        // `venv.toml` and `venv-old` sort between `venv` and `venv/bin`.
        let l1 = layer(
            &blobs,
            &[
                ("/l/venv/bin/python", file("p")),
                ("/l/venv.toml", file("t")),
                ("/l/venv-old", file("o")),
                ("/l/venv/lib/six.py", file("s")),
            ],
        );
        let image = Image::empty(&Platform::linux_amd64()).with_layer(l1, History::default());
        let mut fs = StageFs::of_image(&image, &blobs).unwrap();
        let under: Vec<&str> = fs.subtree("/l/venv").map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            under,
            [
                "/l/venv",
                "/l/venv/bin",
                "/l/venv/bin/python",
                "/l/venv/lib",
                "/l/venv/lib/six.py"
            ]
        );
        assert_eq!(fs.subtree("/").count(), 9, "the root and everything");
        fs.remove("/l/venv");
        assert!(fs.get("/l/venv/lib/six.py").is_none() && fs.get("/l/venv.toml").is_some());
    }

    #[test]
    fn whiteouts_opaque_dirs_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let file = |s: &str| EntryKind::File(FileContent::Bytes(s.as_bytes().to_vec()));
        let l1 = layer(
            &blobs,
            &[
                ("/a/x", file("x")),
                ("/a/y", file("y")),
                ("/b/z", file("z")),
            ],
        );
        let l2 = layer(
            &blobs,
            &[
                ("/a/.wh..wh..opq", file("")),
                ("/a/new", file("new")),
                ("/b/.wh.z", file("")),
                ("/l", EntryKind::Symlink("a".into())),
            ],
        );
        let image = Image::empty(&Platform::linux_amd64())
            .with_layer(l1, History::default())
            .with_layer(l2, History::default());
        let mut fs = StageFs::of_image(&image, &blobs).unwrap();
        assert!(fs.get("/a/x").is_none() && fs.get("/a/y").is_none());
        assert!(fs.get("/b/z").is_none() && fs.get("/b").is_some_and(Node::is_dir));
        assert_eq!(fs.resolve("/l/new", true).unwrap(), "/a/new");
        assert_eq!(fs.resolve("/l", false).unwrap(), "/l");
        assert_eq!(fs.read("/l/new").unwrap().as_deref(), Some(&b"new"[..]));
    }
}
