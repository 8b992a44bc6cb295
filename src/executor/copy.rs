//! COPY and ADD placement, with `docker build` (BuildKit) semantics: a directory source copies its
//! contents, a file lands as `dest/name` when `dest` is a directory (trailing `/` or an existing directory
//! of the stage) else as `dest`, several sources need a `dest/`, missing parents are created, symlinks in
//! the stage are followed when resolving the destination, `--chown`/`--chmod` apply to what is copied.
//!
//! The result is the sorted list of layer entries; the stage's index is updated as they are placed.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::plan::{BuildContext, ContextFilter, CopySource, CopySpec};

use super::archive;
use super::layer::{Entry, EntryKind, FileContent};
use super::ownership::{OwnershipError, apply_chmod, resolve_owner};
use super::source::{self, Item, SourceError};
use super::stage_fs::{Content, FsError, Node, NodeKind, StageFs, join, normalize, parent};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "When using COPY with more than one source file, the destination must be a directory and end with a /\nhint: write the destination as `{0}/`"
    )]
    DestNotDir(String),
    #[error("cannot copy `{source_path}`: {error}")]
    Source {
        source_path: String,
        error: SourceError,
    },
    #[error(
        "cannot unpack the archive `{path}`: {error}\nhint: check that it is a valid tar or tar.gz file"
    )]
    Archive { path: String, error: std::io::Error },
    #[error("invalid `--exclude` pattern: {0}")]
    Exclude(String),
    #[error(
        "`{0}` was not downloaded before the build\nhint: this is a bug in hoist: fetch every URL of the plan first"
    )]
    NotFetched(String),
    #[error(transparent)]
    Ownership(#[from] OwnershipError),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// Plans the copy: the entries of its layer, in path order; `dest` is updated with them.
///
/// With `--link` the files are placed on an empty filesystem and the result laid over the stage, as
/// BuildKit merges a linked copy: nothing of the stage (its directories, their owners, its symlinks)
/// shapes where they land, and the parents they need are in the layer.
pub fn copy(
    spec: &CopySpec,
    context: &BuildContext,
    from: Option<&mut StageFs>,
    dest: &mut StageFs,
) -> Result<Vec<Entry>, CopyError> {
    // `--chown` names are looked up in the stage's /etc/passwd and /etc/group, linked or not.
    let owner = spec
        .owner
        .as_ref()
        .map(|o| resolve_owner(Some(o), dest))
        .transpose()?;
    if !spec.link {
        return place(spec, context, from, dest, owner);
    }
    let mut scratch = dest.empty_like();
    let entries = place(spec, context, from, &mut scratch, owner)?;
    for entry in &entries {
        if let Some(node) = scratch.get(&entry.path) {
            dest.insert(&entry.path, node.clone());
        }
    }
    dest.adopt(scratch);
    Ok(entries)
}

fn place(
    spec: &CopySpec,
    context: &BuildContext,
    from: Option<&mut StageFs>,
    dest: &mut StageFs,
    owner: Option<(u32, u32)>,
) -> Result<Vec<Entry>, CopyError> {
    let excludes =
        ContextFilter::new(spec.excludes.clone()).map_err(|e| CopyError::Exclude(e.to_string()))?;
    // The items of each source in `spec.sources`, in order.
    let mut groups: Vec<Vec<Item>> = Vec::new();
    let mut keep_owner = false;
    match &spec.source {
        // The caller passes the named context as `context`.
        CopySource::Context | CopySource::Named(_) => {
            for src in &spec.sources {
                groups.push(
                    source::from_context(context, src, &excludes).map_err(|error| {
                        CopyError::Source {
                            source_path: src.clone(),
                            error,
                        }
                    })?,
                );
            }
        }
        CopySource::Stage(_) | CopySource::Image(_) => {
            keep_owner = true;
            let fs = from.expect("a stage or image source comes with its filesystem");
            let place = match &spec.source {
                CopySource::Image(r) => format!("image `{r}`"),
                CopySource::Stage(_) | CopySource::Context | CopySource::Named(_) => {
                    "source stage".to_string()
                }
            };
            for src in &spec.sources {
                groups.push(
                    source::from_stage(fs, src, &excludes, &place).map_err(|error| {
                        CopyError::Source {
                            source_path: src.clone(),
                            error,
                        }
                    })?,
                );
            }
        }
    }
    // Local sources unpack with ADD (or `--unpack`), downloads only with `--unpack=true`. Downloads
    // keep their place among the sources as written; mode 0600 and their `Last-Modified` time as
    // BuildKit's HTTP source writes them.
    let local_unpack = spec.extract_archives && matches!(spec.source, CopySource::Context);
    let mut items: Vec<Item> = Vec::new();
    let mut unpack: Vec<bool> = Vec::new();
    let mut groups = groups.into_iter();
    for at in 0..=spec.sources.len() {
        for file in spec.remote.iter().filter(|f| f.after == at) {
            let fetched = file
                .fetched
                .as_ref()
                .ok_or_else(|| CopyError::NotFetched(file.url.clone()))?;
            let mut node = Node::new(
                NodeKind::File(Content::Host(fetched.path.clone())),
                0,
                0,
                0o600,
            );
            node.mtime = Some(fetched.mtime);
            items.push(Item {
                rel: file.name.clone(),
                node,
                tree: Vec::new(),
            });
            unpack.push(file.unpack);
        }
        if let Some(group) = groups.next() {
            unpack.extend(std::iter::repeat_n(local_unpack, group.len()));
            items.extend(group);
        }
    }
    // Heredocs last, as BuildKit copies them: files of mode 0644 named by their delimiters.
    for f in &spec.inline {
        items.push(Item {
            rel: f.name.clone(),
            node: Node::new(
                NodeKind::File(Content::Bytes(Arc::new(f.content.clone().into_bytes()))),
                0,
                0,
                0o644,
            ),
            tree: Vec::new(),
        });
        unpack.push(false);
    }
    let ends_slash = spec.dest.ends_with('/');
    let named = spec.sources.len() + spec.remote.len() + spec.inline.len();
    let target = dest.resolve(&normalize(&spec.dest), true)?;
    let dest_is_dir = ends_slash || dest.get(&target).is_some_and(Node::is_dir);
    if (named > 1 || items.len() > 1) && !dest_is_dir {
        return Err(CopyError::DestNotDir(
            spec.dest.trim_end_matches('/').to_string(),
        ));
    }

    let mut placer = Placer {
        dest,
        out: BTreeMap::new(),
        parent_owner: owner.unwrap_or((0, 0)),
    };
    for (index, item) in items.into_iter().enumerate() {
        let own = |n: &Node| owner.unwrap_or(if keep_owner { (n.uid, n.gid) } else { (0, 0) });
        let base = if spec.parents {
            parent(&join(&target, &item.rel)).unwrap_or("/").to_string()
        } else {
            target.clone()
        };
        if unpack[index]
            && let NodeKind::File(Content::Host(host)) = &item.node.kind
        {
            {
                let err = |error| CopyError::Archive {
                    path: item.rel.clone(),
                    error,
                };
                if archive::is_tar(host).map_err(err)? {
                    let unpacked = archive::unpack(host).map_err(err)?;
                    placer.dir(&base, None, (0, 0));
                    for (path, node) in &unpacked.entries {
                        placer.place(&join(&base, path), node, (node.uid, node.gid), node.mode);
                    }
                    placer.dest.keep(unpacked.dir);
                    continue;
                }
            }
        }
        if item.node.is_dir() {
            let root = if spec.parents {
                join(&target, &item.rel)
            } else {
                target.clone()
            };
            let mode = apply_chmod(spec.chmod.as_ref(), item.node.mode, true)?;
            placer.dir(&root, Some(mode), own(&item.node));
            for (rel, node) in &item.tree {
                let mode = match node.kind {
                    NodeKind::Symlink(_) => node.mode,
                    NodeKind::Dir | NodeKind::File(_) | NodeKind::Other => {
                        apply_chmod(spec.chmod.as_ref(), node.mode, node.is_dir())?
                    }
                };
                placer.place(&join(&root, rel), node, own(node), mode);
            }
        } else {
            let path = if spec.parents {
                join(&target, &item.rel)
            } else if dest_is_dir {
                join(&target, item.name())
            } else {
                target.clone()
            };
            let mode = apply_chmod(spec.chmod.as_ref(), item.node.mode, false)?;
            placer.place(&path, &item.node, own(&item.node), mode);
        }
    }
    Ok(placer.out.into_values().collect())
}

struct Placer<'a> {
    dest: &'a mut StageFs,
    out: BTreeMap<String, Entry>,
    parent_owner: (u32, u32),
}

impl Placer<'_> {
    /// Where `path` really is: its parent resolved through the stage's symlinks; missing parents are
    /// created (0755, owned by the `--chown` owner or root) and emitted.
    fn real_path(&mut self, path: &str) -> String {
        let Some(p) = parent(path) else {
            return "/".into();
        };
        let real_parent = self.dest.resolve(p, true).unwrap_or_else(|_| p.to_string());
        self.ensure_dirs(&real_parent);
        join(&real_parent, path.rsplit('/').next().unwrap_or_default())
    }

    fn ensure_dirs(&mut self, dir: &str) {
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if self.dest.get(d).is_some_and(Node::is_dir) {
                break;
            }
            missing.push(d.to_string());
            cur = parent(d);
        }
        let (uid, gid) = self.parent_owner;
        for d in missing.into_iter().rev() {
            self.emit(&d, Node::new(NodeKind::Dir, uid, gid, 0o755));
        }
    }

    /// A directory at `path`: emitted when new, or when `mode` asks for other metadata than it has.
    fn dir(&mut self, path: &str, mode: Option<u32>, (uid, gid): (u32, u32)) {
        let real = self
            .dest
            .resolve(path, true)
            .unwrap_or_else(|_| path.to_string());
        match self.dest.get(&real) {
            Some(n) if n.is_dir() => {
                let wanted = mode.unwrap_or(n.mode);
                if self.out.contains_key(&real) && (n.uid, n.gid, n.mode) != (uid, gid, wanted) {
                    self.emit(&real, Node::new(NodeKind::Dir, uid, gid, wanted));
                }
            }
            Some(_) | None => {
                let real = self.real_path(&real);
                self.emit(
                    &real,
                    Node::new(NodeKind::Dir, uid, gid, mode.unwrap_or(0o755)),
                );
            }
        }
    }

    fn place(&mut self, path: &str, node: &Node, (uid, gid): (u32, u32), mode: u32) {
        if node.is_dir() {
            let real = self
                .dest
                .resolve(path, true)
                .unwrap_or_else(|_| path.to_string());
            let same = self
                .dest
                .get(&real)
                .is_some_and(|n| n.is_dir() && (n.uid, n.gid, n.mode) == (uid, gid, mode));
            if !same {
                let real = self.real_path(&real);
                self.emit(&real, Node::new(NodeKind::Dir, uid, gid, mode));
            }
            return;
        }
        let real = self.real_path(path);
        let mut placed = Node::new(node.kind.clone(), uid, gid, mode);
        placed.mtime = node.mtime;
        self.emit(&real, placed);
    }

    fn emit(&mut self, path: &str, node: Node) {
        let kind = match &node.kind {
            NodeKind::Dir => EntryKind::Dir,
            NodeKind::Symlink(t) => EntryKind::Symlink(t.clone()),
            NodeKind::File(Content::Host(p)) => EntryKind::File(FileContent::Path(p.clone())),
            NodeKind::File(Content::Bytes(b)) => EntryKind::File(FileContent::Bytes(b.to_vec())),
            // Sources are materialised before placement; nothing else reaches here.
            NodeKind::File(Content::Layer { .. }) | NodeKind::Other => return,
        };
        let mode = node.mode;
        let mtime = node.mtime;
        self.out.insert(
            path.to_string(),
            Entry {
                path: path.to_string(),
                kind,
                uid: node.uid,
                gid: node.gid,
                mode,
                xattrs: Vec::new(),
                mtime,
            },
        );
        self.dest.insert(path, node);
    }
}

/// Plans a `mkdir -p` (WORKDIR): the entries for the directories that do not exist yet (none when the
/// directory is already there).
pub fn mkdir(spec: &crate::plan::MkdirSpec, dest: &mut StageFs) -> Result<Vec<Entry>, CopyError> {
    let owner = resolve_owner(spec.owner.as_ref(), dest)?;
    let real = dest.resolve(&normalize(&spec.path), true)?;
    if dest.get(&real).is_some_and(Node::is_dir) {
        return Ok(Vec::new());
    }
    let mut placer = Placer {
        dest,
        out: BTreeMap::new(),
        parent_owner: owner,
    };
    let real = placer.real_path(&real);
    placer.emit(&real, Node::new(NodeKind::Dir, owner.0, owner.1, spec.mode));
    Ok(placer.out.into_values().collect())
}
