//! The Dockerfile frontend: text → AST (`parser`) → typed instructions (`instruction`) → plan (`convert`),
//! following the Dockerfile reference and BuildKit's `frontend/dockerfile` behaviour.

pub mod error;

use std::path::PathBuf;

use crate::image::{ImageSet, Platform, Reference};
use crate::plan::BuildPlan;

pub use error::FrontendError;

/// What the Dockerfile frontend needs to know about the build.
#[derive(Clone, Debug)]
pub struct Input {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    /// `--build-arg NAME=VALUE` (value `None`: `--build-arg NAME`, taken from the environment if set).
    pub build_args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
    pub platform: Platform,
    /// `--label` values, applied to the final image.
    pub labels: Vec<(String, String)>,
    pub epoch: i64,
    pub created: String,
}

/// A parsed Dockerfile, ready to plan once its registry images are resolved.
#[derive(Debug)]
pub struct Dockerfile {
    _private: (),
}

/// Reads and checks the Dockerfile and `.dockerignore`.
pub fn load(input: &Input) -> Result<Dockerfile, FrontendError> {
    let _ = input;
    Err(FrontendError::Unimplemented)
}

impl Dockerfile {
    /// Registry images the target needs (FROM bases and `COPY --from` images), each once.
    pub fn external_images(&self) -> Vec<Reference> {
        Vec::new()
    }

    /// The plan, given the resolved registry images.
    pub fn plan(&self, images: &ImageSet) -> Result<BuildPlan, FrontendError> {
        let _ = images;
        Err(FrontendError::Unimplemented)
    }
}
