//! Validated requests: every reference, platform, path and `KEY=VALUE` parsed once, here, with an error
//! that names the flag and the value. What leaves this module is never a bare string that still needs
//! checking.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::args::{BuildArgs, ProgressArg, RegistryArgs, RegistryTlsArgs, SandboxArg};
use super::login::{self, Login, LoginError};
use super::secret::{self, SecretSource};
use crate::image::naming::{Naming, NamingError};
use crate::image::{Platform, Reference};

/// A build, fully validated.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub names: Vec<Reference>,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    /// The first of `platforms`.
    pub platform: Platform,
    /// Every platform asked for, in order, without duplicates (one image each; an index when several).
    pub platforms: Vec<Platform>,
    pub push: bool,
    pub outputs: Vec<Output>,
    pub build_args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    pub registries: Registries,
    pub digest_file: Option<PathBuf>,
    pub progress: ProgressMode,
    pub creation_time: CreationTime,
    pub cache_dir: PathBuf,
    pub compression_level: u32,
    /// Binaries built for another platform are reported as warnings instead of failing the build.
    pub allow_arch_mismatch: bool,
    /// Secrets RUN steps may mount, each id once: names and paths only, never values.
    pub secrets: Vec<SecretSource>,
    /// Run every RUN step again instead of reusing a cached result.
    pub no_cache: bool,
    /// Registry repository for RUN step results. Given without tag or digest; the `latest` a
    /// [`Reference`] always carries means nothing here (results are tagged by their cache key).
    pub cache_repo: Option<Reference>,
    /// Where RUN steps execute.
    pub sandbox: Sandbox,
    /// `--sandbox in-container` may run where no container is detected (only with `InContainer`).
    pub force_in_container: bool,
    /// `--username` + `--password-stdin`: the login for the destination registry.
    pub login: Option<Login>,
    /// Set when the build has no Dockerfile: the app is built with buildpacks.
    pub buildpacks: Option<BuildpackRequest>,
}

/// A build without a Dockerfile (`--builder`, `--run-image`, `--buildpack`, `--env`, `--cnb-dir`).
#[derive(Clone, Debug, Default)]
pub struct BuildpackRequest {
    pub builder: Option<Reference>,
    pub run_image: Option<Reference>,
    /// `--buildpack` ids as given (`hoist/nodejs` or `nodejs`), in order; empty: detect.
    pub buildpacks: Vec<String>,
    /// `--env` and `--env-file` values, in order (a later one replaces an earlier one).
    pub env: Vec<(String, String)>,
    /// `--cnb-dir`, else `HOIST_CNB_DIR`; `None`: beside the executable.
    pub cnb_dir: Option<PathBuf>,
    /// The per-language image config file (see `frontend::buildpacks::images`).
    pub images_config: Option<PathBuf>,
}

/// How registries are reached when images are pulled or pushed: TLS per host, and mirrors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registries {
    pub tls: RegistryTls,
    /// `(source, mirror)`: `--registry-mirror`.
    pub mirrors: Vec<(String, String)>,
}

impl Registries {
    pub fn from_args(args: &RegistryArgs) -> Result<Registries, RequestError> {
        Ok(Registries {
            tls: RegistryTls::from_args(&args.tls)?,
            mirrors: mirrors(&args.registry_mirrors)?,
        })
    }
}

/// Whether registries' TLS is used and verified, and how it is answered, per host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryTls {
    /// Hosts reached over plain HTTP or unverified TLS (`--insecure-registry`).
    pub insecure: Vec<String>,
    /// `(host, CA file)`: verified HTTPS with these extra roots (`--registry-certificate`).
    pub certificates: Vec<(String, PathBuf)>,
    /// `(host, certificate, key)`: mutual TLS (`--registry-client-cert`).
    pub client_certificates: Vec<(String, PathBuf, PathBuf)>,
}

impl RegistryTls {
    pub fn from_args(args: &RegistryTlsArgs) -> Result<RegistryTls, RequestError> {
        let certificates = args
            .registry_certificates
            .iter()
            .map(|v| match v.split_once('=') {
                Some((host, file)) if !host.is_empty() && !file.is_empty() => {
                    Ok((host.to_string(), PathBuf::from(file)))
                }
                _ => Err(RequestError::RegistryCertificate(v.clone())),
            })
            .collect::<Result<_, _>>()?;
        let client_certificates = args
            .registry_client_certs
            .iter()
            .map(|v| {
                let (host, files) = v
                    .split_once('=')
                    .ok_or_else(|| RequestError::RegistryClientCert(v.clone()))?;
                match files.split_once(',') {
                    Some((cert, key))
                        if !host.is_empty() && !cert.is_empty() && !key.is_empty() =>
                    {
                        Ok((host.to_string(), PathBuf::from(cert), PathBuf::from(key)))
                    }
                    _ => Err(RequestError::RegistryClientCert(v.clone())),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(RegistryTls {
            insecure: args.insecure_registries.clone(),
            certificates,
            client_certificates,
        })
    }
}

/// `--sandbox`: where RUN steps execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// hoist picks for the machine; today that is always `Rootless`.
    Auto,
    /// A user namespace per step over the stage's filesystem, without privileges.
    Rootless,
    /// kaniko-style: steps run directly in the current container's root filesystem.
    InContainer,
}

impl From<SandboxArg> for Sandbox {
    fn from(arg: SandboxArg) -> Sandbox {
        match arg {
            SandboxArg::Auto => Sandbox::Auto,
            SandboxArg::Rootless => Sandbox::Rootless,
            SandboxArg::InContainer => Sandbox::InContainer,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    OciLayout(PathBuf),
    DockerArchive(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    Plain,
    Json,
}

impl From<ProgressArg> for ProgressMode {
    fn from(arg: ProgressArg) -> ProgressMode {
        match arg {
            ProgressArg::Auto => ProgressMode::Auto,
            ProgressArg::Plain => ProgressMode::Plain,
            ProgressArg::Json => ProgressMode::Json,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreationTime {
    /// Seconds since the Unix epoch (SOURCE_DATE_EPOCH, or 0).
    Epoch(i64),
    Now,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("--name `{value}`: {source}")]
    Name { value: String, source: NamingError },
    #[error(transparent)]
    Org(NamingError),
    #[error(
        "--registry-certificate `{0}` is not HOST=CA.pem\nhint: write e.g. `--registry-certificate registry.example.com:5000=/etc/ssl/registry-ca.pem`"
    )]
    RegistryCertificate(String),
    #[error(
        "--registry-client-cert `{0}` is not HOST=CERT.pem,KEY.pem\nhint: write e.g. `--registry-client-cert registry.example.com:5000=/etc/ssl/client.pem,/etc/ssl/client.key` (the certificate and its private key, PEM)"
    )]
    RegistryClientCert(String),
    #[error("--platform `{value}`: {source}")]
    Platform {
        value: String,
        source: crate::image::platform::PlatformError,
    },
    #[error(
        "--push needs at least one --name to push to\nhint: add `--name REGISTRY/REPOSITORY:TAG`"
    )]
    PushWithoutName,
    #[error(
        "--output `{0}` is not an output\nhint: write `oci:DIR` for an OCI image layout or `docker-archive:FILE` for a tarball `docker load` reads"
    )]
    Output(String),
    #[error("{flag} `{value}` is not KEY=VALUE\nhint: write `{flag} KEY=VALUE`")]
    KeyValue { flag: &'static str, value: String },
    #[error(
        "--registry-mirror `{0}` is not SOURCE=MIRROR\nhint: write `--registry-mirror docker.io=127.0.0.1:5000`"
    )]
    Mirror(String),
    #[error("the build context `{}` is not a directory\nhint: pass the directory holding your sources with `--dir`", .0.display())]
    Context(PathBuf),
    #[error("the Dockerfile `{}` does not exist\nhint: pass its path with `--dockerfile`, or add a Dockerfile to `{}`", .0.display(), .1.display())]
    Dockerfile(PathBuf, PathBuf),
    #[error(
        "{flag} is for builds without a Dockerfile, and `{}` exists\nhint: remove {flag}, or build without the Dockerfile (move it away) to use buildpacks", .dockerfile.display()
    )]
    BuildpackFlagWithDockerfile {
        flag: &'static str,
        dockerfile: PathBuf,
    },
    #[error("{flag} `{value}`: {source}")]
    Image {
        flag: &'static str,
        value: String,
        source: crate::image::reference::ReferenceError,
    },
    #[error("--env-file `{}`{}: {problem}\nhint: write one KEY=VALUE a line; `#` starts a comment", .file.display(), if *.line > 0 { format!(" line {}", .line) } else { String::new() })]
    EnvFile {
        file: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("--creation-time `{0}` is not `epoch` or `now`")]
    CreationTime(String),
    #[error("SOURCE_DATE_EPOCH `{0}` is not a number of seconds")]
    SourceDateEpoch(String),
    #[error("no cache directory: set HOIST_CACHE_DIR or HOME, or pass --cache-dir")]
    NoCacheDir,
    #[error(
        "--secret `{value}`: {problem}\nhint: write `--secret id=ID,src=FILE` or `--secret id=ID,env=VARIABLE`"
    )]
    Secret { value: String, problem: String },
    #[error(
        "--secret id `{0}` is given twice\nhint: a Dockerfile mounts a secret by its id; give each id one `--secret`"
    )]
    DuplicateSecret(String),
    #[error("--cache-repo `{value}`: {source}")]
    CacheRepo { value: String, source: NamingError },
    #[error(
        "--cache-repo `{0}` has a tag or digest\nhint: give only the repository, like `registry.example.com/team/app-cache`: hoist tags every step result itself"
    )]
    CacheRepoTag(String),
    #[error(
        "--force-in-container applies only to `--sandbox in-container`\nhint: add `--sandbox in-container`, or drop `--force-in-container`"
    )]
    ForceInContainer,
    #[error("--password-stdin: {0}")]
    Password(LoginError),
    #[error(
        "--password-stdin gives the password of the destination registry, and this build has none\nhint: add `--name REGISTRY/REPOSITORY:TAG` (or `--cache-repo`); for the registry of a base image use `hoist login`"
    )]
    LoginWithoutDestination,
    #[error(
        "--password-stdin gives the password of one registry, and this build pushes to several: {}\nhint: push to one registry per build, or log in to each with `hoist login HOST --password-stdin`",
        .0.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
    )]
    LoginDestinations(Vec<String>),
}

/// What the request reads from the environment, passed in so that tests do not touch the process's.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub source_date_epoch: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// Names of the environment variables that are set (`--secret id=ID` reads the variable ID if it
    /// is); never their values.
    pub set_vars: BTreeSet<String>,
    /// `HOIST_CNB_DIR`.
    pub cnb_dir: Option<PathBuf>,
    /// `HOIST_BUILDPACKS_CONFIG`.
    pub buildpacks_config: Option<PathBuf>,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// `CPLN_ORG`: the org of `//image/` links without `--org`.
    pub cpln_org: Option<String>,
    /// `HOIST_ORG_REGISTRY`: the org registry template.
    pub org_registry: Option<String>,
}

fn non_empty_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

impl Environment {
    /// How names are read with `--org` (when given) and this environment.
    pub fn naming(&self, org: Option<String>) -> Result<Naming, NamingError> {
        Naming::new(org, self.cpln_org.clone(), self.org_registry.clone())
    }

    pub fn from_process() -> Environment {
        Environment {
            source_date_epoch: std::env::var("SOURCE_DATE_EPOCH")
                .ok()
                .filter(|s| !s.is_empty()),
            cache_dir: std::env::var_os("HOIST_CACHE_DIR")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            home: std::env::var_os("HOME")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            set_vars: std::env::vars_os()
                .map(|(name, _)| name.to_string_lossy().into_owned())
                .collect(),
            cnb_dir: non_empty_var("HOIST_CNB_DIR"),
            buildpacks_config: non_empty_var("HOIST_BUILDPACKS_CONFIG"),
            xdg_config_home: non_empty_var("XDG_CONFIG_HOME"),
            cpln_org: std::env::var("CPLN_ORG").ok().filter(|s| !s.is_empty()),
            org_registry: std::env::var("HOIST_ORG_REGISTRY")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

impl BuildRequest {
    /// Validates `args`; with `--password-stdin`, the password is all of `stdin`.
    pub fn from_args(
        args: BuildArgs,
        env: &Environment,
        stdin: &mut dyn std::io::Read,
    ) -> Result<BuildRequest, RequestError> {
        let naming = env
            .naming(args.naming.org.clone())
            .map_err(RequestError::Org)?;
        let names = args
            .names
            .iter()
            .map(|n| {
                naming.parse(n).map_err(|source| RequestError::Name {
                    value: n.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<Reference>, _>>()?;
        let mut platforms: Vec<Platform> = Vec::new();
        for value in args
            .platform
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            let platform: Platform = value.parse().map_err(|source| RequestError::Platform {
                value: value.to_string(),
                source,
            })?;
            if !platforms.contains(&platform) {
                platforms.push(platform);
            }
        }
        let platform = match platforms.first() {
            Some(p) => p.clone(),
            None => {
                return Err(RequestError::Platform {
                    value: args.platform.clone(),
                    source: "".parse::<Platform>().unwrap_err(),
                });
            }
        };
        if args.push && names.is_empty() {
            return Err(RequestError::PushWithoutName);
        }
        let mut outputs = args
            .outputs
            .iter()
            .map(|o| parse_output(o))
            .collect::<Result<Vec<_>, _>>()?;
        outputs.extend(args.oci_layout_path.clone().map(Output::OciLayout));
        outputs.extend(args.tar_path.clone().map(Output::DockerArchive));

        if !args.dir.is_dir() {
            return Err(RequestError::Context(args.dir));
        }
        let explicit = args.dockerfile.is_some();
        let dockerfile = args
            .dockerfile
            .clone()
            .unwrap_or_else(|| args.dir.join("Dockerfile"));
        let buildpacks = if dockerfile.is_file() {
            if let Some(flag) = buildpack_flag(&args) {
                return Err(RequestError::BuildpackFlagWithDockerfile { flag, dockerfile });
            }
            None
        } else if explicit {
            return Err(RequestError::Dockerfile(dockerfile, args.dir));
        } else {
            Some(buildpack_request(&args, env)?)
        };
        let build_args = args
            .build_args
            .iter()
            .map(|a| match a.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok((k.to_string(), Some(v.to_string()))),
                None if !a.is_empty() => Ok((a.clone(), None)),
                _ => Err(RequestError::KeyValue {
                    flag: "--build-arg",
                    value: a.clone(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let labels = args
            .labels
            .iter()
            .map(|l| key_value("--label", l))
            .collect::<Result<Vec<_>, _>>()?;
        let epoch = match &env.source_date_epoch {
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| RequestError::SourceDateEpoch(s.clone()))?,
            None => 0,
        };
        let creation_time = match args.creation_time.as_str() {
            "epoch" => CreationTime::Epoch(epoch),
            "now" => CreationTime::Now,
            other => return Err(RequestError::CreationTime(other.to_string())),
        };
        let cache_dir = cache_dir(args.cache_dir, env)?;
        let mut secrets: Vec<SecretSource> = Vec::new();
        for value in &args.secrets {
            let s = secret::parse(value, &env.set_vars).map_err(|e| RequestError::Secret {
                value: value.clone(),
                problem: e.0,
            })?;
            if secrets.iter().any(|other| other.id == s.id) {
                return Err(RequestError::DuplicateSecret(s.id));
            }
            secrets.push(s);
        }
        let cache_repo = args
            .cache_repo
            .as_deref()
            .map(|value| cache_repo(value, &naming))
            .transpose()?;
        let sandbox = Sandbox::from(args.sandbox);
        if args.force_in_container && sandbox != Sandbox::InContainer {
            return Err(RequestError::ForceInContainer);
        }
        let destinations = destinations(&names, cache_repo.as_ref());
        let login = if args.password_stdin {
            let registry = match destinations.as_slice() {
                [] => return Err(RequestError::LoginWithoutDestination),
                [one] => one.clone(),
                several => return Err(RequestError::LoginDestinations(several.to_vec())),
            };
            let username =
                login::username(args.username.as_deref()).map_err(RequestError::Password)?;
            let password = login::read_password(stdin, "build").map_err(RequestError::Password)?;
            Some(Login {
                registry,
                username,
                password,
            })
        } else {
            None
        };
        Ok(BuildRequest {
            names,
            context: args.dir,
            dockerfile,
            platform,
            platforms,
            push: args.push,
            outputs,
            build_args,
            target: args.target,
            labels,
            registries: Registries::from_args(&args.registries)?,
            digest_file: args.digest_file,
            progress: args.progress.into(),
            creation_time,
            cache_dir,
            compression_level: args.compression_level,
            allow_arch_mismatch: args.allow_arch_mismatch,
            secrets,
            no_cache: args.no_cache,
            cache_repo,
            sandbox,
            force_in_container: args.force_in_container,
            login,
            buildpacks,
        })
    }

    /// The registries this build pushes to (`--name`, `--cache-repo`), each once: the only ones
    /// `--password-stdin` and `HOIST_TOKEN` are sent to.
    pub fn destinations(&self) -> Vec<String> {
        destinations(&self.names, self.cache_repo.as_ref())
    }

    /// Seconds since the epoch for timestamps inside layers (always reproducible).
    pub fn epoch(&self) -> i64 {
        match self.creation_time {
            CreationTime::Epoch(e) => e,
            CreationTime::Now => 0,
        }
    }
}

fn destinations(names: &[Reference], cache_repo: Option<&Reference>) -> Vec<String> {
    let mut registries: Vec<String> = Vec::new();
    for r in names.iter().chain(cache_repo) {
        if !registries.iter().any(|known| known == r.registry()) {
            registries.push(r.registry().to_string());
        }
    }
    registries
}

fn parse_output(value: &str) -> Result<Output, RequestError> {
    let path = |p: &str| (!p.is_empty()).then(|| Path::new(p).to_path_buf());
    match value.split_once(':') {
        Some(("oci", p)) => path(p).map(Output::OciLayout),
        Some(("docker-archive", p)) => path(p).map(Output::DockerArchive),
        _ => None,
    }
    .ok_or_else(|| RequestError::Output(value.to_string()))
}

/// `--registry-mirror` values: `SOURCE=MIRROR`, or a bare `MIRROR` for docker.io (kaniko's form).
fn mirrors(values: &[String]) -> Result<Vec<(String, String)>, RequestError> {
    values
        .iter()
        .map(|m| match m.split_once('=') {
            Some((src, dst)) if !src.is_empty() && !dst.is_empty() => {
                Ok((src.to_string(), dst.to_string()))
            }
            None if !m.is_empty() => Ok(("docker.io".to_string(), m.clone())),
            _ => Err(RequestError::Mirror(m.clone())),
        })
        .collect()
}

/// `--cache-dir`, else `HOIST_CACHE_DIR`, else `~/.cache/hoist`.
pub(super) fn cache_dir(flag: Option<PathBuf>, env: &Environment) -> Result<PathBuf, RequestError> {
    match (flag, &env.cache_dir, &env.home) {
        (Some(dir), _, _) => Ok(dir),
        (None, Some(dir), _) => Ok(dir.clone()),
        (None, None, Some(home)) => Ok(home.join(".cache").join("hoist")),
        (None, None, None) => Err(RequestError::NoCacheDir),
    }
}

/// `--cache-repo`: a repository; a tag (a `:` after the last `/`) or a digest is an error.
fn cache_repo(value: &str, naming: &Naming) -> Result<Reference, RequestError> {
    let reference: Reference = naming
        .parse(value)
        .map_err(|source| RequestError::CacheRepo {
            value: value.to_string(),
            source,
        })?;
    let last = value.rsplit('/').next().unwrap_or(value);
    if reference.digest().is_some() || last.contains(':') {
        return Err(RequestError::CacheRepoTag(value.to_string()));
    }
    Ok(reference)
}

/// The first buildpack-only flag given, for the error when a Dockerfile is there too.
fn buildpack_flag(args: &BuildArgs) -> Option<&'static str> {
    [
        (args.builder.is_some(), "--builder"),
        (args.run_image.is_some(), "--run-image"),
        (!args.buildpacks.is_empty(), "--buildpack"),
        (!args.env.is_empty(), "--env"),
        (!args.env_file.is_empty(), "--env-file"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

fn buildpack_request(
    args: &BuildArgs,
    env: &Environment,
) -> Result<BuildpackRequest, RequestError> {
    let image = |flag: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| {
                v.parse::<Reference>()
                    .map_err(|source| RequestError::Image {
                        flag,
                        value: v.to_string(),
                        source,
                    })
            })
            .transpose()
    };
    let mut vars: Vec<(String, String)> = Vec::new();
    for file in &args.env_file {
        let text = std::fs::read_to_string(file).map_err(|e| RequestError::EnvFile {
            file: file.clone(),
            line: 0,
            problem: e.to_string(),
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .strip_prefix("export ")
                .unwrap_or(line)
                .split_once('=')
                .filter(|(k, _)| valid_env_name(k))
                .ok_or_else(|| RequestError::EnvFile {
                    file: file.clone(),
                    line: n + 1,
                    problem: "is not KEY=VALUE".into(),
                })?;
            vars.push((k.to_string(), v.to_string()));
        }
    }
    for value in &args.env {
        let (k, v) = key_value("--env", value)?;
        if !valid_env_name(&k) {
            return Err(RequestError::KeyValue {
                flag: "--env",
                value: value.clone(),
            });
        }
        vars.push((k, v));
    }
    // A later value replaces an earlier one, in the earlier one's place.
    let mut env_vars: Vec<(String, String)> = Vec::new();
    for (k, v) in vars {
        match env_vars.iter_mut().find(|(name, _)| *name == k) {
            Some(slot) => slot.1 = v,
            None => env_vars.push((k, v)),
        }
    }
    Ok(BuildpackRequest {
        builder: image("--builder", &args.builder)?,
        run_image: image("--run-image", &args.run_image)?,
        buildpacks: args.buildpacks.clone(),
        env: env_vars,
        cnb_dir: args.cnb_dir.clone().or_else(|| env.cnb_dir.clone()),
        // `$HOIST_BUILDPACKS_CONFIG`, else `$XDG_CONFIG_HOME/hoist/buildpacks.toml`, else
        // `~/.config/hoist/buildpacks.toml`.
        images_config: env
            .buildpacks_config
            .clone()
            .or_else(|| {
                env.xdg_config_home
                    .as_ref()
                    .map(|d| d.join("hoist/buildpacks.toml"))
            })
            .or_else(|| {
                env.home
                    .as_ref()
                    .map(|h| h.join(".config/hoist/buildpacks.toml"))
            }),
    })
}

/// A name a file under /platform/env can carry: letters, digits and `_`, not starting with a digit.
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn key_value(flag: &'static str, value: &str) -> Result<(String, String), RequestError> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(RequestError::KeyValue {
            flag,
            value: value.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::secret::SecretFrom;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn request(extra: &[&str]) -> Result<BuildRequest, RequestError> {
        request_in(extra, &[("Dockerfile", "FROM scratch\n")])
    }

    /// `hoist build` on a context holding `files`: without a Dockerfile, a buildpack build.
    fn request_in(extra: &[&str], files: &[(&str, &str)]) -> Result<BuildRequest, RequestError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut argv = vec!["hoist", "build", "--dir", dir.path().to_str().unwrap()];
        argv.extend_from_slice(extra);
        let Command::Build(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("`hoist build` parses as `Command::Build`")
        };
        let env = Environment {
            home: Some("/home/u".into()),
            set_vars: BTreeSet::from(["GH_TOKEN".to_string()]),
            cnb_dir: Some("/opt/cnb".into()),
            ..Default::default()
        };
        BuildRequest::from_args(args, &env, &mut "k3y\n".as_bytes())
    }

    fn error(extra: &[&str]) -> String {
        request(extra).unwrap_err().to_string()
    }

    #[test]
    fn without_a_dockerfile_the_build_uses_buildpacks_with_their_flags() {
        let r = request_in(
            &[
                "-B",
                "b:1",
                "--run-image",
                "r:1",
                "-b",
                "nodejs",
                "-e",
                "A=1",
                "--env",
                "A=2",
            ],
            &[],
        )
        .unwrap();
        let bp = r.buildpacks.unwrap();
        assert_eq!(bp.builder.unwrap().to_string(), "docker.io/library/b:1");
        assert_eq!(bp.run_image.unwrap().to_string(), "docker.io/library/r:1");
        assert_eq!(bp.buildpacks, ["nodejs"]);
        assert_eq!(
            bp.env,
            [("A".to_string(), "2".to_string())],
            "the later value wins"
        );
        assert_eq!(bp.cnb_dir, Some(PathBuf::from("/opt/cnb")), "HOIST_CNB_DIR");
        assert_eq!(
            bp.images_config,
            Some(PathBuf::from("/home/u/.config/hoist/buildpacks.toml"))
        );

        let err = request(&["--builder", "b:1"]).unwrap_err().to_string();
        assert!(
            err.contains("--builder is for builds without a Dockerfile"),
            "{err}"
        );
        let err = request_in(&["--dockerfile", "nope"], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        let err = request_in(&["--env", "1X=2"], &[]).unwrap_err().to_string();
        assert!(err.contains("--env"), "{err}");
    }

    #[test]
    fn env_files_are_key_value_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("build.env");
        std::fs::write(&file, "# comment\n\nexport A=1\nB=x=y\n").unwrap();
        let r = request_in(&["--env-file", file.to_str().unwrap(), "--env", "A=3"], &[]).unwrap();
        assert_eq!(
            r.buildpacks.unwrap().env,
            [
                ("A".to_string(), "3".to_string()),
                ("B".to_string(), "x=y".to_string())
            ]
        );
        std::fs::write(&file, "A=1\nnot a pair\n").unwrap();
        let err = request_in(&["--env-file", file.to_str().unwrap()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn names_may_be_control_plane_links() {
        let r = request(&["--name", "//image/app:v1", "--org", "acme"]).unwrap();
        assert_eq!(r.names[0].to_string(), "acme.registry.cpln.io/app:v1");
        let r = request(&["--name", "web:v2", "--org", "acme"]).unwrap();
        assert_eq!(r.names[0].to_string(), "acme.registry.cpln.io/web:v2");
        let r = request(&[
            "--name",
            "//image/app:v1",
            "--org",
            "acme",
            "--cache-repo",
            "//image/cache",
        ])
        .unwrap();
        assert_eq!(r.cache_repo.unwrap().name(), "acme.registry.cpln.io/cache");
        let err = error(&["--name", "//image/app:v1"]);
        assert!(err.starts_with("--name `//image/app:v1`: "), "{err}");
        assert!(err.contains("no org was given"), "{err}");
    }

    #[test]
    fn parses_outputs_names_and_defaults() {
        let r = request(&["--name", "app:v1", "-o", "oci:out", "--tar-path", "a.tar"]).unwrap();
        assert_eq!(r.names[0].to_string(), "docker.io/library/app:v1");
        assert_eq!(
            r.outputs,
            vec![
                Output::OciLayout("out".into()),
                Output::DockerArchive("a.tar".into())
            ]
        );
        assert_eq!(r.platform, Platform::linux_amd64());
        assert_eq!(r.cache_dir, PathBuf::from("/home/u/.cache/hoist"));
        assert_eq!(r.creation_time, CreationTime::Epoch(0));
    }

    #[test]
    fn errors_name_the_flag() {
        assert!(
            request(&["--push"])
                .unwrap_err()
                .to_string()
                .contains("--push needs")
        );
        assert!(
            request(&["--name", "Bad/Name"])
                .unwrap_err()
                .to_string()
                .contains("--name `Bad/Name`")
        );
        assert!(
            request(&["-o", "tar:x"])
                .unwrap_err()
                .to_string()
                .contains("--output `tar:x`")
        );
        assert!(
            request(&["--label", "novalue"])
                .unwrap_err()
                .to_string()
                .contains("--label `novalue`")
        );
        assert!(
            request(&["--platform", "amd64"])
                .unwrap_err()
                .to_string()
                .contains("--platform `amd64`")
        );
    }

    #[test]
    fn registry_tls_flags_per_host() {
        let r = request(&[
            "--registry-certificate",
            "reg.lan:5000=/etc/ca.pem",
            "--registry-client-cert",
            "reg.lan:5000=/etc/client.pem,/etc/client.key",
        ])
        .unwrap();
        assert_eq!(
            r.registries.tls,
            RegistryTls {
                insecure: Vec::new(),
                certificates: vec![("reg.lan:5000".into(), "/etc/ca.pem".into())],
                client_certificates: vec![(
                    "reg.lan:5000".into(),
                    "/etc/client.pem".into(),
                    "/etc/client.key".into()
                )],
            }
        );
        for bad in [
            "reg.lan=/only.pem",
            "reg.lan",
            "=a.pem,a.key",
            "reg.lan=a.pem,",
        ] {
            let err = error(&["--registry-client-cert", bad]);
            assert!(
                err.starts_with(&format!("--registry-client-cert `{bad}`")),
                "{err}"
            );
            assert!(err.contains("HOST=CERT.pem,KEY.pem"), "{err}");
        }
    }

    #[test]
    fn run_step_flags_default_off() {
        let r = request(&[]).unwrap();
        assert_eq!(
            (
                r.secrets.len(),
                r.no_cache,
                r.cache_repo.is_none(),
                r.sandbox,
                r.force_in_container
            ),
            (0, false, true, Sandbox::Auto, false)
        );
    }

    #[test]
    fn secrets_keep_names_and_paths_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("npmrc");
        std::fs::write(&file, "s3cr3t-value").unwrap();
        let src = format!("id=npm,src={}", file.display());
        let r = request(&[
            "--secret",
            &src,
            "--secret",
            "id=GH_TOKEN",
            "--secret",
            "id=k,env=KEY",
        ])
        .unwrap();
        assert_eq!(
            r.secrets,
            vec![
                SecretSource {
                    id: "npm".into(),
                    source: SecretFrom::File(file.clone())
                },
                SecretSource {
                    id: "GH_TOKEN".into(),
                    source: SecretFrom::Env("GH_TOKEN".into())
                },
                SecretSource {
                    id: "k".into(),
                    source: SecretFrom::Env("KEY".into())
                },
            ]
        );
        // Nothing was read: the request cannot show a value.
        assert!(!format!("{r:?}").contains("s3cr3t"));
    }

    #[test]
    fn secret_errors_name_the_flag() {
        assert_eq!(
            error(&["--secret", "src=f"]),
            "--secret `src=f`: `id=` is missing\nhint: write `--secret id=ID,src=FILE` or `--secret id=ID,env=VARIABLE`"
        );
        assert!(
            error(&["--secret", "id=a,path=f"])
                .starts_with("--secret `id=a,path=f`: unknown key `path`")
        );
        assert!(
            error(&["--secret", "id=a,src=f", "--secret", "id=a,env=A"])
                .starts_with("--secret id `a` is given twice")
        );
    }

    #[test]
    fn cache_repo_is_a_repository() {
        let r = request(&["--cache-repo", "127.0.0.1:5000/team/cache", "--no-cache"]).unwrap();
        assert_eq!(
            r.cache_repo.map(|c| c.name()),
            Some("127.0.0.1:5000/team/cache".to_string())
        );
        assert!(r.no_cache);
        assert!(
            error(&["--cache-repo", "registry.example.com/cache:v1"])
                .starts_with("--cache-repo `registry.example.com/cache:v1` has a tag or digest")
        );
        let digest = format!("r.example.com/cache@sha256:{}", "a".repeat(64));
        assert!(error(&["--cache-repo", &digest]).contains("has a tag or digest"));
        assert!(error(&["--cache-repo", "Cache"]).starts_with("--cache-repo `Cache`: "));
    }

    #[test]
    fn sandbox_modes_and_force() {
        assert_eq!(
            request(&["--sandbox", "rootless"]).unwrap().sandbox,
            Sandbox::Rootless
        );
        let r = request(&["--sandbox", "in-container", "--force-in-container"]).unwrap();
        assert_eq!(
            (r.sandbox, r.force_in_container),
            (Sandbox::InContainer, true)
        );
        assert!(
            error(&["--force-in-container"])
                .starts_with("--force-in-container applies only to `--sandbox in-container`")
        );
    }

    #[test]
    fn password_stdin_is_for_the_one_destination() {
        let r = request(&["--name", "reg.example/app:v1", "--password-stdin"]).unwrap();
        let login = r.login.unwrap();
        assert_eq!(
            (
                login.registry.as_str(),
                login.username.as_str(),
                login.password.expose()
            ),
            ("reg.example", "<token>", "k3y")
        );
        let r = request(&[
            "--name",
            "reg.example/app:v1",
            "--name",
            "reg.example/app:v2",
            "--cache-repo",
            "reg.example/cache",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .unwrap();
        assert_eq!(r.login.as_ref().unwrap().username, "bob");
        assert_eq!(r.destinations(), vec!["reg.example".to_string()]);
        assert!(!format!("{r:?}").contains("k3y"));
        assert!(request(&["--name", "app:v1"]).unwrap().login.is_none());
        assert!(
            error(&["--password-stdin"])
                .starts_with("--password-stdin gives the password of the destination registry")
        );
        let err = error(&["-n", "a.example/x", "-n", "b.example/x", "--password-stdin"]);
        assert!(err.contains("`a.example`, `b.example`"), "{err}");
        // --username needs --password-stdin (clap).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let argv = [
            "hoist",
            "build",
            "--dir",
            dir.path().to_str().unwrap(),
            "--username",
            "u",
        ];
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
