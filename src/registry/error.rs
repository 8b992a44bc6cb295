//! Registry errors: what went wrong talking to a registry (distribution-spec "Error Codes"), phrased as
//! what happened, why, and what to do. Credentials never appear in these messages.

use crate::image::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "cannot reach registry `{host}` at `{url}`: {reason}\nhint: {}",
        unreachable_hint(host, reason)
    )]
    Unreachable {
        host: String,
        url: String,
        reason: String,
    },
    #[error(
        "registry `{host}` refused access ({status}) to `{what}` {}\nhint: log in with `hoist login {registry} -u USER --password-stdin` (or `docker login {registry}`), pass `--username USER --password-stdin` to the build, or set `HOIST_TOKEN` (a service-account key, for the push destination); and check that the account may {action} `{what}`",
        used_credentials(registry, credentials.as_deref())
    )]
    Denied {
        /// The registry name, as in references (`docker.io`).
        registry: String,
        /// The API host (`registry-1.docker.io`).
        host: String,
        status: u16,
        what: String,
        action: &'static str,
        /// Where the refused credentials came from; `None` when hoist had none to offer.
        credentials: Option<String>,
    },
    #[error(
        "the token server `{realm}` of registry `{registry}` refused the credentials from {credentials} ({status}{message})\nhint: log in again with `hoist login {registry} -u USER --password-stdin` (or `docker login {registry}`), or pass `--username USER --password-stdin` to the build; the credentials came from {credentials}"
    )]
    TokenRefused {
        /// The registry name, as in references.
        registry: String,
        /// The token server's URL (without query: it names no secret).
        realm: String,
        status: u16,
        /// `: what the server said`, or empty.
        message: String,
        /// Where the refused credentials came from.
        credentials: String,
    },
    #[error(
        "cannot get a token for registry `{registry}`: {reason}\nhint: the registry sends hoist to that token server for its tokens; check that it is reachable from here (proxy variables apply), or retry later"
    )]
    TokenServer { registry: String, reason: String },
    #[error(
        "registry `{registry}` refused the login of `{username}`\nhint: check the user name and password (a service-account key goes with the user `<token>`, the default of `-u`); nothing was written"
    )]
    LoginRejected { registry: String, username: String },
    #[error(transparent)]
    Credentials(#[from] super::credentials::CredentialError),
    #[error(
        "the manifest of `{reference}` does not exist in the registry\nhint: check the repository name and tag (`skopeo inspect docker://{reference}`)"
    )]
    ManifestUnknown { reference: String },
    #[error(
        "blob {digest} of `{reference}` does not match its digest (got {actual})\nhint: the registry or a proxy served corrupt content; retry, or clear the cache directory"
    )]
    DigestMismatch {
        reference: String,
        digest: String,
        actual: String,
    },
    #[error(
        "`{reference}` has no image for platform `{wanted}`; it offers: {}\nhint: pass `--platform` with one of the offered platforms",
        offered.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
    )]
    PlatformMissing {
        reference: String,
        wanted: String,
        offered: Vec<String>,
    },
    #[error(
        "`{reference}` is an image for `{actual}`, not for the requested platform `{wanted}`\nhint: pass `--platform {actual}` or use a base image built for `{wanted}`"
    )]
    PlatformMismatch {
        reference: String,
        wanted: String,
        actual: String,
    },
    #[error("registry `{host}` answered {status} to {method} `{url}`: {body}")]
    Status {
        host: String,
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error(
        "registry `{host}` kept failing `{request}`: {last} (attempt {attempts} of {attempts}, with backoff)\nhint: the registry, or a proxy or load balancer in front of it, is failing or limiting requests; try again later, and check the registry's status"
    )]
    GaveUp {
        host: String,
        /// `METHOD /v2/PATH`, without the query (upload state).
        request: String,
        attempts: u32,
        /// The last answer (`it answered 503 Service Unavailable`) or connection error.
        last: String,
        /// The last `Retry-After`, for a caller that retries a larger operation.
        retry_after: Option<std::time::Duration>,
    },
    #[error("registry `{host}` sent something hoist cannot read for `{what}`: {reason}")]
    Protocol {
        host: String,
        what: String,
        reason: String,
    },
    #[error("cannot pull `{reference}`: {source}")]
    Client {
        reference: String,
        source: Box<oci_client::errors::OciDistributionError>,
    },
    #[error("the blob cache failed while handling `{reference}`: {source}")]
    Blob {
        reference: String,
        source: crate::image::blobs::BlobError,
    },
    #[error("cannot read blob {digest} from the blob cache: {source}")]
    Io {
        digest: Digest,
        source: std::io::Error,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    #[error("nothing to push: no target references were given\nhint: pass `--name host/repo:tag`")]
    NoTargets,
}

/// What to do about an unreachable registry, from what the connection said.
fn unreachable_hint(host: &str, reason: &str) -> String {
    let has = |words: &[&str]| words.iter().any(|w| reason.contains(w));
    if has(&[
        "BadCertificate",
        "CertificateRequired",
        "certificate required",
    ]) {
        format!(
            "the registry asked for a client certificate and refused hoist's (or its absence): pass `--registry-client-cert {host}=CERT.pem,KEY.pem` with a certificate its CA signed"
        )
    } else if has(&[
        "UnknownIssuer",
        "invalid peer certificate",
        "certificate verify failed",
    ]) {
        format!(
            "the registry's TLS certificate is not signed by a CA hoist trusts: pass `--registry-certificate {host}=CA.pem` with its CA (or `--insecure-registry {host}` to skip verification)"
        )
    } else if has(&[
        "connection was not ready",
        "connection closed before message completed",
        "Connection reset",
    ]) {
        // TLS 1.3: a server that wants a client certificate says so after the client's handshake
        // is over; under load the connection may be gone before its alert is read.
        format!(
            "the registry closed the connection: if it wants a client certificate, pass `--registry-client-cert {host}=CERT.pem,KEY.pem`; otherwise, is it running and reachable?"
        )
    } else {
        format!(
            "is the registry running and reachable? For a registry without TLS, pass `--insecure-registry {host}`"
        )
    }
}

/// How a refused request was authenticated, for [`RegistryError::Denied`].
fn used_credentials(registry: &str, origin: Option<&str>) -> String {
    match origin {
        Some(origin) => format!("with the credentials from {origin}"),
        None => format!("without credentials (none found for `{registry}`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::unreachable_hint;

    #[test]
    fn the_hint_follows_what_the_connection_said() {
        let hint = |reason: &str| unreachable_hint("r.example:5000", reason);
        assert!(
            hint("received fatal alert: CertificateRequired").contains("--registry-client-cert")
        );
        assert!(hint("invalid peer certificate: UnknownIssuer").contains("--registry-certificate"));
        // A TLS 1.3 refusal whose alert was lost: both causes are named.
        let closed = hint("client error (SendRequest): connection was not ready");
        assert!(closed.contains("--registry-client-cert r.example:5000=CERT.pem,KEY.pem"));
        assert!(closed.contains("is it running"));
        assert!(hint("Connection refused (os error 111)").contains("--insecure-registry"));
    }
}
