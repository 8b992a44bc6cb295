//! Steps: one change to a stage's filesystem and/or config, with the history text it leaves.
//!
//! The facts the executor acts on are data: a step with `fs: Some(..)` may produce a layer (none when the
//! change turns out empty, as BuildKit drops empty layers); `config` changes never do.

use std::path::PathBuf;

use crate::image::Reference;
use crate::image::config::Healthcheck;

use super::StageId;

#[derive(Clone, Debug)]
pub struct Step {
    /// The history entry's `created_by` (e.g. `COPY app /app # buildkit`).
    pub created_by: String,
    /// Whether the step leaves a history entry (BuildKit records none for ONBUILD).
    pub history: bool,
    /// Where the step came from, for error messages.
    pub location: Location,
    /// The filesystem change, if any.
    pub fs: Option<FsChange>,
    /// Config changes applied after `fs`, in order.
    pub config: Vec<ConfigChange>,
}

/// A place in a build definition: file and 1-based line range, plus the source text to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub end_line: usize,
    pub text: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Line 0: a step no file line wrote (the buildpack lifecycle's), named by its file alone.
        if self.line == 0 {
            return write!(f, "{}", self.file.display());
        }
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a plan holds a few steps per instruction; boxing the copy saves nothing that matters"
)]
pub enum FsChange {
    Copy(CopySpec),
    Mkdir(MkdirSpec),
    Run(RunSpec),
}

/// Copy files into the stage (COPY, ADD, a buildpack's app files).
#[derive(Clone, Debug)]
pub struct CopySpec {
    pub source: CopySource,
    /// Source paths or glob patterns: relative to the context root, or absolute inside a stage/image.
    pub sources: Vec<String>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub owner: Option<Owner>,
    pub chmod: Option<Chmod>,
    /// Unpack local tar archives (ADD) instead of copying them.
    pub extract_archives: bool,
    /// Patterns (dockerignore syntax) of source files not to copy (`--exclude`).
    pub excludes: Vec<String>,
    /// Keep the source's parent directories under `dest` (`--parents`).
    pub parents: bool,
    /// Files downloaded from URLs (ADD), copied beside `sources`.
    pub remote: Vec<RemoteFile>,
    /// Files given inline (COPY/ADD heredocs), each named by its delimiter, placed after `sources` and
    /// `remote` (BuildKit copies them last, from a scratch state, mode 0644, never unpacked).
    pub inline: Vec<InlineFile>,
    /// `--link`: the files are placed as if the stage were empty — the destination's existing
    /// directories, owners and symlinks are not consulted, and missing parents are created anew.
    pub link: bool,
}

/// A file ADD downloads (Dockerfile reference, "ADD": HTTP(S) sources, unpacked only with `--unpack`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    pub url: String,
    /// `--checksum=ALGO:HEX` the download must match.
    pub checksum: Option<String>,
    /// The file's name: the last segment of the URL's path (BuildKit's `__unnamed__` when none).
    pub name: String,
    /// `ADD --unpack=true`: an archive is extracted into the destination instead of copied.
    pub unpack: bool,
    /// How many of the copy's `sources` precede it on the line: BuildKit copies sources in the order
    /// written, so a later one wins where two land on the same path.
    pub after: usize,
    /// Set by whoever fetched the file before the plan runs.
    pub fetched: Option<Fetched>,
}

/// A downloaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// The `Last-Modified` time of the response, seconds since the epoch (0 without one), which
    /// BuildKit gives the file.
    pub mtime: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopySource {
    /// The build context (already filtered by [`super::ContextFilter`]).
    Context,
    /// A named context of the plan ([`super::BuildPlan::named_contexts`]; BuildKit's
    /// `--build-context NAME=DIR`), read like the build context.
    Named(String),
    /// The filesystem of an earlier stage.
    Stage(StageId),
    /// The filesystem of a registry image.
    Image(Reference),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineFile {
    pub name: String,
    pub content: String,
}

/// `--chown`: a user and an optional group, each a number or a name resolved in the stage's
/// `/etc/passwd` and `/etc/group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub user: IdSpec,
    pub group: Option<IdSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdSpec {
    Id(u32),
    Name(String),
}

/// `--chmod`: octal bits, or a symbolic expression (`u+x,go-w`) applied to each file's own mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chmod {
    Octal(u32),
    Symbolic(String),
}

/// Make a directory and its parents (WORKDIR); owned by `owner` when given.
#[derive(Clone, Debug)]
pub struct MkdirSpec {
    pub path: String,
    pub owner: Option<Owner>,
    pub mode: u32,
}

/// Run a command in the stage's filesystem. The process gets the stage config's Env (plus `env`),
/// WorkingDir and User at the time the step runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSpec {
    /// The full argv (shell form already wrapped in the stage's shell).
    pub argv: Vec<String>,
    /// Extra environment for this command only (build args), on top of the config's Env.
    pub env: Vec<(String, String)>,
    /// Filesystems mounted for this command only; nothing under them reaches the layer.
    pub mounts: Vec<RunMount>,
    pub network: Network,
}

/// `RUN --network`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// The host's network (BuildKit's default for rootless builds).
    #[default]
    Default,
    /// A network namespace with only loopback.
    None,
    /// The host's network, asked for explicitly.
    Host,
}

/// `RUN --mount=type=…`, with every option resolved (BuildKit's `dockerfile/instructions/commands_runmount.go`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunMount {
    /// Files from the context, a stage or an image, read-only unless `readwrite` (writes are discarded).
    Bind {
        target: String,
        from: MountFrom,
        /// Path inside the source (`/` by default).
        source: String,
        readwrite: bool,
    },
    /// A directory kept between builds under the cache dir, keyed by `id` (default: the target).
    Cache {
        target: String,
        id: String,
        sharing: CacheSharing,
        /// Seed the cache from a stage/image path the first time (`from=`, `source=`).
        from: Option<(MountFrom, String)>,
        readonly: bool,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    /// An empty tmpfs.
    Tmpfs { target: String, size: Option<u64> },
    /// A read-only directory `target` holding one executable file `name` (BuildKit's
    /// `/dev/pipes/NAME` for a RUN heredoc that starts with `#!`).
    Script {
        target: String,
        name: String,
        content: String,
    },
    /// A build secret, as a file, an environment variable, or both.
    Secret {
        id: String,
        /// Where the file goes (the frontend fills BuildKit's default, `/run/secrets/ID`); `None` when
        /// only `env` was asked for.
        target: Option<String>,
        /// The variable that holds the secret's value during the command.
        env: Option<String>,
        /// Fail when the build has no such secret (otherwise the step runs without it).
        required: bool,
        uid: u32,
        gid: u32,
        mode: u32,
    },
}

/// Where a bind or cache mount's files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountFrom {
    /// The build context (filtered by .dockerignore).
    Context,
    /// A named context of the plan.
    Named(String),
    Stage(StageId),
    Image(Reference),
}

/// `sharing=` of a cache mount.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheSharing {
    #[default]
    Shared,
    Private,
    Locked,
}

/// A change to the image's runtime config. Values are final (expanded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigChange {
    Env(Vec<(String, String)>),
    Labels(Vec<(String, String)>),
    WorkingDir(String),
    User(String),
    /// `port/proto` entries (`80/tcp`).
    Expose(Vec<String>),
    Volumes(Vec<String>),
    Entrypoint(Option<Vec<String>>),
    Cmd(Option<Vec<String>>),
    Shell(Vec<String>),
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// Appends an ONBUILD trigger.
    OnBuild(String),
    /// Drops the ONBUILD triggers inherited from the base: they fired in this stage and are not
    /// passed on (BuildKit clears them in the child's config).
    ClearOnBuild,
    /// The image's `author` (MAINTAINER).
    Author(String),
    ArgsEscaped(bool),
}
