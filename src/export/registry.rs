//! Export to a registry: push blobs, the manifest and every tag (distribution-spec "Push").

use async_trait::async_trait;

use super::{ExportError, Exported, Exporter};
use crate::image::{BlobStore, Descriptor, Reference, SerializedImage, SerializedIndex};
use crate::progress::Reporter;
use crate::registry::RegistryClient;

pub struct RegistryExporter {
    pub client: RegistryClient,
    pub targets: Vec<Reference>,
}

impl RegistryExporter {
    /// One [`Exported`] per target, all naming the pushed manifest or index.
    fn exported(&self, descriptor: &Descriptor) -> Vec<Exported> {
        self.targets
            .iter()
            .map(|t| Exported {
                destination: t.to_string(),
                descriptor: descriptor.clone(),
                pushed: true,
            })
            .collect()
    }
}

#[async_trait]
impl Exporter for RegistryExporter {
    async fn export(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let descriptor = self
            .client
            .push(image, blobs, &self.targets, reporter)
            .await?;
        Ok(self.exported(&descriptor))
    }

    async fn export_index(
        &self,
        index: &SerializedIndex,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Vec<Exported>, ExportError> {
        let descriptor = self
            .client
            .push_index(index, blobs, &self.targets, reporter)
            .await?;
        Ok(self.exported(&descriptor))
    }
}
