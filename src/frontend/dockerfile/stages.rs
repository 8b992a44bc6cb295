//! A Dockerfile's stages (Dockerfile reference "FROM", "ARG" and multi-stage builds; BuildKit's
//! `dockerfile2llb/convert.go` up to dispatch): instructions split at FROM lines (`from` reads each),
//! global ARGs feed FROM lines and `--build-arg` overrides their defaults, a base stage's ONBUILD
//! triggers fire first in the stage built on it, the target is found by name or index, and only the
//! stages it needs (through FROM, `COPY --from` and RUN mounts: `graph`) are kept, dependencies first,
//! their reads and RUN flags checked. Planning them is `convert`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::image::{Platform, Reference};

use super::args::{Args, set};
use super::error::{FrontendError, Located};
use super::expand;
use super::from;
use super::graph;
use super::instruction::{Instruction, Kind, RunArgs, Security};
use super::lint::{self, Linter};
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
pub fn load(
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
            (Kind::From(line), _) => {
                let scope = from::Scope {
                    args: &args,
                    defaults: &defaults,
                    declared: &declared,
                    platforms,
                    file,
                    escape,
                };
                let def = from::stage(&scope, &inst, line, &defs, &mut lint)?;
                defs.push(def);
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
pub(super) fn check_reads(
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
pub(super) fn find_stage(defs: &[StageDef], name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    defs.iter()
        .rposition(|d| d.name.as_deref() == Some(lower.as_str()))
}
