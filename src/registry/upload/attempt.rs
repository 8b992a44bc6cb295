//! One attempt at sending a blob's bytes into an upload session (distribution-spec "Pushing a blob
//! monolithically" and "Pushing a blob in chunks"): one streaming `PUT`, or `PATCH` chunks with
//! `Content-Range` and a closing `PUT` for a registry that refuses the first way.

use reqwest::{Method, RequestBuilder, StatusCode, header};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::{Repo, Session, Source, cancel, next_location, open, with_digest};
use crate::image::{BlobStore, Digest};
use crate::registry::client::{Build, unexpected};
use crate::registry::{RegistryClient, RegistryError};

/// The largest `PATCH` chunk hoist sends, unless the registry asks for larger ones.
pub const CHUNK_CAP: u64 = 4 << 20;

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
pub(super) struct Uploader<'a, 'b> {
    pub client: &'a RegistryClient,
    pub repo: &'a Repo<'b>,
    pub source: &'a Source<'b>,
    pub blobs: &'a BlobStore,
}

impl Uploader<'_, '_> {
    fn digest(&self) -> &Digest {
        &self.source.descriptor().digest
    }

    /// The result, and the session to cancel when it failed.
    pub async fn run(&self, session: Session) -> (Result<(), RegistryError>, Option<Session>) {
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
        build: &Build<'_>,
    ) -> Result<reqwest::Response, RegistryError> {
        let request = self.repo.request(method, url, build);
        self.client.http.send_once(request).await
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
}
