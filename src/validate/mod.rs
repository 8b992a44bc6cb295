//! Validation of an image before it leaves hoist, collecting every violation (go-containerregistry's
//! `pkg/v1/validate`): structure (digests, sizes, diff_ids, platform), then architecture (every binary
//! runs on the target platform; the entrypoint's interpreter exists).

mod architecture;
mod elf;
mod structure;

use crate::image::{BlobStore, Platform, SerializedImage};

pub use architecture::{Finding, Unreadable};

#[derive(Debug, thiserror::Error)]
#[error("the image is not valid:\n{}", .0.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
pub struct Invalid(pub Vec<String>);

/// The architecture check failed: the image holds binaries it cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ArchitectureError {
    /// Every binary built for another machine and every missing interpreter (what and why), then each
    /// distinct way out once.
    #[error(
        "the image would not run on {platform}; nothing was pushed or written:\n{}\n{}",
        .findings.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"),
        .hints.iter().map(|h| format!("hint: {h}")).collect::<Vec<_>>().join("\n")
    )]
    Mismatch {
        platform: Platform,
        findings: Vec<String>,
        hints: Vec<String>,
    },
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
}

/// Checks `image` against its blobs and the target platform.
pub fn image(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
) -> Result<(), Invalid> {
    let violations = structure::check(image, blobs, platform);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Invalid(violations))
    }
}

/// Checks that every binary in `image` runs on `platform` and that its entrypoint's interpreter exists.
/// Streams every layer once; run it after [`image`].
pub fn architecture(
    image: &SerializedImage,
    blobs: &BlobStore,
    platform: &Platform,
) -> Result<(), ArchitectureError> {
    let found = architecture::check(image, blobs, platform)?;
    if found.is_empty() {
        return Ok(());
    }
    let mut hints: Vec<String> = Vec::new();
    for f in &found {
        if !hints.contains(&f.hint) {
            hints.push(f.hint.clone());
        }
    }
    Err(ArchitectureError::Mismatch {
        platform: platform.clone(),
        findings: found.into_iter().map(|f| f.message).collect(),
        hints,
    })
}
