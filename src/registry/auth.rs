//! Registry authentication: `WWW-Authenticate` challenges (RFC 7235) and Docker's token flow
//! (distribution `docs/spec/auth/token.md`): Basic with credentials, or Bearer with a token fetched from
//! the challenge's realm for a scope, cached per (host, scope) until it expires. An identity token (OAuth2
//! refresh token) is exchanged with a POST first (`docs/spec/auth/oauth.md`), falling back to the GET.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::credentials::{Credentials, Secret};

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k="v", k2=v2` with quoted values that may contain commas.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    out
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

    /// Answers `challenge` for `scope` and caches the resulting `Authorization` header value.
    /// Returns `None` when no credentials can answer it (the caller reports access denied).
    pub async fn answer(
        &self,
        http: &reqwest::Client,
        host: &str,
        scope: &str,
        challenge: &Challenge,
        credentials: Option<&Credentials>,
    ) -> Result<Option<String>, String> {
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
                    ) => match oauth(http, realm, service, scope, refresh).await? {
                        Some(token) => Some(token),
                        None => get_token(http, realm, service, scope, Some(c)).await?,
                    },
                    _ => get_token(http, realm, service, scope, credentials).await?,
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

/// A token from a token server and how long to use it.
struct Token {
    token: String,
    ttl: Duration,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The token flow's GET (distribution `docs/spec/auth/token.md`), with Basic credentials when there are
/// some. `Ok(None)` when the server refuses them.
async fn get_token(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    credentials: Option<&Credentials>,
) -> Result<Option<Token>, String> {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        query.push(("service", s));
    }
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        query.push(("scope", s));
    }
    let mut req = http.get(realm).query(&query);
    if let Some(c) = credentials {
        req = req.basic_auth(&c.username, Some(c.secret.expose()));
    }
    // The error names the realm only: the request carries credentials.
    let resp = req
        .send()
        .await
        .map_err(|e| format!("token request to `{realm}` failed: {}", without_url(&e)))?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(format!("token server `{realm}` answered {status}"));
    }
    read_token(realm, resp).await.map(Some)
}

/// The OAuth2 POST with a refresh token (distribution `docs/spec/auth/oauth.md`). `Ok(None)` when the
/// server does not take it (400, 401, 403, 404 or 405: many token servers only speak the GET flow), so
/// the caller falls back to the GET.
async fn oauth(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    refresh_token: &str,
) -> Result<Option<Token>, String> {
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
    let resp = http
        .post(realm)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("token request to `{realm}` failed: {}", without_url(&e)))?;
    let status = resp.status().as_u16();
    if matches!(status, 400 | 401 | 403 | 404 | 405) {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(format!(
            "token server `{realm}` answered {} to the OAuth2 request",
            resp.status()
        ));
    }
    read_token(realm, resp).await.map(Some)
}

async fn read_token(realm: &str, resp: reqwest::Response) -> Result<Token, String> {
    let body: TokenResponse = resp.json().await.map_err(|e| {
        format!(
            "token server `{realm}` sent an unreadable answer: {}",
            without_url(&e)
        )
    })?;
    let Some(token) = body.token.or(body.access_token) else {
        return Err(format!("token server `{realm}` sent no token"));
    };
    // Expire a little early so a token never dies mid-request.
    let ttl = Duration::from_secs(body.expires_in.unwrap_or(60).saturating_sub(10).max(10));
    Ok(Token { token, ttl })
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
    fn parses_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse("bearer realm=http://x/t"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None);
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
