//! Pulling an image (distribution-spec "Pull"): manifest (index resolved to the wanted platform), config
//! and layers, downloaded with `oci-client` into the blob store, each blob digest-checked before it
//! becomes visible. Blobs already in the store are not downloaded again. A host that wants a client
//! certificate (`--registry-client-cert`) is pulled from with hoist's own requests instead: oci-client
//! cannot present one (`transport`). Each request — a manifest, a blob (into a new temporary file) —
//! is sent again after a transient failure (`oci`, with `retry`'s backoff; hoist's own requests
//! retry in `client::Http::send`). How oci-client is configured and what its errors mean is `oci`.

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{StreamExt as _, TryStreamExt as _};
use oci_client::secrets::RegistryAuth;

use super::host::{api_host, pull_registry};
use super::retry::RetryPolicy;
use super::{RegistryClient, RegistryError};
use crate::image::blobs::{BlobError, BlobWriter};
use crate::image::manifest::{AnyManifest, media_type};
use crate::image::{BlobStore, Descriptor, Digest, Image, ImageConfig, Layer, Platform, Reference};
use crate::progress::{Event, Reporter};
use oci::{client_error, transient};
use transport::Transport;

mod oci;
mod transport;

/// Downloads at most this many layers at once.
const CONCURRENT_DOWNLOADS: usize = 3;

/// One pull: how its requests go out, the reference on the host, where blobs go.
struct Puller<'a> {
    transport: Transport<'a>,
    retry: RetryPolicy,
    reference: &'a Reference,
    remote: oci_client::Reference,
    blobs: &'a BlobStore,
    reporter: &'a dyn Reporter,
}

/// Whether the config's platform must satisfy the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformCheck {
    /// A base image: another platform's image is an error.
    Strict,
    /// An image to judge: returned as published, whatever its config says.
    AsPublished,
}

pub async fn pull(
    registry: &RegistryClient,
    reference: &Reference,
    platform: &Platform,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
    check: PlatformCheck,
) -> Result<(Image, Vec<u8>), RegistryError> {
    let name = pull_registry(registry.options(), reference.registry());
    let host = api_host(name).to_string();
    let (base, verify) = registry.http.base(&host).await;
    let own = registry
        .options()
        .client_certificates
        .iter()
        .any(|(h, _, _)| api_host(h) == host);
    let mut used = None;
    let transport = if own {
        Transport::Own {
            registry,
            name,
            host: host.clone(),
            base: base.clone(),
            verify,
        }
    } else {
        let client = oci::client(registry.options(), reference, &host, &base, verify)?;
        let found = registry
            .http
            .credentials(name, reference.repository())
            .await?;
        used = found.as_ref().map(|f| f.origin.to_string());
        let auth = match found {
            None => RegistryAuth::Anonymous,
            // hoist answers the challenge itself (oci-client cannot exchange an identity token, and
            // would word a refused token request its own way), then hands oci-client the answer.
            Some(found) => {
                let scope = format!("repository:{}:pull", reference.repository());
                let answer = registry
                    .http
                    .authorize(name, &host, &scope, verify, &found, reporter)
                    .await?;
                let c = found.credentials;
                match answer.as_deref().and_then(|v| v.strip_prefix("Bearer ")) {
                    Some(token) => RegistryAuth::Bearer(token.to_string()),
                    None => RegistryAuth::Basic(c.username, c.secret.expose().to_string()),
                }
            }
        };
        Transport::Oci { client, auth }
    };
    let remote = oci_client::Reference::with_tag(
        host.clone(),
        reference.repository().to_string(),
        reference.tag_or_digest(),
    );
    let remote = match reference.digest() {
        Some(d) => remote.clone_with_digest(d.to_string()),
        None => remote,
    };
    let puller = Puller {
        transport,
        retry: *registry.http.retry_policy(),
        reference,
        remote,
        blobs,
        reporter,
    };
    let (image, manifest_bytes) = puller
        .run(platform, check, &host, &base)
        .await
        .map_err(|e| match e {
            // Name the registry as the user wrote it, and what hoist offered it.
            RegistryError::Denied {
                host,
                status,
                what,
                action,
                credentials,
                ..
            } => RegistryError::Denied {
                registry: name.to_string(),
                host,
                status,
                what,
                action,
                credentials: used.or(credentials),
            },
            other => other,
        })?;
    for layer in image.layers() {
        registry
            .http
            .remember_origin(&layer.descriptor.digest, name, reference.repository());
    }
    Ok((image, manifest_bytes))
}

impl Puller<'_> {
    /// The image and the bytes of its (platform's) manifest.
    async fn run(
        &self,
        platform: &Platform,
        check: PlatformCheck,
        host: &str,
        base: &str,
    ) -> Result<(Image, Vec<u8>), RegistryError> {
        let bytes = self.manifest(&self.remote, host, base).await?;
        if let Some(wanted) = self.reference.digest() {
            check_digest(self.reference, wanted, &bytes)?;
        }
        let (manifest, manifest_bytes) = match self.parse(&bytes, host)? {
            AnyManifest::Image(m) => (m, bytes),
            AnyManifest::Index(index) => {
                let chosen =
                    index
                        .select(platform)
                        .map_err(|offered| RegistryError::PlatformMissing {
                            reference: self.reference.to_string(),
                            wanted: platform.to_string(),
                            offered: offered.iter().map(ToString::to_string).collect(),
                        })?;
                let pinned = self.remote.clone_with_digest(chosen.digest.to_string());
                let bytes = self.manifest(&pinned, host, base).await?;
                check_digest(self.reference, &chosen.digest, &bytes)?;
                match self.parse(&bytes, host)? {
                    AnyManifest::Image(m) => (m, bytes),
                    AnyManifest::Index(_) => {
                        return Err(RegistryError::Protocol {
                            host: host.to_string(),
                            what: self.reference.to_string(),
                            reason: "an index entry points at another index".into(),
                        });
                    }
                }
            }
        };
        self.fetch(&manifest.config, host, base).await?;
        let config_bytes = self
            .blobs
            .read(&manifest.config.digest)
            .map_err(|e| self.blob_error(e))?;
        let config: ImageConfig =
            serde_json::from_slice(&config_bytes).map_err(|e| RegistryError::Protocol {
                host: host.to_string(),
                what: format!("the config of `{}`", self.reference),
                reason: e.to_string(),
            })?;
        let actual = config.platform();
        if check == PlatformCheck::Strict && !actual.satisfies(platform) {
            return Err(RegistryError::PlatformMismatch {
                reference: self.reference.to_string(),
                wanted: platform.to_string(),
                actual: actual.to_string(),
            });
        }
        let downloads: Vec<_> = manifest
            .layers
            .iter()
            .map(|l| self.fetch(l, host, base))
            .collect();
        futures::stream::iter(downloads)
            .buffer_unordered(CONCURRENT_DOWNLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        let layers = manifest
            .layers
            .iter()
            .zip(config.rootfs.diff_ids.iter())
            .map(|(d, diff_id)| Layer {
                descriptor: d.clone(),
                diff_id: diff_id.clone(),
            })
            .collect();
        let image = Image::from_parts(config, layers).map_err(|e| RegistryError::Protocol {
            host: host.to_string(),
            what: self.reference.to_string(),
            reason: e.to_string(),
        })?;
        Ok((image, manifest_bytes.to_vec()))
    }

    async fn manifest(
        &self,
        remote: &oci_client::Reference,
        host: &str,
        base: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        if let Transport::Oci { client, auth } = &self.transport {
            let (bytes, _) = self
                .retrying("GET manifest", || {
                    client.pull_manifest_raw(remote, auth, media_type::ACCEPT_MANIFESTS)
                })
                .await
                .map_err(|e| client_error(self.reference, host, base, e))?;
            return Ok(bytes.to_vec());
        }
        let at = transport::At {
            reference: self.reference,
            remote,
            host,
            base,
        };
        self.transport.manifest(&at).await
    }

    async fn blob(
        &self,
        digest: &Digest,
        sink: &mut BlobSink,
        host: &str,
        base: &str,
    ) -> Result<(), RegistryError> {
        let at = transport::At {
            reference: self.reference,
            remote: &self.remote,
            host,
            base,
        };
        self.transport.blob(&at, digest, sink).await
    }

    fn parse(&self, bytes: &[u8], host: &str) -> Result<AnyManifest, RegistryError> {
        AnyManifest::parse(bytes, None).map_err(|e| RegistryError::Protocol {
            host: host.to_string(),
            what: format!("the manifest of `{}`", self.reference),
            reason: e.to_string(),
        })
    }

    /// Downloads one blob into the store unless it is there already.
    async fn fetch(&self, d: &Descriptor, host: &str, base: &str) -> Result<(), RegistryError> {
        let digest = d.digest.to_string();
        if self.blobs.reuse(&d.digest) {
            self.reporter.report(Event::BlobSkipped {
                verb: "pull",
                digest,
                reason: "cached",
            });
            return Ok(());
        }
        let mut attempt = 0;
        let mut sink = loop {
            attempt += 1;
            let writer = self.blobs.writer().map_err(|e| self.blob_error(e))?;
            let mut sink = BlobSink {
                writer: Some(writer),
            };
            let Transport::Oci { client, .. } = &self.transport else {
                self.blob(&d.digest, &mut sink, host, base).await?;
                break sink;
            };
            match client
                .pull_blob(&self.remote, digest.as_str(), &mut sink)
                .await
            {
                Ok(()) => break sink,
                // The partial file is dropped with its sink; the next attempt starts from nothing.
                Err(e) if attempt < self.retry.attempts && transient(&e) => {
                    self.wait(&format!("GET blob {digest}"), attempt, &e).await;
                }
                Err(e) => return Err(client_error(self.reference, host, base, e)),
            }
        };
        let writer = sink
            .writer
            .take()
            .expect("sink holds its writer until here");
        let (_, size) = writer
            .commit(Some(&d.digest))
            .map_err(|e| self.blob_error(e))?;
        self.reporter.report(Event::Blob {
            verb: "pull",
            digest,
            done: size,
            total: Some(d.size),
        });
        Ok(())
    }

    fn blob_error(&self, source: BlobError) -> RegistryError {
        match source {
            BlobError::DigestMismatch { expected, actual } => RegistryError::DigestMismatch {
                reference: self.reference.to_string(),
                digest: expected.to_string(),
                actual: actual.to_string(),
            },
            BlobError::Io { .. } | BlobError::Missing(..) => RegistryError::Blob {
                reference: self.reference.to_string(),
                source,
            },
        }
    }
}

fn check_digest(reference: &Reference, wanted: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
    let actual = Digest::of(bytes);
    if actual != *wanted {
        return Err(RegistryError::DigestMismatch {
            reference: reference.to_string(),
            digest: wanted.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// A tokio writer over a [`BlobWriter`] (which writes to a buffered temporary file).
struct BlobSink {
    writer: Option<BlobWriter>,
}

impl tokio::io::AsyncWrite for BlobSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let writer = self.get_mut().writer.as_mut().expect("sink is open");
        Poll::Ready(writer.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let writer = self.get_mut().writer.as_mut().expect("sink is open");
        Poll::Ready(writer.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}
