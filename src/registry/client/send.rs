//! The request loop of hoist's own registry requests (distribution-spec, with the token flow of
//! https://distribution.github.io/distribution/spec/auth/token/): a [`Request`] is sent with the
//! cached authorization for its scope; a 401 is answered (its challenge, through `auth`), and a token
//! refused in turn — expired, or `insufficient_scope` — is fetched again once, for the scopes the new
//! challenge names too; connection errors and transient answers are sent again (`retry`: backoff with
//! jitter, `Retry-After`), each retry told to a reporter. How a request that failed is named is in
//! `failure`.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, header};

use super::Http;
use super::failure::{denied, gave_up, request_line, token_error, without_query};
use crate::progress::{Event, Reporter, Silent};
use crate::registry::RegistryError;
use crate::registry::auth::without_url;
use crate::registry::challenge::{Challenge, scope_repository};
use crate::registry::retry;

/// Adds a request's headers and body to what [`Http::send`] prepared; called once per attempt.
pub type Build<'a> = dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Sync + 'a;

/// One of hoist's requests to a registry, as [`Http::send`] and its kin take it.
pub struct Request<'a> {
    /// The registry name as references write it (`docker.io`): whose credentials answer a challenge.
    pub registry: &'a str,
    /// The API host the request goes to.
    pub host: &'a str,
    /// The token scope the request needs (`repository:NAME:pull,push …`).
    pub scope: &'a str,
    pub method: Method,
    pub url: &'a str,
    /// Whether TLS is verified (as [`Http::base`] chose for the host).
    pub verify: bool,
    pub build: &'a Build<'a>,
}

impl Http {
    /// Sends `request` with authorization for its scope, answering one 401 challenge and retrying
    /// transient failures (see `retry`). After the last attempt a transient failure is
    /// [`RegistryError::GaveUp`].
    pub async fn send(&self, request: Request<'_>) -> Result<Response, RegistryError> {
        self.send_reporting(request, &Silent).await
    }

    /// [`Http::send`], telling `reporter` about each retry.
    pub async fn send_reporting(
        &self,
        request: Request<'_>,
        reporter: &dyn Reporter,
    ) -> Result<Response, RegistryError> {
        self.send_with(request, self.retry.attempts, reporter).await
    }

    /// [`Http::send`] without retries of transient failures (a 401 is still answered): for requests
    /// that cannot simply be sent again — a blob body, whose upload is restarted as a whole instead.
    pub async fn send_once(&self, request: Request<'_>) -> Result<Response, RegistryError> {
        self.send_with(request, 1, &Silent).await
    }

    async fn send_with(
        &self,
        request: Request<'_>,
        attempts: u32,
        reporter: &dyn Reporter,
    ) -> Result<Response, RegistryError> {
        let Request {
            registry,
            host,
            scope,
            method,
            url,
            verify,
            build,
        } = request;
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
