//! oci-client as a pull drives it (distribution-spec "Pull" through the `oci-client` crate): the
//! client configured for one host (plain HTTP or TLS, verified or not, the host's own CAs, the
//! proxies), its requests sent again after transient failures (`retry`'s backoff, each retry told to
//! the reporter), and its errors read as hoist's: which are transient, and what each means as a
//! [`RegistryError`].

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError};

use super::Puller;
use crate::image::Reference;
use crate::progress::Event;
use crate::registry::host::api_host;
use crate::registry::{RegistryError, RegistryOptions};

/// An oci-client for `host` at `base` (`http://` or `https://`, TLS verified when `verify`), with the
/// host's own CAs and the proxies of `options`.
pub(super) fn client(
    options: &RegistryOptions,
    reference: &Reference,
    host: &str,
    base: &str,
    verify: bool,
) -> Result<oci_client::Client, RegistryError> {
    let http_hosts = if base.starts_with("http://") {
        vec![host.to_string()]
    } else {
        Vec::new()
    };
    let proxies = options.proxy.per_scheme();
    oci_client::Client::try_from(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(http_hosts),
        accept_invalid_certificates: !verify,
        extra_root_certificates: options
            .certificates
            .iter()
            .filter(|(h, _)| api_host(h) == host)
            .filter_map(|(_, file)| std::fs::read(file).ok())
            .map(|data| oci_client::client::Certificate {
                encoding: oci_client::client::CertificateEncoding::Pem,
                data,
            })
            .collect(),
        https_proxy: proxies.0.map(str::to_string),
        http_proxy: proxies.1.map(str::to_string),
        no_proxy: Some(options.proxy.no_proxy()),
        ..ClientConfig::default()
    })
    .map_err(|source| client_error(reference, host, base, source))
}

impl Puller<'_> {
    /// `request` (described by `what`) again after transient failures, with backoff.
    pub(super) async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        request: F,
    ) -> Result<T, OciDistributionError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match request().await {
                Err(e) if attempt < self.retry.attempts && transient(&e) => {
                    self.wait(what, attempt, &e).await;
                }
                other => return other,
            }
        }
    }

    /// Tells the reporter about a retry, then waits for it.
    pub(super) async fn wait(&self, what: &str, attempt: u32, e: &OciDistributionError) {
        let wait = self.retry.delay(attempt, None);
        let reason = match e {
            OciDistributionError::RequestError(e) => crate::registry::auth::without_url(e),
            OciDistributionError::ServerError { code, .. } => format!("it answered {code}"),
            other => other.to_string(),
        };
        self.reporter.report(Event::Retry {
            host: self.remote.registry().to_string(),
            request: what.to_string(),
            reason,
            attempt,
            attempts: self.retry.attempts,
            wait_ms: wait.as_millis() as u64,
        });
        tokio::time::sleep(wait).await;
    }
}

/// An error a later attempt may not meet: a lost connection or body, a 408/429/5xx answer.
pub(super) fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => {
            reqwest::StatusCode::from_u16(*code).is_ok_and(crate::registry::retry::transient)
        }
        OciDistributionError::RequestError(e) => !e.is_builder(),
        OciDistributionError::IoError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| format!("{:?}", e.code) == "Toomanyrequests"),
        _ => false,
    }
}

/// Maps oci-client's errors onto ours, keeping the ones with a clear meaning distinct.
pub(super) fn client_error(
    reference: &Reference,
    host: &str,
    base: &str,
    e: OciDistributionError,
) -> RegistryError {
    let denied = || RegistryError::Denied {
        registry: host.to_string(),
        host: host.to_string(),
        status: 401,
        what: reference.repository().to_string(),
        action: "pull",
        credentials: None,
    };
    let unknown = || RegistryError::ManifestUnknown {
        reference: reference.to_string(),
    };
    match e {
        OciDistributionError::RequestError(ref re) if re.is_connect() || re.is_timeout() => {
            RegistryError::Unreachable {
                host: host.to_string(),
                url: format!("{base}/v2/"),
                reason: crate::registry::auth::without_url(re),
            }
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => denied(),
        OciDistributionError::ImageManifestNotFoundError(_)
        | OciDistributionError::ServerError { code: 404, .. } => unknown(),
        OciDistributionError::RegistryError { ref envelope, .. }
            if envelope.errors.iter().any(|e| {
                matches!(
                    format!("{:?}", e.code).as_str(),
                    "ManifestUnknown" | "NameUnknown"
                )
            }) =>
        {
            unknown()
        }
        OciDistributionError::RegistryError { ref envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| matches!(format!("{:?}", e.code).as_str(), "Unauthorized" | "Denied")) =>
        {
            denied()
        }
        OciDistributionError::DigestError(DigestError::VerificationError {
            ref expected,
            ref actual,
        }) => RegistryError::DigestMismatch {
            reference: reference.to_string(),
            digest: expected.clone(),
            actual: actual.clone(),
        },
        other => RegistryError::Client {
            reference: reference.to_string(),
            source: Box::new(other),
        },
    }
}
