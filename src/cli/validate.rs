//! `hoist validate`'s request: the image to read (a registry reference, or an OCI layout written the way
//! skopeo's `oci:` transport names one: `oci:DIR[:TAG]`, split at the first `:` after `oci:`), the
//! platform, and how to reach registries. Parsed once, here, with errors that name the argument.

use std::fmt;
use std::path::PathBuf;

use super::args::{NamingArgs, ValidateArgs};
use super::request::{self, Environment, ProgressMode, Registries, RequestError};
use crate::image::{Naming, Platform, Reference};

/// A `hoist validate`, fully validated.
#[derive(Clone, Debug)]
pub struct ValidateRequest {
    pub image: ImageSource,
    pub platform: Platform,
    pub json: bool,
    pub registries: Registries,
    pub cache_dir: PathBuf,
    pub progress: ProgressMode,
}

/// Where the image to validate is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    Registry(Reference),
    /// An OCI image layout; without a tag, its only image.
    Layout {
        dir: PathBuf,
        tag: Option<String>,
    },
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Registry(r) => write!(f, "{r}"),
            ImageSource::Layout { dir, tag: Some(t) } => write!(f, "oci:{}:{t}", dir.display()),
            ImageSource::Layout { dir, tag: None } => write!(f, "oci:{}", dir.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ValidateRequestError {
    #[error(
        "`{value}` is not an image: {source}\nhint: name a registry image (`registry.example.com/team/app:v1`) or an OCI layout (`oci:DIR[:TAG]`)"
    )]
    Image {
        value: String,
        source: crate::image::naming::NamingError,
    },
    #[error(transparent)]
    Org(crate::image::naming::NamingError),
    #[error(
        "`{0}` is a directory, not an image reference\nhint: for the OCI layout in that directory write `oci:{0}`"
    )]
    Directory(String),
    #[error("`{0}` names no directory\nhint: write `oci:DIR` or `oci:DIR:TAG`")]
    EmptyLayout(String),
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl ValidateRequest {
    pub fn from_args(
        args: ValidateArgs,
        env: &Environment,
    ) -> Result<ValidateRequest, ValidateRequestError> {
        let platform = args
            .platform
            .parse()
            .map_err(|source| RequestError::Platform {
                value: args.platform.clone(),
                source,
            })?;
        Ok(ValidateRequest {
            image: ImageSource::parse(&args.image, &naming(&args.naming, env)?)?,
            platform,
            json: args.json,
            registries: Registries::from_args(&args.registries)?,
            cache_dir: request::cache_dir(args.cache_dir, env)?,
            progress: args.progress.into(),
        })
    }
}

impl ImageSource {
    /// `oci:DIR[:TAG]`, or a registry reference (`docker://` allowed) or Control Plane link, read
    /// with `naming`.
    pub fn parse(value: &str, naming: &Naming) -> Result<ImageSource, ValidateRequestError> {
        source(value, naming)
    }
}

/// `--org` and the environment's `CPLN_ORG` and `HOIST_ORG_REGISTRY`, checked.
pub fn naming(args: &NamingArgs, env: &Environment) -> Result<Naming, ValidateRequestError> {
    env.naming(args.org.clone())
        .map_err(ValidateRequestError::Org)
}

fn source(value: &str, naming: &Naming) -> Result<ImageSource, ValidateRequestError> {
    if let Some(rest) = value.strip_prefix("oci:") {
        let (dir, tag) = match rest.split_once(':') {
            Some((dir, tag)) => (dir, Some(tag).filter(|t| !t.is_empty())),
            None => (rest, None),
        };
        if dir.is_empty() {
            return Err(ValidateRequestError::EmptyLayout(value.to_string()));
        }
        return Ok(ImageSource::Layout {
            dir: PathBuf::from(dir),
            tag: tag.map(str::to_string),
        });
    }
    let name = value.strip_prefix("docker://").unwrap_or(value);
    naming
        .parse(name)
        .map(ImageSource::Registry)
        .map_err(|source| {
            if std::path::Path::new(value).is_dir() && !value.starts_with("//") {
                ValidateRequestError::Directory(value.to_string())
            } else {
                ValidateRequestError::Image {
                    value: value.to_string(),
                    source,
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn request(argv: &[&str]) -> Result<ValidateRequest, ValidateRequestError> {
        let mut full = vec!["hoist", "validate"];
        full.extend_from_slice(argv);
        let Command::Validate(args) = Cli::try_parse_from(full).unwrap().command else {
            panic!("`hoist validate` parses as `Command::Validate`")
        };
        let env = Environment {
            home: Some("/home/u".into()),
            ..Default::default()
        };
        ValidateRequest::from_args(args, &env)
    }

    #[test]
    fn layouts_and_references() {
        let r = request(&["oci:out/app:v1"]).unwrap();
        assert_eq!(
            r.image,
            ImageSource::Layout {
                dir: "out/app".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(r.image.to_string(), "oci:out/app:v1");
        assert_eq!(r.platform, Platform::linux_amd64());
        assert_eq!(r.cache_dir, PathBuf::from("/home/u/.cache/hoist"));
        let r = request(&["oci:/tmp/x"]).unwrap();
        assert_eq!(r.image.to_string(), "oci:/tmp/x");
        let r = request(&[
            "docker://127.0.0.1:5000/app:v1",
            "--platform",
            "linux/arm64",
        ])
        .unwrap();
        assert_eq!(r.image.to_string(), "127.0.0.1:5000/app:v1");
        assert_eq!(r.platform.to_string(), "linux/arm64");
        let r = request(&["busybox", "--registry-mirror", "127.0.0.1:5000", "--json"]).unwrap();
        assert_eq!(r.image.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(
            r.registries.mirrors,
            [("docker.io".into(), "127.0.0.1:5000".into())]
        );
        assert!(r.json);
    }

    #[test]
    fn control_plane_links_and_org() {
        let r = request(&["//image/app:v1", "--org", "acme"]).unwrap();
        assert_eq!(r.image.to_string(), "acme.registry.cpln.io/app:v1");
        let r = request(&["app:v1", "--org", "acme"]).unwrap();
        assert_eq!(r.image.to_string(), "acme.registry.cpln.io/app:v1");
        let err = request(&["//image/app:v1"]).unwrap_err().to_string();
        assert!(err.starts_with("`//image/app:v1` is not an image"), "{err}");
        assert!(err.contains("--org ORG"), "{err}");
        let err = request(&["app", "--org", "Acme"]).unwrap_err().to_string();
        assert!(err.contains("org `Acme` is not a valid org name"), "{err}");
        let env = Environment {
            home: Some("/home/u".into()),
            cpln_org: Some("envorg".into()),
            org_registry: Some("127.0.0.1:5000".into()),
            ..Default::default()
        };
        let Command::Validate(args) = Cli::try_parse_from(["hoist", "validate", "//image/app:v1"])
            .unwrap()
            .command
        else {
            panic!("`hoist validate` parses as `Command::Validate`")
        };
        let r = ValidateRequest::from_args(args, &env).unwrap();
        assert_eq!(r.image.to_string(), "127.0.0.1:5000/app:v1");
    }

    #[test]
    fn help_keeps_the_long_text_of_every_subcommand() {
        use clap::CommandFactory;
        let cli = Cli::command();
        for name in ["parse", "context", "validate"] {
            let sub = cli.find_subcommand(name).unwrap();
            assert!(sub.get_about().is_some(), "{name}");
            assert!(
                sub.get_long_about().is_some(),
                "`hoist {name} --help` lost its text"
            );
        }
    }

    #[test]
    fn errors_name_the_argument() {
        let err = request(&["Bad/Name"]).unwrap_err().to_string();
        assert!(err.starts_with("`Bad/Name` is not an image"), "{err}");
        assert!(err.contains("oci:DIR[:TAG]"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Layout");
        std::fs::create_dir(&path).unwrap();
        let err = request(&[path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains(&format!("`oci:{}`", path.display())), "{err}");
        let err = request(&["oci:"]).unwrap_err().to_string();
        assert!(err.contains("names no directory"), "{err}");
        let err = request(&["app", "--platform", "arm64"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--platform `arm64`"), "{err}");
    }
}
