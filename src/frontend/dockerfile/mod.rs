//! The Dockerfile frontend: text → AST (`parser`) → typed instructions (`instruction`) → plan (`convert`),
//! following the Dockerfile reference and BuildKit's `frontend/dockerfile` behaviour.
//!
//! - `parser`: directives, continuations, flags, heredocs → [`parser::Ast`] (no semantics).
//! - `instruction`: each node checked and typed ([`instruction::Kind`]); `suggest`, `duration` help it.
//! - `expand`: BuildKit's shell-lexer word expansion (`$VAR`, `${VAR:-x}`, quotes).
//! - `stages`: instructions split into stages (`from` reads each FROM line), `--target` and the
//!   stages it needs; `graph` resolves `COPY --from` and RUN mounts' `from=`, and dependency order;
//!   `args` scopes build arguments.
//! - `convert`: the registry images the stages need and their ONBUILD triggers, then stages → plan.
//! - `dispatch` (and `copy` for COPY/ADD, `run_mount` for `RUN --mount`): one stage's instructions →
//!   plan steps.
//! - `stage_platform`: the platform each stage is built for (`FROM --platform`, inherited from a base
//!   stage), and the refusal of a target stage for another platform than the target's.
//! - `onbuild`: the triggers of a base stage or image, fired first in the stage built on it.
//! - `dockerignore`: the context filter; `error`: located errors with hints.
//! - `listing`: the parsed instructions shaped as BuildKit's parser AST, for `hoist parse`.

pub mod args;
pub mod convert;
pub mod copy;
pub mod dispatch;
pub mod dockerignore;
pub mod duration;
pub mod error;
pub mod expand;
pub mod expose;
#[cfg(test)]
mod fixture_tests;
pub mod from;
pub mod gofmt;
pub mod graph;
pub mod instruction;
pub mod lint;
pub mod listing;
pub mod onbuild;
pub mod parser;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod run_flags_tests;
pub mod run_mount;
pub mod stage_platform;
pub mod stages;
pub mod suggest;

use std::path::PathBuf;

use crate::image::{ImageKey, ImageSet, Platform};
use crate::plan::BuildPlan;

pub use error::FrontendError;

/// What the Dockerfile frontend needs to know about the build.
#[derive(Clone, Debug)]
pub struct Input {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    /// `--build-arg NAME=VALUE` (value `None`: `--build-arg NAME`, taken from the environment if set).
    pub build_args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
    /// The build's target platform (`TARGETPLATFORM`): the result's, and every stage's unless its
    /// FROM says `--platform`.
    pub platform: Platform,
    /// The machine the build runs on (`BUILDPLATFORM`).
    pub build_platform: Platform,
    /// `--label` values, applied to the final image.
    pub labels: Vec<(String, String)>,
    pub epoch: i64,
    pub created: String,
    /// gzip level (1–9) for the layers, passed through to the plan.
    pub compression_level: u32,
}

/// A parsed Dockerfile, ready to plan once its registry images are resolved.
#[derive(Debug)]
pub struct Dockerfile {
    input: Input,
    stages: stages::Stages,
    filter: crate::plan::ContextFilter,
    /// Things worth telling the user (unused build args, ignored flags); the app prints them.
    pub warnings: Vec<String>,
    /// Findings of BuildKit's checks while parsing and on FROM lines (`# check=skip=` applied).
    pub checks: Vec<lint::Check>,
}

/// A plan and the findings of the checks that ran while planning it.
#[derive(Debug)]
pub struct Planned {
    pub plan: BuildPlan,
    pub checks: Vec<lint::Check>,
}

/// Reads and checks the Dockerfile and `.dockerignore`.
pub fn load(input: &Input) -> Result<Dockerfile, FrontendError> {
    let text =
        std::fs::read_to_string(&input.dockerfile).map_err(|source| FrontendError::Read {
            path: input.dockerfile.clone(),
            source,
        })?;
    let mut dockerfile = from_text(&text, input)?;
    dockerfile.filter = dockerignore::load(&input.dockerfile, &input.context)?;
    Ok(dockerfile)
}

/// Parses and checks Dockerfile text (no `.dockerignore`); `input.dockerfile` names it in messages.
pub fn from_text(text: &str, input: &Input) -> Result<Dockerfile, FrontendError> {
    let file = input.dockerfile.as_path();
    if text.is_empty() {
        return Err(FrontendError::syntax(
            error::Located::new(file, 1, "", "the Dockerfile cannot be empty")
                .hint("a Dockerfile needs at least a `FROM` instruction"),
        ));
    }
    let ast = parser::parse(text, file)?;
    let instructions = ast
        .nodes
        .iter()
        .cloned()
        .map(|node| instruction::from_node(node, file))
        .collect::<Result<Vec<_>, _>>()?;
    let stages = stages::load(
        &ast,
        instructions,
        &input.build_args,
        stages::Platforms {
            target: &input.platform,
            build: &input.build_platform,
        },
        input.target.as_deref(),
    )?;
    let warnings = stages.warnings.clone();
    let mut checks = stages.lint.checks.clone();
    checks.sort_by_key(|c| c.line);
    Ok(Dockerfile {
        input: input.clone(),
        stages,
        filter: crate::plan::ContextFilter::none(),
        warnings,
        checks,
    })
}

impl Dockerfile {
    /// Registry images the target needs (FROM bases, `COPY --from` and RUN mount `from=` images), each
    /// once, with the platform to pull each for (a base: its stage's; the others: the target's).
    pub fn external_images(&self) -> Vec<ImageKey> {
        self.stages.external_images()
    }

    /// Where the Dockerfile first names registry image `key`, for error messages.
    pub fn used_at(&self, key: &ImageKey) -> Option<crate::plan::Location> {
        self.stages.used_at(key, &self.input.dockerfile)
    }

    /// The plan, given the resolved registry images.
    pub fn plan(&self, images: &ImageSet) -> Result<BuildPlan, FrontendError> {
        self.planned(images).map(|p| p.plan)
    }

    /// Fires the ONBUILD triggers of the base images in `images` (they run first in the stages built
    /// on them) and returns the registry images the build needs now that `images` lacks (a trigger's
    /// `COPY --from` can pull in a stage or an image): fetch those and call again until none is left.
    pub fn fire_base_triggers(
        &mut self,
        images: &ImageSet,
    ) -> Result<Vec<ImageKey>, FrontendError> {
        self.stages.fire_image_triggers(images)
    }

    /// The plan and the findings of the checks BuildKit runs while dispatching the target's stages.
    /// Base images' ONBUILD triggers not fired yet are fired here; a registry image they need that
    /// `images` lacks is an error (see [`Dockerfile::fire_base_triggers`]).
    pub fn planned(&self, images: &ImageSet) -> Result<Planned, FrontendError> {
        let mut stages = self.stages.clone();
        if let Some(missing) = stages.fire_image_triggers(images)?.first() {
            return Err(FrontendError::UnresolvedImage {
                reference: missing.to_string(),
            });
        }
        let (plan, mut checks) = stages.plan(images, &self.input, &self.filter)?;
        checks.sort_by_key(|c| c.line);
        Ok(Planned { plan, checks })
    }

    /// `# check=error=true` with findings: the error BuildKit fails the build with.
    pub fn check_violation(&self, dispatch: &[lint::Check]) -> Option<String> {
        let all: Vec<lint::Check> = self.checks.iter().chain(dispatch).cloned().collect();
        lint::violation(&self.stages.lint.config, &all)
    }
}
