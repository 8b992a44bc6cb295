//! One stage's instructions → plan [`Step`]s, following BuildKit's `dockerfile2llb` dispatch: variables
//! expanded where the Dockerfile reference says (ENV before ARG), shell forms wrapped in the stage's
//! SHELL, paths made absolute against WORKDIR, and `created_by` texts as BuildKit writes them.

use std::path::Path;

use crate::image::ContainerConfig;
use crate::image::config::Healthcheck;
use crate::plan::{ConfigChange, FsChange, MkdirSpec, MountFrom, RunSpec, Stage, StageId, Step};

use super::args::{Args, set};
use super::convert::{SourceDef, StageDef};
use super::copy::{absolute, copy_spec, owner};
use super::error::FrontendError;
use super::expand;
use super::instruction::{CommandLine, Instruction, Kind};
use super::run_mount;

/// What the stage looks like so far, as far as planning needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub env: Vec<(String, String)>,
    /// Absolute working directory (`/` when unset).
    pub workdir: String,
    pub user: Option<String>,
    pub shell: Vec<String>,
}

impl Default for State {
    fn default() -> State {
        State {
            env: Vec::new(),
            workdir: "/".into(),
            user: None,
            shell: default_shell(),
        }
    }
}

fn default_shell() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into()]
}

impl State {
    /// The state a registry image's config gives.
    pub fn from_config(config: &ContainerConfig) -> State {
        let env = config
            .env
            .iter()
            .flatten()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        State {
            env,
            workdir: config
                .working_dir
                .clone()
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "/".into()),
            user: config.user.clone().filter(|u| !u.is_empty()),
            shell: config
                .shell
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(default_shell),
        }
    }
}

pub struct Context<'a> {
    pub file: &'a Path,
    pub escape: char,
    pub args: &'a Args,
    pub stage_id: &'a dyn Fn(usize) -> StageId,
}

/// Plans one stage from `state` (its base); returns the steps and the final state.
pub fn stage(
    ctx: &Context<'_>,
    def: &StageDef,
    mut state: State,
) -> Result<(Vec<Step>, State), FrontendError> {
    let mut steps = Vec::new();
    let mut args: Vec<(String, String)> = Vec::new();
    // Every ARG of the stage, valueless ones as empty: BuildKit lists them all in RUN's history.
    let mut declared: Vec<(String, String)> = Vec::new();
    let mut cmd_set = false;
    let sources = def.copy_from.iter().zip(&def.mount_from);
    for (inst, (source, mount_sources)) in def.instructions.iter().zip(sources) {
        let file = ctx.file;
        let err = |message: String| FrontendError::expansion(inst.node.located(file, message));
        let (env_now, args_now) = (state.env.clone(), args.clone());
        let lookup = move |k: &str| {
            env_now
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    args_now
                        .iter()
                        .rev()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                })
        };
        let x = |w: &str| {
            expand::word(w, ctx.escape, &lookup)
                .map_err(|e| err(format!("cannot expand `{w}`: {}", e.0)))
        };
        let xr = |w: &str| {
            expand::raw(w, &lookup)
                .map(|(v, _)| v)
                .map_err(|e| err(format!("cannot expand the heredoc: {}", e.0)))
        };
        let mut config = Vec::new();
        let mut fs = None;
        let created_by: String;
        match &inst.kind {
            Kind::Arg(decls) => {
                for decl in decls {
                    // Later declarations of one ARG line see the earlier ones.
                    let scope = args.clone();
                    let chained = |k: &str| {
                        let env = state.env.iter().rev().find(|(n, _)| n == k);
                        let arg = scope.iter().rev().find(|(n, _)| n == k);
                        env.or(arg).map(|(_, v)| v.clone())
                    };
                    let value = ctx
                        .args
                        .declare(decl, false, ctx.escape, &chained)
                        .map_err(|e| err(e.0))?;
                    set(&mut declared, &decl.name, value.clone().unwrap_or_default());
                    if let Some(v) = value {
                        set(&mut args, &decl.name, v);
                    }
                }
                continue;
            }
            Kind::From(_) => continue,
            Kind::Env(pairs) | Kind::Label(pairs) => {
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
                        set(&mut state.env, k, v.clone());
                    }
                    config.push(ConfigChange::Env(out));
                } else {
                    created_by = format!("LABEL {text}");
                    config.push(ConfigChange::Labels(out));
                }
            }
            Kind::Workdir(path) => {
                let path = x(path)?;
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
                    out.extend(expose(&x(p)?).map_err(err)?);
                }
                out.sort();
                out.dedup();
                created_by = format!(
                    "EXPOSE map[{}]",
                    out.iter()
                        .map(|p| format!("{p}:{{}}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                config.push(ConfigChange::Expose(out));
            }
            Kind::Volume(vols) => {
                let vols = vols.iter().map(|v| x(v)).collect::<Result<Vec<_>, _>>()?;
                created_by = format!("VOLUME [{}]", vols.join(" "));
                config.push(ConfigChange::Volumes(vols));
            }
            Kind::Entrypoint(cmd) | Kind::Cmd(cmd) => {
                let argv = match cmd {
                    CommandLine::Exec(v) => v.clone(),
                    CommandLine::Shell(s) => {
                        state.shell.iter().cloned().chain([s.clone()]).collect()
                    }
                };
                if let Kind::Cmd(_) = inst.kind {
                    created_by = format!("CMD {}", go_quote(&argv));
                    cmd_set = true;
                    config.push(ConfigChange::Cmd(Some(argv)));
                } else {
                    created_by = format!("ENTRYPOINT {}", go_quote(&argv));
                    config.push(ConfigChange::Entrypoint(Some(argv)));
                    if !cmd_set {
                        config.push(ConfigChange::Cmd(None));
                    }
                }
            }
            Kind::Shell(shell) => {
                created_by = format!("SHELL [{}]", shell.join(" "));
                state.shell = shell.clone();
                config.push(ConfigChange::Shell(shell.clone()));
            }
            Kind::StopSignal(sig) => {
                let sig = x(sig)?;
                created_by = format!("STOPSIGNAL {sig}");
                config.push(ConfigChange::StopSignal(sig));
            }
            Kind::Healthcheck(spec) => {
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
                    "HEALTHCHECK &{{{} {:?} {:?} {:?} {:?} {}}}",
                    go_quote(hc.test.as_deref().unwrap_or_default()),
                    hc.interval.unwrap_or(0),
                    hc.timeout.unwrap_or(0),
                    hc.start_period.unwrap_or(0),
                    hc.start_interval.unwrap_or(0),
                    hc.retries.unwrap_or(0)
                );
                config.push(ConfigChange::Healthcheck(hc));
            }
            Kind::OnBuild(trigger) => {
                created_by = format!("ONBUILD {trigger}");
                config.push(ConfigChange::OnBuild(trigger.clone()));
            }
            Kind::Maintainer(m) => {
                created_by = format!("MAINTAINER {m}");
            }
            Kind::Run(run) => {
                let script = match (&run.command, inst.node.heredocs.as_slice()) {
                    (c, []) => c.clone(),
                    (CommandLine::Shell(s), [h])
                        if s.trim() == format!("<<{}", h.name)
                            || s.trim() == format!("<<-{}", h.name) =>
                    {
                        CommandLine::Shell(h.content.clone())
                    }
                    // A heredoc fed to a command: the shell reads the heredoc itself.
                    (CommandLine::Shell(s), docs) => {
                        let bodies: String = docs
                            .iter()
                            .map(|h| format!("{}{}\n", h.content, h.name))
                            .collect();
                        CommandLine::Shell(format!("{s}\n{bodies}"))
                    }
                    (CommandLine::Exec(_), _) => {
                        return Err(FrontendError::unsupported(
                            inst.node
                                .located(file, "heredocs in the exec form of RUN are not supported")
                                .hint("use the shell form: `RUN cat <<EOF > /file`"),
                        ));
                    }
                };
                let argv = match script {
                    CommandLine::Exec(v) => v,
                    CommandLine::Shell(s) => state.shell.iter().cloned().chain([s]).collect(),
                };
                let env: Vec<(String, String)> = args
                    .iter()
                    .filter(|(k, _)| !state.env.iter().any(|(e, _)| e == k))
                    .cloned()
                    .collect();
                // BuildKit's `runCommandString`: `|N k=v ...`, an ENV value shadowing its ARG.
                let shown: Vec<String> = declared
                    .iter()
                    .map(|(k, v)| {
                        let v = state
                            .env
                            .iter()
                            .rev()
                            .find(|(e, _)| e == k)
                            .map_or(v, |(_, ev)| ev);
                        format!("{k}={v}")
                    })
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
                fs = Some(FsChange::Run(RunSpec {
                    argv,
                    env,
                    mounts,
                    network: run.network,
                }));
            }
            Kind::Copy(copy) => {
                let (spec, text) = copy_spec(ctx, inst, copy, source.as_ref(), &state, &x, &xr)?;
                created_by = text;
                fs = Some(FsChange::Copy(spec));
            }
        }
        steps.push(Step {
            created_by,
            location: inst.node.location(file),
            fs,
            config,
        });
    }
    Ok((steps, state))
}

/// `80` → `80/tcp`; `8000-8001/udp` → each port.
fn expose(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "invalid protocol `{proto}` in `{spec}`: use `tcp`, `udp` or `sctp`"
        ));
    }
    let bad =
        || format!("invalid port `{spec}`: write a number like `80` or a range like `8000-8010`");
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// `--label` values on the target stage: on its last step, or a new LABEL step.
pub fn add_labels(stage: &mut Stage, labels: &[(String, String)], from: &Instruction, file: &Path) {
    let change = ConfigChange::Labels(labels.to_vec());
    match stage.steps.last_mut() {
        Some(step) => step.config.push(change),
        None => stage.steps.push(Step {
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
