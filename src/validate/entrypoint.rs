//! The entrypoint check: the program a container starts with (`Entrypoint`, else `Cmd`, OCI image-spec
//! `config.md`) is found as a runtime's exec finds it — through `PATH` for a bare name, from `WorkingDir`
//! for a relative path — and is an executable file whose interpreter exists: the `#!` line of a script
//! (and the program `env` runs), the `PT_INTERP` loader of a dynamically linked ELF binary.

use super::Origin;
use super::elf;
use super::finding::{Finding, Kind, LayerRef};
use super::scan::Content;
use super::tree::{Node, Tree};
use crate::image::ImageConfig;

/// `PATH` when the image sets none (Docker's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Every finding about the program the container starts with; `architecture` is the target's.
pub fn findings(
    tree: &Tree,
    config: &ImageConfig,
    architecture: &str,
    origin: Origin,
    layer: &dyn Fn(usize) -> LayerRef,
) -> Vec<Finding> {
    let c = &config.config;
    let (argv, what) = match (&c.entrypoint, &c.cmd) {
        (Some(e), _) if !e.is_empty() => (e, "entrypoint"),
        (_, Some(cmd)) => (cmd, "command (`Cmd`)"),
        _ => return Vec::new(),
    };
    let Some(program) = argv.first() else {
        return Vec::new();
    };
    let path_var = c.env_var("PATH").unwrap_or(DEFAULT_PATH);
    let workdir = c
        .working_dir
        .as_deref()
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    let Some(found) = tree.lookup(program, path_var, workdir) else {
        return vec![not_found(program, what, path_var)];
    };
    let not_executable = |why: String| Finding {
        kind: Kind::EntrypointNotExecutable,
        path: Some(found.clone()),
        message: format!(
            "the {what} `{found}` is not executable: {why}; the container would fail with `permission denied`"
        ),
        layer: None,
        hint: format!(
            "make it executable (`COPY --chmod=755`, or `RUN chmod +x {found}`), or run it through its interpreter, e.g. `ENTRYPOINT [\"sh\", \"{found}\"]`"
        ),
    };
    let (layer_index, content) = match tree.0.get(&found) {
        None | Some(Node::Dir) => return vec![not_executable("it is a directory".into())],
        Some(Node::Symlink(_) | Node::Other) => return Vec::new(),
        Some(Node::File { mode, layer: l, .. }) if mode & 0o111 == 0 => {
            let mut f = not_executable(format!("its mode is {mode:04o}, without an x bit"));
            f.layer = Some(layer(*l));
            return vec![f];
        }
        Some(Node::File { layer, content, .. }) => (*layer, content),
    };
    let missing = |kind: Kind, needs: &str, interpreter: &str, hint: String| Finding {
        kind,
        path: Some(found.clone()),
        message: format!(
            "the {what} `{found}` needs {needs} `{interpreter}`, which is not in the image; it would fail with `no such file or directory`"
        ),
        layer: Some(layer(layer_index)),
        hint,
    };
    let install = |program: &str| {
        format!(
            "install `{program}` in the image, fix the `#!` line of `{found}`, or change the {what}"
        )
    };
    let mut out = Vec::new();
    match content {
        Content::Script(line) => {
            let mut words = line.split_whitespace();
            let Some(interpreter) = words.next() else {
                return out;
            };
            if tree.resolve(interpreter).is_none() {
                out.push(missing(
                    Kind::MissingInterpreter,
                    "the script interpreter",
                    interpreter,
                    install(interpreter),
                ));
            } else if interpreter.ends_with("/env")
                && let Some(program) = words.find(|w| !w.starts_with('-') && !w.contains('='))
                && tree.lookup(program, path_var, workdir).is_none()
            {
                out.push(missing(
                    Kind::MissingInterpreter,
                    "the program (through `env`)",
                    program,
                    install(program),
                ));
            }
        }
        Content::Elf(e) => {
            if let Some(loader) = &e.interpreter
                && elf::runs_on(e, architecture) != Some(false)
                && tree.resolve(loader).is_none()
            {
                let base = match origin {
                    Origin::Build => "start from a base image",
                    Origin::Existing => "rebuild the image from a base",
                };
                out.push(missing(
                    Kind::MissingLoader,
                    "the dynamic loader (`PT_INTERP`)",
                    loader,
                    format!(
                        "link `{found}` statically, or {base} that has `{loader}` (the C library it was built against)"
                    ),
                ));
            }
        }
        Content::Other => {}
    }
    out
}

fn not_found(program: &str, what: &str, path_var: &str) -> Finding {
    let (message, hint) = if program.contains('/') {
        (
            format!(
                "the {what} `{program}` is not in the image; the container would fail with `no such file or directory`"
            ),
            format!("copy `{program}` into the image, or fix the path in `ENTRYPOINT`/`CMD`"),
        )
    } else {
        (
            format!(
                "the {what} `{program}` is in no directory of the image's `PATH` ({path_var}); the container would fail with `executable file not found in $PATH`"
            ),
            format!(
                "install `{program}` in the image, give its full path in `ENTRYPOINT`/`CMD`, or add its directory to `PATH` (`ENV PATH=...`)"
            ),
        )
    };
    Finding {
        kind: Kind::EntrypointNotFound,
        path: Some(program.to_string()),
        message,
        layer: None,
        hint,
    }
}
