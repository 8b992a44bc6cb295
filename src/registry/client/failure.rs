//! How a registry request that failed is named (distribution-spec "Error Codes" and the token flow's
//! refusals): the registry, the request (`METHOD /v2/PATH`, never the query, which may carry upload
//! state or a signature), the repository and action refused, where the credentials came from, and
//! the last answer after the retries. The messages themselves are [`RegistryError`]'s.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};

use crate::registry::RegistryError;
use crate::registry::auth::TokenError;
use crate::registry::challenge::scope_repository;

/// A token server's failure as a registry error: a refusal names the token server and where the
/// refused credentials came from.
pub(super) fn token_error(registry: &str, used: Option<&str>, e: TokenError) -> RegistryError {
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
pub(super) fn gave_up(
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

pub(super) fn denied(
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
pub(super) fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(before, _)| before)
}

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
