//! Registry errors: what went wrong talking to a registry (distribution-spec "Error Codes"), phrased as
//! what happened, why, and what to do. Credentials never appear in these messages.

use crate::image::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "cannot reach registry `{host}` at `{url}`: {reason}\nhint: is the registry running and reachable? For a registry without TLS, pass `--insecure-registry {host}`"
    )]
    Unreachable {
        host: String,
        url: String,
        reason: String,
    },
    #[error(
        "registry `{host}` refused access ({status}) to `{what}`\nhint: log in (`docker login {host}` writes `~/.docker/config.json`) or set `HOIST_TOKEN`, and check that the account may {action} `{what}`"
    )]
    Denied {
        host: String,
        status: u16,
        what: String,
        action: &'static str,
    },
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
