//! The launcher (CNB platform spec 0.13, "Launcher"; buildpack spec 0.10, "Launch"): the app image's
//! entrypoint. It picks the process — the type named by argv[0] under `/cnb/process/`, else
//! `CNB_PROCESS_TYPE`, else the default process of `<layers>/config/metadata.toml`; `launcher CMD
//! ARGS...` runs a command of the user's instead — sets the launch environment of every buildpack's
//! layers in group order (layer paths, `env/`, `env.launch/`, `env.launch/<process>/`), changes to
//! the process's working directory (else the app directory) and `exec`s it. Buildpack API 0.9+
//! processes are direct: `command` then the arguments — the user's when given, else the process's
//! `args`. No shell unless the command is one; `profile.d`, `.profile` and `exec.d` are not run.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::descriptor::escape_id;
use crate::env::{self, Env, Scope};
use crate::error::{self, Error};
use crate::metadata::Metadata;

/// Starts a process; returns only when it cannot (the exit code of the error).
pub fn run(from_argv0: Option<&str>, args: Vec<OsString>) -> Result<i32, Error> {
    let mut current = Env::current();
    let var = |name: &str| {
        current
            .get(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let layers = var("CNB_LAYERS_DIR").unwrap_or_else(|| "/layers".into());
    let app = var("CNB_APP_DIR").unwrap_or_else(|| "/workspace".into());
    let metadata_path = layers.join("config").join("metadata.toml");
    let metadata: Metadata = error::read_toml(error::LAUNCH_ERROR, &metadata_path)?.ok_or_else(|| {
        Error::new(
            error::LAUNCH_ERROR,
            format!("`{}` does not exist", metadata_path.display()),
            "the launcher starts the processes the buildpacks declared there when the image was built",
            "run the launcher in an image built by hoist's lifecycle, or set `CNB_LAYERS_DIR`",
        )
    })?;

    // What to run: argv, and the process type whose environment applies.
    let (kind, argv, working_dir): (Option<String>, Vec<OsString>, Option<String>) =
        match from_argv0 {
            None if !args.is_empty() => {
                let mut args = args;
                if args.first().is_some_and(|a| a == "--") {
                    args.remove(0);
                }
                if args.is_empty() {
                    return Err(no_command());
                }
                (None, args, None)
            }
            _ => {
                let wanted = from_argv0
                    .map(str::to_owned)
                    .or_else(|| {
                        current
                            .get("CNB_PROCESS_TYPE")
                            .map(|t| t.to_string_lossy().into_owned())
                    })
                    .filter(|t| !t.is_empty());
                let process = match &wanted {
                    Some(kind) => metadata
                        .process(kind)
                        .ok_or_else(|| unknown(kind, &metadata))?,
                    None => metadata
                        .default_type()
                        .and_then(|kind| metadata.process(kind))
                        .ok_or_else(|| no_default(&metadata))?,
                };
                let mut argv: Vec<OsString> = process.command.iter().map(OsString::from).collect();
                let user_args = from_argv0.is_some() && !args.is_empty();
                match (process.direct, user_args) {
                    (true, true) => argv.extend(args),
                    (true, false) => argv.extend(process.args.iter().map(OsString::from)),
                    // A pre-0.9 shell process: the command and its arguments, as one shell line.
                    (false, _) => {
                        let mut line = process.command.join(" ");
                        let extra: Vec<String> = match user_args {
                            true => args
                                .iter()
                                .map(|a| a.to_string_lossy().into_owned())
                                .collect(),
                            false => process.args.clone(),
                        };
                        for arg in extra {
                            line.push(' ');
                            line.push_str(&arg);
                        }
                        argv = vec!["/bin/sh".into(), "-c".into(), line.into()];
                    }
                }
                (
                    Some(process.r#type.clone()),
                    argv,
                    process.working_dir.clone(),
                )
            }
        };

    for bp in &metadata.buildpacks {
        let dirs = env::layer_dirs(&layers.join(escape_id(&bp.id)));
        let scope = Scope::Launch {
            process: kind.as_deref(),
        };
        current.add_layer_paths(&dirs, scope);
        for dir in &dirs {
            current.add_layer_env(dir, scope);
        }
    }
    current.set("CNB_LAYERS_DIR", &layers);
    current.set("CNB_APP_DIR", &app);
    // A relative working directory is the app's sub-directory (`join` keeps an absolute one).
    let dir = match working_dir {
        Some(working_dir) => app.join(working_dir),
        None => app,
    };
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_clear()
        .envs(current.vars())
        .current_dir(&dir);
    let error = command.exec();
    let shown: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    Err(Error::new(
        error::LAUNCH_ERROR,
        format!(
            "cannot start {}`{}` in `{}`: {error}",
            kind.map(|k| format!("process `{k}`: ")).unwrap_or_default(),
            shown.join(" "),
            dir.display()
        ),
        "the command runs directly (no shell), found on the launch `PATH` of the image's layers",
        "check that the program exists in the image (the run image must have what the build image's \
         buildpacks relied on, e.g. `sh`, `node`, `python3`)",
    ))
}

fn unknown(kind: &str, metadata: &Metadata) -> Error {
    Error::new(
        error::LAUNCH_ERROR,
        format!("the image has no `{kind}` process"),
        format!("its processes are: {}", list(metadata)),
        "run one of those (`/cnb/process/<type>` or `CNB_PROCESS_TYPE=<type>`), or add the type to the app's `Procfile`",
    )
}

fn no_default(metadata: &Metadata) -> Error {
    Error::new(
        error::LAUNCH_ERROR,
        "the image has no default process",
        format!(
            "no buildpack marked one of its processes the default; its processes are: {}",
            list(metadata)
        ),
        "set `CNB_PROCESS_TYPE=<type>`, or add a `web:` line to the app's `Procfile`",
    )
}

fn no_command() -> Error {
    Error::new(
        error::LAUNCH_ERROR,
        "`launcher --` needs a command after `--`",
        "`launcher CMD ARGS...` runs CMD in the launch environment",
        "pass the command, e.g. `launcher -- node --version`",
    )
}

fn list(metadata: &Metadata) -> String {
    match metadata.types().as_slice() {
        [] => "none".to_owned(),
        types => types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
