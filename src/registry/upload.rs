//! Uploading one blob (distribution-spec "Pushing blobs"): an upload session is opened with `POST`
//! (or was opened by a cross-repository mount answered 202), then the blob goes up in one streaming
//! `PUT` ("monolithic"), or — for a registry that refuses that — in `PATCH` chunks with `Content-Range`
//! followed by a closing `PUT` ("chunked", respecting the session's `OCI-Chunk-Min-Length`). The
//! registry's `Docker-Content-Digest` must be the blob's.
//!
//! A blob is never held in memory: the body is read again from the blob store for each attempt, and a
//! chunk is at most [`CHUNK_CAP`] (or the registry's minimum). A transient failure of the body requests
//! restarts the whole upload in a new session (the failed one is cancelled with `DELETE`), with the
//! same backoff as every other request (`retry`).

use reqwest::{Method, RequestBuilder, StatusCode, header};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::client::unexpected;
use super::{RegistryClient, RegistryError};
use crate::image::{BlobStore, Descriptor, Digest};
use crate::progress::{Event, Reporter};

/// The largest `PATCH` chunk hoist sends, unless the registry asks for larger ones.
pub const CHUNK_CAP: u64 = 4 << 20;

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
        let (result, session) = Uploader {
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
            repo.registry,
            &repo.host,
            &repo.scope,
            Method::POST,
            &url,
            repo.verify,
            &|r| Ok(r.header(header::CONTENT_LENGTH, 0)),
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
        .send_once(
            repo.registry,
            &repo.host,
            &repo.scope,
            Method::DELETE,
            &session.url,
            repo.verify,
            &Ok,
        )
        .await;
}

/// `url` with `digest=` added: the request that closes an upload.
pub fn with_digest(url: &str, digest: &Digest) -> Result<String, String> {
    let mut url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    Ok(url.into())
}

/// The size of each `PATCH` chunk: [`CHUNK_CAP`], or the registry's minimum when that is larger (the
/// last chunk may be smaller, as the spec allows).
pub fn chunk_size(min_chunk: Option<u64>) -> u64 {
    min_chunk.map_or(CHUNK_CAP, |min| min.max(CHUNK_CAP))
}

/// Whether a `PUT` with the whole blob was refused as a way of uploading (a size limit in front of
/// the registry, a registry that wants chunks), rather than for the blob itself (`DIGEST_INVALID`).
pub fn refuses_monolithic(status: StatusCode, body: &str) -> bool {
    match status.as_u16() {
        405 | 413 | 416 => true,
        400 => !body.contains("DIGEST_INVALID") && !body.contains("SIZE_INVALID"),
        _ => false,
    }
}

/// One attempt at sending a blob's bytes into a session.
struct Uploader<'a, 'b> {
    client: &'a RegistryClient,
    repo: &'a Repo<'b>,
    source: &'a Source<'b>,
    blobs: &'a BlobStore,
}

impl Uploader<'_, '_> {
    fn digest(&self) -> &Digest {
        &self.source.descriptor().digest
    }

    /// The result, and the session to cancel when it failed.
    async fn run(&self, session: Session) -> (Result<(), RegistryError>, Option<Session>) {
        let chunked = self
            .client
            .http
            .chunked_hosts
            .lock()
            .expect("chunked hosts lock")
            .contains(&self.repo.host);
        if chunked {
            return self.chunked(session).await;
        }
        match self.monolithic(&session).await {
            Ok(None) => (Ok(()), None),
            Ok(Some(())) => {
                // Refused: this registry takes chunks; a new session, since the refused one may
                // hold part of the body.
                cancel(self.client, self.repo, &session).await;
                self.client
                    .http
                    .chunked_hosts
                    .lock()
                    .expect("chunked hosts lock")
                    .insert(self.repo.host.clone());
                match open(self.client, self.repo, self.digest()).await {
                    Ok(session) => self.chunked(session).await,
                    Err(e) => (Err(e), None),
                }
            }
            Err(e) => (Err(e), Some(session)),
        }
    }

    /// One streaming `PUT`. `Ok(Some(()))` when the registry refused this way of uploading.
    async fn monolithic(&self, session: &Session) -> Result<Option<()>, RegistryError> {
        let url = with_digest(&session.url, self.digest()).map_err(|r| self.protocol(r))?;
        let size = self.source.descriptor().size;
        let build = |r: RequestBuilder| -> Result<RequestBuilder, RegistryError> {
            let r = r
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, size);
            Ok(match self.source {
                Source::Bytes(_, bytes) => r.body(bytes.to_vec()),
                Source::Store(_) => {
                    let file = self.open_file()?;
                    let file = tokio::fs::File::from_std(file);
                    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
                    r.body(reqwest::Body::wrap_stream(stream))
                }
            })
        };
        let resp = self.send_once(Method::PUT, &url, &build).await?;
        let status = resp.status();
        if status == StatusCode::CREATED {
            self.check_echo(&resp)?;
            return Ok(None);
        }
        let body: String = resp.text().await.unwrap_or_default();
        if refuses_monolithic(status, &body) {
            return Ok(Some(()));
        }
        Err(RegistryError::Status {
            host: self.repo.host.clone(),
            method: "PUT",
            url,
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        })
    }

    /// `PATCH` chunks, then the closing `PUT`.
    async fn chunked(&self, mut session: Session) -> (Result<(), RegistryError>, Option<Session>) {
        let chunk = chunk_size(session.min_chunk);
        let size = self.source.descriptor().size;
        let mut file = match self.source {
            Source::Store(_) => match self.open_file() {
                Ok(f) => Some(tokio::fs::File::from_std(f)),
                Err(e) => return (Err(e), Some(session)),
            },
            Source::Bytes(..) => None,
        };
        let mut offset = 0;
        while offset < size {
            let len = chunk.min(size - offset);
            let bytes = match self.read_chunk(file.as_mut(), offset, len).await {
                Ok(b) => b,
                Err(e) => return (Err(e), Some(session)),
            };
            let range = format!("{}-{}", offset, offset + len - 1);
            let build = |r: RequestBuilder| -> Result<RequestBuilder, RegistryError> {
                Ok(r.header(header::CONTENT_TYPE, "application/octet-stream")
                    .header(header::CONTENT_LENGTH, len)
                    .header(header::CONTENT_RANGE, range.as_str())
                    .body(bytes.clone()))
            };
            let resp = match self.send_once(Method::PATCH, &session.url, &build).await {
                Ok(r) => r,
                Err(e) => return (Err(e), Some(session)),
            };
            if resp.status() != StatusCode::ACCEPTED {
                let err = unexpected(&self.repo.host, "PATCH", &session.url, resp).await;
                return (Err(err), Some(session));
            }
            match next_location(self.repo, self.digest(), &session.url, &resp) {
                Ok(url) => session.url = url,
                Err(e) => return (Err(e), Some(session)),
            }
            offset += len;
        }
        let url = match with_digest(&session.url, self.digest()) {
            Ok(u) => u,
            Err(r) => return (Err(self.protocol(r)), Some(session)),
        };
        let close = |r: RequestBuilder| Ok(r.header(header::CONTENT_LENGTH, 0));
        let resp = match self.send_once(Method::PUT, &url, &close).await {
            Ok(r) => r,
            Err(e) => return (Err(e), Some(session)),
        };
        if resp.status() != StatusCode::CREATED {
            let err = unexpected(&self.repo.host, "PUT", &url, resp).await;
            return (Err(err), Some(session));
        }
        (self.check_echo(&resp), None)
    }

    async fn read_chunk(
        &self,
        file: Option<&mut tokio::fs::File>,
        offset: u64,
        len: u64,
    ) -> Result<bytes::Bytes, RegistryError> {
        match (self.source, file) {
            (Source::Bytes(_, bytes), _) => Ok(bytes::Bytes::copy_from_slice(
                &bytes[offset as usize..(offset + len) as usize],
            )),
            (Source::Store(_), Some(file)) => {
                let io = |source| RegistryError::Io {
                    digest: self.digest().clone(),
                    source,
                };
                let mut buf = vec![0; len as usize];
                file.seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map_err(io)?;
                file.read_exact(&mut buf).await.map_err(io)?;
                Ok(buf.into())
            }
            (Source::Store(_), None) => unreachable!("a stored blob is read from its file"),
        }
    }

    fn open_file(&self) -> Result<std::fs::File, RegistryError> {
        self.blobs
            .open_blob(self.digest())
            .map_err(|e| RegistryError::Io {
                digest: self.digest().clone(),
                source: std::io::Error::other(e.to_string()),
            })
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        build: &(dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync),
    ) -> Result<reqwest::Response, RegistryError> {
        self.client
            .http
            .send_once(
                self.repo.registry,
                &self.repo.host,
                &self.repo.scope,
                method,
                url,
                self.repo.verify,
                build,
            )
            .await
    }

    /// The registry's `Docker-Content-Digest`, when it sends one, must be the blob's.
    fn check_echo(&self, resp: &reqwest::Response) -> Result<(), RegistryError> {
        match resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(echoed) if echoed != self.digest().to_string() => {
                Err(RegistryError::DigestMismatch {
                    reference: format!("{}/{}", self.repo.registry, self.repo.name),
                    digest: self.digest().to_string(),
                    actual: echoed.to_string(),
                })
            }
            Some(_) | None => Ok(()),
        }
    }

    fn protocol(&self, reason: String) -> RegistryError {
        RegistryError::Protocol {
            host: self.repo.host.clone(),
            what: format!("the upload of {}", self.digest()),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_capped_unless_the_registry_wants_larger_ones() {
        assert_eq!(chunk_size(None), 4 << 20);
        assert_eq!(chunk_size(Some(1 << 20)), 4 << 20);
        assert_eq!(chunk_size(Some(6 << 20)), 6 << 20);
    }

    #[test]
    fn monolithic_refusals_are_told_from_bad_blobs() {
        assert!(refuses_monolithic(StatusCode::PAYLOAD_TOO_LARGE, ""));
        assert!(refuses_monolithic(StatusCode::METHOD_NOT_ALLOWED, ""));
        assert!(refuses_monolithic(StatusCode::RANGE_NOT_SATISFIABLE, ""));
        assert!(refuses_monolithic(StatusCode::BAD_REQUEST, "use chunks"));
        assert!(!refuses_monolithic(
            StatusCode::BAD_REQUEST,
            r#"{"errors":[{"code":"DIGEST_INVALID"}]}"#
        ));
        assert!(!refuses_monolithic(StatusCode::NOT_FOUND, ""));
    }

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
