//! The HTTP side of the distribution-spec for hoist's own requests (push, probes, pulls from mTLS
//! hosts): the clients (TLS verified with the system roots, plus a host's own CAs and client
//! certificate — a client per such host; proxies from `proxy`), the base URL of each host (scheme
//! chosen once per host), cached tokens, and credentials resolved once per (registry, repository) and
//! only when a registry asks for them. Sending is in `send` (the request-with-auth loop:
//! re-challenges, retries of transient failures), naming what failed in `failure`, and the
//! `GET /v2/` probes (the login check, a pull's authorization) in `probe`.

mod failure;
mod probe;
mod send;

use std::collections::HashMap;
use std::sync::Mutex;

pub use failure::{request_line, unexpected};
pub use send::{Build, Request};

use super::auth::{TokenCache, TokenClient};
use super::credentials::{Credentials, Found, Resolver};
use super::host::{Security, security};
use super::retry::RetryPolicy;
use super::tls::{HostTls, host_tls};
use super::{RegistryError, RegistryOptions};
use crate::image::Digest;
use crate::progress::Reporter;

/// A reqwest client per TLS mode — verified with the system roots, unverified, and one per host with
/// its own CAs or client certificate — the scheme chosen per host, and cached tokens.
#[derive(Debug)]
pub struct Http {
    options: RegistryOptions,
    verified: reqwest::Client,
    unverified: reqwest::Client,
    /// API host → a verified client with that host's CAs and client certificate.
    per_host: HashMap<String, reqwest::Client>,
    /// host → (base URL, verify TLS)
    bases: Mutex<HashMap<String, (String, bool)>>,
    pub tokens: TokenCache,
    resolver: Resolver,
    /// Logins given through the API (by registry name); they take precedence over every other source.
    logins: Mutex<HashMap<String, Credentials>>,
    /// Resolved credentials per (registry, repository), so that a helper runs once per build.
    resolved: tokio::sync::Mutex<HashMap<(String, String), Option<Found>>>,
    /// Where pulled blobs came from (registry name, repository): candidates for cross-repo mounts.
    origins: Mutex<HashMap<Digest, (String, String)>>,
    /// How transient failures are retried.
    retry: RetryPolicy,
    /// Hosts that refused a blob in one `PUT`: uploaded to in `PATCH` chunks from then on.
    pub chunked_hosts: Mutex<std::collections::HashSet<String>>,
}

impl Http {
    pub fn new(options: RegistryOptions) -> Result<Http, RegistryError> {
        let proxy = options.proxy.clone();
        let build = |verify: bool, tls: Option<&HostTls>| super::tls::client(verify, tls, &proxy);
        let per_host = host_tls(&options)?
            .into_iter()
            .map(|(host, tls)| Ok((host, build(true, Some(&tls))?)))
            .collect::<Result<_, RegistryError>>()?;
        Ok(Http {
            resolver: Resolver {
                env: options.credentials.clone(),
                destinations: options.destinations.clone(),
            },
            resolved: tokio::sync::Mutex::new(HashMap::new()),
            options,
            verified: build(true, None)?,
            unverified: build(false, None)?,
            per_host,
            bases: Mutex::new(HashMap::new()),
            tokens: TokenCache::default(),
            logins: Mutex::new(HashMap::new()),
            origins: Mutex::new(HashMap::new()),
            retry: RetryPolicy::default(),
            chunked_hosts: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// `scheme://host` for an API host; insecure hosts are probed once (HTTPS unverified, else HTTP).
    pub async fn base(&self, host: &str) -> (String, bool) {
        if let Some(b) = self.bases.lock().expect("bases lock").get(host) {
            return b.clone();
        }
        let base = match security(&self.options, host) {
            Security::Plain => (format!("http://{host}"), true),
            Security::Verified => (format!("https://{host}"), true),
            Security::Insecure => {
                let https = format!("https://{host}");
                match self.unverified.get(format!("{https}/v2/")).send().await {
                    Ok(_) => (https, false),
                    Err(_) => (format!("http://{host}"), true),
                }
            }
        };
        self.bases
            .lock()
            .expect("bases lock")
            .insert(host.to_string(), base.clone());
        base
    }

    pub fn remember_origin(&self, digest: &Digest, registry: &str, repository: &str) {
        let mut origins = self.origins.lock().expect("origins lock");
        origins.insert(
            digest.clone(),
            (registry.to_string(), repository.to_string()),
        );
    }

    pub fn origin(&self, digest: &Digest) -> Option<(String, String)> {
        self.origins
            .lock()
            .expect("origins lock")
            .get(digest)
            .cloned()
    }

    pub fn login(&self, registry: &str, credentials: Credentials) {
        let mut logins = self.logins.lock().expect("logins lock");
        logins.insert(
            super::credentials::canonical_registry(registry),
            credentials,
        );
        // Anything resolved before no longer holds.
        if let Ok(mut resolved) = self.resolved.try_lock() {
            resolved.clear();
        }
    }

    /// The credentials for `repository` on a registry (see `credentials` for the order), resolved once.
    pub async fn credentials(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Found>, RegistryError> {
        let key = (registry.to_string(), repository.to_string());
        let mut resolved = self.resolved.lock().await;
        if let Some(found) = resolved.get(&key) {
            return Ok(found.clone());
        }
        let login = self
            .logins
            .lock()
            .expect("logins lock")
            .get(&super::credentials::canonical_registry(registry))
            .cloned();
        let found = self
            .resolver
            .resolve(registry, repository, login.as_ref())
            .await?;
        resolved.insert(key, found.clone());
        Ok(found)
    }

    /// How token requests for `host`'s challenges go out: its client, this client's retries.
    fn token_client<'a>(
        &'a self,
        host: &str,
        verify: bool,
        reporter: &'a dyn Reporter,
    ) -> TokenClient<'a> {
        TokenClient {
            http: self.client(host, verify),
            retry: &self.retry,
            reporter,
        }
    }

    /// The client for `host`: its own when it has CAs or a client certificate, else the shared one.
    fn client(&self, host: &str, verify: bool) -> &reqwest::Client {
        match self.per_host.get(host) {
            Some(client) if verify => client,
            _ if verify => &self.verified,
            _ => &self.unverified,
        }
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}
