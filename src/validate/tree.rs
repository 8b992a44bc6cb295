//! The final filesystem of an image, as far as the checks need it: every path with its kind, permission
//! bits and what its first bytes say, built by replaying each layer's [`Op`]s in order (OCI image-spec
//! `layer.md`: later entries replace earlier ones, whiteouts delete, an opaque directory hides what lower
//! layers put under it). Paths resolve through symlinks as the kernel resolves them, and programs through
//! `PATH` as a runtime's exec does.

use std::collections::BTreeMap;

use super::scan::{Content, Op, normalize};

/// The final filesystem, path → node.
#[derive(Default)]
pub struct Tree(pub BTreeMap<String, Node>);

pub enum Node {
    File {
        /// The layer (0 for the bottom one) that wrote the file's content.
        layer: usize,
        /// Permission bits.
        mode: u32,
        content: Content,
    },
    Dir,
    Symlink(String),
    Other,
}

impl Tree {
    /// Replays layer `layer`'s ops on top of the tree.
    pub fn apply(&mut self, layer: usize, ops: &[Op]) {
        for op in ops {
            let (path, node) = match op {
                Op::Opaque(dir) => {
                    let prefix = if dir == "/" {
                        "/".to_string()
                    } else {
                        format!("{dir}/")
                    };
                    // Entries this layer wrote before the marker stay: they are the directory's new
                    // content.
                    self.0.retain(|p, n| {
                        !p.starts_with(&prefix)
                            || matches!(n, Node::File { layer: l, .. } if *l == layer)
                    });
                    continue;
                }
                Op::Whiteout(path) => {
                    self.remove(path);
                    continue;
                }
                Op::Dir(path) => (path, Node::Dir),
                Op::Symlink(path, target) => (path, Node::Symlink(target.clone())),
                Op::File(path, mode, content) => (
                    path,
                    Node::File {
                        layer,
                        mode: *mode,
                        content: content.clone(),
                    },
                ),
                Op::HardLink(path, mode, target) => {
                    let node = match self.0.get(target) {
                        Some(Node::File {
                            layer: l, content, ..
                        }) => Node::File {
                            layer: *l,
                            mode: *mode,
                            content: content.clone(),
                        },
                        _ => Node::Other,
                    };
                    (path, node)
                }
                Op::Other(path) => (path, Node::Other),
            };
            if !matches!(node, Node::Dir) {
                self.remove(path);
            }
            self.0.insert(path.clone(), node);
        }
    }

    /// Deletes `path` and everything under it.
    fn remove(&mut self, path: &str) {
        self.0.remove(path);
        let prefix = format!("{path}/");
        let under: Vec<String> = self
            .0
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect();
        for p in under {
            self.0.remove(&p);
        }
    }

    /// Resolves `path` through symlinks (in every component) to the path of what it names.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = normalize(path)
            .split('/')
            .filter(|s| !s.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut current = String::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            let next = normalize(&format!("{current}/{part}"));
            let implicit_dir = || {
                let prefix = format!("{next}/");
                self.0
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(p, _)| p.starts_with(&prefix))
            };
            match self.0.get(&next) {
                None if implicit_dir() => current = next,
                None => return None,
                Some(Node::Symlink(target)) => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    let base = if target.starts_with('/') {
                        String::new()
                    } else {
                        current.clone()
                    };
                    pending.extend(
                        normalize(&format!("{base}/{target}"))
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .rev()
                            .map(str::to_string),
                    );
                    current = String::new();
                }
                Some(Node::Dir | Node::File { .. } | Node::Other) => current = next,
            }
        }
        Some(if current.is_empty() {
            "/".into()
        } else {
            current
        })
    }

    /// Finds `program` as a runtime's exec would: a path with a `/` from `workdir` (or `/`), a bare
    /// name through `PATH`.
    pub fn lookup(&self, program: &str, path_var: &str, workdir: &str) -> Option<String> {
        if program.starts_with('/') {
            return self.resolve(program);
        }
        if program.contains('/') {
            return self.resolve(&format!("{workdir}/{program}"));
        }
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .find_map(|d| self.resolve(&format!("{d}/{program}")))
    }

    /// How many regular files the image holds.
    pub fn files(&self) -> usize {
        self.0
            .values()
            .filter(|n| matches!(n, Node::File { .. }))
            .count()
    }
}
