//! `--cache-repo REPO`: the build cache in a registry, for CI runners that keep no disk between jobs
//! (kaniko's flag and layout: one image per step result, tagged with the step's cache key).
//!
//! A result is stored as a one-layer image (`REPO:<key>`) whose layer is the step's layer, or an image
//! with no layers for a step that changed nothing; a lookup pulls that image's manifest and layer into
//! the blob store. A buildpack build's cache ([`BuildpackCache`]) is one more such image,
//! `REPO:cnb-<digest of the cache id>`, restored into the cache mount on a runner that does not have
//! it. Registry errors never fail the build: a failed lookup is a miss, a failed store is a warning.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::executor::cache::{CachedStep, StepCache};
use crate::executor::run::CacheSeeds;
use crate::frontend::buildpacks::lifecycle::CACHE_COPY;
use crate::image::{BlobStore, Digest, History, Image, Layer, Platform, Reference};
use crate::progress::{Event, Reporter, Silent};
use crate::registry::RegistryClient;

pub struct RegistryCache {
    pub repo: Reference,
    pub registry: RegistryClient,
    pub runtime: tokio::runtime::Handle,
    pub reporter: Arc<dyn Reporter>,
}

impl RegistryCache {
    fn tagged(&self, key: &Digest) -> Option<Reference> {
        format!("{}:{}", self.repo.name(), key.hex()).parse().ok()
    }
}

impl StepCache for RegistryCache {
    fn get(&self, key: &Digest, platform: &Platform, blobs: &BlobStore) -> Option<CachedStep> {
        let reference = self.tagged(key)?;
        let image = self
            .runtime
            .block_on(self.registry.pull(&reference, platform, blobs, &Silent))
            .ok()?;
        let layer = image
            .layers()
            .first()
            .map(|l| (l.descriptor.clone(), l.diff_id.clone()));
        Some(CachedStep { layer })
    }

    fn put(&self, key: &Digest, platform: &Platform, step: &CachedStep, blobs: &BlobStore) {
        let Some(reference) = self.tagged(key) else {
            return;
        };
        // Labelled with the step's stage platform: a step of a `FROM --platform=$BUILDPLATFORM` stage
        // is found again by every target of the build.
        let layer = step.layer.as_ref().map(|(descriptor, diff_id)| Layer {
            descriptor: descriptor.clone(),
            diff_id: diff_id.clone(),
        });
        let image = one_layer_image(platform, layer, format!("hoist build cache {key}"));
        let serialized = image.serialize();
        let pushed = self.runtime.block_on(self.registry.push(
            &serialized,
            blobs,
            std::slice::from_ref(&reference),
            &Silent,
        ));
        if let Err(err) = pushed {
            self.reporter.report(Event::Warning {
                message: format!(
                    "cannot store a step result in the cache repository {reference}: {err}"
                ),
            });
        }
    }

    fn describe(&self) -> String {
        self.repo.name()
    }
}

/// An image of `platform` holding `layer` (or nothing), its history saying `created_by`.
fn one_layer_image(platform: &Platform, layer: Option<Layer>, created_by: String) -> Image {
    let image = Image::empty(platform);
    match layer {
        Some(layer) => image.with_layer(
            layer,
            History {
                created_by: Some(created_by),
                ..Default::default()
            },
        ),
        None => image,
    }
}

/// The buildpacks' cache of one image in `--cache-repo`: `REPO:cnb-<digest of id>`, one layer
/// holding the cache under [`CACHE_COPY`] (the build stage's last step). [`CacheSeeds`]: a runner
/// without cache mount `id` starts from it — pulled only when the lifecycle step runs, so an
/// unchanged app, whose step result is in the cache repo, downloads no cache.
pub struct BuildpackCache {
    pub repo: Reference,
    /// The cache mount id (`lifecycle::cache_id`).
    pub id: String,
    pub platform: Platform,
    pub registry: RegistryClient,
    pub blobs: BlobStore,
    pub runtime: tokio::runtime::Handle,
    pub reporter: Arc<dyn Reporter>,
}

impl BuildpackCache {
    fn tagged(&self) -> Option<Reference> {
        let digest = Digest::of(self.id.as_bytes());
        format!("{}:cnb-{}", self.repo.name(), digest.hex())
            .parse()
            .ok()
    }

    /// Stores `layer` (the build stage's copy of the cache) as the cache of the next build.
    pub async fn store(&self, layer: Layer) {
        let Some(reference) = self.tagged() else {
            return;
        };
        let image = one_layer_image(
            &self.platform,
            Some(layer),
            format!("hoist buildpack cache {}", self.id),
        );
        let pushed = self
            .registry
            .push(
                &image.serialize(),
                &self.blobs,
                std::slice::from_ref(&reference),
                &Silent,
            )
            .await;
        if let Err(err) = pushed {
            self.reporter.report(Event::Warning {
                message: format!(
                    "cannot store the buildpacks' cache in the cache repository {reference}: {err}"
                ),
            });
        }
    }

    /// Unpacks the cache image's layer into `dir`; returns the cache's directory in it.
    fn unpack(&self, layer: &Layer, dir: &Path) -> anyhow::Result<PathBuf> {
        let blob = self.blobs.open_blob(&layer.descriptor.digest)?;
        let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::new(blob),
        ));
        std::fs::create_dir_all(dir)?;
        archive.unpack(dir)?;
        Ok(dir.join(CACHE_COPY.trim_start_matches('/')))
    }
}

impl CacheSeeds for BuildpackCache {
    fn seed(&self, id: &str, scratch: &Path) -> Option<PathBuf> {
        if id != self.id {
            return None;
        }
        let reference = self.tagged()?;
        let image = self
            .runtime
            .block_on(
                self.registry
                    .pull(&reference, &self.platform, &self.blobs, &Silent),
            )
            .ok()?;
        let layer = image.layers().first()?;
        match self.unpack(layer, &scratch.join("restored-cache")) {
            Ok(dir) if dir.is_dir() => {
                self.reporter.report(Event::Info {
                    message: format!("restored the buildpacks' cache from {reference}"),
                });
                Some(dir)
            }
            Ok(_) => None,
            Err(err) => {
                self.reporter.report(Event::Warning {
                    message: format!(
                        "cannot restore the buildpacks' cache from {reference}: {err:#}"
                    ),
                });
                None
            }
        }
    }
}
