//! Docker's client configuration, `config.json` (docker-cli `cli/config/configfile/file.go` and
//! `cli/config/credentials`): per host `credHelpers`, then `credsStore`, then `auths` (base64 `auth`,
//! `username`/`password`, `identitytoken`). Docker Hub's keys are one registry: `https://index.docker.io/v1/`
//! (what `docker login` writes), `index.docker.io`, `docker.io`, `registry-1.docker.io`.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::{CredentialError, Credentials, Secret, TOKEN_USER, canonical_registry};
use crate::image::reference::DOCKER_HUB;

/// The key `docker login` files Docker Hub under, and the server URL helpers are asked about for it.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The parts of a `config.json` that hold credentials.
pub struct DockerConfig {
    auths: BTreeMap<String, AuthEntry>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
}

/// One `auths` entry. Never `Debug`: it holds secrets.
#[derive(Default, serde::Deserialize)]
pub struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

/// What a configuration says about one registry.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Credentials(Credentials),
    /// Ask this helper (the `NAME` of `docker-credential-NAME`).
    Helper(String),
    Missing,
}

impl DockerConfig {
    /// Parses a `config.json`; `what` names it in errors (a path, or `DOCKER_AUTH_CONFIG`).
    pub fn parse(text: &str, what: &str) -> Result<DockerConfig, CredentialError> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| malformed(what, &e))?;
        Ok(DockerConfig::from(raw))
    }

    /// The credentials (or the helper to ask) for `registry`, in docker-cli's order: a `credHelpers`
    /// entry for the host, the `credsStore`, then the `auths` entry.
    pub fn lookup(&self, registry: &str) -> Result<Lookup, CredentialError> {
        let registry = canonical_registry(registry);
        if let Some(helper) = pick(&self.cred_helpers, &registry).filter(|h| !h.is_empty()) {
            return Ok(Lookup::Helper(helper.clone()));
        }
        if let Some(store) = &self.creds_store {
            return Ok(Lookup::Helper(store.clone()));
        }
        let Some(entry) = pick(&self.auths, &registry) else {
            return Ok(Lookup::Missing);
        };
        Ok(match entry.credentials(&registry)? {
            Some(c) => Lookup::Credentials(c),
            None => Lookup::Missing,
        })
    }

    /// The helper that stores credentials for `registry`, if the configuration names one.
    pub fn helper_for(&self, registry: &str) -> Option<String> {
        let registry = canonical_registry(registry);
        pick(&self.cred_helpers, &registry)
            .filter(|h| !h.is_empty())
            .or(self.creds_store.as_ref())
            .cloned()
    }
}

impl From<RawConfig> for DockerConfig {
    fn from(raw: RawConfig) -> DockerConfig {
        DockerConfig {
            auths: raw.auths,
            cred_helpers: raw.cred_helpers,
            creds_store: raw.creds_store.filter(|s| !s.is_empty()),
        }
    }
}

impl AuthEntry {
    /// The entry's credentials; `None` for an empty entry (what `docker login` leaves when a helper
    /// holds the secret). `registry` names the entry in errors.
    pub fn credentials(&self, registry: &str) -> Result<Option<Credentials>, CredentialError> {
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let (mut username, mut password) = (nonempty(&self.username), nonempty(&self.password));
        if let Some(auth) = nonempty(&self.auth) {
            // The decoding error would quote bytes of the secret: name the entry only.
            let bad = || CredentialError::Malformed {
                what: format!("the `auth` of `{registry}`"),
                reason: "it is not the base64 of `user:password`".into(),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (u, p) = decoded.split_once(':').ok_or_else(bad)?;
            username = Some(u.to_string());
            password = Some(p.to_string());
        }
        if let Some(token) = nonempty(&self.identitytoken) {
            return Ok(Some(Credentials {
                username: username
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| TOKEN_USER.to_string()),
                secret: Secret::IdentityToken(token),
            }));
        }
        Ok(match (username, password) {
            (Some(username), Some(password)) if !password.is_empty() => Some(Credentials {
                username,
                secret: Secret::Password(password),
            }),
            _ => None,
        })
    }
}

/// The entry of `map` for `registry`: the key `docker login` writes if present, else the first key
/// (in sorted order) that names the same registry.
fn pick<'a, T>(map: &'a BTreeMap<String, T>, registry: &str) -> Option<&'a T> {
    map.get(&login_key(registry)).or_else(|| {
        map.iter()
            .find(|(key, _)| key_registry(key) == registry)
            .map(|(_, v)| v)
    })
}

/// The registry a `config.json` key names: scheme and path dropped, lowercase, Docker Hub's aliases
/// folded (`https://index.docker.io/v1/` → `docker.io`).
pub fn key_registry(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(&key);
    canonical_registry(rest.split('/').next().unwrap_or(rest))
}

/// The key `docker login` files a registry under: `https://index.docker.io/v1/` for Docker Hub, the
/// host (and port) otherwise.
pub fn login_key(registry: &str) -> String {
    let registry = canonical_registry(registry);
    if registry == DOCKER_HUB {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry
    }
}

/// The server URL a credential helper is asked about: the same as [`login_key`].
pub fn server_url(registry: &str) -> String {
    login_key(registry)
}

/// A parse error without the text around it (the file holds secrets).
pub(super) fn malformed(what: &str, e: &serde_json::Error) -> CredentialError {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "it cannot be read",
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            "it is not valid JSON"
        }
        serde_json::error::Category::Data => "a value has the wrong type",
    };
    CredentialError::Malformed {
        what: what.to_string(),
        reason: format!("{kind} (line {}, column {})", e.line(), e.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(cfg: &str, registry: &str) -> Lookup {
        DockerConfig::parse(cfg, "test")
            .unwrap()
            .lookup(registry)
            .unwrap()
    }

    fn password(user: &str, pass: &str) -> Lookup {
        Lookup::Credentials(Credentials::password(user, pass))
    }

    #[test]
    fn reads_auths_in_every_form() {
        let cfg = r#"{"auths":{
            "https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
            "reg.lan:5000":{"username":"bob","password":"pw"},
            "https://id.example/v2/":{"auth":"bWU6","identitytoken":"refresh"},
            "empty.example":{}}}"#;
        assert_eq!(lookup(cfg, "docker.io"), password("user", "pa:ss"));
        assert_eq!(lookup(cfg, "reg.lan:5000"), password("bob", "pw"));
        assert_eq!(
            lookup(cfg, "id.example"),
            Lookup::Credentials(Credentials {
                username: "me".into(),
                secret: Secret::IdentityToken("refresh".into())
            })
        );
        assert_eq!(lookup(cfg, "empty.example"), Lookup::Missing);
        assert_eq!(lookup(cfg, "ghcr.io"), Lookup::Missing);
        // A port is part of the registry.
        assert_eq!(lookup(cfg, "reg.lan"), Lookup::Missing);
    }

    #[test]
    fn docker_hub_keys_are_one_registry() {
        for key in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io",
            "HTTPS://Index.Docker.IO/v1/",
        ] {
            assert_eq!(key_registry(key), "docker.io", "{key}");
            let cfg = format!(r#"{{"auths":{{"{key}":{{"username":"u","password":"p"}}}}}}"#);
            for name in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
                assert_eq!(lookup(&cfg, name), password("u", "p"), "{key} as {name}");
            }
            assert_eq!(lookup(&cfg, "ghcr.io"), Lookup::Missing);
        }
        // The key `docker login` writes wins over another spelling.
        let cfg = r#"{"auths":{"docker.io":{"username":"old","password":"1"},
            "https://index.docker.io/v1/":{"username":"new","password":"2"}}}"#;
        assert_eq!(lookup(cfg, "docker.io"), password("new", "2"));
        assert_eq!(login_key("registry-1.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(login_key("Reg.Example:5000"), "reg.example:5000");
        assert_eq!(
            key_registry("http://reg.example:5000/some/path"),
            "reg.example:5000"
        );
    }

    #[test]
    fn helpers_come_before_auths() {
        let cfg = r#"{"auths":{"a.example":{"username":"u","password":"p"},
            "b.example":{"username":"u","password":"p"}},
            "credHelpers":{"a.example":"ecr-login","https://index.docker.io/v1/":"hub"}}"#;
        assert_eq!(lookup(cfg, "a.example"), Lookup::Helper("ecr-login".into()));
        assert_eq!(lookup(cfg, "docker.io"), Lookup::Helper("hub".into()));
        assert_eq!(lookup(cfg, "b.example"), password("u", "p"));
        let store = r#"{"auths":{"b.example":{"username":"u","password":"p"}},
            "credHelpers":{"a.example":"ecr-login"},"credsStore":"desktop"}"#;
        assert_eq!(
            lookup(store, "a.example"),
            Lookup::Helper("ecr-login".into())
        );
        assert_eq!(lookup(store, "b.example"), Lookup::Helper("desktop".into()));
        let config = DockerConfig::parse(store, "x").unwrap();
        assert_eq!(config.helper_for("c.example").as_deref(), Some("desktop"));
    }

    #[test]
    fn errors_never_quote_the_file() {
        let err = DockerConfig::parse(r#"{"auths":{"h":{"auth":"s3cr!t"}}}"#, "`cfg`")
            .unwrap()
            .lookup("h")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr"), "{err}");
        assert!(err.contains("`h`"), "{err}");
        let err = DockerConfig::parse(r#"{"auths":{"h":{"password":42, "x":"s3cret"}"#, "`cfg`")
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("s3cret") && err.contains("`cfg`"), "{err}");
    }
}
