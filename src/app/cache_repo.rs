//! `--cache-repo REPO`: the build cache in a registry, for CI runners that keep no disk between jobs
//! (kaniko's flag and layout: one image per step result, tagged with the step's cache key).
//!
//! A result is stored as a one-layer image (`REPO:<key>`) whose layer is the step's layer, or an image
//! with no layers for a step that changed nothing; a lookup pulls that image's manifest and layer into
//! the blob store. Registry errors never fail the build: a failed lookup is a miss, a failed store is a
//! warning.

use std::sync::Arc;

use crate::executor::cache::{CachedStep, StepCache};
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
        let mut image = Image::empty(platform);
        if let Some((descriptor, diff_id)) = &step.layer {
            image = image.with_layer(
                Layer {
                    descriptor: descriptor.clone(),
                    diff_id: diff_id.clone(),
                },
                History {
                    created_by: Some(format!("hoist build cache {key}")),
                    ..Default::default()
                },
            );
        }
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
