//! An image or a whole index as published (distribution-spec "Pulling manifests"): the top manifest
//! fetched with `GET /v2/NAME/manifests/REF` as stored — its digest checked when the reference pins
//! one — and, for an index, every image it lists pulled by digest (`pull`), so that `hoist copy
//! --all-platforms` can push the same bytes and keep every digest.

use reqwest::{Method, StatusCode, header};

use super::client::{Request, unexpected};
use super::host::{api_host, pull_registry};
use super::{RegistryClient, RegistryError};
use crate::image::manifest::{AnyManifest, media_type};
use crate::image::{
    BlobStore, Descriptor, Digest, Platform, Reference, Serialized, SerializedIndex,
};
use crate::progress::Reporter;

/// The top manifest of `reference` as stored, and its media type.
pub async fn manifest(
    client: &RegistryClient,
    reference: &Reference,
) -> Result<(Vec<u8>, String), RegistryError> {
    let name = pull_registry(client.options(), reference.registry());
    let host = api_host(name).to_string();
    let (base, verify) = client.http.base(&host).await;
    let url = format!(
        "{base}/v2/{}/manifests/{}",
        reference.repository(),
        reference.tag_or_digest()
    );
    let scope = format!("repository:{}:pull", reference.repository());
    let accept = media_type::ACCEPT_MANIFESTS.join(", ");
    let resp = client
        .http
        .send(Request {
            registry: name,
            host: &host,
            scope: &scope,
            method: Method::GET,
            url: &url,
            verify,
            build: &|r| Ok(r.header(header::ACCEPT, accept.as_str())),
        })
        .await?;
    match resp.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => {
            return Err(RegistryError::ManifestUnknown {
                reference: reference.to_string(),
            });
        }
        _ => return Err(unexpected(&host, "GET", &url, resp).await),
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| RegistryError::Unreachable {
            host: host.clone(),
            url: url.clone(),
            reason: super::auth::without_url(&e),
        })?
        .to_vec();
    if let Some(wanted) = reference.digest() {
        let actual = Digest::of(&bytes);
        if actual != *wanted {
            return Err(RegistryError::DigestMismatch {
                reference: reference.to_string(),
                digest: wanted.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    let media = match AnyManifest::parse(&bytes, content_type.as_deref()) {
        Ok(AnyManifest::Index(index)) => index
            .media_type
            .or(content_type)
            .unwrap_or_else(|| media_type::OCI_INDEX.to_string()),
        Ok(AnyManifest::Image(m)) => m
            .media_type
            .or(content_type)
            .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string()),
        Err(e) => {
            return Err(RegistryError::Protocol {
                host,
                what: format!("the manifest of `{reference}`"),
                reason: e.to_string(),
            });
        }
    };
    Ok((bytes, media))
}

/// Everything `reference` names: one image (for `platform` when it is an index and `all` is false),
/// or with `all` the index itself, its bytes unchanged, and every image it lists.
pub async fn pull(
    client: &RegistryClient,
    reference: &Reference,
    platform: &Platform,
    all: bool,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> Result<Serialized, RegistryError> {
    if !all {
        return Ok(Serialized::Image(
            client
                .pull_as_published(reference, platform, blobs, reporter)
                .await?,
        ));
    }
    let (bytes, media) = manifest(client, reference).await?;
    let index = match AnyManifest::parse(&bytes, Some(&media)) {
        Ok(AnyManifest::Index(index)) => index,
        // A single image: what there is, pinned to the bytes just read.
        Ok(AnyManifest::Image(_)) | Err(_) => {
            let pinned = reference.with_digest(Digest::of(&bytes));
            let image = client
                .pull_as_published(&pinned, platform, blobs, reporter)
                .await?;
            return Ok(Serialized::Image(image));
        }
    };
    let mut images = Vec::with_capacity(index.manifests.len());
    for entry in &index.manifests {
        if entry.media_type == media_type::OCI_INDEX
            || entry.media_type == media_type::DOCKER_MANIFEST_LIST
        {
            return Err(RegistryError::Protocol {
                host: reference.registry().to_string(),
                what: reference.to_string(),
                reason: format!(
                    "the index lists another index ({}); hoist copies one level of index",
                    entry.digest
                ),
            });
        }
        let pinned = reference.with_digest(entry.digest.clone());
        let wanted = entry.platform.clone().unwrap_or_else(|| platform.clone());
        images.push(
            client
                .pull_as_published(&pinned, &wanted, blobs, reporter)
                .await?,
        );
    }
    Ok(Serialized::Index(SerializedIndex {
        descriptor: Descriptor::of_bytes(&media, &bytes),
        bytes,
        images,
    }))
}
