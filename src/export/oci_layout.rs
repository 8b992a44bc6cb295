//! Export as an OCI image layout directory (image-spec `image-layout.md`), written atomically.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ExportError, Exported, Exporter};
use crate::image::{BlobStore, Reference, SerializedImage};
use crate::progress::Reporter;

pub struct OciLayout {
    dir: PathBuf,
    names: Vec<Reference>,
}

impl OciLayout {
    pub fn new(dir: &Path, names: &[Reference]) -> OciLayout {
        OciLayout {
            dir: dir.to_path_buf(),
            names: names.to_vec(),
        }
    }
}

#[async_trait]
impl Exporter for OciLayout {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let _ = (image, blobs, reporter, &self.dir, &self.names);
        Err(ExportError::Refused(
            "OCI layout export is not implemented yet".into(),
        ))
    }
}
