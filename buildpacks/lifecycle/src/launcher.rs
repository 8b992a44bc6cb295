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

    let process_type = current
        .get("CNB_PROCESS_TYPE")
        .map(|t| t.to_string_lossy().into_owned());
    let Start {
        kind,
        argv,
        working_dir,
    } = choose(&metadata, from_argv0, process_type.as_deref(), args)?;

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

/// What the launcher starts: the process type whose environment applies (none for a user's
/// command), the argv, the working directory the process asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Start {
    kind: Option<String>,
    argv: Vec<OsString>,
    working_dir: Option<String>,
}

/// The process to start: the type named by argv[0] (`from_argv0`), else `CNB_PROCESS_TYPE`, else
/// the default; `launcher CMD ARGS...` (no type from argv[0], arguments given) is the user's command.
/// A direct process gets the user's arguments when given, else its own `args`.
fn choose(
    metadata: &Metadata,
    from_argv0: Option<&str>,
    process_type: Option<&str>,
    args: Vec<OsString>,
) -> Result<Start, Error> {
    if from_argv0.is_none() && !args.is_empty() {
        let mut args = args;
        if args.first().is_some_and(|a| a == "--") {
            args.remove(0);
        }
        if args.is_empty() {
            return Err(no_command());
        }
        return Ok(Start {
            kind: None,
            argv: args,
            working_dir: None,
        });
    }
    let wanted = from_argv0.or(process_type).filter(|t| !t.is_empty());
    let process = match wanted {
        Some(kind) => metadata
            .process(kind)
            .ok_or_else(|| unknown(kind, metadata))?,
        None => metadata
            .default_type()
            .and_then(|kind| metadata.process(kind))
            .ok_or_else(|| no_default(metadata))?,
    };
    let user_args = !args.is_empty();
    let argv = match (process.direct, user_args) {
        (true, true) => process
            .command
            .iter()
            .map(OsString::from)
            .chain(args)
            .collect(),
        (true, false) => process
            .command
            .iter()
            .chain(&process.args)
            .map(OsString::from)
            .collect(),
        // A pre-0.9 shell process: the command and its arguments, as one shell line.
        (false, _) => {
            let extra: Vec<String> = match user_args {
                true => args
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
                false => process.args.clone(),
            };
            let line = process
                .command
                .iter()
                .chain(&extra)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            vec!["/bin/sh".into(), "-c".into(), line.into()]
        }
    };
    Ok(Start {
        kind: Some(process.r#type.clone()),
        argv,
        working_dir: process.working_dir.clone(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        toml::from_str(
            "[[buildpacks]]\nid = \"hoist/procfile\"\nversion = \"0.1.0\"\napi = \"0.10\"\n\
             [[processes]]\ntype = \"web\"\ncommand = [\"sh\", \"-c\", \"./serve\"]\ndirect = true\n\
             default = true\nbuildpack-id = \"hoist/procfile\"\n\
             [[processes]]\ntype = \"worker\"\ncommand = [\"./jobs\"]\nargs = [\"--queue\", \"a\"]\n\
             direct = true\nworking-dir = \"jobs\"\nbuildpack-id = \"hoist/procfile\"\n",
        )
        .unwrap()
    }

    fn os(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn argv0_then_the_variable_then_the_default_names_the_process() {
        let m = metadata();
        let start = choose(&m, Some("worker"), Some("web"), vec![]).unwrap();
        assert_eq!(start.kind.as_deref(), Some("worker"));
        assert_eq!(start.argv, os(&["./jobs", "--queue", "a"]));
        assert_eq!(start.working_dir.as_deref(), Some("jobs"));
        let start = choose(&m, None, Some("worker"), vec![]).unwrap();
        assert_eq!(start.kind.as_deref(), Some("worker"));
        let start = choose(&m, None, None, vec![]).unwrap();
        assert_eq!(start.argv, os(&["sh", "-c", "./serve"]));
    }

    #[test]
    fn user_arguments_replace_the_process_args() {
        let start = choose(&metadata(), Some("worker"), None, os(&["--queue", "b"])).unwrap();
        assert_eq!(start.argv, os(&["./jobs", "--queue", "b"]));
    }

    #[test]
    fn launcher_with_arguments_runs_the_users_command() {
        let start = choose(&metadata(), None, Some("web"), os(&["--", "node", "-v"])).unwrap();
        assert_eq!((start.kind, start.argv), (None, os(&["node", "-v"])));
        assert!(choose(&metadata(), None, None, os(&["--"])).is_err());
    }

    #[test]
    fn unknown_types_and_no_default_name_what_exists() {
        let err = choose(&metadata(), Some("cron"), None, vec![]).unwrap_err();
        assert_eq!(err.code, error::LAUNCH_ERROR);
        assert!(
            err.what.contains("`cron`") && err.why.contains("`web`, `worker`"),
            "{err}"
        );
        let mut m = metadata();
        m.processes[0].default = false;
        let err = choose(&m, None, None, vec![]).unwrap_err();
        assert!(err.what.contains("no default process"), "{err}");
    }
}
