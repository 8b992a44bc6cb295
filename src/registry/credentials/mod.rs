//! Registry credentials, resolved per registry (and repository), first hit wins, each source used only
//! for the hosts it is meant for:
//!
//! 1. a login given through the API (`--username` + `--password-stdin`: the destination registry only);
//! 2. `HOIST_TOKEN` (the push destinations only) and `CPLN_TOKEN` (`*.registry.cpln.io` only), both a
//!    service-account key sent as the user `<token>`;
//! 3. Docker's configuration: `DOCKER_AUTH_CONFIG` (its JSON content), then `$DOCKER_CONFIG/config.json`
//!    or `~/.docker/config.json` — per host `credHelpers`, then `credsStore`, then `auths` (see
//!    [`docker_config`]), helpers spoken to through [`helper`];
//! 4. `REGISTRY_AUTH_FILE` or `$XDG_RUNTIME_DIR/containers/auth.json` (containers-auth.json(5), with
//!    per-repository keys: see [`auth_file`]);
//! 5. anonymous.
//!
//! A helper's "credentials not found" is no hit: the next source is asked. Credentials only ever go into
//! request headers, a helper's stdin or the file `hoist login` writes: never printed, logged or put in
//! an error, and `Debug` redacts them.

pub mod auth_file;
pub mod config_edit;
pub mod docker_config;
pub mod helper;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::image::reference::{DOCKER_HUB, is_docker_hub};

/// The user name a service-account key goes with (Control Plane's registry takes it literally).
pub const TOKEN_USER: &str = "<token>";

/// A username and secret. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub secret: Secret,
}

/// What the secret of [`Credentials`] is. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A password or service-account key: sent with Basic auth, to registries and token servers.
    Password(String),
    /// An OAuth2 refresh token (`identitytoken` in `config.json`, or a helper's answer for the user
    /// `<token>`): exchanged at the token server with a POST (distribution `docs/spec/auth/oauth.md`),
    /// and used as a password where the registry offers nothing else.
    IdentityToken(String),
}

impl Secret {
    /// The secret itself, for a request header or a helper's stdin only.
    pub fn expose(&self) -> &str {
        match self {
            Secret::Password(s) | Secret::IdentityToken(s) => s,
        }
    }
}

impl Credentials {
    pub fn password(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_string(),
            secret: Secret::Password(password.to_string()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, {:?})", self.username, self.secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where credentials came from; errors name it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--username` + `--password-stdin`, or [`super::RegistryClient::login`].
    Login,
    HoistToken,
    CplnToken,
    DockerAuthConfig,
    DockerConfig(PathBuf),
    /// `docker-credential-NAME`, configured in `config.json` (or `DOCKER_AUTH_CONFIG`).
    Helper(String),
    AuthFile(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Login => f.write_str("`--username`/`--password-stdin`"),
            Origin::HoistToken => f.write_str("`HOIST_TOKEN`"),
            Origin::CplnToken => f.write_str("`CPLN_TOKEN`"),
            Origin::DockerAuthConfig => f.write_str("`DOCKER_AUTH_CONFIG`"),
            Origin::DockerConfig(path) | Origin::AuthFile(path) => {
                write!(f, "`{}`", path.display())
            }
            Origin::Helper(name) => write!(f, "the credential helper `{}`", helper::program(name)),
        }
    }
}

/// Credentials and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub credentials: Credentials,
    pub origin: Origin,
}

/// What credential resolution reads from the environment, passed in so that tests never depend on
/// the process's own. `Debug` shows which values are set, never a token.
#[derive(Clone, Default)]
pub struct CredentialEnv {
    pub hoist_token: Option<String>,
    pub cpln_token: Option<String>,
    /// `DOCKER_AUTH_CONFIG`: the JSON of a `config.json`, as GitLab CI passes it.
    pub docker_auth_config: Option<String>,
    /// `DOCKER_CONFIG`: the directory of `config.json`.
    pub docker_config_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub registry_auth_file: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `PATH`, where `docker-credential-NAME` helpers are looked up.
    pub path: Option<OsString>,
}

impl fmt::Debug for CredentialEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("CredentialEnv")
            .field("hoist_token", &set(&self.hoist_token))
            .field("cpln_token", &set(&self.cpln_token))
            .field("docker_auth_config", &set(&self.docker_auth_config))
            .field("docker_config_dir", &self.docker_config_dir)
            .field("home", &self.home)
            .field("registry_auth_file", &self.registry_auth_file)
            .field("xdg_runtime_dir", &self.xdg_runtime_dir)
            .finish_non_exhaustive()
    }
}

impl CredentialEnv {
    /// Reads the variables of this process. Empty values count as unset.
    pub fn from_process() -> CredentialEnv {
        let text = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        CredentialEnv {
            hoist_token: text("HOIST_TOKEN"),
            cpln_token: text("CPLN_TOKEN"),
            docker_auth_config: text("DOCKER_AUTH_CONFIG"),
            docker_config_dir: path("DOCKER_CONFIG"),
            home: path("HOME"),
            registry_auth_file: path("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: path("XDG_RUNTIME_DIR"),
            path: std::env::var_os("PATH"),
        }
    }

    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: read by builds, written by `login`.
    pub fn docker_config_path(&self) -> Option<PathBuf> {
        match (&self.docker_config_dir, &self.home) {
            (Some(dir), _) => Some(dir.join("config.json")),
            (None, Some(home)) => Some(home.join(".docker").join("config.json")),
            (None, None) => None,
        }
    }

    /// `REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (podman, buildah, skopeo).
    pub fn auth_file_path(&self) -> Option<PathBuf> {
        match (&self.registry_auth_file, &self.xdg_runtime_dir) {
            (Some(file), _) => Some(file.clone()),
            (None, Some(dir)) => Some(dir.join("containers").join("auth.json")),
            (None, None) => None,
        }
    }
}

/// Finds the credentials for a registry, in the order of the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Resolver {
    pub env: CredentialEnv,
    /// Registry names images are pushed to: the only ones `HOIST_TOKEN` goes to.
    pub destinations: Vec<String>,
}

impl Resolver {
    /// The credentials for `repository` on `registry` (a registry name as in references), given an
    /// explicit `login` for that registry, if any. `Ok(None)` means anonymous.
    pub async fn resolve(
        &self,
        registry: &str,
        repository: &str,
        login: Option<&Credentials>,
    ) -> Result<Option<Found>, CredentialError> {
        let registry = canonical_registry(registry);
        let found = |credentials: Credentials, origin: Origin| {
            Ok(Some(Found {
                credentials,
                origin,
            }))
        };
        if let Some(c) = login {
            return found(c.clone(), Origin::Login);
        }
        if let Some(key) = &self.env.hoist_token
            && self
                .destinations
                .iter()
                .any(|d| canonical_registry(d) == registry)
        {
            return found(Credentials::password(TOKEN_USER, key), Origin::HoistToken);
        }
        if let Some(key) = &self.env.cpln_token
            && is_control_plane(&registry)
        {
            return found(Credentials::password(TOKEN_USER, key), Origin::CplnToken);
        }
        if let Some(text) = &self.env.docker_auth_config {
            let config = docker_config::DockerConfig::parse(text, "`DOCKER_AUTH_CONFIG`")?;
            if let Some(f) = self
                .ask_docker_config(&config, &registry, Origin::DockerAuthConfig)
                .await?
            {
                return Ok(Some(f));
            }
        }
        if let Some(path) = self.env.docker_config_path()
            && let Some(text) = read_if_exists(&path)?
        {
            let config =
                docker_config::DockerConfig::parse(&text, &format!("`{}`", path.display()))?;
            if let Some(f) = self
                .ask_docker_config(&config, &registry, Origin::DockerConfig(path))
                .await?
            {
                return Ok(Some(f));
            }
        }
        if let Some(path) = self.env.auth_file_path()
            && let Some(text) = read_if_exists(&path)?
        {
            let what = format!("`{}`", path.display());
            if let Some(c) = auth_file::lookup(&text, &what, &registry, repository)? {
                return found(c, Origin::AuthFile(path));
            }
        }
        Ok(None)
    }

    async fn ask_docker_config(
        &self,
        config: &docker_config::DockerConfig,
        registry: &str,
        origin: Origin,
    ) -> Result<Option<Found>, CredentialError> {
        match config.lookup(registry)? {
            docker_config::Lookup::Credentials(credentials) => Ok(Some(Found {
                credentials,
                origin,
            })),
            docker_config::Lookup::Helper(name) => {
                let server = docker_config::server_url(registry);
                let got = helper::get(self.env.path.as_deref(), &name, &server).await?;
                Ok(got.map(|credentials| Found {
                    credentials,
                    origin: Origin::Helper(name),
                }))
            }
            docker_config::Lookup::Missing => Ok(None),
        }
    }
}

/// A registry name as credential stores are matched against it: lowercase, Docker Hub's aliases
/// folded into `docker.io`.
pub fn canonical_registry(registry: &str) -> String {
    let lower = registry.to_ascii_lowercase();
    if is_docker_hub(&lower) {
        DOCKER_HUB.to_string()
    } else {
        lower
    }
}

/// Control Plane's registries: `ORG.registry.cpln.io` (any port).
pub fn is_control_plane(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    host.to_ascii_lowercase().ends_with(".registry.cpln.io")
}

fn read_if_exists(path: &std::path::Path) -> Result<Option<String>, CredentialError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CredentialError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Failures to find or store credentials. None of these carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{what} cannot be read as a registry auth file: {reason}\nhint: fix it, or remove it to log in again"
    )]
    Malformed { what: String, reason: String },
    #[error(
        "the credential helper `{program}` is not on PATH\nhint: install it, or remove it from `credHelpers`/`credsStore` of Docker's `config.json` (or `DOCKER_AUTH_CONFIG`)"
    )]
    HelperMissing { program: String },
    #[error(
        "the credential helper `{program}` failed to {verb} credentials for `{server}`: {reason}"
    )]
    Helper {
        program: String,
        verb: &'static str,
        server: String,
        reason: String,
    },
    #[error(
        "the credential helper `{program}` did not answer `{verb}` for `{server}` within {seconds} s\nhint: a helper that asks for a password interactively cannot work here; check `{program} {verb}` by hand"
    )]
    HelperTimeout {
        program: String,
        verb: &'static str,
        server: String,
        seconds: u64,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no place for Docker's `config.json`: neither `DOCKER_CONFIG` nor `HOME` is set\nhint: set `DOCKER_CONFIG` to a directory"
    )]
    NoConfigDir,
}

#[cfg(test)]
mod tests;
