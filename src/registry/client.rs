//! The HTTP side of the distribution-spec for hoist's own requests (push, probes): the base URL of each
//! host (scheme chosen once per host), the request-with-auth loop (401 → answer the challenge → retry;
//! a token refused in turn — expired, or `insufficient_scope` — is fetched again once, for the scopes
//! the new challenge names too) and retries of transient failures (`retry`: backoff with jitter,
//! `Retry-After`), token requests included. The `GET /v2/` probes (the login check, a pull's
//! authorization) are in `probe`. TLS is verified with the system roots, plus a host's own CAs and
//! client certificate (a client per such host); proxies come from `proxy`. Credentials are resolved
//! once per (registry, repository) and only when a registry asks for them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, header};

use super::auth::{TokenCache, TokenClient, TokenError, without_url};
use super::challenge::Challenge;
use super::credentials::{Credentials, Found, Resolver};
use super::host::{Security, security};
use super::retry::{self, RetryPolicy};
use super::tls::{HostTls, host_tls};
use super::{RegistryError, RegistryOptions};
use crate::image::Digest;
use crate::progress::{Event, Reporter, Silent};

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

    /// Sends `method url` to `host` with authorization for `scope`, answering one 401 challenge and
    /// retrying transient failures (see `retry`). `build` adds headers and body; it is called once per
    /// attempt. `registry` is the registry name used to look up credentials. After the last attempt a
    /// transient failure is [`RegistryError::GaveUp`].
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
        self.send_reporting(registry, host, scope, method, url, verify, build, &Silent)
            .await
    }

    /// [`Http::send`], telling `reporter` about each retry.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_reporting(
        &self,
        registry: &str,
        host: &str,
        scope: &str,
        method: Method,
        url: &str,
        verify: bool,
        build: &(dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync),
        reporter: &dyn Reporter,
    ) -> Result<Response, RegistryError> {
        let attempts = self.retry.attempts;
        let how = (attempts, reporter);
        self.send_with(registry, host, scope, method, url, verify, build, how)
            .await
    }

    /// [`Http::send`] without retries of transient failures (a 401 is still answered): for requests
    /// that cannot simply be sent again — a blob body, whose upload is restarted as a whole instead.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_once(
        &self,
        registry: &str,
        host: &str,
        scope: &str,
        method: Method,
        url: &str,
        verify: bool,
        build: &(dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync),
    ) -> Result<Response, RegistryError> {
        let how = (1, &Silent as &dyn Reporter);
        self.send_with(registry, host, scope, method, url, verify, build, how)
            .await
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_with(
        &self,
        registry: &str,
        host: &str,
        scope: &str,
        method: Method,
        url: &str,
        verify: bool,
        build: &(dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync),
        (attempts, reporter): (u32, &dyn Reporter),
    ) -> Result<Response, RegistryError> {
        let wait = |attempt: u32, retry_after: Option<Duration>, reason: String| {
            let wait = self.retry.delay(attempt, retry_after);
            reporter.report(Event::Retry {
                host: host.to_string(),
                request: request_line(&method, url),
                reason,
                attempt,
                attempts,
                wait_ms: wait.as_millis() as u64,
            });
            tokio::time::sleep(wait)
        };
        // Challenges answered for this request: one, and one more when the registry refuses the
        // token that answered (expired, or too narrow).
        let mut answered = 0;
        // The answer to the last challenge, sent on this request's next attempts whatever the cache says.
        let mut fresh: Option<String> = None;
        let mut used: Option<String> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.client(host, verify).request(method.clone(), url);
            let auth = fresh.clone().or_else(|| self.tokens.get(host, scope));
            let authorized = auth.is_some();
            if let Some(auth) = auth {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let result = build(req)?.send().await;
            let resp = match result {
                Ok(resp) => resp,
                // Connection refused or reset, a timeout, a broken body: worth another attempt.
                Err(e) if !e.is_builder() => {
                    if attempt < attempts {
                        wait(attempt, None, without_url(&e)).await;
                        continue;
                    }
                    let mut reason = without_url(&e);
                    if attempt > 1 {
                        reason
                            .push_str(&format!(" (attempt {attempt} of {attempt}, with backoff)"));
                    }
                    return Err(RegistryError::Unreachable {
                        host: host.to_string(),
                        url: without_query(url).to_string(),
                        reason,
                    });
                }
                Err(e) => {
                    return Err(RegistryError::Unreachable {
                        host: host.to_string(),
                        url: without_query(url).to_string(),
                        reason: without_url(&e),
                    });
                }
            };
            let status = resp.status();
            // A second challenge is worth answering only with credentials: anonymous, the token
            // server would say the same again.
            let challenge = challenge_to_answer(&resp, answered, authorized)
                .filter(|_| answered == 0 || used.is_some());
            if let Some(challenge) = challenge {
                answered += 1;
                let Some(challenge) = challenge else {
                    return Err(denied(registry, scope, status, url, host, None));
                };
                let found = self.credentials(registry, scope_repository(scope)).await?;
                used = found.as_ref().map(|f| f.origin.to_string());
                let answer = self
                    .tokens
                    .answer(
                        self.token_client(host, verify, reporter),
                        host,
                        scope,
                        &challenge,
                        found.as_ref().map(|f| &f.credentials),
                    )
                    .await
                    .map_err(|e| token_error(registry, used.as_deref(), e))?;
                let Some(answer) = answer else {
                    return Err(denied(registry, scope, status, url, host, used));
                };
                fresh = Some(answer);
                attempt -= 1;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                if used.is_none() && authorized {
                    // Authorized with a token an earlier request obtained: name its credentials.
                    let found = self.credentials(registry, scope_repository(scope)).await?;
                    used = found.map(|f| f.origin.to_string());
                }
                return Err(denied(registry, scope, status, url, host, used));
            }
            if retry::transient(status) {
                let retry_after = retry::retry_after_of(&resp);
                if attempt < attempts {
                    wait(attempt, retry_after, format!("it answered {status}")).await;
                    continue;
                }
                let last = format!("it answered {status}");
                return Err(gave_up(host, &method, url, attempt, last, retry_after));
            }
            return Ok(resp);
        }
    }
}

/// Whether `resp` is a challenge to answer (`Some`), given how many this request answered already and
/// whether it carried an `Authorization`: the first 401; then once more a Bearer challenge refusing the
/// token sent (401, or 403 saying `insufficient_scope`). `Some(None)`: a 401 without a challenge hoist
/// can answer.
fn challenge_to_answer(
    resp: &Response,
    answered: u32,
    authorized: bool,
) -> Option<Option<Challenge>> {
    let status = resp.status();
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
        return None;
    }
    let challenge = resp
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(Challenge::parse);
    let refused_token = authorized
        && match &challenge {
            Some(Challenge::Bearer { error, .. }) => {
                status == StatusCode::UNAUTHORIZED || error.as_deref() == Some("insufficient_scope")
            }
            Some(Challenge::Basic) | None => false,
        };
    match answered {
        0 if status == StatusCode::UNAUTHORIZED || refused_token => Some(challenge),
        1 if refused_token => Some(challenge),
        _ => None,
    }
}

/// A token server's failure as a registry error: a refusal names the token server and where the
/// refused credentials came from.
fn token_error(registry: &str, used: Option<&str>, e: TokenError) -> RegistryError {
    match e {
        TokenError::Refused {
            realm,
            status,
            message,
        } => RegistryError::TokenRefused {
            registry: registry.to_string(),
            realm: realm.split('?').next().unwrap_or(&realm).to_string(),
            status,
            message,
            credentials: used.unwrap_or("hoist's lookup").to_string(),
        },
        TokenError::Failed(reason) => RegistryError::TokenServer {
            registry: registry.to_string(),
            reason,
        },
    }
}

/// The error after the last attempt of a request that kept failing: the registry, the request (its
/// path, without a query that may carry upload state) and the last answer.
pub fn gave_up(
    host: &str,
    method: &Method,
    url: &str,
    attempts: u32,
    last: String,
    retry_after: Option<Duration>,
) -> RegistryError {
    RegistryError::GaveUp {
        host: host.to_string(),
        request: request_line(method, url),
        attempts,
        last,
        retry_after,
    }
}

/// `METHOD /v2/PATH`: a request as messages name it, without the query (upload state).
pub fn request_line(method: &Method, url: &str) -> String {
    let path = reqwest::Url::parse(url).map_or_else(
        |_| url.split('?').next().unwrap_or(url).to_string(),
        |u| u.path().to_string(),
    );
    format!("{method} {path}")
}

/// The repository a scope is first about (`repository:NAME:pull,push …` → `NAME`): whose credentials
/// answer the challenge.
fn scope_repository(scope: &str) -> &str {
    scope
        .split(' ')
        .find_map(|s| s.strip_prefix("repository:"))
        .map_or("", |rest| {
            rest.rsplit_once(':').map_or(rest, |(name, _)| name)
        })
}

fn denied(
    registry: &str,
    scope: &str,
    status: StatusCode,
    url: &str,
    host: &str,
    credentials: Option<String>,
) -> RegistryError {
    // The repository the request was for (as the scope names it), else the URL's path.
    let what = match scope_repository(scope) {
        "" => url
            .split_once("/v2/")
            .map_or(url, |(_, path)| path)
            .split(['?'])
            .next()
            .unwrap_or(url),
        repository => repository,
    };
    let pushing = scope
        .split(' ')
        .next()
        .and_then(|s| s.rsplit_once(':'))
        .is_some_and(|(_, actions)| actions.split(',').any(|a| a == "push"));
    RegistryError::Denied {
        registry: registry.to_string(),
        host: host.to_string(),
        status: status.as_u16(),
        what: what.to_string(),
        action: if pushing { "push to" } else { "pull" },
        credentials,
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
        url: without_query(url).to_string(),
        status,
        body,
    }
}

/// A URL for a message: without its query, which may hold upload state or a signature.
pub fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(before, _)| before)
}

mod probe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn giving_up_names_the_registry_the_request_and_the_last_answer() {
        let err = gave_up(
            "registry.example.com",
            &Method::PUT,
            "https://registry.example.com/v2/team/app/blobs/uploads/abc?_state=SECRETISH&digest=sha256%3A00",
            5,
            "it answered 503 Service Unavailable".into(),
            None,
        )
        .to_string();
        assert!(
            err.starts_with(
                "registry `registry.example.com` kept failing `PUT /v2/team/app/blobs/uploads/abc`: it answered 503 Service Unavailable (attempt 5 of 5"
            ),
            "{err}"
        );
        assert!(
            !err.contains("_state"),
            "no upload state in messages: {err}"
        );
        assert!(err.contains("hint:"), "{err}");
    }

    #[test]
    fn denied_names_the_repository_the_action_and_the_credentials() {
        assert_eq!(
            scope_repository("repository:team/app:pull,push repository:base:pull"),
            "team/app"
        );
        assert_eq!(scope_repository(""), "");
        let err = denied(
            "docker.io",
            "repository:team/app:pull,push",
            StatusCode::UNAUTHORIZED,
            "https://registry-1.docker.io/v2/team/app/blobs/sha256:00",
            "registry-1.docker.io",
            Some("`HOIST_TOKEN`".into()),
        )
        .to_string();
        assert!(
            err.starts_with(
                "registry `registry-1.docker.io` refused access (401) to `team/app` with the credentials from `HOIST_TOKEN`"
            ),
            "{err}"
        );
        assert!(err.contains("hoist login docker.io"), "{err}");
        assert!(err.contains("may push to `team/app`"), "{err}");
        let err = denied(
            "127.0.0.1:5000",
            "repository:base:pull",
            StatusCode::FORBIDDEN,
            "http://127.0.0.1:5000/v2/base/manifests/v1",
            "127.0.0.1:5000",
            None,
        )
        .to_string();
        assert!(
            err.contains("without credentials (none found for `127.0.0.1:5000`)"),
            "{err}"
        );
        assert!(err.contains("may pull `base`"), "{err}");
    }
}
