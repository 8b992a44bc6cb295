//! Validation of an image, collecting every violation (go-containerregistry's `pkg/v1/validate`):
//! structure (digests, sizes, diff_ids, platform), then architecture (every binary runs on the target
//! platform; the entrypoint exists, is executable and has its interpreter). Run on every image before it
//! leaves `hoist build`, and by `hoist validate` on images made by anything.
//!
//! `scan` reads a layer into ops, `verdicts` caches them per layer, `tree` replays them into the final
//! filesystem, `elf` reads ELF headers, `entrypoint` and `architecture` judge, `finding` is the result.

mod architecture;
mod elf;
mod entrypoint;
mod finding;
mod scan;
mod structure;
mod tree;
mod verdicts;

use crate::image::{BlobStore, Platform, SerializedImage};

pub use architecture::{Report, Unreadable};
pub use finding::{Finding, Kind, LayerRef};
pub use verdicts::Verdicts;

/// Who made the image being checked: it decides whose fault an inconsistency is and which way out the
/// hints name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `hoist build` made it just now: an inconsistency is a bug in hoist.
    Build,
    /// Another tool (or an earlier build) made it: `hoist validate`.
    Existing,
}

#[derive(Debug, thiserror::Error)]
#[error("the image is not valid:\n{}", .0.iter().map(|f| format!("  - {f}\n    hint: {}", f.hint)).collect::<Vec<_>>().join("\n"))]
pub struct Invalid(pub Vec<Finding>);

/// The architecture check failed: the image holds binaries it cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ArchitectureError {
    /// Every binary built for another machine and every missing interpreter (what and why), then each
    /// distinct way out once.
    #[error(
        "the image would not run on {platform}; nothing was pushed or written:\n{}\n{}",
        .findings.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"),
        hints(.findings).iter().map(|h| format!("hint: {h}")).collect::<Vec<_>>().join("\n")
    )]
    Mismatch {
        platform: Platform,
        findings: Vec<Finding>,
    },
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
}

/// Each distinct hint of `findings`, in order.
fn hints(findings: &[Finding]) -> Vec<&str> {
    let mut hints: Vec<&str> = Vec::new();
    for f in findings {
        if !hints.contains(&f.hint.as_str()) {
            hints.push(&f.hint);
        }
    }
    hints
}

/// Checks the structure of `image`, just built, against its blobs and the target platform.
pub fn image(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
) -> Result<(), Invalid> {
    let violations = structure::check(image, blobs, platform, Origin::Build);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Invalid(violations))
    }
}

/// Checks that every binary in `image`, just built, runs on `platform` and that its entrypoint's
/// interpreter exists. Streams every layer `verdicts` does not know once; run it after [`image`]. The
/// report's findings are those that fail a build ([`Kind::fails_build`]); turn them into the build's
/// error with [`ArchitectureError::Mismatch`].
pub fn architecture(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
    verdicts: Option<&Verdicts>,
) -> Result<Report, Unreadable> {
    let mut report = architecture::check(image, blobs, platform, verdicts, Origin::Build)?;
    report.findings.retain(|f| f.kind.fails_build());
    Ok(report)
}

/// `hoist validate`: every check on an image made by anything — structure, binaries, entrypoint. A
/// layer that cannot be read is a finding too: the report is always complete.
pub fn existing(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
    verdicts: Option<&Verdicts>,
) -> Report {
    let structure = structure::check(image, blobs, platform, Origin::Existing);
    let mut report = match architecture::check(image, blobs, platform, verdicts, Origin::Existing) {
        Ok(report) => report,
        Err(e) => Report {
            layers: image.layers.len(),
            findings: vec![Finding {
                kind: Kind::Structure,
                path: None,
                message: format!(
                    "layer {} ({}) cannot be read as a tar archive: {}",
                    e.layer, e.digest, e.source
                ),
                layer: image.layers.get(e.layer - 1).map(|l| LayerRef {
                    index: e.layer,
                    digest: l.descriptor.digest.to_string(),
                    created_by: None,
                }),
                hint: "rebuild or re-push the image; runtimes cannot unpack it either".into(),
            }],
            ..Report::default()
        },
    };
    report.findings.splice(0..0, structure);
    report
}
