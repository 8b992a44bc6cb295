//! Uploading one blob (distribution-spec "Pushing blobs"): an upload session is opened with `POST`
//! (or was opened by a cross-repository mount answered 202), then the blob goes up in one streaming
//! `PUT` ("monolithic"), or — for a registry that refuses that — in `PATCH` chunks with `Content-Range`
//! followed by a closing `PUT` ("chunked", respecting the session's `OCI-Chunk-Min-Length`). The
//! registry's `Docker-Content-Digest` must be the blob's.
//!
//! A blob is never held in memory: the body is read again from the blob store for each attempt
//! (`attempt`), and a chunk is at most 4 MiB (or the registry's minimum). A transient failure of the body requests
//! restarts the whole upload in a new session (the failed one is cancelled with `DELETE`), with the
//! same backoff as every other request (`retry`).

use reqwest::{Method, StatusCode, header};

use super::client::{Build, Request, unexpected};
use super::{RegistryClient, RegistryError};
use crate::image::{BlobStore, Descriptor, Digest};
use crate::progress::{Event, Reporter};

/// Where one repository's uploads go.
pub struct Repo<'a> {
    /// Told about retries.
    pub reporter: &'a dyn Reporter,
    pub registry: &'a str,
    pub host: String,
    pub name: &'a str,
    pub base: String,
    pub verify: bool,
    pub scope: String,
}

/// A blob to upload: from the store, or (the config) from memory.
pub enum Source<'a> {
    Store(&'a Descriptor),
    Bytes(&'a Descriptor, &'a [u8]),
}

impl Repo<'_> {
    /// `method url` to this repository, with its registry, host, scope and TLS.
    pub fn request<'r>(
        &'r self,
        method: Method,
        url: &'r str,
        build: &'r Build<'r>,
    ) -> Request<'r> {
        Request {
            registry: self.registry,
            host: &self.host,
            scope: &self.scope,
            method,
            url,
            verify: self.verify,
            build,
        }
    }
}

impl Source<'_> {
    pub fn descriptor(&self) -> &Descriptor {
        match self {
            Source::Store(d) | Source::Bytes(d, _) => d,
        }
    }
}

/// An open upload session: where to send the next request.
struct Session {
    url: String,
    /// `OCI-Chunk-Min-Length` of the answer that opened it.
    min_chunk: Option<u64>,
}

/// Uploads `source` into `repo`, in `opened` (a session a mount answered 202 with) or a new session,
/// restarting the upload after transient failures: a transient answer ([`RegistryError::GaveUp`]), a
/// lost connection ([`RegistryError::Unreachable`]) or a session the registry no longer knows (404).
pub async fn upload(
    client: &RegistryClient,
    repo: &Repo<'_>,
    source: &Source<'_>,
    blobs: &BlobStore,
    mut opened: Option<reqwest::Response>,
) -> Result<(), RegistryError> {
    let policy = *client.http.retry_policy();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let session = match opened.take() {
            Some(resp) => session_of(repo, &source.descriptor().digest, resp).await?,
            None => open(client, repo, &source.descriptor().digest).await?,
        };
        let (result, session) = attempt::Uploader {
            client,
            repo,
            source,
            blobs,
        }
        .run(session)
        .await;
        let err = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if let Some(session) = session {
            cancel(client, repo, &session).await;
        }
        let restart = |reason: String, retry_after: Option<std::time::Duration>| {
            let wait = policy.delay(attempt, retry_after);
            repo.reporter.report(Event::Retry {
                host: repo.host.clone(),
                request: format!("upload of {}", source.descriptor().digest),
                reason,
                attempt,
                attempts: policy.attempts,
                wait_ms: wait.as_millis() as u64,
            });
            tokio::time::sleep(wait)
        };
        match err {
            RegistryError::GaveUp {
                host,
                request,
                last,
                retry_after,
                ..
            } => {
                if attempt >= policy.attempts {
                    return Err(RegistryError::GaveUp {
                        host,
                        request,
                        attempts: attempt,
                        last,
                        retry_after,
                    });
                }
                restart(format!("`{request}`: {last}"), retry_after).await;
            }
            // The session is gone (an upload that took too long, a registry replica without it):
            // a new one.
            RegistryError::Status {
                status: 404,
                method: method @ ("PUT" | "PATCH"),
                ..
            } if attempt < policy.attempts => {
                let reason = format!(
                    "the registry no longer knows the upload session ({method} answered 404)"
                );
                restart(reason, None).await;
            }
            RegistryError::Unreachable { host, url, reason } => {
                if attempt >= policy.attempts {
                    let reason = format!("{reason} (the upload was tried {attempt} times)");
                    return Err(RegistryError::Unreachable { host, url, reason });
                }
                restart(reason, None).await;
            }
            other => return Err(other),
        }
    }
}

/// Opens an upload session with `POST /v2/NAME/blobs/uploads/`.
async fn open(
    client: &RegistryClient,
    repo: &Repo<'_>,
    digest: &Digest,
) -> Result<Session, RegistryError> {
    let url = start_url(repo);
    let resp = client
        .http
        .send_reporting(
            repo.request(Method::POST, &url, &|r| {
                Ok(r.header(header::CONTENT_LENGTH, 0))
            }),
            repo.reporter,
        )
        .await?;
    session_of(repo, digest, resp).await
}

fn start_url(repo: &Repo<'_>) -> String {
    format!("{}/v2/{}/blobs/uploads/", repo.base, repo.name)
}

/// The session a 202 answer opened (its `Location`, maybe relative, and `OCI-Chunk-Min-Length`).
async fn session_of(
    repo: &Repo<'_>,
    digest: &Digest,
    resp: reqwest::Response,
) -> Result<Session, RegistryError> {
    let url = start_url(repo);
    if resp.status() != StatusCode::ACCEPTED {
        return Err(unexpected(&repo.host, "POST", &url, resp).await);
    }
    let url = next_location(repo, digest, &url, &resp)?;
    let min_chunk = resp
        .headers()
        .get("oci-chunk-min-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Ok(Session { url, min_chunk })
}

/// The `Location` of an answer, resolved against the URL the request went to.
fn next_location(
    repo: &Repo<'_>,
    digest: &Digest,
    request_url: &str,
    resp: &reqwest::Response,
) -> Result<String, RegistryError> {
    let protocol = |reason: String| RegistryError::Protocol {
        host: repo.host.clone(),
        what: format!("the upload of {digest}"),
        reason,
    };
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            protocol("the registry did not say where to upload (no `Location` header)".into())
        })?;
    reqwest::Url::parse(request_url)
        .and_then(|base| base.join(location))
        .map(String::from)
        .map_err(|e| protocol(format!("bad `Location` `{location}`: {e}")))
}

/// Abandons a session (best effort: a registry forgets unfinished uploads anyway).
async fn cancel(client: &RegistryClient, repo: &Repo<'_>, session: &Session) {
    let _ = client
        .http
        .send_once(repo.request(Method::DELETE, &session.url, &Ok))
        .await;
}

/// `url` with `digest=` added: the request that closes an upload.
pub fn with_digest(url: &str, digest: &Digest) -> Result<String, String> {
    let mut url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    Ok(url.into())
}

mod attempt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_url_adds_the_digest() {
        let d = Digest::of(b"x");
        let url = with_digest(
            "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=s",
            &d,
        )
        .unwrap();
        assert_eq!(
            url,
            format!(
                "http://127.0.0.1:5000/v2/app/blobs/uploads/abc?_state=s&digest=sha256%3A{}",
                d.hex()
            )
        );
    }
}
