//! The HTTP side of the distribution-spec for hoist's own requests (push, probes): the base URL of each
//! host (scheme chosen once per host), the request-with-auth loop (401 → answer the challenge → retry
//! once), and retries with backoff on connection errors, 5xx and 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, header};

use super::auth::{Challenge, TokenCache, without_url};
use super::host::{Security, security};
use super::{RegistryError, RegistryOptions, credentials};
use crate::image::Digest;

const ATTEMPTS: u32 = 3;

/// A reqwest client per TLS mode, the scheme chosen per host, and cached tokens.
#[derive(Debug)]
pub struct Http {
    options: RegistryOptions,
    verified: reqwest::Client,
    unverified: reqwest::Client,
    /// host → (base URL, verify TLS)
    bases: Mutex<HashMap<String, (String, bool)>>,
    pub tokens: TokenCache,
    /// Logins given through the API; they take precedence over `HOIST_TOKEN` and `config.json`.
    logins: Mutex<HashMap<String, credentials::Credentials>>,
    /// Where pulled blobs came from (registry name, repository): candidates for cross-repo mounts.
    origins: Mutex<HashMap<Digest, (String, String)>>,
}

impl Http {
    pub fn new(options: RegistryOptions) -> Result<Http, RegistryError> {
        let build = |verify: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(15))
                .tls_danger_accept_invalid_certs(!verify)
                .build()
                .map_err(|e| RegistryError::Setup(without_url(&e)))
        };
        Ok(Http {
            options,
            verified: build(true)?,
            unverified: build(false)?,
            bases: Mutex::new(HashMap::new()),
            tokens: TokenCache::default(),
            logins: Mutex::new(HashMap::new()),
            origins: Mutex::new(HashMap::new()),
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

    pub fn login(&self, registry: &str, credentials: credentials::Credentials) {
        let mut logins = self.logins.lock().expect("logins lock");
        logins.insert(registry.to_string(), credentials);
    }

    /// The credentials for a registry name: an API login, else `HOIST_TOKEN`, else `config.json`.
    pub fn credentials(&self, registry: &str) -> Option<credentials::Credentials> {
        let logins = self.logins.lock().expect("logins lock");
        logins
            .get(registry)
            .cloned()
            .or_else(|| credentials::lookup(registry))
    }

    fn client(&self, verify: bool) -> &reqwest::Client {
        if verify {
            &self.verified
        } else {
            &self.unverified
        }
    }

    /// Sends `method url` to `host` with authorization for `scope`, answering one 401 challenge and
    /// retrying transient failures. `build` adds headers and body; it is called once per attempt.
    /// `registry` is the registry name used to look up credentials.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        registry: &str,
        host: &str,
        scope: &str,
        method: Method,
        url: &str,
        verify: bool,
        build: &(dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync),
    ) -> Result<Response, RegistryError> {
        let mut answered = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.client(verify).request(method.clone(), url);
            if let Some(auth) = self.tokens.get(host, scope) {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let result = build(req)?.send().await;
            let resp = match result {
                Ok(resp) => resp,
                Err(e)
                    if attempt < ATTEMPTS
                        && (e.is_connect() || e.is_timeout() || e.is_request()) =>
                {
                    backoff(attempt, None).await;
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Unreachable {
                        host: host.to_string(),
                        url: url.to_string(),
                        reason: without_url(&e),
                    });
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !answered {
                answered = true;
                let challenge = resp
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Challenge::parse);
                let Some(challenge) = challenge else {
                    return Err(denied(host, status, url, &method));
                };
                let creds = self.credentials(registry);
                let answer = self
                    .tokens
                    .answer(self.client(verify), host, scope, &challenge, creds.as_ref())
                    .await
                    .map_err(|reason| RegistryError::Protocol {
                        host: host.to_string(),
                        what: "a token".into(),
                        reason,
                    })?;
                if answer.is_none() {
                    return Err(denied(host, status, url, &method));
                }
                attempt -= 1;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(denied(host, status, url, &method));
            }
            if (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
                && attempt < ATTEMPTS
            {
                let retry_after = resp
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                backoff(attempt, retry_after).await;
                continue;
            }
            return Ok(resp);
        }
    }
}

async fn backoff(attempt: u32, retry_after: Option<u64>) {
    let wait = retry_after
        .map(|s| Duration::from_secs(s.min(30)))
        .unwrap_or_else(|| Duration::from_millis(250 * 2u64.pow(attempt)));
    tokio::time::sleep(wait).await;
}

fn denied(host: &str, status: StatusCode, url: &str, method: &Method) -> RegistryError {
    let what = url
        .split_once("/v2/")
        .map_or(url, |(_, path)| path)
        .split(['?'])
        .next()
        .unwrap_or(url)
        .to_string();
    RegistryError::Denied {
        host: host.to_string(),
        status: status.as_u16(),
        what,
        action: if *method == Method::GET || *method == Method::HEAD {
            "pull"
        } else {
            "push to"
        },
    }
}

/// Turns an unexpected answer into an error carrying a short piece of its body.
pub async fn unexpected(
    host: &str,
    method: &'static str,
    url: &str,
    resp: Response,
) -> RegistryError {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    RegistryError::Status {
        host: host.to_string(),
        method,
        url: url.to_string(),
        status,
        body,
    }
}
