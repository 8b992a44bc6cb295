//! Validation of an image before it leaves hoist, collecting every violation (go-containerregistry's
//! `pkg/v1/validate`): structure (digests, sizes, diff_ids, platform).

mod structure;

use crate::image::{BlobStore, Platform, SerializedImage};

#[derive(Debug, thiserror::Error)]
#[error("the image is not valid:\n{}", .0.iter().map(|v| format!("  - {v}")).collect::<Vec<_>>().join("\n"))]
pub struct Invalid(pub Vec<String>);

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
