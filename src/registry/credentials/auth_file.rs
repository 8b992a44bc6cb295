//! The containers auth file (containers-auth.json(5): podman, buildah, skopeo): `{"auths": {KEY:
//! {"auth": base64("user:pass")}}}` where KEY is a registry, or a registry with a namespace or
//! repository path (`quay.io/team`, `quay.io/team/app`); the most specific key that contains the
//! repository wins. Docker Hub's aliases are one registry; a `https://` prefix (the legacy form) is
//! ignored.

use std::collections::BTreeMap;

use super::docker_config::AuthEntry;
use super::{CredentialError, Credentials, canonical_registry};

#[derive(serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

/// The credentials `text` (an auth file; `what` names it in errors) holds for `repository` on
/// `registry`.
pub fn lookup(
    text: &str,
    what: &str,
    registry: &str,
    repository: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let file: AuthFile = serde_json::from_str(text).map_err(|e| CredentialError::Malformed {
        what: what.to_string(),
        reason: format!(
            "it is not a containers auth file (line {}, column {})",
            e.line(),
            e.column()
        ),
    })?;
    let registry = canonical_registry(registry);
    let best = file
        .auths
        .iter()
        .filter_map(|(key, entry)| {
            let (host, path) = split_key(key);
            let contains = path.is_empty()
                || repository == path
                || repository
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('/'));
            (host == registry && contains).then_some((path.len(), key, entry))
        })
        .max_by_key(|(len, _, _)| *len);
    match best {
        Some((_, key, entry)) => entry.credentials(key),
        None => Ok(None),
    }
}

/// `[https://]host[/path]` → (canonical host, path without surrounding slashes).
fn split_key(key: &str) -> (String, &str) {
    let scheme = ["https://", "http://"]
        .iter()
        .find(|s| {
            key.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        })
        .map_or(0, |s| s.len());
    let rest = &key[scheme..];
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    (canonical_registry(host), path.trim_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str, registry: &str, repository: &str) -> Option<String> {
        lookup(text, "auth.json", registry, repository)
            .unwrap()
            .map(|c| c.username)
    }

    #[test]
    fn the_most_specific_key_wins() {
        // "host:u", "ns:u", "repo:u", "hub:u" in base64.
        let text = r#"{"auths":{
            "quay.example":{"auth":"aG9zdDp1"},
            "quay.example/team":{"auth":"bnM6dQ=="},
            "quay.example/team/app":{"auth":"cmVwbzp1"},
            "docker.io":{"auth":"aHViOnU="}}}"#;
        assert_eq!(
            user(text, "quay.example", "team/app").as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(text, "quay.example", "team/app/sub").as_deref(),
            Some("repo")
        );
        assert_eq!(
            user(text, "quay.example", "team/other").as_deref(),
            Some("ns")
        );
        // A prefix is matched on whole path components.
        assert_eq!(
            user(text, "quay.example", "team-b/app").as_deref(),
            Some("host")
        );
        assert_eq!(user(text, "quay.example", "x").as_deref(), Some("host"));
        assert_eq!(
            user(text, "docker.io", "library/busybox").as_deref(),
            Some("hub")
        );
        assert_eq!(user(text, "index.docker.io", "a/b").as_deref(), Some("hub"));
        assert_eq!(user(text, "other.example", "team/app"), None);
    }

    #[test]
    fn a_repository_key_is_not_used_for_another_repository() {
        let text = r#"{"auths":{"reg.example/team/app":{"auth":"cmVwbzp1"}}}"#;
        assert_eq!(
            user(text, "reg.example", "team/app").as_deref(),
            Some("repo")
        );
        assert_eq!(user(text, "reg.example", "team/other"), None);
        assert_eq!(user(text, "reg.example", "team"), None);
    }
}
