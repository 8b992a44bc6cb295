//! How a pull's requests go out: through oci-client (the usual way), or through hoist's own requests
//! (`client::Http::send`: its auth, retries, re-challenges and per-host TLS) for a host that wants a
//! client certificate, which oci-client cannot present. Distribution-spec "Pull": `GET` of
//! `/v2/NAME/manifests/REFERENCE` and `/v2/NAME/blobs/DIGEST`.

use futures::StreamExt as _;
use oci_client::secrets::RegistryAuth;
use std::io::Write as _;

use super::BlobSink;
use super::oci::client_error;
use crate::image::manifest::media_type;
use crate::image::{Digest, Reference};
use crate::registry::client::{Build, Request};
use crate::registry::{RegistryClient, RegistryError};

/// How a pull's requests go out.
pub enum Transport<'a> {
    /// oci-client, configured for the host, with the answer to the host's challenge.
    Oci {
        client: oci_client::Client,
        auth: RegistryAuth,
    },
    /// hoist's own requests (auth, retries and TLS of `client::Http`).
    Own {
        registry: &'a RegistryClient,
        /// The registry name credentials are looked up for.
        name: &'a str,
        host: String,
        base: String,
        verify: bool,
    },
}

/// What a request is for: the reference as the user wrote it (for errors), as on the host, and the
/// host with its base URL.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub reference: &'a Reference,
    pub remote: &'a oci_client::Reference,
    pub host: &'a str,
    pub base: &'a str,
}

impl Transport<'_> {
    /// The manifest (or index) `remote` names, its bytes as served.
    pub async fn manifest(&self, at: &At<'_>) -> Result<Vec<u8>, RegistryError> {
        let At {
            reference,
            remote,
            host,
            base,
        } = *at;
        match self {
            Transport::Oci { client, auth } => {
                let (bytes, _) = client
                    .pull_manifest_raw(remote, auth, media_type::ACCEPT_MANIFESTS)
                    .await
                    .map_err(|e| client_error(reference, host, base, e))?;
                Ok(bytes.to_vec())
            }
            Transport::Own { .. } => {
                let which = remote
                    .digest()
                    .map(str::to_string)
                    .or_else(|| remote.tag().map(str::to_string))
                    .unwrap_or_else(|| "latest".into());
                let accept = media_type::ACCEPT_MANIFESTS.join(", ");
                let resp = self
                    .get(reference, "manifests", &which, &|r| {
                        Ok(r.header(reqwest::header::ACCEPT, accept.as_str()))
                    })
                    .await?;
                resp.bytes()
                    .await
                    .map(|b| b.to_vec())
                    .map_err(|e| interrupted(reference, host, e))
            }
        }
    }

    /// Streams blob `digest` into `sink`.
    pub async fn blob(
        &self,
        at: &At<'_>,
        digest: &Digest,
        sink: &mut BlobSink,
    ) -> Result<(), RegistryError> {
        let At {
            reference,
            remote,
            host,
            base,
        } = *at;
        match self {
            Transport::Oci { client, .. } => client
                .pull_blob(remote, digest.to_string().as_str(), sink)
                .await
                .map_err(|e| client_error(reference, host, base, e)),
            Transport::Own { .. } => {
                let resp = self
                    .get(reference, "blobs", &digest.to_string(), &Ok)
                    .await?;
                let mut body = resp.bytes_stream();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|e| interrupted(reference, host, e))?;
                    let writer = sink.writer.as_mut().expect("sink is open");
                    writer.write_all(&chunk).map_err(|e| RegistryError::Io {
                        digest: digest.clone(),
                        source: e,
                    })?;
                }
                Ok(())
            }
        }
    }

    /// `GET /v2/REPOSITORY/KIND/WHICH` through hoist's own requests; 404 is an unknown manifest,
    /// anything else but 200 an error with the registry's words.
    async fn get(
        &self,
        reference: &Reference,
        kind: &str,
        which: &str,
        build: &Build<'_>,
    ) -> Result<reqwest::Response, RegistryError> {
        let Transport::Own {
            registry,
            name,
            host,
            base,
            verify,
        } = self
        else {
            unreachable!("only the own transport sends its own requests")
        };
        let repository = reference.repository();
        let url = format!("{base}/v2/{repository}/{kind}/{which}");
        let scope = format!("repository:{repository}:pull");
        let resp = registry
            .http
            .send(Request {
                registry: name,
                host,
                scope: &scope,
                method: reqwest::Method::GET,
                url: &url,
                verify: *verify,
                build,
            })
            .await?;
        match resp.status() {
            reqwest::StatusCode::OK => Ok(resp),
            reqwest::StatusCode::NOT_FOUND if kind == "manifests" => {
                Err(RegistryError::ManifestUnknown {
                    reference: reference.to_string(),
                })
            }
            _ => Err(crate::registry::client::unexpected(host, "GET", &url, resp).await),
        }
    }
}

fn interrupted(reference: &Reference, host: &str, e: reqwest::Error) -> RegistryError {
    RegistryError::Protocol {
        host: host.to_string(),
        what: reference.to_string(),
        reason: format!(
            "the download broke off: {}",
            crate::registry::auth::without_url(&e)
        ),
    }
}
