//! Validated requests: every reference, platform, path and `KEY=VALUE` parsed once, here, with an error
//! that names the flag and the value. What leaves this module is never a bare string that still needs
//! checking.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::args::{BuildArgs, ProgressArg, SandboxArg};
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
    pub insecure_registries: Vec<String>,
    /// `(host, CA file)`: verified HTTPS with these extra roots (`--registry-certificate`).
    pub registry_certificates: Vec<(String, PathBuf)>,
    pub mirrors: Vec<(String, String)>,
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
    /// `CPLN_ORG`: the org of `//image/` links without `--org`.
    pub cpln_org: Option<String>,
    /// `HOIST_ORG_REGISTRY`: the org registry template.
    pub org_registry: Option<String>,
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
        let naming = env.naming(args.org.clone()).map_err(RequestError::Org)?;
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
        outputs.extend(args.oci_layout_path.map(Output::OciLayout));
        outputs.extend(args.tar_path.map(Output::DockerArchive));

        if !args.dir.is_dir() {
            return Err(RequestError::Context(args.dir));
        }
        let dockerfile = args
            .dockerfile
            .unwrap_or_else(|| args.dir.join("Dockerfile"));
        if !dockerfile.is_file() {
            return Err(RequestError::Dockerfile(dockerfile, args.dir));
        }
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
        let mirrors = mirrors(&args.registry_mirrors)?;
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
            insecure_registries: args.insecure_registries,
            registry_certificates: args
                .registry_certificates
                .iter()
                .map(|v| match v.split_once('=') {
                    Some((host, file)) if !host.is_empty() && !file.is_empty() => {
                        Ok((host.to_string(), PathBuf::from(file)))
                    }
                    _ => Err(RequestError::RegistryCertificate(v.clone())),
                })
                .collect::<Result<_, _>>()?,
            mirrors,
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
pub(super) fn mirrors(values: &[String]) -> Result<Vec<(String, String)>, RequestError> {
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
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let mut argv = vec!["hoist", "build", "--dir", dir.path().to_str().unwrap()];
        argv.extend_from_slice(extra);
        let Command::Build(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("`hoist build` parses as `Command::Build`")
        };
        let env = Environment {
            home: Some("/home/u".into()),
            set_vars: BTreeSet::from(["GH_TOKEN".to_string()]),
            ..Default::default()
        };
        BuildRequest::from_args(args, &env, &mut "k3y\n".as_bytes())
    }

    fn error(extra: &[&str]) -> String {
        request(extra).unwrap_err().to_string()
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
