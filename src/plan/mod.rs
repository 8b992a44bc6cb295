//! The build plan: the one thing the executor knows.
//!
//! A [`BuildPlan`] is a list of stages, each a base plus [`Step`]s, with every word already expanded and
//! every path already absolute. No Dockerfile or buildpack vocabulary appears here: a frontend translates
//! its language into filesystem changes ([`FsChange`]) and config changes ([`ConfigChange`]); the
//! executor applies them. Only the stages the target needs are in the plan, in an order where every stage
//! comes after the stages it reads from.

pub mod context;
pub mod step;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::image::{ImageKey, Platform, Reference};

pub use context::ContextFilter;
pub use step::{
    CacheSharing, Chmod, ConfigChange, CopySource, CopySpec, Fetched, FsChange, IdSpec, InlineFile,
    Location, MkdirSpec, MountFrom, Network, Owner, RemoteFile, RunMount, RunSpec, Step,
};

/// Index of a stage in [`BuildPlan::stages`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId(pub usize);

#[derive(Clone, Debug)]
pub struct BuildPlan {
    /// The build's target platform: the result's os/architecture/variant, and the platform registry
    /// images read by `COPY --from` and RUN mounts are pulled for (as BuildKit does).
    pub platform: Platform,
    /// Stages to build, dependencies first; the last one is the result.
    pub stages: Vec<Stage>,
    /// The build context and what of it the build may see.
    pub context: BuildContext,
    /// Further local directories steps read by name ([`CopySource::Named`], [`MountFrom::Named`]):
    /// BuildKit's named contexts (`--build-context NAME=DIR`).
    pub named_contexts: BTreeMap<String, BuildContext>,
    /// Seconds since the Unix epoch for every timestamp written into layers (SOURCE_DATE_EPOCH, default 0).
    pub epoch: i64,
    /// gzip level (1–9) for the layers the plan writes.
    pub compression_level: u32,
    /// The image's `created` time and history times (RFC 3339): the epoch unless wall time was asked for.
    pub created: String,
}

#[derive(Clone, Debug)]
pub struct BuildContext {
    pub root: PathBuf,
    pub filter: ContextFilter,
}

#[derive(Clone, Debug)]
pub struct Stage {
    /// The stage's name for messages: its `AS` name, or its position.
    pub name: String,
    pub base: Base,
    /// The platform the stage is built for: its base image is pulled for it, its RUN steps execute
    /// as it (natively or through an emulator). The target's unless the build definition says
    /// otherwise (a Dockerfile's `FROM --platform=$BUILDPLATFORM`).
    pub platform: Platform,
    pub steps: Vec<Step>,
}

/// What a stage starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// The empty image.
    Scratch,
    /// An image from a registry, resolved before execution (see [`BuildPlan::external_images`]).
    Image(Reference),
    /// The result of an earlier stage of this plan.
    Stage(StageId),
}

impl BuildPlan {
    /// The context a [`CopySource`]/[`MountFrom`] of the build context or a named context reads.
    pub fn context_named(&self, name: Option<&str>) -> Option<&BuildContext> {
        match name {
            None => Some(&self.context),
            Some(name) => self.named_contexts.get(name),
        }
    }

    /// Every file the plan downloads (ADD from URLs), to be fetched before it runs.
    pub fn remote_files_mut(&mut self) -> impl Iterator<Item = &mut RemoteFile> {
        self.stages
            .iter_mut()
            .flat_map(|s| s.steps.iter_mut())
            .filter_map(|step| match &mut step.fs {
                Some(FsChange::Copy(spec)) => Some(spec.remote.iter_mut()),
                _ => None,
            })
            .flatten()
    }

    /// Every registry image the plan reads, each once, in first-use order: bases for their stage's
    /// platform, copy and mount sources for the target platform.
    pub fn external_images(&self) -> Vec<ImageKey> {
        let mut out: Vec<ImageKey> = Vec::new();
        let mut add_for = |r: &Reference, platform: &Platform| {
            let key = ImageKey::new(r, platform);
            if !out.contains(&key) {
                out.push(key);
            }
        };
        for stage in &self.stages {
            if let Base::Image(r) = &stage.base {
                add_for(r, &stage.platform);
            }
            let mut add = |r: &Reference| add_for(r, &self.platform);
            for step in &stage.steps {
                match &step.fs {
                    Some(FsChange::Copy(CopySpec {
                        source: CopySource::Image(r),
                        ..
                    })) => add(r),
                    Some(FsChange::Run(run)) => {
                        for mount in &run.mounts {
                            match mount {
                                RunMount::Bind {
                                    from: MountFrom::Image(r),
                                    ..
                                }
                                | RunMount::Cache {
                                    from: Some((MountFrom::Image(r), _)),
                                    ..
                                } => add(r),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// The stage whose result is the build's result.
    pub fn target(&self) -> StageId {
        StageId(self.stages.len() - 1)
    }
}
