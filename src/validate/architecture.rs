//! Architecture validation: no image passes whose binaries would die with `exec format error`.
//! Each layer is read once into its [`scan`] ops (or taken from the [`Verdicts`] cache), the ops are
//! replayed in order into the final [`Tree`] (whiteouts included), and then every ELF executable or shared
//! object that is executable or sits in a binary directory must be built for the target platform
//! (`elf(5)`: `EI_CLASS`, `EI_DATA`, `e_machine`), and the entrypoint must exist, be executable and have
//! its interpreter ([`entrypoint`]).

use super::finding::{Finding, Kind, LayerRef};
use super::scan::{self, Content};
use super::tree::{Node, Tree};
use super::verdicts::Verdicts;
use super::{Origin, elf, entrypoint};
use crate::image::{BlobStore, ImageConfig, Platform, SerializedImage};

/// What the check found, and what it looked at.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Regular files in the image's final filesystem.
    pub files: usize,
    /// ELF executables and libraries judged.
    pub binaries: usize,
    /// Layers in the image.
    pub layers: usize,
    /// Layers read from their blobs.
    pub scanned: usize,
    /// Layers whose verdict came from the cache.
    pub cached: usize,
    /// Layers that could not be judged (zstd, which hoist does not read).
    pub skipped: usize,
}

/// A layer could not be read back.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read layer {layer} ({digest}) back to check its binaries: {source}\nhint: remove the cache directory and try again"
)]
pub struct Unreadable {
    pub layer: usize,
    pub digest: String,
    #[source]
    pub source: std::io::Error,
}

/// Every finding about `image` on `platform`: binaries built for another machine, and the entrypoint.
pub fn check(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
    verdicts: Option<&Verdicts>,
    origin: Origin,
) -> Result<Report, Unreadable> {
    let mut report = Report {
        layers: image.layers.len(),
        ..Report::default()
    };
    // A config that does not parse is a structure violation, reported by the structure check.
    let Ok(config) = serde_json::from_slice::<ImageConfig>(&image.config_bytes) else {
        return Ok(report);
    };
    let mut tree = Tree::default();
    for (i, layer) in image.layers.iter().enumerate() {
        // hoist reads and writes no zstd layers; such a layer cannot be judged, so it is not.
        if layer.descriptor.media_type.ends_with("+zstd") {
            report.skipped += 1;
            continue;
        }
        let ops = match verdicts.and_then(|v| v.get(layer)) {
            Some(ops) => {
                report.cached += 1;
                ops
            }
            None => {
                let unreadable = |source| Unreadable {
                    layer: i + 1,
                    digest: layer.descriptor.digest.to_string(),
                    source,
                };
                let file = blobs
                    .open_blob(&layer.descriptor.digest)
                    .map_err(|e| unreadable(std::io::Error::other(e.to_string())))?;
                let ops = scan::layer(file).map_err(unreadable)?;
                report.scanned += 1;
                if let Some(v) = verdicts {
                    v.put(layer, &ops);
                }
                ops
            }
        };
        tree.apply(i, &ops);
    }
    let added_by: Vec<Option<String>> = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by.clone())
        .collect();
    let layer_ref = |i: usize| LayerRef {
        index: i + 1,
        digest: image
            .layers
            .get(i)
            .map(|l| l.descriptor.digest.to_string())
            .unwrap_or_default(),
        created_by: added_by.get(i).cloned().flatten(),
    };
    let target = platform.to_string();
    for (path, node) in &tree.0 {
        let Node::File {
            layer,
            mode,
            content: Content::Elf(e),
        } = node
        else {
            continue;
        };
        if mode & 0o111 == 0 && !in_binary_dir(path) {
            continue;
        }
        report.binaries += 1;
        if elf::runs_on(e, &platform.architecture) == Some(false) {
            report
                .findings
                .push(foreign(path, e, &target, origin, layer_ref(*layer)));
        }
    }
    report.files = tree.files();
    report.findings.extend(entrypoint::findings(
        &tree,
        &config,
        &platform.architecture,
        origin,
        &layer_ref,
    ));
    Ok(report)
}

fn foreign(path: &str, e: &elf::Elf, target: &str, origin: Origin, layer: LayerRef) -> Finding {
    let arch = elf::machine_name(e);
    let kernel = elf::kernel_name(e);
    let built_for = if kernel == arch {
        arch.clone()
    } else {
        format!("{arch} ({kernel})")
    };
    let hint = match origin {
        Origin::Build => format!(
            "rebuild the binaries for {target}, choose the `--platform` they were built for, start from a base image built for {target}, or pass `--allow-arch-mismatch` to export anyway"
        ),
        Origin::Existing => format!(
            "rebuild the image's binaries for {target}; or, if the image is meant for linux/{arch}, rebuild it for that platform so that its config (and index) say so, and validate it with `--platform linux/{arch}`"
        ),
    };
    Finding {
        kind: Kind::ForeignBinary,
        path: Some(path.to_string()),
        message: format!(
            "`{path}` is an ELF binary for {built_for} but the image is {target}; it would fail with `exec format error`"
        ),
        layer: Some(layer),
        hint,
    }
}

/// Files judged even without an x bit: those in the directories the loader and shells look in.
fn in_binary_dir(path: &str) -> bool {
    let rest = path.strip_prefix("/usr/").unwrap_or(path);
    let rest = rest.trim_start_matches('/');
    let top = rest.split('/').next().unwrap_or("");
    rest.contains('/') && (top == "bin" || top == "sbin" || top.starts_with("lib"))
}

#[cfg(test)]
#[path = "architecture_tests.rs"]
mod tests;
