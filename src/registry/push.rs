//! Pushing an image (distribution-spec "Push"): each blob is checked with `HEAD`, mounted from another
//! repository of the same registry when hoist pulled it from there (a mount that keeps failing is
//! given up for a plain upload: it is an optimisation), else uploaded (`upload`: streamed,
//! restarted after transient failures, chunked where a registry wants it), a few at once; only then
//! are the exact manifest bytes `PUT` under every target tag — by tag, without relying on a
//! `Location` — so a tag never points at an image with missing blobs. Targets in several repositories
//! get the blobs in each.

use std::collections::BTreeMap;

use futures::{StreamExt as _, TryStreamExt as _};
use reqwest::{Method, StatusCode, Url, header};

use super::client::{Request, unexpected};
use super::host::api_host;
use super::upload::{self, Repo, Source};
use super::{RegistryClient, RegistryError};
use crate::image::{BlobStore, Descriptor, Digest, Reference, SerializedImage, SerializedIndex};
use crate::progress::{Event, Reporter};

const CONCURRENT_UPLOADS: usize = 4;

pub async fn push(
    client: &RegistryClient,
    image: &SerializedImage,
    blobs: &BlobStore,
    targets: &[Reference],
    reporter: &dyn Reporter,
) -> Result<Descriptor, RegistryError> {
    if targets.is_empty() {
        return Err(RegistryError::NoTargets);
    }
    let mut repos: BTreeMap<(String, String), Vec<&Reference>> = BTreeMap::new();
    for t in targets {
        repos
            .entry((t.registry().to_string(), t.repository().to_string()))
            .or_default()
            .push(t);
    }
    for ((registry, name), refs) in &repos {
        let host = api_host(registry).to_string();
        let (base, verify) = client.http.base(&host).await;
        let repo = Repo {
            reporter,
            registry,
            scope: format!("repository:{name}:pull,push"),
            host,
            name,
            base,
            verify,
        };
        let mut sources: Vec<Source> = image
            .layers
            .iter()
            .map(|l| Source::Store(&l.descriptor))
            .collect();
        sources.push(Source::Bytes(&image.config, &image.config_bytes));
        // The first HEAD also obtains the token, so no streamed body is ever answered with a 401.
        let mut sources = sources.into_iter();
        if let Some(first) = sources.next() {
            upload(client, &repo, first, blobs, reporter).await?;
        }
        let uploads: Vec<_> = sources
            .map(|s| upload(client, &repo, s, blobs, reporter))
            .collect();
        futures::stream::iter(uploads)
            .buffer_unordered(CONCURRENT_UPLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        for target in refs {
            put_manifest(
                client,
                &repo,
                &image.manifest_bytes,
                &image.manifest,
                target,
            )
            .await?;
        }
    }
    Ok(image.manifest.clone())
}

/// Pushes every image of `index` by digest, then the index itself under every target's tag.
pub async fn push_index(
    client: &RegistryClient,
    index: &SerializedIndex,
    blobs: &BlobStore,
    targets: &[Reference],
    reporter: &dyn Reporter,
) -> Result<Descriptor, RegistryError> {
    if targets.is_empty() {
        return Err(RegistryError::NoTargets);
    }
    for image in &index.images {
        let by_digest: Vec<Reference> = targets
            .iter()
            .map(|t| t.with_digest(image.manifest.digest.clone()))
            .collect();
        push(client, image, blobs, &by_digest, reporter).await?;
    }
    for target in targets {
        let registry = target.registry();
        let name = target.repository();
        let host = api_host(registry).to_string();
        let (base, verify) = client.http.base(&host).await;
        let repo = Repo {
            reporter,
            registry,
            scope: format!("repository:{name}:pull,push"),
            host,
            name,
            base,
            verify,
        };
        put_manifest(client, &repo, &index.bytes, &index.descriptor, target).await?;
    }
    Ok(index.descriptor.clone())
}

async fn upload(
    client: &RegistryClient,
    repo: &Repo<'_>,
    source: Source<'_>,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> Result<(), RegistryError> {
    let d = source.descriptor();
    let http = &client.http;
    let blob_url = format!("{}/v2/{}/blobs/{}", repo.base, repo.name, d.digest);
    let resp = http
        .send_reporting(repo.request(Method::HEAD, &blob_url, &Ok), repo.reporter)
        .await?;
    if resp.status() == StatusCode::OK {
        reporter.report(Event::BlobSkipped {
            verb: "push",
            digest: d.digest.to_string(),
            reason: "exists",
        });
        return Ok(());
    }
    let mounted = match http.origin(&d.digest) {
        Some((registry, from)) if registry == repo.registry && from != repo.name => {
            mount(client, repo, &d.digest, &from).await?
        }
        Some(_) | None => None,
    };
    let opened = match mounted {
        Some(Mount::Done) => {
            reporter.report(Event::BlobSkipped {
                verb: "push",
                digest: d.digest.to_string(),
                reason: "mounted",
            });
            return Ok(());
        }
        // The registry opened an upload instead of mounting: the blob goes up in that session.
        Some(Mount::Upload(resp)) => Some(resp),
        None => None,
    };
    upload::upload(client, repo, &source, blobs, opened).await?;
    // The next repository of this registry (another `--name`) mounts it from here.
    http.remember_origin(&d.digest, repo.registry, repo.name);
    reporter.report(Event::Blob {
        verb: "push",
        digest: d.digest.to_string(),
        done: d.size,
        total: Some(d.size),
    });
    Ok(())
}

enum Mount {
    /// 201: the registry linked the blob from the other repository.
    Done,
    /// 202: the registry opened an upload instead (its answer carries the `Location`).
    Upload(reqwest::Response),
}

/// Tries a cross-repository mount of `digest` from `from` (same registry). `None` when the registry
/// answers anything else, refuses the wider token, or keeps failing the mount with transient answers
/// (told to the reporter): the caller then uploads normally, as a mount is only a shortcut.
async fn mount(
    client: &RegistryClient,
    repo: &Repo<'_>,
    digest: &Digest,
    from: &str,
) -> Result<Option<Mount>, RegistryError> {
    let mut url = Url::parse(&format!("{}/v2/{}/blobs/uploads/", repo.base, repo.name))
        .map_err(|e| RegistryError::Setup(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("mount", &digest.to_string())
        .append_pair("from", from);
    let scope = format!("{} repository:{from}:pull", repo.scope);
    let sent = client
        .http
        .send_reporting(
            Request {
                scope: &scope,
                ..repo.request(Method::POST, url.as_str(), &|r| {
                    Ok(r.header(header::CONTENT_LENGTH, 0))
                })
            },
            repo.reporter,
        )
        .await;
    Ok(match sent {
        Ok(resp) if resp.status() == StatusCode::CREATED => Some(Mount::Done),
        Ok(resp) if resp.status() == StatusCode::ACCEPTED => Some(Mount::Upload(resp)),
        Ok(_) | Err(RegistryError::Denied { .. }) => None,
        Err(RegistryError::GaveUp { attempts, last, .. }) => {
            repo.reporter.report(Event::Info {
                message: format!(
                    "registry `{}` kept failing the mount of {digest} from `{from}` into `{}` ({last}, {attempts} attempts): uploading the blob instead",
                    repo.host, repo.name
                ),
            });
            None
        }
        Err(e) => return Err(e),
    })
}

/// PUTs manifest (or index) `bytes` described by `descriptor` under the target's tag, or its digest.
async fn put_manifest(
    client: &RegistryClient,
    repo: &Repo<'_>,
    bytes: &[u8],
    descriptor: &Descriptor,
    target: &Reference,
) -> Result<(), RegistryError> {
    let tag = match target.tag() {
        Some(t) => t.to_string(),
        None => descriptor.digest.to_string(),
    };
    let url = format!("{}/v2/{}/manifests/{}", repo.base, repo.name, tag);
    let media = descriptor.media_type.clone();
    let resp = client
        .http
        .send_reporting(
            repo.request(Method::PUT, &url, &|r| {
                Ok(r.header(header::CONTENT_TYPE, media.as_str())
                    .body(bytes.to_vec()))
            }),
            repo.reporter,
        )
        .await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(unexpected(&repo.host, "PUT", &url, resp).await);
    }
    if let Some(echoed) = resp
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        && echoed != descriptor.digest.to_string()
    {
        return Err(RegistryError::DigestMismatch {
            reference: target.to_string(),
            digest: descriptor.digest.to_string(),
            actual: echoed.to_string(),
        });
    }
    Ok(())
}
