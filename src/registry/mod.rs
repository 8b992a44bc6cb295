//! The registry transport: the OCI distribution-spec (pull, push) over HTTP(S), with the Docker
//! token-auth flow. Used by `app` to resolve base images and by `export::registry` to push.
//!
//! `host` decides scheme and mirrors, `credentials` finds logins (environment, Docker's and podman's
//! files, credential helpers), `auth` answers challenges, `client` sends hoist's own requests; `pull`
//! goes through `oci-client`, `push` through reqwest (streaming); `login` is `hoist login`/`logout`.

mod auth;
mod client;
mod credentials;
mod error;
mod host;
mod login;
mod pull;
mod push;

use std::sync::Arc;

pub use credentials::{CredentialEnv, CredentialError};
pub use error::RegistryError;
pub use login::{Erased, Stored};

use crate::image::{BlobStore, Descriptor, Image, Platform, Reference, SerializedImage};
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
        pull::pull(self, reference, platform, blobs, reporter).await
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
}
