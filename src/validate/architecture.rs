//! Architecture validation: no image leaves hoist whose binaries would die with `exec format error`.
//! The layers are replayed in order (OCI image-spec `layer.md`, whiteouts included) into a small model of
//! the final filesystem, keeping for each file only what its first bytes say (ELF header, `#!` line).
//! Every ELF executable or shared object that is executable or sits in a binary directory must be built
//! for the target platform (`elf(5)`: `EI_CLASS`, `EI_DATA`, `e_machine`), and the entrypoint's
//! interpreter (`#!` line or `PT_INTERP`) must exist in the image.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use super::elf::{self, Elf};
use crate::image::{BlobStore, ImageConfig, Platform, SerializedImage};

/// The final filesystem, as far as this check needs it.
#[derive(Default)]
struct Tree(BTreeMap<String, Node>);

enum Node {
    File {
        layer: usize,
        in_scope: bool,
        content: Content,
    },
    Dir,
    Symlink(String),
    Other,
}

#[derive(Clone)]
enum Content {
    Elf(Elf),
    Script(String),
    Other,
}

/// One reason the image would not run: what and why, and the way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub hint: String,
}

/// A layer could not be read back.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read layer {layer} ({digest}) back to check its binaries: {source}\nhint: remove the cache directory and build again"
)]
pub struct Unreadable {
    pub layer: usize,
    pub digest: String,
    #[source]
    pub source: std::io::Error,
}

/// Every finding about `image`: binaries built for another machine, missing interpreters.
pub fn check(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
) -> Result<Vec<Finding>, Unreadable> {
    // A config that does not parse is a structure violation, reported by the structure check.
    let Ok(config) = serde_json::from_slice::<ImageConfig>(&image.config_bytes) else {
        return Ok(Vec::new());
    };
    let mut tree = Tree::default();
    for (i, layer) in image.layers.iter().enumerate() {
        // hoist reads and writes no zstd layers; such a layer cannot be judged, so it is not.
        if layer.descriptor.media_type.ends_with("+zstd") {
            continue;
        }
        let unreadable = |source| Unreadable {
            layer: i + 1,
            digest: layer.descriptor.digest.to_string(),
            source,
        };
        let file = blobs
            .open_blob(&layer.descriptor.digest)
            .map_err(|e| unreadable(std::io::Error::other(e.to_string())))?;
        tree.apply(i, file).map_err(unreadable)?;
    }
    let added_by: Vec<String> = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone().unwrap_or_default())
        .collect();
    let instruction = |layer: usize| match added_by.get(layer).map(|s| s.trim()) {
        Some(s) if !s.is_empty() => format!("`{s}` (layer {})", layer + 1),
        _ => format!("layer {}", layer + 1),
    };
    let target = platform.to_string();
    let way_out = format!(
        "rebuild the binaries for {target}, choose the `--platform` they were built for, start from a base image built for {target}, or pass `--allow-arch-mismatch` to export anyway"
    );
    let mut out = Vec::new();
    for (path, node) in &tree.0 {
        let Node::File {
            layer,
            in_scope: true,
            content: Content::Elf(e),
        } = node
        else {
            continue;
        };
        if elf::runs_on(e, &platform.architecture) == Some(false) {
            out.push(Finding {
                message: format!(
                    "`{path}` is an ELF binary for {} but the image is {target}; it would fail with `exec format error`\n    added by {}",
                    elf::machine_name(e),
                    instruction(*layer)
                ),
                hint: way_out.clone(),
            });
        }
    }
    out.extend(tree.entrypoint_findings(&config, &instruction));
    Ok(out)
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Files judged even without an x bit: those in the directories the loader and shells look in.
fn in_binary_dir(path: &str) -> bool {
    let rest = path.strip_prefix("/usr/").unwrap_or(path);
    let rest = rest.trim_start_matches('/');
    let top = rest.split('/').next().unwrap_or("");
    rest.contains('/') && (top == "bin" || top == "sbin" || top.starts_with("lib"))
}

impl Tree {
    /// Replays one layer (gzip or plain tar) on top of the tree.
    fn apply(&mut self, layer: usize, blob: std::fs::File) -> std::io::Result<()> {
        let mut reader = BufReader::new(blob);
        let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let stream: Box<dyn Read> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            if name == ".wh..wh..opq" {
                let prefix = format!("{dir}/");
                self.0.retain(|p, n| {
                    !p.starts_with(&prefix)
                        || matches!(n, Node::File { layer: l, .. } if *l == layer)
                });
                continue;
            }
            if let Some(hidden) = name.strip_prefix(".wh.") {
                self.remove(&format!("{dir}/{hidden}"));
                continue;
            }
            let kind = entry.header().entry_type();
            let node = if kind.is_dir() {
                Node::Dir
            } else if kind.is_symlink() {
                let target = entry.link_name_bytes().unwrap_or_default();
                Node::Symlink(String::from_utf8_lossy(&target).into_owned())
            } else if kind.is_hard_link() {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = normalize(&String::from_utf8_lossy(&target));
                match self.0.get(&target) {
                    Some(Node::File {
                        layer: l, content, ..
                    }) => Node::File {
                        layer: *l,
                        in_scope: entry.header().mode()? & 0o111 != 0 || in_binary_dir(&path),
                        content: content.clone(),
                    },
                    _ => Node::Other,
                }
            } else if kind.is_file() || kind == tar::EntryType::Continuous {
                let in_scope = entry.header().mode()? & 0o111 != 0 || in_binary_dir(&path);
                Node::File {
                    layer,
                    in_scope,
                    content: sniff(&mut entry)?,
                }
            } else {
                Node::Other
            };
            if !matches!(node, Node::Dir) {
                self.remove(&path);
            }
            self.0.insert(path, node);
        }
        Ok(())
    }

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
    fn resolve(&self, path: &str) -> Option<String> {
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

    /// Finds `program` as the kernel (absolute) or a shell (through `PATH`) would.
    fn lookup(&self, program: &str, path_var: &str) -> Option<String> {
        if program.contains('/') {
            return self.resolve(program);
        }
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .find_map(|d| self.resolve(&format!("{d}/{program}")))
    }

    fn entrypoint_findings(
        &self,
        config: &ImageConfig,
        instruction: &dyn Fn(usize) -> String,
    ) -> Vec<Finding> {
        let c = &config.config;
        let argv = match (&c.entrypoint, &c.cmd) {
            (Some(e), _) if !e.is_empty() => e,
            (_, Some(cmd)) => cmd,
            _ => return Vec::new(),
        };
        let Some(program) = argv.first() else {
            return Vec::new();
        };
        let path_var = c
            .env_var("PATH")
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        let Some(found) = self.lookup(program, path_var) else {
            return Vec::new();
        };
        let Some(Node::File { layer, content, .. }) = self.0.get(&found) else {
            return Vec::new();
        };
        let missing = |what: &str, interpreter: &str, hint: String| Finding {
            message: format!(
                "the entrypoint `{found}` needs {what} `{interpreter}`, which is not in the image; it would fail with `no such file or directory`\n    added by {}",
                instruction(*layer)
            ),
            hint,
        };
        let install = |program: &str| {
            format!(
                "install `{program}` in the image, fix the `#!` line of `{found}`, or change the entrypoint"
            )
        };
        let mut out = Vec::new();
        match content {
            Content::Script(line) => {
                let mut words = line.split_whitespace();
                let Some(interpreter) = words.next() else {
                    return out;
                };
                if self.resolve(interpreter).is_none() {
                    out.push(missing(
                        "the script interpreter",
                        interpreter,
                        install(interpreter),
                    ));
                } else if interpreter.ends_with("/env")
                    && let Some(program) = words.find(|w| !w.starts_with('-') && !w.contains('='))
                    && self.lookup(program, path_var).is_none()
                {
                    out.push(missing(
                        "the program (through `env`)",
                        program,
                        install(program),
                    ));
                }
            }
            Content::Elf(e) => {
                if let Some(loader) = &e.interpreter
                    && elf::runs_on(e, &config.architecture) != Some(false)
                    && self.resolve(loader).is_none()
                {
                    out.push(missing(
                        "the dynamic loader (`PT_INTERP`)",
                        loader,
                        format!("link `{found}` statically, or start from a base image that has `{loader}` (the C library it was built against)"),
                    ));
                }
            }
            Content::Other => {}
        }
        out
    }
}

/// Reads the first bytes of a file: an ELF header (bounded by [`elf::PREFIX`]) or a `#!` line.
fn sniff(entry: &mut impl Read) -> std::io::Result<Content> {
    let mut head = Vec::with_capacity(256);
    entry.by_ref().take(4).read_to_end(&mut head)?;
    if elf::is_elf(&head) {
        entry
            .by_ref()
            .take(elf::PREFIX as u64 - 4)
            .read_to_end(&mut head)?;
        return Ok(elf::parse(&head).map_or(Content::Other, Content::Elf));
    }
    if head.starts_with(b"#!") {
        entry.by_ref().take(252).read_to_end(&mut head)?;
        let line = head[2..].split(|b| *b == b'\n').next().unwrap_or_default();
        return Ok(Content::Script(
            String::from_utf8_lossy(line).trim().to_string(),
        ));
    }
    Ok(Content::Other)
}

#[cfg(test)]
#[path = "architecture_tests.rs"]
mod tests;
