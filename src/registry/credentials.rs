//! Registry credentials: the `HOIST_TOKEN` service-account key (sent as user `<token>`) and the `auths`
//! entries of Docker's `config.json` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
//! Credentials are only ever placed in request headers: never printed, logged or put in an error.

use std::path::PathBuf;

use base64::Engine as _;

/// A username and secret. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

/// The credentials for `registry` (a registry name as in a reference, e.g. `docker.io`), if any.
pub fn lookup(registry: &str) -> Option<Credentials> {
    if let Ok(token) = std::env::var("HOIST_TOKEN")
        && !token.is_empty()
    {
        return Some(Credentials {
            username: "<token>".into(),
            secret: token,
        });
    }
    let path = docker_config_path()?;
    let text = std::fs::read_to_string(path).ok()?;
    from_docker_config(&text, registry)
}

fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// Reads the `auths` entry for `registry` out of a Docker `config.json`.
pub fn from_docker_config(text: &str, registry: &str) -> Option<Credentials> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let auths = json.get("auths")?.as_object()?;
    let wanted: &[&str] = if registry == crate::image::reference::DOCKER_HUB {
        &[
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
    } else {
        &[registry]
    };
    let entry = auths.iter().find_map(|(key, value)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or(key);
        (wanted.contains(&key.as_str()) || wanted.contains(&host)).then_some(value)
    })?;
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, secret) = decoded.split_once(':')?;
        return Some(Credentials {
            username: username.into(),
            secret: secret.into(),
        });
    }
    Some(Credentials {
        username: entry.get("username")?.as_str()?.into(),
        secret: entry.get("password")?.as_str()?.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_config_auths() {
        let cfg = r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
            "reg.lan:5000":{"username":"bob","password":"pw"}}}"#;
        let hub = from_docker_config(cfg, "docker.io").unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.secret.as_str()),
            ("user", "pa:ss")
        );
        let lan = from_docker_config(cfg, "reg.lan:5000").unwrap();
        assert_eq!((lan.username.as_str(), lan.secret.as_str()), ("bob", "pw"));
        assert!(from_docker_config(cfg, "ghcr.io").is_none());
        assert!(!format!("{lan:?}").contains("pw"));
    }
}
