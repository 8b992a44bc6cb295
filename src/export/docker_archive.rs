//! Export as an docker-archive tarball (`docker save` format), written atomically.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ExportError, Exported, Exporter};
use crate::image::{BlobStore, Reference, SerializedImage};
use crate::progress::Reporter;

pub struct DockerArchive {
    file: PathBuf,
    names: Vec<Reference>,
}

impl DockerArchive {
    pub fn new(file: &Path, names: &[Reference]) -> DockerArchive {
        DockerArchive {
            file: file.to_path_buf(),
            names: names.to_vec(),
        }
    }
}

#[async_trait]
impl Exporter for DockerArchive {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let _ = (image, blobs, reporter, &self.file, &self.names);
        Err(ExportError::Refused(
            "docker-archive export is not implemented yet".into(),
        ))
    }
}
