//! The `GET /v2/` probes (distribution-spec "Determining support"): `hoist login`'s check of
//! credentials, and the authorization a pull through oci-client gets ahead of its requests. Both are
//! retried like every request (`retry`), and so are the token requests answering their challenges.

use reqwest::{Method, Response, StatusCode, header};

use super::Http;
use super::failure::{gave_up, request_line, token_error, unexpected};
use crate::progress::{Reporter, Silent};
use crate::registry::RegistryError;
use crate::registry::auth::{self, TokenError, without_url};
use crate::registry::challenge::Challenge;
use crate::registry::credentials::{Credentials, Found};
use crate::registry::host::api_host;
use crate::registry::retry;

impl Http {
    /// Checks `credentials` against `registry` the way `docker login` does: `GET /v2/`, answering its
    /// challenge (Basic, or a token for no scope, offline), then `GET /v2/` again with the answer. An
    /// open registry accepts anything. Returns the refresh token a token server gave, if any: docker
    /// stores it (`identitytoken`) instead of the password.
    pub async fn verify_login(
        &self,
        registry: &str,
        credentials: &Credentials,
    ) -> Result<Option<String>, RegistryError> {
        let host = api_host(registry).to_string();
        let (base, verify) = self.base(&host).await;
        let url = format!("{base}/v2/");
        let rejected = || RegistryError::LoginRejected {
            registry: registry.to_string(),
            username: credentials.username.clone(),
        };
        // `hoist login` shows no progress: its retries go untold, its last failure names them.
        let resp = self.probe(&host, &url, verify, None, &Silent).await?;
        match resp.status() {
            StatusCode::OK => return Ok(None),
            StatusCode::UNAUTHORIZED => {}
            _ => return Err(unexpected(&host, "GET", &url, resp).await),
        }
        let challenge = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)
            .ok_or_else(|| RegistryError::Protocol {
                host: host.clone(),
                what: "the login".into(),
                reason: "it answered 401 without a `WWW-Authenticate` challenge hoist knows".into(),
            })?;
        // Nothing of a login is cached: nothing of a refused one stays behind.
        let client = self.token_client(&host, verify, &Silent);
        let (answer, refresh) = auth::login(client, &challenge, credentials)
            .await
            .map_err(|e| match e {
                TokenError::Refused { .. } => rejected(),
                TokenError::Failed(reason) => RegistryError::TokenServer {
                    registry: registry.to_string(),
                    reason,
                },
            })?
            .ok_or_else(rejected)?;
        let resp = self
            .probe(&host, &url, verify, Some(&answer), &Silent)
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(refresh),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(rejected()),
            _ => Err(unexpected(&host, "GET", &url, resp).await),
        }
    }

    /// An `Authorization` value for `scope` on `host` obtained ahead of the requests (for pulls through
    /// oci-client, so that tokens come and fail the same way everywhere): `GET /v2/`, then its
    /// challenge answered with `found`'s credentials. `registry` names the registry in errors;
    /// `reporter` is told about retries.
    pub async fn authorize(
        &self,
        registry: &str,
        host: &str,
        scope: &str,
        verify: bool,
        found: &Found,
        reporter: &dyn Reporter,
    ) -> Result<Option<String>, RegistryError> {
        if let Some(auth) = self.tokens.get(host, scope) {
            return Ok(Some(auth));
        }
        let (base, _) = self.base(host).await;
        let url = format!("{base}/v2/");
        let resp = self.probe(host, &url, verify, None, reporter).await?;
        let Some(challenge) = resp
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)
        else {
            return Ok(None);
        };
        let used = found.origin.to_string();
        self.tokens
            .answer(
                self.token_client(host, verify, reporter),
                host,
                scope,
                &challenge,
                Some(&found.credentials),
            )
            .await
            .map_err(|e| token_error(registry, Some(&used), e))
    }

    /// `GET url` (a registry's `/v2/`) with `auth` if any, again after connection errors and transient
    /// answers (told to `reporter`). The last of those is an error naming the registry and the
    /// attempts: [`RegistryError::GaveUp`] for an answer, [`RegistryError::Unreachable`] for a
    /// connection error.
    async fn probe(
        &self,
        host: &str,
        url: &str,
        verify: bool,
        auth: Option<&str>,
        reporter: &dyn Reporter,
    ) -> Result<Response, RegistryError> {
        let method = Method::GET;
        let request = request_line(&method, url);
        let (sent, attempts) = retry::send(&self.retry, reporter, host, &request, || {
            let req = self.client(host, verify).get(url);
            match auth {
                Some(auth) => req.header(header::AUTHORIZATION, auth),
                None => req,
            }
        })
        .await;
        let resp = sent.map_err(|e| RegistryError::Unreachable {
            host: host.to_string(),
            url: url.to_string(),
            reason: format!("{}{}", without_url(&e), retry::after_attempts(attempts)),
        })?;
        let status = resp.status();
        if retry::transient(status) {
            let last = format!("it answered {status}");
            let retry_after = retry::retry_after_of(&resp);
            return Err(gave_up(host, &method, url, attempts, last, retry_after));
        }
        Ok(resp)
    }
}
