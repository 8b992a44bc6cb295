//! One stage's instructions → plan [`Step`]s, following BuildKit's `dockerfile2llb` dispatch: variables
//! expanded where the Dockerfile reference says, with the stage's environment (the base image's, ENV,
//! and the values of ARGs, the latest setting winning), shell forms wrapped in the stage's SHELL, paths
//! made absolute against WORKDIR, and `created_by` texts as BuildKit writes them. The checks BuildKit's
//! linter runs while dispatching (`UndefinedVar`, `JSONArgsRecommended`, …) are raised here.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use crate::image::config::Healthcheck;
use crate::plan::{
    ConfigChange, ContextFilter, CopySource, FsChange, MkdirSpec, MountFrom, RunMount, RunSpec,
    Stage, StageId, Step,
};

use super::args::{Args, get, set};
use super::copy::{absolute, copy_spec, owner};
use super::error::FrontendError;
use super::expand;
use super::expose;
use super::gofmt;
use super::instruction::{CommandLine, Instruction, Kind};
use super::lint::{Linter, Rule};
use super::stages::{SourceDef, StageDef};

mod checks;
mod state;

pub use state::State;

use super::parser::heredoc;
use super::run_mount;
use checks::{check_secret, report_undefined, used_once};

pub struct Context<'a> {
    pub file: &'a Path,
    pub escape: char,
    pub args: &'a Args,
    pub stage_id: &'a dyn Fn(usize) -> StageId,
    /// The `.dockerignore` filter (for the experimental `CopyIgnoredFile` check).
    pub ignore: &'a ContextFilter,
}

/// The proxy variables BuildKit gives RUN steps from `--build-arg`s without an ARG (`llb.WithProxy`),
/// each in upper and lower case.
const PROXIES: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

/// Plans one stage from `state` (its base); returns the steps and the final state.
pub fn stage(
    ctx: &Context<'_>,
    def: &StageDef,
    mut state: State,
    lint: &mut Linter,
) -> Result<(Vec<Step>, State), FrontendError> {
    let mut steps = Vec::new();
    // CMD, ENTRYPOINT, HEALTHCHECK seen in this stage (BuildKit's `instructionTracker`s).
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let sources = def.copy_from.iter().zip(&def.mount_from);
    for (inst, (source, mount_sources)) in def.instructions.iter().zip(sources) {
        lint.scope(&inst.node.comments);
        let file = ctx.file;
        let line = inst.node.start_line;
        let err = |message: String| FrontendError::expansion(inst.node.located(file, message));
        let vars_now = state.vars.clone();
        // `UndefinedVar` suggests among the variables set before the instruction.
        let known: Vec<String> = vars_now.iter().map(|(k, _)| k.clone()).collect();
        let lookup = move |k: &str| get(&vars_now, k).cloned();
        let unmatched: RefCell<BTreeSet<String>> = RefCell::new(BTreeSet::new());
        let x = |w: &str| {
            let (v, missing) = expand::word_with_unmatched(w, ctx.escape, &lookup)
                .map_err(|e| err(format!("cannot expand `{w}`: {}", e.0)))?;
            unmatched.borrow_mut().extend(missing);
            Ok::<String, FrontendError>(v)
        };
        let xr = |w: &str| {
            let (v, missing) = expand::raw(w, &lookup)
                .map_err(|e| err(format!("cannot expand the heredoc: {}", e.0)))?;
            unmatched.borrow_mut().extend(missing);
            Ok::<String, FrontendError>(v)
        };
        let mut config = Vec::new();
        let mut fs = None;
        let mut history = true;
        let created_by: String;
        match &inst.kind {
            Kind::Arg(decls) => {
                let mut shown = Vec::new();
                for decl in decls {
                    check_secret(lint, "ARG", &decl.name, line);
                    // Later declarations of one ARG line see the earlier ones.
                    let scope = state.clone();
                    let chained = |k: &str| scope.var(k);
                    let value = if get(&ctx.args.overrides, &decl.name).is_some() {
                        ctx.args.declare(decl, false, ctx.escape, &chained)
                    } else {
                        match &decl.default {
                            Some(d) => {
                                let (v, missing) =
                                    expand::word_with_unmatched(d, ctx.escape, &chained)
                                        .map_err(|e| err(e.0))?;
                                unmatched.borrow_mut().extend(missing);
                                Ok(Some(v))
                            }
                            None => ctx.args.declare(decl, false, ctx.escape, &chained),
                        }
                    }
                    .map_err(|e| err(e.0))?;
                    if !state.declared.contains(&decl.name) {
                        state.declared.push(decl.name.clone());
                    }
                    match &value {
                        Some(v) => {
                            set(&mut state.vars, &decl.name, v.clone());
                            shown.push(format!("{}={v}", decl.name));
                        }
                        None => shown.push(decl.name.clone()),
                    }
                }
                report_undefined(lint, &unmatched.borrow(), &state, &known, line);
                steps.push(Step {
                    created_by: format!("ARG {}", shown.join(" ")),
                    history: true,
                    location: inst.node.location(file),
                    fs: None,
                    config: Vec::new(),
                });
                continue;
            }
            Kind::From(_) => continue,
            Kind::Env(pairs) | Kind::Label(pairs) => {
                let keyword = inst.node.keyword.as_str();
                if inst
                    .node
                    .args
                    .nodes
                    .chunks(3)
                    .any(|c| c.get(2).is_some_and(String::is_empty))
                {
                    lint.run(
                        Rule::LegacyKeyValueFormat,
                        line,
                        format!("\"{keyword} key=value\" should be used instead of legacy \"{keyword} key value\" format"),
                    );
                }
                let mut out = Vec::new();
                for (k, v) in pairs {
                    out.push((x(k)?, x(v)?));
                }
                let text = out
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                if let Kind::Env(_) = inst.kind {
                    created_by = format!("ENV {text}");
                    for (k, v) in &out {
                        check_secret(lint, "ENV", k, line);
                        state.set_env(k, v);
                    }
                    config.push(ConfigChange::Env(out));
                } else {
                    created_by = format!("LABEL {text}");
                    config.push(ConfigChange::Labels(out));
                }
            }
            Kind::Workdir(path) => {
                let path = x(path)?;
                if !state.workdir_set && !path.starts_with('/') {
                    lint.run(
                        Rule::WorkdirRelativePath,
                        line,
                        format!("Relative workdir {} can have unexpected results if the base image changes", gofmt::quote(&path)),
                    );
                }
                state.workdir_set = true;
                let abs = absolute(&path, &state.workdir);
                let abs = if abs.len() > 1 {
                    abs.trim_end_matches('/').to_string()
                } else {
                    abs
                };
                state.workdir = abs.clone();
                created_by = format!("WORKDIR {abs}");
                fs = Some(FsChange::Mkdir(MkdirSpec {
                    path: abs.clone(),
                    owner: state.user.as_deref().map(owner),
                    mode: 0o755,
                }));
                config.push(ConfigChange::WorkingDir(abs));
            }
            Kind::User(user) => {
                let user = x(user)?;
                created_by = format!("USER {user}");
                state.user = Some(user.clone());
                config.push(ConfigChange::User(user));
            }
            Kind::Expose(ports) => {
                let mut out = Vec::new();
                for p in ports {
                    let words = expand::fields(p, ctx.escape, &lookup)
                        .map_err(|e| err(format!("cannot expand `{p}`: {}", e.0)))?;
                    for w in words {
                        let (exposed, checks) = expose::parse(&w).map_err(&err)?;
                        for (rule, message) in checks {
                            lint.run(rule, line, message);
                        }
                        out.extend(exposed);
                    }
                }
                created_by = format!("EXPOSE [{}]", out.join(" "));
                config.push(ConfigChange::Expose(out));
            }
            Kind::Volume(vols) => {
                let vols = vols.iter().map(|v| x(v)).collect::<Result<Vec<_>, _>>()?;
                if vols.iter().any(String::is_empty) {
                    return Err(err("VOLUME specified can not be an empty string".into()));
                }
                created_by = format!("VOLUME [{}]", vols.join(" "));
                config.push(ConfigChange::Volumes(vols));
            }
            Kind::Entrypoint(cmd) | Kind::Cmd(cmd) => {
                let is_cmd = matches!(inst.kind, Kind::Cmd(_));
                let name = if is_cmd { "CMD" } else { "ENTRYPOINT" };
                used_once(lint, &mut seen, name, &inst.node.written_keyword, line);
                let argv = match cmd {
                    CommandLine::Exec(v) => v.clone(),
                    CommandLine::Shell(s) => {
                        if !state.shell_set {
                            lint.run(
                                Rule::JSONArgsRecommended,
                                line,
                                format!("JSON arguments recommended for {} to prevent unintended behavior related to OS signals", inst.node.written_keyword),
                            );
                        }
                        state.shell.iter().cloned().chain([s.clone()]).collect()
                    }
                };
                if is_cmd {
                    created_by = format!("CMD {}", gofmt::quote_list(&argv));
                    config.push(ConfigChange::Cmd(Some(argv)));
                    config.push(ConfigChange::ArgsEscaped(true));
                } else {
                    created_by = format!("ENTRYPOINT {}", gofmt::quote_list(&argv));
                    // `ENTRYPOINT []` clears it.
                    let entrypoint = (!argv.is_empty()).then_some(argv);
                    config.push(ConfigChange::Entrypoint(entrypoint));
                    if !seen.iter().any(|(n, _)| *n == "CMD") {
                        config.push(ConfigChange::Cmd(None));
                    }
                }
            }
            Kind::Shell(shell) => {
                created_by = format!("SHELL [{}]", shell.join(" "));
                state.shell = shell.clone();
                state.shell_set = true;
                config.push(ConfigChange::Shell(shell.clone()));
            }
            Kind::StopSignal(sig) => {
                let sig = x(sig)?;
                created_by = format!("STOPSIGNAL {sig}");
                config.push(ConfigChange::StopSignal(sig));
            }
            Kind::Healthcheck(spec) => {
                used_once(
                    lint,
                    &mut seen,
                    "HEALTHCHECK",
                    &inst.node.written_keyword,
                    line,
                );
                let hc = match spec {
                    None => Healthcheck {
                        test: Some(vec!["NONE".into()]),
                        ..Healthcheck::default()
                    },
                    Some(h) => Healthcheck {
                        test: Some(match &h.test {
                            CommandLine::Exec(v) => std::iter::once("CMD".to_string())
                                .chain(v.iter().cloned())
                                .collect(),
                            CommandLine::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                        }),
                        interval: h.interval,
                        timeout: h.timeout,
                        start_period: h.start_period,
                        start_interval: h.start_interval,
                        retries: h.retries,
                    },
                };
                created_by = format!(
                    "HEALTHCHECK &{{{} {} {} {} {} {}}}",
                    gofmt::quote_list(hc.test.as_deref().unwrap_or_default()),
                    gofmt::quote(&gofmt::duration(hc.interval.unwrap_or(0))),
                    gofmt::quote(&gofmt::duration(hc.timeout.unwrap_or(0))),
                    gofmt::quote(&gofmt::duration(hc.start_period.unwrap_or(0))),
                    gofmt::quote(&gofmt::duration(hc.start_interval.unwrap_or(0))),
                    gofmt::quote_rune(hc.retries.unwrap_or(0))
                );
                config.push(ConfigChange::Healthcheck(hc));
            }
            Kind::OnBuild(trigger) => {
                // BuildKit records the trigger in the config only, with no history entry.
                created_by = format!("ONBUILD {trigger}");
                history = false;
                config.push(ConfigChange::OnBuild(trigger.clone()));
            }
            Kind::Maintainer(m) => {
                created_by = format!("MAINTAINER {m}");
                config.push(ConfigChange::Author(m.clone()));
            }
            Kind::Run(run) => {
                let (argv, script) = run_argv(inst, &run.command, &state);
                let mut env: Vec<(String, String)> = state
                    .vars
                    .iter()
                    .filter(|(k, v)| get(&state.env, k) != Some(v))
                    .cloned()
                    .collect();
                for (k, v) in &ctx.args.overrides {
                    let upper = k.to_ascii_uppercase();
                    if !PROXIES.contains(&upper.as_str()) {
                        continue;
                    }
                    for name in [upper.clone(), upper.to_ascii_lowercase()] {
                        if get(&state.vars, &name).is_none() && get(&env, &name).is_none() {
                            env.push((name, v.clone()));
                        }
                    }
                }
                // BuildKit's `runCommandString`: `|N k=v ...` for every declared ARG, valued from the
                // environment the RUN sees.
                let shown: Vec<String> = state
                    .declared
                    .iter()
                    .map(|k| format!("{k}={}", state.var(k).unwrap_or_default()))
                    .collect();
                let prefix = if shown.is_empty() {
                    String::new()
                } else {
                    format!("|{} {} ", shown.len(), shown.join(" "))
                };
                // BuildKit shows neither mounts nor network in the history.
                created_by = format!("RUN {prefix}{} # buildkit", argv.join(" "));
                let expand_value = |w: &str| expand::word(w, ctx.escape, &lookup).map_err(|e| e.0);
                let mut mounts = Vec::new();
                for (value, source) in run.mounts.iter().zip(mount_sources) {
                    let from = source.as_ref().map(|s| match s {
                        SourceDef::Stage(j) => MountFrom::Stage((ctx.stage_id)(*j)),
                        SourceDef::Image(r) => MountFrom::Image(r.clone()),
                    });
                    let mount = run_mount::parse(value, &expand_value)
                        .and_then(|m| run_mount::resolve(m, from, &state.workdir))
                        .map_err(|e| run_mount::located(e, value, inst, file))?;
                    mounts.push(mount);
                }
                mounts.extend(script);
                fs = Some(FsChange::Run(RunSpec {
                    argv,
                    env,
                    mounts,
                    network: run.network,
                }));
            }
            Kind::Copy(copy) => {
                let (spec, text) = copy_spec(ctx, inst, copy, source.as_ref(), &state, &x, &xr)?;
                // BuildKit's `validateCopySourcePath`: a context source .dockerignore hides.
                if matches!(spec.source, CopySource::Context) {
                    let verb = if copy.add { "Add" } else { "Copy" };
                    for src in spec.sources.iter().filter(|s| ctx.ignore.is_excluded(s)) {
                        lint.run(
                            Rule::CopyIgnoredFile,
                            line,
                            format!(
                                "Attempting to {verb} file {src:?} that is excluded by .dockerignore"
                            ),
                        );
                    }
                }
                created_by = text;
                fs = Some(FsChange::Copy(spec));
            }
        }
        report_undefined(lint, &unmatched.borrow(), &state, &known, line);
        steps.push(Step {
            created_by,
            history,
            location: inst.node.location(file),
            fs,
            config,
        });
    }
    lint.scope(&[]);
    Ok((steps, state))
}

/// RUN's argv: the exec form as is; the shell form in the stage's SHELL. With heredocs, as BuildKit's
/// `dispatchRun`: a command that is only `<<NAME` runs the body — a body starting with `#!` as a script
/// mounted at `/dev/pipes/NAME` (returned as a mount) —; otherwise the shell gets the command followed by
/// the bodies and their terminators.
fn run_argv(
    inst: &Instruction,
    command: &CommandLine,
    state: &State,
) -> (Vec<String>, Option<RunMount>) {
    let docs = &inst.node.heredocs;
    let shell = |script: String| state.shell.iter().cloned().chain([script]).collect();
    let script = match (command, docs.as_slice()) {
        (CommandLine::Exec(v), _) => return (v.clone(), None),
        (CommandLine::Shell(s), []) => s.clone(),
        (CommandLine::Shell(s), [h, ..]) if heredoc::parse(s).is_some() => {
            if h.content.starts_with("#!") {
                let mount = RunMount::Script {
                    target: "/dev/pipes".into(),
                    name: h.name.clone(),
                    content: h.body(),
                };
                return (shell(format!("/dev/pipes/{}", h.name)), Some(mount));
            }
            h.body()
        }
        (CommandLine::Shell(s), docs) => {
            let bodies: String = docs
                .iter()
                .map(|h| format!("\n{}{}", h.content, h.name))
                .collect();
            format!("{s}{bodies}")
        }
    };
    (shell(script), None)
}

/// `--label` values on the target stage: on its last step, or a new LABEL step.
pub fn add_labels(stage: &mut Stage, labels: &[(String, String)], from: &Instruction, file: &Path) {
    let change = ConfigChange::Labels(labels.to_vec());
    match stage.steps.last_mut() {
        Some(step) => step.config.push(change),
        // BuildKit copies `--label`s into the config without a history entry.
        None => stage.steps.push(Step {
            history: false,
            created_by: format!(
                "LABEL {}",
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            location: from.node.location(file),
            fs: None,
            config: vec![change],
        }),
    }
}
