//! Typed instructions → stages → [`BuildPlan`], as BuildKit's `dockerfile2llb/convert.go` does it:
//! global ARGs feed FROM lines, `--build-arg` overrides defaults, stages are resolved by name or index,
//! and only the stages the target needs (through FROM and `COPY --from`) are planned, dependencies
//! first. The per-instruction translation lives in [`super::dispatch`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::image::{ImageKey, ImageSet, Platform, Reference};
use crate::plan::{
    Base, BuildContext, BuildPlan, ConfigChange, ContextFilter, FsChange, Stage, StageId,
};

use super::args::{Args, set};
use super::dispatch::{self, State};
use super::error::{FrontendError, Located};
use super::expand;
use super::graph;
use super::instruction::{Instruction, Kind, RunArgs, Security};
use super::lint::{self, Check, Linter, Rule, from_rules};
use super::onbuild;
use super::parser::Ast;
use super::run_mount;
use super::stage_platform;

/// What a stage starts from, resolved at load time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseDef {
    Scratch,
    Stage(usize),
    Image(Reference),
}

/// Where a `COPY --from` reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceDef {
    Stage(usize),
    Image(Reference),
}

#[derive(Clone, Debug)]
pub struct StageDef {
    pub index: usize,
    pub name: Option<String>,
    pub from: Instruction,
    /// The base as the FROM line names it, variables expanded (`alpine`), for messages.
    pub base_name: String,
    pub base: BaseDef,
    /// The platform the stage is built for (see [`stage_platform`]).
    pub platform: Platform,
    pub instructions: Vec<Instruction>,
    /// For each instruction, the resolved `COPY --from` source.
    pub copy_from: Vec<Option<SourceDef>>,
    /// For each instruction, the resolved `from=` of each of its `RUN --mount`s.
    pub mount_from: Vec<Vec<Option<SourceDef>>>,
    /// The base's ONBUILD triggers lead `instructions`: the stage's config drops the inherited list.
    pub fired_triggers: bool,
}

impl StageDef {
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }

    /// Every stage and image the stage's instructions read (`COPY --from`, RUN mounts' `from=`), in
    /// instruction order.
    pub fn reads(&self) -> impl Iterator<Item = &SourceDef> {
        self.instruction_reads().flat_map(|(_, reads)| reads)
    }

    /// Each instruction with the stages and images it reads.
    pub fn instruction_reads(&self) -> impl Iterator<Item = (&Instruction, Vec<&SourceDef>)> {
        self.instructions
            .iter()
            .zip(self.copy_from.iter().zip(&self.mount_from))
            .map(|(inst, (copy, mounts))| {
                (inst, copy.iter().chain(mounts.iter().flatten()).collect())
            })
    }
}

/// The loaded Dockerfile: stages, the ones the target needs, and the args.
#[derive(Clone, Debug)]
pub struct Stages {
    pub file: PathBuf,
    pub escape: char,
    pub defs: Vec<StageDef>,
    /// The index of the target stage in `defs`.
    pub target: usize,
    /// Indices into `defs`, dependencies first, the target last.
    pub needed: Vec<usize>,
    pub args: Args,
    /// The build's target platform (`COPY --from` images are pulled for it).
    pub target_platform: Platform,
    pub warnings: Vec<String>,
    /// Findings of the parse-time and FROM-line checks; dispatch adds its own when planning.
    pub lint: Linter,
}

pub(super) fn expand_err(inst: &Instruction, file: &Path, e: expand::ExpandError) -> FrontendError {
    FrontendError::expansion(
        inst.node
            .located(file, format!("cannot expand variables: {}", e.0)),
    )
}

/// The platforms a build knows before reading the Dockerfile: BuildKit's `TARGETPLATFORM` and
/// `BUILDPLATFORM`.
#[derive(Clone, Copy, Debug)]
pub struct Platforms<'a> {
    pub target: &'a Platform,
    pub build: &'a Platform,
}

/// Splits instructions into stages, resolves bases and `COPY --from`, and selects the target's stages.
pub fn stages(
    ast: &Ast,
    instructions: Vec<Instruction>,
    build_args: &[(String, Option<String>)],
    platforms: Platforms<'_>,
    target: Option<&str>,
) -> Result<Stages, FrontendError> {
    let platform = platforms.target;
    let file = ast.file.as_path();
    let escape = ast.escape;
    // `--build-arg BUILDKIT_DOCKERFILE_CHECK=…` replaces the `# check=` directive (BuildKit's dockerui).
    let from_build_arg = build_args
        .iter()
        .rev()
        .find(|(k, _)| k == "BUILDKIT_DOCKERFILE_CHECK")
        .and_then(|(k, v)| v.clone().or_else(|| std::env::var(k).ok()));
    let config = match from_build_arg {
        Some(value) => lint::Config::parse(&value)
            .map_err(|reason| FrontendError::CheckBuildArg { value, reason })?,
        None => lint::Config::parse(ast.directive("check").unwrap_or("")).map_err(|e| {
            let line = ast
                .directives
                .iter()
                .find(|d| d.name == "check")
                .map_or(1, |d| d.line);
            FrontendError::syntax(
                Located::new(
                    file,
                    line,
                    &format!("# check={}", ast.directive("check").unwrap_or("")),
                    format!("failed to parse check options: {e}"),
                )
                .hint("write `# check=skip=RULE1,RULE2;error=true` (or `skip=all`)"),
            )
        })?,
    };
    let mut lint = Linter::new(config, file);
    lint::parse_rules::run(&instructions, &mut lint);
    // BuildKit's `TARGETSTAGE`: `--target` as given, else the last stage's name, else `default`.
    let target_stage = target
        .map(str::to_string)
        .or_else(|| {
            instructions.iter().rev().find_map(|i| match &i.kind {
                Kind::From(from) => Some(from.name.clone()),
                _ => None,
            })?
        })
        .unwrap_or_else(|| "default".to_string());
    let mut args = Args::new(build_args, platforms, &target_stage);
    // The global ARGs with their defaults only, as BuildKit's `InvalidDefaultArgInFrom` sees them.
    let mut defaults = Args::new(&[], platforms, &target_stage);
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut warnings = Vec::new();
    let mut defs: Vec<StageDef> = Vec::new();
    for inst in instructions {
        match (&inst.kind, defs.last_mut()) {
            (Kind::Arg(decls), None) => {
                for decl in decls {
                    declared.insert(decl.name.clone());
                    for scope in [&mut args, &mut defaults] {
                        let meta = scope.clone();
                        let lookup = |k: &str| meta.global(k);
                        let value = scope
                            .declare(decl, true, escape, &lookup)
                            .map_err(|e| expand_err(&inst, file, e))?;
                        if let Some(value) = value {
                            set(&mut scope.meta, &decl.name, value);
                        }
                    }
                }
            }
            (Kind::From(from), _) => {
                let line = inst.node.start_line;
                // A `# check=` comment above the FROM applies to its checks.
                lint.scope(&inst.node.comments);
                let known: Vec<String> = declared
                    .iter()
                    .cloned()
                    .chain(args.automatic.iter().map(|(k, _)| k.clone()))
                    .collect();
                let from_lint = from_rules::FromLine {
                    line,
                    known: &known,
                };
                let mut own_platform = None;
                if let Some(raw) = &from.platform {
                    let lookup = |k: &str| args.global(k);
                    let (p, matched, unmatched) = expand::word_with_matches(raw, escape, &lookup)
                        .map_err(|e| expand_err(&inst, file, e))?;
                    from_lint.undeclared(&mut lint, &unmatched);
                    from_lint.platform(
                        &mut lint,
                        from.platform.as_deref().unwrap_or_default(),
                        &p,
                        &matched,
                        &unmatched,
                        args.global("TARGETPLATFORM").as_deref(),
                        from.name.as_deref(),
                    );
                    if p.is_empty() {
                        return Err(FrontendError::stage(
                            inst.node
                                .located(file, format!("empty platform value from expression {raw}"))
                                .hint("give the ARG a value (a global ARG before the first FROM, or `--build-arg`), or use an automatic one such as `$BUILDPLATFORM`"),
                        ));
                    }
                    let parsed = stage_platform::parse(&p, platforms.build).map_err(|e| {
                        FrontendError::stage(
                            inst.node
                                .located(file, format!("failed to parse platform {raw}: {e}"))
                                .hint("write `os/arch[/variant]`, for example `linux/arm64`, or `$BUILDPLATFORM` for the machine the build runs on"),
                        )
                    })?;
                    own_platform = Some(parsed);
                }
                let lookup = |k: &str| defaults.global(k);
                if let Ok(by_default) = expand::word(&from.image, escape, &lookup)
                    && Reference::from_str(&by_default).is_err()
                    && find_stage(&defs, &by_default).is_none()
                    && !by_default.eq_ignore_ascii_case("scratch")
                {
                    lint.run(
                        Rule::InvalidDefaultArgInFrom,
                        line,
                        format!(
                            "Default value for ARG {} results in empty or invalid base image name",
                            from.image
                        ),
                    );
                }
                let lookup = |k: &str| args.global(k);
                let (image, unmatched) = expand::word_with_unmatched(&from.image, escape, &lookup)
                    .map_err(|e| expand_err(&inst, file, e))?;
                from_lint.undeclared(&mut lint, &unmatched);
                if image.is_empty() {
                    return Err(FrontendError::stage(
                        inst.node
                            .located(
                                file,
                                format!("base name ({}) should not be blank", from.image),
                            )
                            .hint("give the ARG a default, or pass it with `--build-arg`"),
                    ));
                }
                let base = if image.eq_ignore_ascii_case("scratch") {
                    BaseDef::Scratch
                } else if let Some(j) = find_stage(&defs, &image) {
                    BaseDef::Stage(j)
                } else {
                    BaseDef::Image(parse_reference(&image, &inst, file)?)
                };
                lint.scope(&[]);
                let stage_platform = stage_platform::of_stage(&base, own_platform, &defs, platform);
                defs.push(StageDef {
                    index: defs.len(),
                    name: from.name.clone(),
                    from: inst.clone(),
                    base_name: image.clone(),
                    fired_triggers: false,
                    base,
                    platform: stage_platform,
                    instructions: Vec::new(),
                    copy_from: Vec::new(),
                    mount_from: Vec::new(),
                });
            }
            (_, None) => {
                return Err(FrontendError::stage(
                    inst.node
                        .located(file, format!("{} before the first FROM", inst.node.keyword))
                        .hint("only ARG may come before the first `FROM`; start a stage with `FROM <image>`"),
                ));
            }
            (_, Some(stage)) => {
                if let Kind::Arg(decls) = &inst.kind {
                    declared.extend(decls.iter().map(|d| d.name.clone()));
                }
                stage.instructions.push(inst);
            }
        }
    }
    // A base stage's ONBUILD triggers run first in the stage built on it (a base image's once its
    // config is known: `Stages::fire_image_triggers`).
    for i in 0..defs.len() {
        if let BaseDef::Stage(j) = defs[i].base {
            let triggers = onbuild::of_stage(&defs[j].instructions);
            if !triggers.is_empty() {
                let origin = format!("stage `{}`", defs[j].display_name());
                let mut fired = onbuild::parse(&triggers, &defs[i].from, file, &origin)?;
                fired.append(&mut defs[i].instructions);
                defs[i].instructions = fired;
                defs[i].fired_triggers = true;
            }
        }
    }
    graph::resolve_sources(&mut defs, file, escape)?;
    let target_index = match target {
        None => defs.len() - 1,
        Some(t) => find_stage(&defs, t)
            .or_else(|| t.parse::<usize>().ok().filter(|i| *i < defs.len()))
            .ok_or_else(|| FrontendError::UnknownTarget {
                file: file.to_path_buf(),
                target: t.to_string(),
                stages: defs
                    .iter()
                    .map(|d| format!("`{}`", d.display_name()))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
    };
    stage_platform::check_target(&defs, target_index, platform, file)?;
    let needed = graph::order(&defs, target_index, file)?;
    check_reads(&defs, &needed, file, escape)?;
    for (name, _) in build_args {
        if !declared.contains(name) && !PREDEFINED.contains(&name.as_str()) {
            warnings.push(format!(
                "build argument `{name}` is not declared by any ARG in `{}`; it was not used",
                file.display()
            ));
        }
    }
    Ok(Stages {
        file: file.to_path_buf(),
        escape,
        defs,
        target: target_index,
        needed,
        args,
        target_platform: platform.clone(),
        warnings,
        lint,
    })
}

/// Checks the reads of the stages the target needs, as BuildKit does before dispatching: RUN flags and
/// mounts hoist can run, and `COPY --from` / mounts of a stage only when it comes earlier.
fn check_reads(
    defs: &[StageDef],
    needed: &[usize],
    file: &Path,
    escape: char,
) -> Result<(), FrontendError> {
    for &i in needed {
        let def = &defs[i];
        let reads = def.copy_from.iter().zip(&def.mount_from);
        for (inst, (copy, mounts)) in def.instructions.iter().zip(reads) {
            if let Kind::Run(run) = &inst.kind {
                check_run(inst, run, file, escape)?;
            }
            // BuildKit dispatches stages in file order: a COPY reads only a stage dispatched before.
            if let Some(SourceDef::Stage(j)) = copy
                && *j >= i
            {
                let (name, here) = (defs[*j].display_name(), def.display_name());
                return Err(FrontendError::stage(
                    inst.node
                        .located(file, format!("cannot copy from stage `{name}`, it needs to be defined before current stage `{here}`"))
                        .hint(format!("move stage `{name}` above this one")),
                ));
            }
            // BuildKit: "stage needs to be defined before current command".
            if let Some(j) = mounts.iter().flatten().find_map(|s| match s {
                SourceDef::Stage(j) if *j >= i => Some(*j),
                SourceDef::Stage(_) | SourceDef::Image(_) => None,
            }) {
                let name = defs[j].display_name();
                return Err(FrontendError::stage(
                    inst.node
                        .located(file, format!("a RUN mount reads stage `{name}`, which is not defined before this stage"))
                        .hint(format!("a stage a RUN mounts is built before the RUN: move stage `{name}` above this one")),
                ));
            }
        }
    }
    Ok(())
}

/// Refuses what hoist cannot run in the target's stages before any image is pulled: `--security=insecure`,
/// mounts with wrong fields or of `type=ssh` (those with variables are checked when planned).
fn check_run(
    inst: &Instruction,
    run: &RunArgs,
    file: &Path,
    escape: char,
) -> Result<(), FrontendError> {
    match run.security {
        Security::Sandbox => {}
        Security::Insecure => {
            return Err(FrontendError::unsupported(
                inst.node
                    .located(file, "RUN --security=insecure is not supported by hoist: hoist never runs a step with privileges (it builds without root and without a daemon)")
                    .hint("remove `--security=insecure`; a step that needs privileges (mounting, loop devices, nested containers) needs a privileged builder such as BuildKit with `--allow security.insecure`"),
            ));
        }
    }
    let unquote = |w: &str| expand::word(w, escape, &|_| None).map_err(|e| e.0);
    for value in &run.mounts {
        run_mount::check(value, &unquote).map_err(|e| run_mount::located(e, value, inst, file))?;
    }
    Ok(())
}

/// The PATH BuildKit sets when a stage's base has none (`system.DefaultPathEnv("linux")`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Build args Docker knows without an ARG.
const PREDEFINED: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "SOURCE_DATE_EPOCH",
    "BUILDKIT_DOCKERFILE_CHECK",
];

/// The stage of that name (case-insensitive); with repeated names, the last one (BuildKit's map of
/// stages by name keeps the latest).
fn find_stage(defs: &[StageDef], name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    defs.iter()
        .rposition(|d| d.name.as_deref() == Some(lower.as_str()))
}

fn parse_reference(
    image: &str,
    inst: &Instruction,
    file: &Path,
) -> Result<Reference, FrontendError> {
    Reference::from_str(image).map_err(|e| {
        let first = e.to_string();
        let (message, hint) = first.split_once("\nhint: ").unwrap_or((first.as_str(), ""));
        let mut l = inst.node.located(file, message.to_string());
        if !hint.is_empty() {
            l = l.hint(hint.to_string());
        }
        FrontendError::stage(l)
    })
}

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
