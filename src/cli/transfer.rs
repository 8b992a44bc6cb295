//! `hoist copy` (alias `hoist push`) and `hoist inspect` requests: images named as `hoist validate` names
//! them (a registry reference or `oci:DIR[:TAG]`), parsed once, here.

use std::path::PathBuf;

use super::args::{CopyArgs, InspectArgs};
use super::request::{self, Environment, ProgressMode, Registries, RequestError};
use super::validate::{self, ImageSource, ValidateRequestError};
use crate::image::Platform;

#[derive(Clone, Debug)]
pub struct CopyRequest {
    pub source: ImageSource,
    pub destination: ImageSource,
    pub platform: Platform,
    /// `--all-platforms`: the whole index, not one image.
    pub all_platforms: bool,
    pub registries: Registries,
    pub cache_dir: PathBuf,
    pub progress: ProgressMode,
}

#[derive(Clone, Debug)]
pub struct InspectRequest {
    pub image: ImageSource,
    pub platform: Platform,
    pub raw: bool,
    /// `--config`: the config's bytes as stored.
    pub config: bool,
    pub registries: Registries,
    pub cache_dir: PathBuf,
}

fn platform(value: &str) -> Result<Platform, ValidateRequestError> {
    value.parse().map_err(|source| {
        ValidateRequestError::Request(RequestError::Platform {
            value: value.to_string(),
            source,
        })
    })
}

impl CopyRequest {
    pub fn from_args(
        args: CopyArgs,
        env: &Environment,
    ) -> Result<CopyRequest, ValidateRequestError> {
        let naming = validate::naming(&args.naming, env)?;
        Ok(CopyRequest {
            source: ImageSource::parse(&args.source, &naming)?,
            destination: ImageSource::parse(&args.destination, &naming)?,
            platform: platform(&args.platform)?,
            all_platforms: args.all_platforms,
            registries: Registries::from_args(&args.registries)?,
            cache_dir: request::cache_dir(args.cache_dir, env)?,
            progress: args.progress.into(),
        })
    }
}

impl InspectRequest {
    pub fn from_args(
        args: InspectArgs,
        env: &Environment,
    ) -> Result<InspectRequest, ValidateRequestError> {
        let naming = validate::naming(&args.naming, env)?;
        Ok(InspectRequest {
            image: ImageSource::parse(&args.image, &naming)?,
            platform: platform(&args.platform)?,
            raw: args.raw,
            config: args.config,
            registries: Registries::from_args(&args.registries)?,
            cache_dir: request::cache_dir(args.cache_dir, env)?,
        })
    }
}
