//! The executor: turns a [`BuildPlan`] into an [`Image`], stage by stage, writing each layer once.
//!
//! It knows nothing of Dockerfiles: it applies filesystem changes (copy, mkdir, run) and config changes
//! in order, writes every filesystem change as a deterministic, streamed, compressed layer into the blob
//! store (OCI image-spec `layer.md`), and records history (`config.md`). A change that turns out empty adds
//! no layer, only a history entry marked `empty_layer`, as BuildKit does.

pub mod archive;
pub mod cache;
pub mod compress;
pub mod config_change;
pub mod copy;
pub mod layer;
pub mod ownership;
pub mod rootfs;
pub mod run;
pub mod sandbox;
pub mod snapshot;
pub mod source;
pub mod stage_fs;
pub mod xattrs;

#[cfg(test)]
mod forked;

use std::collections::BTreeMap;

use crate::image::tap::TapFactory;
use crate::image::{BlobStore, History, Image, ImageKey, ImageSet};
use crate::plan::{Base, BuildPlan, CopySource, FsChange, Location, MountFrom, StageId, Step};
use crate::progress::{Event, Reporter};

use copy::CopyError;
use layer::{LayerError, LayerWriter};
use run::{RunError, RunOptions, StageRoot};
use stage_fs::{FsError, StageFs};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "the image `{reference}` needed by stage `{stage}` was not resolved before the build\nhint: this is a bug in hoist: the plan's external images must all be pulled first"
    )]
    MissingImage { reference: String, stage: String },
    #[error(
        "stage `{stage}` reads stage {from}, which is not built before it\nhint: this is a bug in the frontend: stages must come after the stages they read"
    )]
    StageOrder { stage: String, from: usize },
    #[error(
        "stage `{stage}` reads the named context `{name}`, which the plan does not have\nhint: this is a bug in the frontend"
    )]
    NamedContext { name: String, stage: String },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("cannot read the layer a RUN step wrote: {0}")]
    RunLayer(FsError),
    #[error("{location}: `{text}`: {source}", text = location.text)]
    Copy {
        location: Box<Location>,
        source: Box<CopyError>,
    },
    #[error("cannot read the filesystem of stage `{stage}`: {source}")]
    Base { stage: String, source: FsError },
    #[error("{location}: cannot write the layer: {source}")]
    Layer {
        location: Box<Location>,
        source: Box<LayerError>,
    },
}

/// Builds the plan's target stage; a plan with RUN steps fails (see [`execute_with`]).
pub fn execute(
    plan: &BuildPlan,
    images: &ImageSet,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> Result<Image, ExecError> {
    execute_with(plan, images, blobs, reporter, None, None)
}

/// Builds the plan's target stage, running RUN steps with `run`; every layer written in this process
/// is shown to a tap from `tap` (RUN layers: see [`run::RunOptions::verdicts`]).
pub fn execute_with(
    plan: &BuildPlan,
    images: &ImageSet,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
    run: Option<&RunOptions>,
    tap: Option<&TapFactory>,
) -> Result<Image, ExecError> {
    let mut execution = Execution::new(images, blobs, reporter, run, tap);
    for index in 0..plan.stages.len() {
        execution.build_stage(plan, StageId(index))?;
    }
    Ok(execution.result(plan))
}

/// A build in progress: the stages built so far, in plan order. [`execute_with`] builds a whole plan;
/// a frontend that plans a stage from what an earlier one produced (the buildpack lifecycle exports
/// what its build stage wrote) builds stage by stage and appends to the plan between them.
pub struct Execution<'a> {
    images: &'a ImageSet,
    blobs: &'a BlobStore,
    reporter: &'a dyn Reporter,
    run: Option<&'a RunOptions>,
    tap: Option<&'a TapFactory>,
    done: Vec<(Image, StageFs)>,
    /// Each built stage's root directory, while a later stage may still take it over.
    roots: Vec<Option<StageRoot>>,
    image_fs: BTreeMap<ImageKey, StageFs>,
    /// The number of stages progress reports, when the plan will grow (see [`Self::expecting`]).
    stages: Option<usize>,
}

impl<'a> Execution<'a> {
    pub fn new(
        images: &'a ImageSet,
        blobs: &'a BlobStore,
        reporter: &'a dyn Reporter,
        run: Option<&'a RunOptions>,
        tap: Option<&'a TapFactory>,
    ) -> Self {
        Execution {
            images,
            blobs,
            reporter,
            run,
            tap,
            done: Vec::new(),
            roots: Vec::new(),
            image_fs: BTreeMap::new(),
            stages: None,
        }
    }

    /// Reports progress as `[i/stages]` although the plan has fewer stages yet.
    pub fn expecting(mut self, stages: usize) -> Self {
        self.stages = Some(stages);
        self
    }

    /// The image and filesystem of a built stage.
    pub fn stage(&mut self, id: StageId) -> Option<(&Image, &mut StageFs)> {
        self.done.get_mut(id.0).map(|(image, fs)| (&*image, fs))
    }

    /// The last built stage's image, stamped with the plan's `created` time and platform.
    pub fn result(mut self, plan: &BuildPlan) -> Image {
        let (image, _) = self.done.pop().expect("a plan has at least one stage");
        image
            .with_created(Some(plan.created.clone()))
            .with_platform(&plan.platform)
    }

    /// Builds stage `id` of `plan`; every stage before it must be built already.
    pub fn build_stage(&mut self, plan: &BuildPlan, id: StageId) -> Result<(), ExecError> {
        let (images, blobs, reporter, run, tap) =
            (self.images, self.blobs, self.reporter, self.run, self.tap);
        let (done, roots, image_fs) = (&mut self.done, &mut self.roots, &mut self.image_fs);
        let index = id.0;
        let stage = &plan.stages[index];
        assert_eq!(done.len(), index, "stages are built in plan order");
        let total = self
            .stages
            .unwrap_or(plan.stages.len())
            .max(plan.stages.len());
        let base_err = |source| ExecError::Base {
            stage: stage.name.clone(),
            source,
        };
        let (base_text, (mut image, mut fs)) = match &stage.base {
            Base::Scratch => {
                let image = Image::empty(&stage.platform);
                let fs = StageFs::of_image(&image, blobs).map_err(base_err)?;
                ("scratch".to_string(), (image, fs))
            }
            Base::Image(r) => {
                let image =
                    images
                        .get(r, &stage.platform)
                        .ok_or_else(|| ExecError::MissingImage {
                            reference: ImageKey::new(r, &stage.platform).to_string(),
                            stage: stage.name.clone(),
                        })?;
                let fs = StageFs::of_image(image, blobs).map_err(base_err)?;
                (r.to_string(), (image.clone(), fs))
            }
            Base::Stage(StageId(id)) => {
                let prev = done.get(*id).ok_or_else(|| ExecError::StageOrder {
                    stage: stage.name.clone(),
                    from: *id,
                })?;
                (plan.stages[*id].name.clone(), prev.clone())
            }
        };
        // Layers of the stage's base image: unpacked once per machine and shared by RUN steps.
        let base_layers = match &stage.base {
            Base::Image(_) => image.layers().len(),
            _ => 0,
        };
        // A stage built on an earlier one takes over that stage's root directory when it has one.
        let mut root: Option<StageRoot> = match &stage.base {
            Base::Stage(StageId(id)) => roots.get_mut(*id).and_then(Option::take),
            _ => None,
        };
        reporter.report(Event::Stage {
            index: index + 1,
            total,
            name: stage.name.clone(),
            base: base_text,
        });
        for (i, step) in stage.steps.iter().enumerate() {
            reporter.report(Event::Step {
                stage: stage.name.clone(),
                index: i + 1,
                total: stage.steps.len(),
                text: step.location.text.clone(),
            });
            let entries = match &step.fs {
                None => None,
                Some(FsChange::Run(spec)) => {
                    let options = run.ok_or_else(|| RunError::NoSandbox {
                        location: Box::new(step.location.clone()),
                    })?;
                    let mut lookup = |from: &MountFrom| -> Option<StageFs> {
                        match from {
                            MountFrom::Context | MountFrom::Named(_) => None,
                            MountFrom::Stage(StageId(id)) => done.get(*id).map(|d| d.1.clone()),
                            MountFrom::Image(r) => images
                                .get(r, &plan.platform)
                                .and_then(|img| StageFs::of_image(img, blobs).ok()),
                        }
                    };
                    let sources = run::MountSources {
                        context: &plan.context,
                        named: &plan.named_contexts,
                        platform: &stage.platform,
                        blobs,
                        lookup: &mut lookup,
                    };
                    let stage_name = stage.name.clone();
                    let ran = run::run(
                        options,
                        spec,
                        &step.location,
                        &image,
                        &mut root,
                        index,
                        base_layers,
                        blobs,
                        plan.epoch,
                        plan.compression_level,
                        sources,
                        &mut |line| {
                            reporter.report(Event::StepOutput {
                                stage: stage_name.clone(),
                                line: line.to_string(),
                            })
                        },
                        &mut |message| reporter.report(Event::Warning { message }),
                    )?;
                    let history = History {
                        created: Some(plan.created.clone()),
                        created_by: Some(step.created_by.clone()),
                        ..Default::default()
                    };
                    if ran.cached {
                        reporter.report(Event::StepOutput {
                            stage: stage.name.clone(),
                            line: "CACHED".into(),
                        });
                    }
                    image = match ran.layer {
                        Some(layer) => {
                            reporter.report(Event::Layer {
                                digest: layer.descriptor.digest.to_string(),
                                size: layer.descriptor.size,
                                diff_id: layer.diff_id.to_string(),
                            });
                            fs.add_layer(&layer).map_err(ExecError::RunLayer)?;
                            image.with_layer(layer, history)
                        }
                        None => image.with_history(history),
                    };
                    image = image.with_image_config(|c| {
                        for change in &step.config {
                            config_change::apply(change, c);
                        }
                    });
                    continue;
                }
                Some(FsChange::Mkdir(spec)) => Some(copy::mkdir(spec, &mut fs)),
                Some(FsChange::Copy(spec)) => {
                    let from = match &spec.source {
                        CopySource::Context | CopySource::Named(_) => None,
                        CopySource::Stage(StageId(id)) => Some(
                            &mut done
                                .get_mut(*id)
                                .ok_or_else(|| ExecError::StageOrder {
                                    stage: stage.name.clone(),
                                    from: *id,
                                })?
                                .1,
                        ),
                        CopySource::Image(r) => {
                            // `COPY --from=IMAGE` reads the image for the target platform.
                            let key = ImageKey::new(r, &plan.platform);
                            if !image_fs.contains_key(&key) {
                                let img = images.get(r, &plan.platform).ok_or_else(|| {
                                    ExecError::MissingImage {
                                        reference: key.to_string(),
                                        stage: stage.name.clone(),
                                    }
                                })?;
                                let ifs = StageFs::of_image(img, blobs).map_err(base_err)?;
                                image_fs.insert(key.clone(), ifs);
                            }
                            image_fs.get_mut(&key)
                        }
                    };
                    let context = match &spec.source {
                        CopySource::Named(name) => {
                            plan.context_named(Some(name)).ok_or_else(|| {
                                ExecError::NamedContext {
                                    name: name.clone(),
                                    stage: stage.name.clone(),
                                }
                            })?
                        }
                        _ => &plan.context,
                    };
                    Some(copy::copy(spec, context, from, &mut fs))
                }
            };
            let entries = entries
                .transpose()
                .map_err(|source| ExecError::Copy {
                    location: Box::new(step.location.clone()),
                    source: Box::new(source),
                })?
                .unwrap_or_default();
            image = apply_step(plan, blobs, reporter, tap, image, step, entries)?;
        }
        done.push((image, fs));
        roots.push(root);
        Ok(())
    }
}

impl Drop for Execution<'_> {
    fn drop(&mut self) {
        if let Some(options) = self.run {
            for root in self.roots.drain(..).flatten() {
                run::remove_root(options, root);
            }
        }
    }
}

/// Writes the step's layer (if it has entries), applies its config changes and records its history.
fn apply_step(
    plan: &BuildPlan,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
    tap: Option<&TapFactory>,
    image: Image,
    step: &Step,
    entries: Vec<layer::Entry>,
) -> Result<Image, ExecError> {
    let history = History {
        created: Some(plan.created.clone()),
        created_by: Some(step.created_by.clone()),
        ..Default::default()
    };
    let image = if entries.is_empty() {
        if step.history {
            image.with_history(history)
        } else {
            image
        }
    } else {
        let layer_err = |source| ExecError::Layer {
            location: Box::new(step.location.clone()),
            source: Box::new(source),
        };
        let mut writer = LayerWriter::with_level(blobs, plan.epoch, plan.compression_level)
            .map_err(layer_err)?
            .with_tap(tap.map(|make| make()));
        writer.write_all(entries).map_err(layer_err)?;
        let layer = writer.finish().map_err(layer_err)?;
        reporter.report(Event::Layer {
            digest: layer.descriptor.digest.to_string(),
            size: layer.descriptor.size,
            diff_id: layer.diff_id.to_string(),
        });
        image.with_layer(layer, history)
    };
    Ok(image.with_image_config(|c| {
        for change in &step.config {
            config_change::apply(change, c);
        }
    }))
}

#[cfg(test)]
mod tests;
