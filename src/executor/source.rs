//! Copy sources: what a COPY/ADD names, found in the build context or in another stage's filesystem
//! (Dockerfile reference, "COPY": sources relative to the context, `*`/`?`/`[..]` globs per path
//! component, paths clamped at the context root, excluded files invisible).

use std::fs;
use std::path::Path;

use crate::plan::{BuildContext, ContextFilter};

use super::stage_fs::{Content, Node, NodeKind, StageFs, join, normalize, parent};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "no source files were specified\nhint: name at least one file or directory of the build context"
    )]
    Empty,
    #[error(
        "`{source_path}` was not found in the {place}\nhint: check the path and that no `.dockerignore` pattern excludes it"
    )]
    NotFound { source_path: String, place: String },
    #[error("cannot read `{path}` from the build context: {error}")]
    Io { path: String, error: std::io::Error },
    #[error(
        "invalid pattern `{pattern}`: {reason}\nhint: escape `[` `*` `?` with `\\` to match them literally"
    )]
    Pattern { pattern: String, reason: String },
    #[error(transparent)]
    Fs(#[from] super::stage_fs::FsError),
}

/// One matched source: a file, symlink or directory (with its contents, relative paths in order).
#[derive(Debug)]
pub struct Item {
    /// Its path relative to where it was found (context root or `/`), used for `--parents` and names.
    pub rel: String,
    pub node: Node,
    pub tree: Vec<(String, Node)>,
}

impl Item {
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or_default()
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn pattern(p: &str) -> Result<glob::Pattern, SourceError> {
    glob::Pattern::new(p).map_err(|e| SourceError::Pattern {
        pattern: p.to_string(),
        reason: e.msg.to_string(),
    })
}

/// The items `src` names in the build context (`excludes`: the copy's own `--exclude` patterns).
pub fn from_context(
    ctx: &BuildContext,
    src: &str,
    excludes: &ContextFilter,
) -> Result<Vec<Item>, SourceError> {
    let clean = normalize(&format!("/{src}"));
    let mut found: Vec<String> = vec![String::new()];
    for comp in clean.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for dir in &found {
            if has_glob(comp) {
                let pat = pattern(comp)?;
                let host = ctx.root.join(dir);
                let Ok(read) = fs::read_dir(&host) else {
                    continue;
                };
                for e in read.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if pat.matches(&name) {
                        next.push(rel_join(dir, &name));
                    }
                }
            } else {
                next.push(rel_join(dir, comp));
            }
        }
        found = next;
    }
    found.sort();
    let mut items = Vec::new();
    for rel in found {
        if !rel.is_empty() && ctx.filter.is_excluded(&rel) {
            continue;
        }
        // A named source that is a symlink is followed, but never out of the context.
        let Some(host) = scoped(&ctx.root, &rel) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&host) else {
            continue;
        };
        let node = host_node(&host, &meta, false).map_err(|error| SourceError::Io {
            path: rel.clone(),
            error,
        })?;
        let tree = if meta.is_dir() {
            walk_context(ctx, &host, &rel, excludes)?
        } else {
            Vec::new()
        };
        items.push(Item { rel, node, tree });
    }
    if items.is_empty() {
        return Err(SourceError::NotFound {
            source_path: src.to_string(),
            place: "build context".into(),
        });
    }
    Ok(items)
}

fn rel_join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn host_node(path: &Path, meta: &fs::Metadata, link: bool) -> std::io::Result<Node> {
    use std::os::unix::fs::MetadataExt;
    let kind = if link && meta.file_type().is_symlink() {
        NodeKind::Symlink(fs::read_link(path)?.to_string_lossy().into_owned())
    } else if meta.is_dir() {
        NodeKind::Dir
    } else if meta.is_file() {
        NodeKind::File(Content::Host(path.to_path_buf()))
    } else {
        NodeKind::Other
    };
    Ok(Node::new(kind, 0, 0, meta.mode()))
}

/// `rel` inside `root` with every symlink on the way resolved inside `root` (absolute targets and `..`
/// are clamped at `root`, as Docker scopes the context); `None` when a component is missing.
fn scoped(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let mut todo: Vec<String> = rel
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let candidate = root.join(cur.join("/")).join(&c);
        let meta = fs::symlink_metadata(&candidate).ok()?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = fs::read_link(&candidate).ok()?;
            let target = target.to_string_lossy();
            if target.starts_with('/') {
                cur.clear();
            }
            todo.extend(
                target
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .rev()
                    .map(str::to_string),
            );
        } else {
            cur.push(c);
        }
    }
    Some(root.join(cur.join("/")))
}

fn walk_context(
    ctx: &BuildContext,
    root: &Path,
    rel: &str,
    excludes: &ContextFilter,
) -> Result<Vec<(String, Node)>, SourceError> {
    let reincludes = ctx.filter.patterns().iter().any(|p| p.starts_with('!'))
        || excludes.patterns().iter().any(|p| p.starts_with('!'));
    let root = root.to_path_buf();
    let mut out = Vec::new();
    let mut walk = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| SourceError::Io {
            path: rel.to_string(),
            error: e.into(),
        })?;
        let within = entry
            .path()
            .strip_prefix(&root)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        let in_ctx = rel_join(rel, &within);
        if ctx.filter.is_excluded(&in_ctx)
            || excludes.is_excluded(&within)
            || excludes.is_excluded(&in_ctx)
        {
            if entry.file_type().is_dir() && !reincludes {
                walk.skip_current_dir();
            }
            continue;
        }
        let meta = entry.metadata().map_err(|e| SourceError::Io {
            path: in_ctx.clone(),
            error: e.into(),
        })?;
        let node = host_node(entry.path(), &meta, true).map_err(|error| SourceError::Io {
            path: in_ctx.clone(),
            error,
        })?;
        if !matches!(node.kind, NodeKind::Other) {
            out.push((within, node));
        }
    }
    Ok(out)
}

/// The items `src` (absolute) names in another stage's filesystem.
pub fn from_stage(
    fs: &mut StageFs,
    src: &str,
    excludes: &ContextFilter,
    place: &str,
) -> Result<Vec<Item>, SourceError> {
    let clean = normalize(src);
    let mut found: Vec<String> = vec!["/".into()];
    for comp in clean.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for dir in &found {
            let dir = fs.resolve(dir, true)?;
            if has_glob(comp) {
                let pat = pattern(comp)?;
                for (p, _) in fs.subtree(&dir) {
                    if parent(p) == Some(dir.as_str())
                        && p != &dir
                        && pat.matches(p.rsplit('/').next().unwrap_or_default())
                    {
                        next.push(p.clone());
                    }
                }
            } else {
                next.push(join(&dir, comp));
            }
        }
        found = next;
    }
    let mut items = Vec::new();
    for path in found {
        let real = fs.resolve(&path, true)?;
        let Some(node) = fs.get(&real).cloned() else {
            continue;
        };
        fs.materialize(std::slice::from_ref(&real))?;
        let node = fs.get(&real).cloned().unwrap_or(node);
        let mut tree = Vec::new();
        if node.is_dir() {
            let prefix = if real == "/" { 1 } else { real.len() + 1 };
            for (p, n) in fs.subtree(&real) {
                if *p == real {
                    continue;
                }
                let within = p[prefix..].to_string();
                if excludes.is_excluded(&within) || matches!(n.kind, NodeKind::Other) {
                    continue;
                }
                tree.push((within, n.clone()));
            }
        }
        items.push(Item {
            rel: path.trim_start_matches('/').to_string(),
            node,
            tree,
        });
    }
    if items.is_empty() {
        return Err(SourceError::NotFound {
            source_path: src.to_string(),
            place: place.to_string(),
        });
    }
    Ok(items)
}
