//! The edit `docker login` and `docker logout` make to Docker's `config.json` (docker-cli
//! `configfile.Save`, `credentials/file_store.go`): one `auths` entry set or removed, every other key of
//! the file kept as it was read, written through a temporary file with mode 0600 renamed over the old one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::docker_config::{DockerConfig, RawConfig, key_registry, login_key, malformed};
use super::{CredentialError, Credentials, Secret, canonical_registry};

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
        Ok(DockerConfig::from(raw))
    }

    /// Sets the `auths` entry of `registry` as `docker login` does: `{"auth": base64("user:pass")}`,
    /// `{"auth": base64("user:"), "identitytoken": "…"}` for an identity token, or `{}` when a helper
    /// holds the secret (`credentials` is `None`). Other spellings of the same
    /// registry's key are removed, so the new entry is the one read back.
    pub fn set(&mut self, registry: &str, credentials: Option<&Credentials>) {
        let b64 = |raw: String| base64::engine::general_purpose::STANDARD.encode(raw);
        let entry = match credentials.map(|c| (c, &c.secret)) {
            Some((c, Secret::Password(password))) => serde_json::json!({
                "auth": b64(format!("{}:{password}", c.username))
            }),
            // docker's shape for an identity token: the user without a password, and the token.
            Some((c, Secret::IdentityToken(token))) => serde_json::json!({
                "auth": b64(format!("{}:", c.username)),
                "identitytoken": token,
            }),
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
        let identity = Credentials {
            username: "u".into(),
            secret: Secret::IdentityToken("r3fresh".into()),
        };
        edit.set("oauth.example", Some(&identity));
        edit.save().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            json["auths"],
            serde_json::json!({
                "https://index.docker.io/v1/": {"auth": "dTpw"},
                "keep.example": {"auth": "eDp5"},
                "helped.example": {},
                "oauth.example": {"auth": "dTo=", "identitytoken": "r3fresh"}
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
