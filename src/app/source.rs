//! Reading an image as published — manifest and config bytes exactly as stored, blobs into the blob
//! cache with their digests checked — from a registry or an OCI layout; for `hoist copy
//! --all-platforms`, a whole index. `hoist validate`, `copy` and `inspect` all start here.

use anyhow::Context as _;

use crate::cli::{ImageSource, Registries};
use crate::image::{BlobStore, Platform, Serialized, SerializedImage, layout::Layout};
use crate::progress::{Event, Reporter};
use crate::registry::{RegistryClient, RegistryOptions};

/// A client for a command that names `registry` itself: HOIST_TOKEN may go there, as to a push
/// destination, and the user's logins apply.
pub fn client(reach: &Registries, registry: &str) -> anyhow::Result<RegistryClient> {
    Ok(RegistryClient::new(RegistryOptions {
        insecure: reach.tls.insecure.clone(),
        mirrors: reach.mirrors.clone(),
        destinations: vec![registry.to_string()],
        credentials: crate::registry::CredentialEnv::from_process(),
        certificates: reach.tls.certificates.clone(),
        client_certificates: reach.tls.client_certificates.clone(),
        proxy: crate::registry::ProxyEnv::from_process(),
    })?)
}

/// What `source` names as published, its blobs in `blobs`: with `all`, a whole index (bytes
/// unchanged, every image it lists); else the image for `platform`. Registry sources are read with
/// `registry` when given (else a client of their own).
pub async fn read_published(
    source: &ImageSource,
    platform: &Platform,
    all: bool,
    reach: &Registries,
    registry: Option<&RegistryClient>,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> anyhow::Result<Serialized> {
    match source {
        ImageSource::Registry(reference) => {
            let own;
            let registry = match registry {
                Some(r) => r,
                None => {
                    own = client(reach, reference.registry())?;
                    &own
                }
            };
            reporter.report(Event::Resolve {
                reference: reference.to_string(),
            });
            Ok(registry
                .pull_published(reference, platform, all, blobs, reporter)
                .await?)
        }
        ImageSource::Layout { dir, tag } => {
            let (dir, tag, platform, blobs) =
                (dir.clone(), tag.clone(), platform.clone(), blobs.clone());
            // Copies and hashes every blob: blocking work.
            let published = tokio::task::spawn_blocking(move || {
                Layout::open(&dir)?.published(tag.as_deref(), &platform, all, &blobs)
            })
            .await
            .context("the layout reader panicked")??;
            Ok(published)
        }
    }
}

/// The image at `source` for `platform`, its blobs in `blobs`.
pub async fn read(
    source: &ImageSource,
    platform: &Platform,
    reach: &Registries,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> anyhow::Result<SerializedImage> {
    match read_published(source, platform, false, reach, None, blobs, reporter).await? {
        Serialized::Image(image) => Ok(image),
        Serialized::Index(_) => {
            unreachable!("a source read for one platform is one image")
        }
    }
}
