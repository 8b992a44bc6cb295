//! Exporters: where a built image goes. One small trait, one file per destination, and a tee for several
//! (ko's `publish` package shape).

pub mod docker_archive;
pub mod oci_layout;
pub mod registry;

use async_trait::async_trait;

use crate::image::{BlobStore, Descriptor, SerializedImage, SerializedIndex};
use crate::progress::Reporter;

/// One place an image was written to.
#[derive(Clone, Debug)]
pub struct Exported {
    /// A reference (`host/repo:tag`) or an output (`oci:DIR`, `docker-archive:FILE`).
    pub destination: String,
    pub descriptor: Descriptor,
    /// True for registry pushes: stdout then shows `destination@digest`.
    pub pushed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Refused(String),
}

#[async_trait]
pub trait Exporter: Send + Sync {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError>;

    /// Exports the images of a multi-platform build under their index. Destinations that hold one
    /// image only refuse.
    async fn export_index(
        &self,
        index: &SerializedIndex,
        _blobs: &BlobStore,
        _reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        Err(ExportError::Refused(format!(
            "this output holds one image, and the build made {} (one per platform)\nhint: use `--output oci:DIR` or `--push` for a multi-platform build, or build one `--platform` at a time",
            index.images.len()
        )))
    }
}
