//! Stages → [`BuildPlan`], as BuildKit's `dockerfile2llb/convert.go` does it once the stages are
//! known (`stages`): the registry images the needed stages read, their ONBUILD triggers fired (which
//! may need more images and stages), then each needed stage planned from its base's config,
//! dependencies first, PATH set as BuildKit sets it. The per-instruction translation lives in
//! [`super::dispatch`].

use crate::image::{ImageKey, ImageSet, Platform};
use crate::plan::{
    Base, BuildContext, BuildPlan, ConfigChange, ContextFilter, FsChange, Stage, StageId,
};

use super::dispatch::{self, State};
use super::error::FrontendError;
use super::graph;
use super::lint::{Check, Linter, Rule};
use super::onbuild;
use super::stages::{BaseDef, SourceDef, Stages, check_reads};

/// The PATH BuildKit sets when a stage's base has none (`system.DefaultPathEnv("linux")`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Stages {
    /// Registry images the needed stages read, each once, in first-use order: a base for its
    /// stage's platform, a `COPY --from` or RUN mount image for the target platform (BuildKit resolves
    /// those as stages without `--platform`).
    pub fn external_images(&self) -> Vec<ImageKey> {
        let mut out: Vec<ImageKey> = Vec::new();
        for &i in &self.needed {
            let def = &self.defs[i];
            let base = match &def.base {
                BaseDef::Image(r) => Some(ImageKey::new(r, &def.platform)),
                BaseDef::Scratch | BaseDef::Stage(_) => None,
            };
            let copies = def.reads().filter_map(|s| match s {
                SourceDef::Image(r) => Some(ImageKey::new(r, &self.target_platform)),
                SourceDef::Stage(_) => None,
            });
            for key in base.into_iter().chain(copies) {
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        out
    }

    /// Where the target's stages first name registry image `key` (a FROM, a `COPY --from`, a RUN
    /// mount's `from=`).
    pub fn used_at(&self, key: &ImageKey, file: &std::path::Path) -> Option<crate::plan::Location> {
        let reference = &key.reference;
        self.needed.iter().map(|&i| &self.defs[i]).find_map(|def| {
            if matches!(&def.base, BaseDef::Image(r) if r == reference)
                && def.platform == key.platform
            {
                return Some(def.from.node.location(file));
            }
            if key.platform != self.target_platform {
                return None;
            }
            def.instruction_reads().find_map(|(ins, reads)| {
                reads
                    .iter()
                    .any(|s| matches!(s, SourceDef::Image(r) if r == reference))
                    .then(|| ins.node.location(file))
            })
        })
    }

    /// Fires the ONBUILD triggers of the needed stages' base images found in `images`, as BuildKit's
    /// `initOnBuildTriggers`: they lead the stage's instructions, and what they read joins the build
    /// (a stage, with its own base; an image). Returns the registry images the build now needs that
    /// `images` lacks: fetch them and call again until none is left.
    pub fn fire_image_triggers(
        &mut self,
        images: &ImageSet,
    ) -> Result<Vec<ImageKey>, FrontendError> {
        loop {
            let mut fired_any = false;
            for i in self.needed.clone() {
                let BaseDef::Image(r) = &self.defs[i].base else {
                    continue;
                };
                let triggers = match images.get(r, &self.defs[i].platform) {
                    Some(image) if !self.defs[i].fired_triggers => {
                        image.config().config.on_build.clone().unwrap_or_default()
                    }
                    Some(_) | None => continue,
                };
                if triggers.is_empty() {
                    continue;
                }
                let origin = format!("base image `{r}`");
                let fired = onbuild::parse(&triggers, &self.defs[i].from, &self.file, &origin)?;
                let names: Vec<Option<String>> = self.defs.iter().map(|d| d.name.clone()).collect();
                let mut copies = Vec::new();
                let mut mounts = Vec::new();
                for inst in &fired {
                    let (copy, mount) =
                        graph::instruction_sources(&names, i, inst, &self.file, self.escape)?;
                    copies.push(copy);
                    mounts.push(mount);
                }
                let def = &mut self.defs[i];
                copies.append(&mut def.copy_from);
                mounts.append(&mut def.mount_from);
                let mut instructions = fired;
                instructions.append(&mut def.instructions);
                def.instructions = instructions;
                def.copy_from = copies;
                def.mount_from = mounts;
                def.fired_triggers = true;
                fired_any = true;
            }
            if !fired_any {
                break;
            }
            self.needed = graph::order(&self.defs, self.target, &self.file)?;
            check_reads(&self.defs, &self.needed, &self.file, self.escape)?;
        }
        Ok(self
            .external_images()
            .into_iter()
            .filter(|key| !images.contains(key))
            .collect())
    }

    /// The plan, given the resolved images, and the findings of the checks dispatch runs.
    pub fn plan(
        &self,
        images: &ImageSet,
        input: &super::Input,
        filter: &ContextFilter,
    ) -> Result<(BuildPlan, Vec<Check>), FrontendError> {
        let mut lint = Linter::new(self.lint.config.clone(), &self.file);
        let mut finals: Vec<Option<State>> = vec![None; self.defs.len()];
        let position = |i: usize| StageId(self.needed.iter().position(|n| *n == i).unwrap_or(0));
        let mut stages = Vec::new();
        for &i in &self.needed {
            let def = &self.defs[i];
            // The base's ONBUILD triggers already lead the instructions (`fired_triggers`).
            let (base, state) = match &def.base {
                BaseDef::Scratch => (Base::Scratch, State::default()),
                BaseDef::Image(r) => {
                    let image = images.get(r, &def.platform).ok_or_else(|| {
                        FrontendError::UnresolvedImage {
                            reference: ImageKey::new(r, &def.platform).to_string(),
                        }
                    })?;
                    // BuildKit's `validateBaseImagePlatform`: against the stage's platform.
                    let ic = image.config();
                    if (ic.os.as_str(), ic.architecture.as_str())
                        != (def.platform.os.as_str(), def.platform.architecture.as_str())
                    {
                        let actual =
                            Platform::normalized(&ic.os, &ic.architecture, ic.variant.as_deref());
                        lint.scope(&def.from.node.comments);
                        lint.run(
                            Rule::InvalidBaseImagePlatform,
                            def.from.node.start_line,
                            format!(
                                "Base image {} was pulled with platform \"{actual}\", expected \"{}\" for current build",
                                def.base_name, def.platform
                            ),
                        );
                        lint.scope(&[]);
                    }
                    (
                        Base::Image(r.clone()),
                        State::from_config(&image.config().config),
                    )
                }
                BaseDef::Stage(j) => (
                    Base::Stage(position(*j)),
                    finals[*j].clone().unwrap_or_default(),
                ),
            };
            let ctx = dispatch::Context {
                file: &self.file,
                escape: self.escape,
                args: &self.args,
                stage_id: &position,
                ignore: filter,
            };
            // BuildKit makes sure PATH is always set, in the config, without a history entry.
            let mut state = state;
            let add_path = !state.env.iter().any(|(k, _)| k == "PATH");
            if add_path {
                state.set_env("PATH", DEFAULT_PATH);
            }
            let (mut steps, state) = dispatch::stage(&ctx, def, state, &mut lint)?;
            if def.fired_triggers
                && let Some(first) = steps.first_mut()
            {
                first.config.insert(0, ConfigChange::ClearOnBuild);
            }
            if add_path && let Some(first) = steps.first_mut() {
                let path = ("PATH".to_string(), DEFAULT_PATH.to_string());
                first
                    .config
                    .insert(0, ConfigChange::Env(vec![path.clone()]));
                if let Some(FsChange::Run(run)) = &mut first.fs {
                    run.env.retain(|(k, _)| k != "PATH");
                    run.env.push(path);
                }
            }
            finals[i] = Some(state);
            stages.push(Stage {
                name: def.display_name(),
                base,
                platform: def.platform.clone(),
                steps,
            });
        }
        if !input.labels.is_empty()
            && let Some(last) = stages.last_mut()
        {
            dispatch::add_labels(
                last,
                &input.labels,
                &self.defs[*self.needed.last().unwrap_or(&0)].from,
                &self.file,
            );
        }
        let plan = BuildPlan {
            platform: input.platform.clone(),
            stages,
            context: BuildContext {
                root: input.context.clone(),
                filter: filter.clone(),
            },
            named_contexts: Default::default(),
            epoch: input.epoch,
            compression_level: input.compression_level,
            created: input.created.clone(),
        };
        Ok((plan, lint.checks))
    }
}
