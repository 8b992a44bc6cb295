//! Reading an image as published — manifest and config bytes exactly as stored, blobs into the blob
//! cache with their digests checked — from a registry or an OCI layout. `hoist validate`, `copy` and
//! `inspect` all start here.

use anyhow::Context as _;

use crate::cli::ImageSource;
use crate::image::{BlobStore, Platform, SerializedImage, layout::Layout};
use crate::progress::{Event, Reporter};
use crate::registry::{RegistryClient, RegistryOptions};

/// How registries are reached: `--insecure-registry`, `--registry-mirror`, `--registry-certificate`
/// and `--registry-client-cert`.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    pub insecure: Vec<String>,
    pub mirrors: Vec<(String, String)>,
    pub tls: crate::cli::RegistryTls,
}

/// A client for a command that names `registry` itself: HOIST_TOKEN may go there, as to a push
/// destination, and the user's logins apply.
pub fn client(reach: &Reach, registry: &str) -> anyhow::Result<RegistryClient> {
    Ok(RegistryClient::new(RegistryOptions {
        insecure: reach.insecure.clone(),
        mirrors: reach.mirrors.clone(),
        destinations: vec![registry.to_string()],
        credentials: crate::registry::CredentialEnv::from_process(),
        certificates: reach.tls.certificates.clone(),
        client_certificates: reach.tls.client_certificates.clone(),
        proxy: crate::registry::ProxyEnv::from_process(),
    })?)
}

/// The image at `source` for `platform`, its blobs in `blobs`.
pub async fn read(
    source: &ImageSource,
    platform: &Platform,
    reach: &Reach,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> anyhow::Result<SerializedImage> {
    read_through(source, platform, reach, None, blobs, reporter).await
}

/// The client of a copy within one registry, shared by its pull and its push: the pull tells the
/// push which repository each blob came from, so that it is mounted instead of uploaded (with one
/// token for both repositories). `None` for any other copy.
pub fn shared_client(
    reach: &Reach,
    source: &ImageSource,
    destination: &ImageSource,
) -> anyhow::Result<Option<RegistryClient>> {
    match (source, destination) {
        (ImageSource::Registry(s), ImageSource::Registry(d)) if s.registry() == d.registry() => {
            Ok(Some(client(reach, d.registry())?))
        }
        _ => Ok(None),
    }
}

/// [`read`], through `shared` when given (see [`shared_client`]).
pub async fn read_through(
    source: &ImageSource,
    platform: &Platform,
    reach: &Reach,
    shared: Option<&RegistryClient>,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> anyhow::Result<SerializedImage> {
    match source {
        ImageSource::Registry(reference) => {
            let registry = match shared {
                Some(shared) => shared.clone(),
                None => client(reach, reference.registry())?,
            };
            reporter.report(Event::Resolve {
                reference: reference.to_string(),
            });
            Ok(registry
                .pull_as_published(reference, platform, blobs, reporter)
                .await?)
        }
        ImageSource::Layout { dir, tag } => {
            let (dir, tag, platform, blobs) =
                (dir.clone(), tag.clone(), platform.clone(), blobs.clone());
            // Copies and hashes every blob: blocking work.
            let image = tokio::task::spawn_blocking(move || {
                Layout::open(&dir)?.image(tag.as_deref(), &platform, &blobs)
            })
            .await
            .context("the layout reader panicked")??;
            Ok(image)
        }
    }
}
