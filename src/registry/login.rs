//! `hoist login` and `hoist logout`, as docker-cli's `login.go` and `logout.go` do them: a login is
//! checked against the registry first (`GET /v2/` through its challenge), then filed in
//! `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` — through the credential helper that applies
//! to the registry (`credHelpers`, else `credsStore`), leaving an empty `auths` entry as docker does, or
//! as the `auths` entry itself (`{"auth": base64("user:password")}`). When the registry's token server
//! hands out a refresh token for the login (OAuth2 offline access), that is stored instead of the
//! password, as docker does: `{"auth": base64("user:"), "identitytoken": "…"}`, or the helper's
//! `<token>` user. A logout erases both.

use std::path::PathBuf;

use super::credentials::config_edit::ConfigEdit;
use super::credentials::docker_config::server_url;
use super::credentials::{CredentialError, Credentials, Secret, TOKEN_USER, helper};
use super::{RegistryClient, RegistryError};

/// Where a login was filed, and whether an identity token took the password's place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub place: Place,
    /// The registry's token server gave a refresh token: it is stored, not the password.
    pub identity_token: bool,
}

/// Where a login was filed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// In the `auths` entry of this file (unencrypted).
    File(PathBuf),
    /// With `docker-credential-NAME`, and an empty `auths` entry in the file.
    Helper { helper: String, file: PathBuf },
}

/// What a logout removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub file: PathBuf,
    /// The file had an `auths` entry for the registry.
    pub entry: bool,
    /// The helper that applies, and whether it held credentials for the registry.
    pub helper: Option<(String, bool)>,
}

impl RegistryClient {
    /// Checks `username`/`password` against `registry` (a registry name, `docker.io` for Docker Hub),
    /// then stores them. Nothing is written when the registry refuses them.
    pub async fn store_login(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<Stored, RegistryError> {
        let credentials = Credentials::password(username, password);
        let mut edit = ConfigEdit::open(&self.config_path()?)?;
        let helper = edit.config()?.helper_for(registry);
        let refresh = self.http.verify_login(registry, &credentials).await?;
        let identity_token = refresh.is_some();
        let credentials = match refresh {
            Some(token) => Credentials {
                username: username.to_string(),
                secret: Secret::IdentityToken(token),
            },
            None => credentials,
        };
        let place = match helper {
            Some(name) => {
                let env = &self.options.credentials;
                // Docker's helpers keep an identity token under the user `<token>`.
                let filed = match &credentials.secret {
                    Secret::IdentityToken(_) => Credentials {
                        username: TOKEN_USER.to_string(),
                        secret: credentials.secret.clone(),
                    },
                    Secret::Password(_) => credentials.clone(),
                };
                helper::store(env.path.as_deref(), &name, &server_url(registry), &filed).await?;
                edit.set(registry, None);
                Place::Helper {
                    helper: helper::program(&name),
                    file: edit.path().to_path_buf(),
                }
            }
            None => {
                edit.set(registry, Some(&credentials));
                Place::File(edit.path().to_path_buf())
            }
        };
        edit.save()?;
        Ok(Stored {
            place,
            identity_token,
        })
    }

    /// Erases the login of `registry` from the helper that applies and from `config.json`.
    pub async fn erase_login(&self, registry: &str) -> Result<Erased, RegistryError> {
        let mut edit = ConfigEdit::open(&self.config_path()?)?;
        let helper = match edit.config()?.helper_for(registry) {
            Some(name) => {
                let env = &self.options.credentials;
                let held = helper::erase(env.path.as_deref(), &name, &server_url(registry)).await?;
                Some((helper::program(&name), held))
            }
            None => None,
        };
        let entry = edit.remove(registry);
        if entry {
            edit.save()?;
        }
        Ok(Erased {
            file: edit.path().to_path_buf(),
            entry,
            helper,
        })
    }

    fn config_path(&self) -> Result<PathBuf, RegistryError> {
        self.options
            .credentials
            .docker_config_path()
            .ok_or(RegistryError::Credentials(CredentialError::NoConfigDir))
    }
}
