//! Registry authentication: answering `WWW-Authenticate` challenges (parsed in `challenge`) with
//! Docker's token flow (https://distribution.github.io/distribution/spec/auth/token/): Basic with
//! credentials, or Bearer with a token fetched from the challenge's realm for one or several scopes
//! (space-separated, one `scope` parameter each), cached per (host, scope) until it expires. An
//! identity token (OAuth2 refresh token) is exchanged with a POST first (`spec/auth/oauth`), falling
//! back to the GET. A login asks for an offline token too (`offline_token=true`, as docker does): a
//! refresh token, when the server gives one, is what gets stored instead of the password. A token
//! server's refusal keeps its own message and is final; its connection errors and transient answers
//! (5xx, 429, 408) are retried as every registry request is (`retry`). The secret never enters an
//! error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::challenge::Challenge;
use super::credentials::{Credentials, Secret};
use super::retry::{self, RetryPolicy};
use crate::progress::Reporter;

/// How token requests go out: the HTTP client, and how transient failures are retried and told.
#[derive(Clone, Copy)]
pub struct TokenClient<'a> {
    pub http: &'a reqwest::Client,
    pub retry: &'a RetryPolicy,
    pub reporter: &'a dyn Reporter,
}

impl TokenClient<'_> {
    /// Sends what `make` builds to the token server at `realm`, retrying as [`retry::send`] does.
    /// A connection error after the last attempt names the realm only: the request carries
    /// credentials.
    async fn send(
        &self,
        realm: &str,
        method: reqwest::Method,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, u32), TokenError> {
        let host = reqwest::Url::parse(realm)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| realm.to_string());
        let request = super::client::request_line(&method, realm);
        let (sent, attempts) = retry::send(self.retry, self.reporter, &host, &request, make).await;
        match sent {
            Ok(resp) => Ok((resp, attempts)),
            Err(e) => Err(TokenError::Failed(format!(
                "token request to `{realm}` failed: {}{}",
                without_url(&e),
                retry::after_attempts(attempts)
            ))),
        }
    }
}

/// Why no token came from a token server.
#[derive(Debug)]
pub enum TokenError {
    /// It refused the credentials (401 or 403), in its own words.
    Refused {
        realm: String,
        status: u16,
        message: String,
    },
    /// It could not be asked, or its answer was unusable.
    Failed(String),
}

/// Authorization header values, cached per (host, scope).
#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl TokenCache {
    pub fn get(&self, host: &str, scope: &str) -> Option<String> {
        let tokens = self.tokens.lock().expect("token cache lock");
        let (value, expires) = tokens.get(&(host.to_string(), scope.to_string()))?;
        (Instant::now() < *expires).then(|| value.clone())
    }

    fn put(&self, host: &str, scope: &str, value: String, ttl: Duration) {
        let mut tokens = self.tokens.lock().expect("token cache lock");
        tokens.insert(
            (host.to_string(), scope.to_string()),
            (value, Instant::now() + ttl),
        );
    }

    /// Answers `challenge` for `scope` and caches the resulting `Authorization` header value under
    /// `scope`; the token is asked for `scope` and whatever else the challenge names. Returns `None`
    /// when there are no credentials and the challenge wants some (the caller reports access denied).
    pub async fn answer(
        &self,
        client: TokenClient<'_>,
        host: &str,
        scope: &str,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
    ) -> Result<Option<String>, TokenError> {
        let wanted = challenge.merged_scope(scope);
        match challenge {
            Challenge::Basic => {
                let Some(c) = credentials else {
                    return Ok(None);
                };
                let value = basic(c);
                self.put(host, scope, value.clone(), Duration::from_secs(3600));
                Ok(Some(value))
            }
            Challenge::Bearer { realm, service, .. } => {
                let service = service.as_deref();
                let token = match credentials {
                    Some(
                        c @ Credentials {
                            secret: Secret::IdentityToken(refresh),
                            ..
                        },
                    ) => match oauth(client, realm, service, &wanted, refresh).await? {
                        Some(token) => Some(token),
                        None => get_token(client, realm, service, &wanted, Some(c), false).await?,
                    },
                    _ => get_token(client, realm, service, &wanted, credentials, false).await?,
                };
                let Some(token) = token else {
                    return Ok(None);
                };
                let value = format!("Bearer {}", token.token);
                self.put(host, scope, value.clone(), token.ttl);
                Ok(Some(value))
            }
        }
    }
}

/// Answers `challenge` for `hoist login` with `credentials` (no scope: `GET /v2/` needs none), asking a
/// token server for an offline token too. Returns the `Authorization` value, and the refresh token
/// when the server gave one; `None` when the challenge wants credentials it did not get.
pub async fn login(
    client: TokenClient<'_>,
    challenge: &Challenge,
    credentials: &Credentials,
) -> Result<Option<(String, Option<String>)>, TokenError> {
    match challenge {
        Challenge::Basic => Ok(Some((basic(credentials), None))),
        Challenge::Bearer { realm, service, .. } => {
            let service = service.as_deref();
            let token = get_token(client, realm, service, "", Some(credentials), true).await?;
            Ok(token.map(|t| (format!("Bearer {}", t.token), t.refresh)))
        }
    }
}

/// A token from a token server, how long to use it, and the refresh token that came with it.
struct Token {
    token: String,
    ttl: Duration,
    refresh: Option<String>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

/// The token flow's GET (distribution `spec/auth/token`), with Basic credentials when there are some,
/// and `offline_token=true` (a refresh token wanted) when `offline`. `Ok(None)` when the server refuses
/// an anonymous request; an error when it refuses credentials.
async fn get_token(
    client: TokenClient<'_>,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    credentials: Option<&Credentials>,
    offline: bool,
) -> Result<Option<Token>, TokenError> {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        query.push(("service", s));
    }
    if offline {
        query.push(("offline_token", "true"));
        query.push(("client_id", "hoist"));
    }
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        query.push(("scope", s));
    }
    let (resp, attempts) = client
        .send(realm, reqwest::Method::GET, || {
            let req = client.http.get(realm).query(&query);
            match credentials {
                Some(c) => req.basic_auth(&c.username, Some(c.secret.expose())),
                None => req,
            }
        })
        .await?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        let Some(c) = credentials else {
            return Ok(None);
        };
        return Err(refused(realm, resp, c).await);
    }
    if !status.is_success() {
        let secret = credentials.map(|c| c.secret.expose());
        let message = server_message(resp, secret).await;
        return Err(TokenError::Failed(format!(
            "token server `{realm}` answered {status}{message}{}",
            gave_up_after(status, attempts)
        )));
    }
    read_token(realm, resp).await.map(Some)
}

/// A refusal, with what the server said about it (the secret taken out, should it echo it).
async fn refused(realm: &str, resp: reqwest::Response, credentials: &Credentials) -> TokenError {
    let status = resp.status().as_u16();
    TokenError::Refused {
        realm: realm.to_string(),
        status,
        message: server_message(resp, Some(credentials.secret.expose())).await,
    }
}

/// `: MESSAGE` from an error answer: Docker Hub's `details`, OAuth2's `error_description`/`error`
/// (RFC 6749 5.2), the distribution spec's `errors[].message`, else the start of the body; empty when
/// there is nothing. `secret`, if the server echoed it, is replaced.
async fn server_message(resp: reqwest::Response, secret: Option<&str>) -> String {
    let body = resp.text().await.unwrap_or_default();
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let field =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|m| m.as_str()).map(str::to_string);
    let message = json
        .as_ref()
        .and_then(|v| {
            field(v, "details")
                .or_else(|| field(v, "error_description"))
                .or_else(|| field(v, "message"))
                .or_else(|| field(v, "error"))
                .or_else(|| {
                    let errors = v.get("errors")?.as_array()?;
                    let messages: Vec<String> = errors
                        .iter()
                        .filter_map(|e| field(e, "message").or_else(|| field(e, "code")))
                        .collect();
                    (!messages.is_empty()).then(|| messages.join("; "))
                })
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect());
    let message = match secret {
        Some(secret) if !secret.is_empty() => message.replace(secret, "<redacted>"),
        _ => message,
    };
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The OAuth2 POST with a refresh token (distribution `docs/spec/auth/oauth.md`). `Ok(None)` when the
/// server does not take it (400, 401, 403, 404 or 405: many token servers only speak the GET flow), so
/// the caller falls back to the GET.
async fn oauth(
    client: TokenClient<'_>,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    refresh_token: &str,
) -> Result<Option<Token>, TokenError> {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", "hoist"),
    ];
    if let Some(s) = service {
        form.push(("service", s));
    }
    if !scope.is_empty() {
        form.push(("scope", scope));
    }
    let (resp, attempts) = client
        .send(realm, reqwest::Method::POST, || {
            client.http.post(realm).form(&form)
        })
        .await?;
    let status = resp.status().as_u16();
    if matches!(status, 400 | 401 | 403 | 404 | 405) {
        return Ok(None);
    }
    if !resp.status().is_success() {
        let status = resp.status();
        let message = server_message(resp, Some(refresh_token)).await;
        return Err(TokenError::Failed(format!(
            "token server `{realm}` answered {status} to the OAuth2 request{message}{}",
            gave_up_after(status, attempts)
        )));
    }
    read_token(realm, resp).await.map(Some)
}

/// How many attempts a failing answer came after, when it was a transient one retried.
fn gave_up_after(status: reqwest::StatusCode, attempts: u32) -> String {
    if retry::transient(status) {
        retry::after_attempts(attempts)
    } else {
        String::new()
    }
}

async fn read_token(realm: &str, resp: reqwest::Response) -> Result<Token, TokenError> {
    let body: TokenResponse = resp.json().await.map_err(|e| {
        TokenError::Failed(format!(
            "token server `{realm}` sent an unreadable answer: {}",
            without_url(&e)
        ))
    })?;
    let Some(token) = body.token.or(body.access_token) else {
        return Err(TokenError::Failed(format!(
            "token server `{realm}` sent no token"
        )));
    };
    Ok(Token {
        token,
        ttl: lifetime(body.expires_in),
        refresh: body.refresh_token.filter(|r| !r.is_empty()),
    })
}

/// How long to use a token the server says lives `expires_in` seconds (60 when it says nothing, as the
/// spec has it): a little less — a quarter, at most 10 s — so that it never dies between the check and
/// the request. A token that dies anyway is answered by a new challenge (see `client`).
fn lifetime(expires_in: Option<u64>) -> Duration {
    let secs = expires_in.unwrap_or(60);
    Duration::from_secs(secs - (secs / 4).min(10))
}

fn basic(c: &Credentials) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", c.username, c.secret.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A reqwest error's text without its URL (a token URL may carry query parameters worth hiding).
pub fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "…");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_used_a_little_less_long_than_they_live() {
        assert_eq!(lifetime(None), Duration::from_secs(50));
        assert_eq!(lifetime(Some(300)), Duration::from_secs(290));
        assert_eq!(lifetime(Some(8)), Duration::from_secs(6));
        assert_eq!(lifetime(Some(3)), Duration::from_secs(3));
        assert_eq!(lifetime(Some(0)), Duration::ZERO);
    }

    #[test]
    fn cache_expires() {
        let cache = TokenCache::default();
        cache.put("h", "s", "Bearer t".into(), Duration::from_secs(60));
        assert_eq!(cache.get("h", "s").as_deref(), Some("Bearer t"));
        assert_eq!(cache.get("h", "other"), None);
        cache.put("h", "s", "Bearer t".into(), Duration::ZERO);
        assert_eq!(cache.get("h", "s"), None);
    }
}
