//! Docker's client configuration, `config.json` (docker-cli `cli/config/configfile/file.go` and
//! `cli/config/credentials`): per host `credHelpers`, then `credsStore`, then `auths` (base64 `auth`,
//! `username`/`password`, `identitytoken`). Docker Hub's keys are one registry: `https://index.docker.io/v1/`
//! (what `docker login` writes), `index.docker.io`, `docker.io`, `registry-1.docker.io`.
//!
//! Also the edit `docker login`/`docker logout` make: one `auths` entry set or removed, every other key
//! of the file kept, written atomically with mode 0600.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
struct RawConfig {
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
        Ok(DockerConfig {
            auths: raw.auths,
            cred_helpers: raw.cred_helpers,
            creds_store: raw.creds_store.filter(|s| !s.is_empty()),
        })
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
fn malformed(what: &str, e: &serde_json::Error) -> CredentialError {
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

/// A `config.json` opened for `docker login`/`docker logout`: every key kept as it was read.
pub struct ConfigEdit {
    path: PathBuf,
    json: serde_json::Map<String, serde_json::Value>,
}

impl ConfigEdit {
    /// Reads `path` (a missing file is an empty configuration). Refuses to edit a file it cannot parse.
    pub fn open(path: &Path) -> Result<ConfigEdit, CredentialError> {
        let what = format!("`{}`", path.display());
        let json = match super::read_if_exists(path)? {
            None => serde_json::Map::new(),
            Some(text) if text.trim().is_empty() => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| malformed(&what, &e))?
            {
                serde_json::Value::Object(map) => map,
                _ => {
                    return Err(CredentialError::Malformed {
                        what,
                        reason: "it is not a JSON object".into(),
                    });
                }
            },
        };
        Ok(ConfigEdit {
            path: path.to_path_buf(),
            json,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration's credential parts, to find a helper that applies.
    pub fn config(&self) -> Result<DockerConfig, CredentialError> {
        let what = format!("`{}`", self.path.display());
        let raw: RawConfig = serde_json::from_value(serde_json::Value::Object(self.json.clone()))
            .map_err(|e| malformed(&what, &e))?;
        Ok(DockerConfig {
            auths: raw.auths,
            cred_helpers: raw.cred_helpers,
            creds_store: raw.creds_store.filter(|s| !s.is_empty()),
        })
    }

    /// Sets the `auths` entry of `registry` as `docker login` does: `{"auth": base64("user:pass")}`, or
    /// `{}` when a helper holds the secret (`credentials` is `None`). Other spellings of the same
    /// registry's key are removed, so the new entry is the one read back.
    pub fn set(&mut self, registry: &str, credentials: Option<&Credentials>) {
        let entry = match credentials {
            Some(c) => {
                let raw = format!("{}:{}", c.username, c.secret.expose());
                serde_json::json!({
                    "auth": base64::engine::general_purpose::STANDARD.encode(raw)
                })
            }
            None => serde_json::json!({}),
        };
        self.remove(registry);
        let auths = self
            .json
            .entry("auths")
            .or_insert_with(|| serde_json::json!({}));
        if !auths.is_object() {
            *auths = serde_json::json!({});
        }
        if let Some(map) = auths.as_object_mut() {
            map.insert(login_key(registry), entry);
        }
    }

    /// Removes every `auths` key naming `registry`; true if there was one.
    pub fn remove(&mut self, registry: &str) -> bool {
        let registry = canonical_registry(registry);
        let Some(auths) = self.json.get_mut("auths").and_then(|a| a.as_object_mut()) else {
            return false;
        };
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| key_registry(k) == registry)
            .cloned()
            .collect();
        for key in &keys {
            auths.remove(key);
        }
        !keys.is_empty()
    }

    /// Writes the file the way docker-cli does: a temporary file with mode 0600 next to it (through a
    /// symlinked `config.json`, next to its target), renamed over it. A new directory gets mode 0700.
    pub fn save(&self) -> Result<(), CredentialError> {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CredentialError::Write {
                path: path.clone(),
                source,
            }
        };
        let target = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(write_err(dir))?;
        let mut text = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut text, formatter);
        serde::Serialize::serialize(&self.json, &mut ser)
            .map_err(|e| write_err(&target)(std::io::Error::other(e.to_string())))?;
        text.push(b'\n');
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config.json".into());
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(write_err(&target))
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

    #[test]
    fn edit_keeps_other_keys_and_writes_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("config.json");
        std::fs::create_dir(dir.path().join("new")).unwrap();
        std::fs::write(
            &path,
            r#"{"auths":{"docker.io":{"auth":"eDp5"},"keep.example":{"auth":"eDp5"}},
               "proxies":{"default":{"httpProxy":"http://p"}},"credHelpers":{"gcr.io":"gcloud"}}"#,
        )
        .unwrap();
        let mut edit = ConfigEdit::open(&path).unwrap();
        edit.set("docker.io", Some(&Credentials::password("u", "p")));
        edit.set("helped.example", None);
        edit.save().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            json["auths"],
            serde_json::json!({
                "https://index.docker.io/v1/": {"auth": "dTpw"},
                "keep.example": {"auth": "eDp5"},
                "helped.example": {}
            })
        );
        assert_eq!(json["proxies"]["default"]["httpProxy"], "http://p");
        assert_eq!(json["credHelpers"]["gcr.io"], "gcloud");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let mut edit = ConfigEdit::open(&path).unwrap();
        assert!(edit.remove("index.docker.io"));
        assert!(!edit.remove("docker.io"));
        edit.save().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(json["auths"].get("https://index.docker.io/v1/").is_none());
        assert_eq!(json["auths"]["keep.example"]["auth"], "eDp5");
        // Only config.json is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("new"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    }

    #[test]
    fn a_new_directory_is_0700_and_a_broken_file_is_left_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker").join("config.json");
        let mut edit = ConfigEdit::open(&path).unwrap();
        edit.set("reg.example", Some(&Credentials::password("u", "p")));
        edit.save().unwrap();
        let mode = std::fs::metadata(dir.path().join("docker"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(
            ConfigEdit::open(&path),
            Err(CredentialError::Malformed { .. })
        ));
    }
}
