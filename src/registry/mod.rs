//! The registry transport: the OCI distribution-spec (pull, push, blob mounts) over HTTP(S), with the
//! Docker token-auth flow. Used by `app` to resolve base images and by `export::registry` to push.

use crate::image::{BlobStore, Descriptor, Image, Platform, Reference, SerializedImage};
use crate::progress::Reporter;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry access is not implemented yet")]
    Unimplemented,
}

/// How to reach registries.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Hosts (`host` or `host:port`) reached over plain HTTP or unverified TLS. Loopback hosts always are.
    pub insecure: Vec<String>,
    /// `(source, destination)` registry host pairs: images of `source` are pulled from `destination`.
    pub mirrors: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct RegistryClient {
    options: RegistryOptions,
}

impl RegistryClient {
    pub fn new(options: RegistryOptions) -> Result<RegistryClient, RegistryError> {
        Ok(RegistryClient { options })
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Resolves `reference` for `platform`, downloads what the blob store lacks (digest-checked), and
    /// returns the image.
    pub async fn pull(
        &self,
        reference: &Reference,
        platform: &Platform,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Image, RegistryError> {
        let _ = (reference, platform, blobs, reporter);
        Err(RegistryError::Unimplemented)
    }

    /// Pushes the image's blobs and manifest, then tags it with every reference's tag. Returns the
    /// manifest descriptor.
    pub async fn push(
        &self,
        image: &SerializedImage,
        blobs: &BlobStore,
        targets: &[Reference],
        reporter: &dyn Reporter,
    ) -> Result<Descriptor, RegistryError> {
        let _ = (image, blobs, targets, reporter);
        Err(RegistryError::Unimplemented)
    }
}
