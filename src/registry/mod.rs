//! The registry transport: the OCI distribution-spec (pull, push) over HTTP(S), with the Docker
//! token-auth flow. Used by `app` to resolve base images and by `export::registry` to push.
//!
//! `host` decides scheme and mirrors, `tls` the roots and client certificate per host, `proxy` reads
//! the proxy variables, `credentials` finds logins (environment, Docker's and podman's files,
//! credential helpers), `challenge` parses what a registry asks for and `auth` answers it (Basic, or
//! the token flow), `client` sends hoist's own requests and `retry` decides when a failed one is sent
//! again; `pull` goes through `oci-client` (or hoist's own requests where it falls short), `push`
//! through reqwest (streaming, one blob at a time in `upload`), `published` reads a whole index for
//! `hoist copy --all-platforms`; `login` is `hoist login`/`logout`.

mod auth;
mod challenge;
mod client;
mod credentials;
mod error;
mod host;
mod login;
mod proxy;
mod published;
mod pull;
mod push;
mod retry;
mod tls;
mod upload;

use std::sync::Arc;

pub use credentials::{CredentialEnv, CredentialError};
pub use error::RegistryError;
pub use login::{Erased, Place, Stored};
pub use proxy::ProxyEnv;

use crate::image::{
    BlobStore, Descriptor, Image, Manifest, Platform, Reference, Serialized, SerializedImage,
};
use crate::progress::Reporter;

/// How to reach registries.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Hosts (`host` or `host:port`) reached over plain HTTP or unverified TLS. Loopback hosts always are.
    pub insecure: Vec<String>,
    /// `(source, destination)` registry host pairs: images of `source` are pulled from `destination`.
    pub mirrors: Vec<(String, String)>,
    /// Registry names images are pushed to: the only ones `HOIST_TOKEN` is sent to.
    pub destinations: Vec<String>,
    /// Where credentials are looked up (empty by default: anonymous unless [`RegistryClient::login`]).
    pub credentials: CredentialEnv,
    /// `(host, CA file)`: hosts spoken to over HTTPS verified with these extra roots, loopback too.
    pub certificates: Vec<(String, std::path::PathBuf)>,
    /// `(host, certificate, key)` PEM files: the client certificate presented to that host (mutual
    /// TLS); the host is spoken to over verified HTTPS, loopback too.
    pub client_certificates: Vec<(String, std::path::PathBuf, std::path::PathBuf)>,
    /// Proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`); none by default.
    pub proxy: ProxyEnv,
}

#[derive(Clone, Debug)]
pub struct RegistryClient {
    options: RegistryOptions,
    http: Arc<client::Http>,
}

impl RegistryClient {
    pub fn new(options: RegistryOptions) -> Result<RegistryClient, RegistryError> {
        let http = Arc::new(client::Http::new(options.clone())?);
        Ok(RegistryClient { options, http })
    }

    /// Uses `username`/`secret` for `registry` (a registry name as in references, e.g. `docker.io`),
    /// ahead of every other source (`--username` with `--password-stdin`). Nothing is stored.
    pub fn login(&self, registry: &str, username: &str, secret: &str) {
        self.http.login(
            registry,
            credentials::Credentials::password(username, secret),
        );
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
        let strict = pull::PlatformCheck::Strict;
        let (image, _) = pull::pull(self, reference, platform, blobs, reporter, strict).await?;
        Ok(image)
    }

    /// Like [`RegistryClient::pull`], for an image to judge rather than build on: its manifest and
    /// config bytes as published (their digests are the image's), and an image whose config names
    /// another platform than `platform` is returned, not refused. An index still resolves to
    /// `platform`, or fails listing the platforms it offers.
    pub async fn pull_as_published(
        &self,
        reference: &Reference,
        platform: &Platform,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<SerializedImage, RegistryError> {
        let as_published = pull::PlatformCheck::AsPublished;
        let (_, manifest_bytes) =
            pull::pull(self, reference, platform, blobs, reporter, as_published).await?;
        let protocol = |reason: String| RegistryError::Protocol {
            host: reference.registry().to_string(),
            what: reference.to_string(),
            reason,
        };
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| protocol(e.to_string()))?;
        let config_bytes =
            blobs
                .read(&manifest.config.digest)
                .map_err(|source| RegistryError::Blob {
                    reference: reference.to_string(),
                    source,
                })?;
        SerializedImage::from_raw(manifest_bytes, config_bytes).map_err(|e| protocol(e.to_string()))
    }

    /// What `reference` names as published: with `all`, a whole index (its bytes unchanged, every
    /// image it lists); else the image for `platform` (see [`RegistryClient::pull_as_published`]).
    pub async fn pull_published(
        &self,
        reference: &Reference,
        platform: &Platform,
        all: bool,
        blobs: &BlobStore,
        reporter: &dyn Reporter,
    ) -> Result<Serialized, RegistryError> {
        published::pull(self, reference, platform, all, blobs, reporter).await
    }

    /// The top manifest of `reference` (an image manifest or an index) as stored, and its media type.
    pub async fn manifest_raw(
        &self,
        reference: &Reference,
    ) -> Result<(Vec<u8>, String), RegistryError> {
        published::manifest(self, reference).await
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
        push::push(self, image, blobs, targets, reporter).await
    }

    /// Pushes the images of a multi-platform build by digest, then their index under every tag.
    pub async fn push_index(
        &self,
        index: &crate::image::SerializedIndex,
        blobs: &BlobStore,
        targets: &[Reference],
        reporter: &dyn Reporter,
    ) -> Result<Descriptor, RegistryError> {
        push::push_index(self, index, blobs, targets, reporter).await
    }
}
