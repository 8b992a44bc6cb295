//! The executor: turns a [`BuildPlan`] into an [`Image`], stage by stage, writing each layer once.
//!
//! It knows nothing of Dockerfiles: it applies filesystem changes (copy, mkdir, run) and config changes
//! in order, writes every filesystem change as a deterministic, streamed, compressed layer into the blob
//! store, and records history.

pub mod compress;
pub mod layer;

use crate::image::{BlobStore, Image, ImageSet};
use crate::plan::BuildPlan;
use crate::progress::Reporter;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("the executor is not implemented yet")]
    Unimplemented,
}

/// Builds the plan's target stage.
pub fn execute(
    plan: &BuildPlan,
    images: &ImageSet,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> Result<Image, ExecError> {
    let _ = (plan, images, blobs, reporter);
    Err(ExecError::Unimplemented)
}
