//! Raw command-line arguments, as clap parses them. Nothing here is validated beyond clap's own checks;
//! `request.rs` turns these into a [`super::BuildRequest`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version,
    about = "Build container images without a daemon, and push them",
    long_about = "hoist builds linux/amd64 OCI images from a Dockerfile, in-process, with no Docker daemon, and \
pushes them straight to a registry or writes them as an OCI layout or a docker-archive tarball.\n\n\
The image digest goes to stdout; progress and logs go to stderr.\n\n\
Exit codes: 0 success; 1 any failure; 3 the image would not run on its platform (a binary built for \
another architecture, or a missing entrypoint interpreter): nothing was pushed or written; see \
--allow-arch-mismatch."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the build variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a Dockerfile and push it or write it out
    Build(BuildArgs),
    /// Show a Dockerfile's instructions as BuildKit's parser reads them
    Parse(ParseArgs),
    /// List the files of the build context a build would see, after .dockerignore
    Context(ContextArgs),
    /// Show which buildpacks would build an app without a Dockerfile, and its processes
    Detect(DetectArgs),
}

#[derive(Debug, Args)]
#[command(
    long_about = "Parses a Dockerfile as BuildKit's parser does (directives, continuations, flags, heredocs) \
and prints its instructions to stdout: one `LINE KEYWORD FLAGS ARGS` line each, or, with --json, \
{\"instructions\":[{\"keyword\",\"flags\",\"args\",\"json\",\"heredocs\",\"start_line\",\"end_line\",\"onbuild\"}]}.\n\n\
A syntax error exits non-zero with FILE:LINE on stderr.",
    after_help = "Examples:\n  hoist parse Dockerfile\n  hoist parse --json app/Dockerfile | jq '.instructions[].keyword'"
)]
pub struct ParseArgs {
    /// Print JSON instead of one line per instruction
    #[arg(long)]
    pub json: bool,

    /// The Dockerfile to parse
    #[arg(value_name = "DOCKERFILE")]
    pub dockerfile: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Lists the files and symlinks of the build context that a build would see once \
.dockerignore has been applied (`<Dockerfile>.dockerignore` wins over `<DIR>/.dockerignore`): one path \
relative to DIR per line, sorted, to stdout. Directories are not listed.",
    after_help = "Examples:\n  hoist context\n  hoist context --dir ./app --dockerfile ./app/prod.Dockerfile"
)]
pub struct ContextArgs {
    /// The build context directory
    #[arg(
        long = "dir",
        visible_alias = "context",
        short_alias = 'c',
        value_name = "DIR",
        default_value = "."
    )]
    pub dir: PathBuf,

    /// The Dockerfile, whose `<Dockerfile>.dockerignore` applies if present [default: DIR/Dockerfile]
    #[arg(long = "dockerfile", short = 'f', value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Detects an app the way the default builder's buildpacks would, without building: the \
chosen group (python, ruby with nodejs, java, go, php or nodejs, each with procfile when the app has a \
Procfile), the build plan, the launch processes and warnings, to stdout; or, with --json, \
{\"group\":[{\"id\",\"version\"}],\"plan\":[{\"name\",\"providers\",\"requirers\",\"metadata\"}],\
\"processes\":[{\"type\",\"command\"}],\"warnings\":[...]}.\n\n\
Exits 1 when nothing is detected (an empty group; stderr lists what was looked for) or when a build of \
the group would fail (a Python or PHP app without a Procfile `web` process).",
    after_help = "Examples:\n  hoist detect\n  hoist detect --json ./app | jq -r '.group[].id'"
)]
pub struct DetectArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,

    /// The app directory
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
hoist build --name registry.example.com/team/app:v1 --dir ./app --push\n  \
hoist build --name app:v1 --dir ./app --output oci:./out --output docker-archive:./app.tar\n\n\
Exit codes:\n  \
0  success\n  \
1  any failure\n  \
3  the image would not run on its platform (a binary built for another architecture, or a missing \
entrypoint interpreter); nothing was pushed or written (see --allow-arch-mismatch)")]
pub struct BuildArgs {
    /// Image name: REGISTRY/REPOSITORY[:TAG]; repeat to give the image several names
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "destination",
        short_alias = 'd',
        value_name = "REF"
    )]
    pub names: Vec<String>,

    /// The build context directory
    #[arg(
        long = "dir",
        visible_alias = "context",
        short_alias = 'c',
        value_name = "DIR",
        default_value = "."
    )]
    pub dir: PathBuf,

    /// The Dockerfile [default: DIR/Dockerfile]
    #[arg(long = "dockerfile", short = 'f', value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,

    /// Target platform OS/ARCH[/VARIANT]; several, comma-separated (`linux/amd64,linux/arm64`), build
    /// one image per platform under an OCI index (RUN steps for a platform this machine cannot execute
    /// need a binfmt_misc emulator such as qemu-user)
    #[arg(
        long,
        value_name = "PLATFORM",
        default_value = "linux/amd64",
        visible_alias = "custom-platform"
    )]
    pub platform: String,

    /// Push the image to every --name
    #[arg(long)]
    pub push: bool,

    /// Also write the image here: oci:DIR (an OCI image layout) or docker-archive:FILE (for `docker load`);
    /// repeatable
    #[arg(long = "output", short = 'o', value_name = "TYPE:PATH")]
    pub outputs: Vec<String>,

    /// Write an OCI layout to DIR (kaniko's --oci-layout-path; same as --output oci:DIR)
    #[arg(long, value_name = "DIR", hide_short_help = true)]
    pub oci_layout_path: Option<PathBuf>,

    /// Write a docker-archive tarball to FILE (kaniko's --tar-path; same as --output docker-archive:FILE)
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub tar_path: Option<PathBuf>,

    /// Build-time variable NAME=VALUE, or NAME to take the value from the environment; repeatable
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
    pub build_args: Vec<String>,

    /// Build up to this stage (by name or index) instead of the last one
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,

    /// Add a label KEY=VALUE to the image; repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// Reach this registry over plain HTTP or TLS without verification; repeatable.
    /// Loopback addresses (127.0.0.0/8, ::1, localhost) are always insecure, as with Docker
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Pull SOURCE's images from MIRROR instead, e.g. docker.io=127.0.0.1:5000; repeatable.
    /// A bare MIRROR applies to docker.io (kaniko's form)
    #[arg(long = "registry-mirror", value_name = "SOURCE=MIRROR")]
    pub registry_mirrors: Vec<String>,

    /// Write the image digest to FILE
    #[arg(long, value_name = "FILE")]
    pub digest_file: Option<PathBuf>,

    /// Progress display on stderr: a bar on a terminal (auto), plain lines, or JSON lines
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,

    /// Image creation time: `epoch` (SOURCE_DATE_EPOCH or 0, reproducible) or `now`
    #[arg(long, value_name = "epoch|now", default_value = "epoch")]
    pub creation_time: String,

    /// gzip level for the layers hoist writes: 1 is fastest, 9 smallest (kaniko's flag)
    #[arg(long, value_name = "1-9", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub compression_level: u32,

    /// Export the image even when it holds binaries built for another platform (or its entrypoint's
    /// interpreter is missing): report them as warnings instead of failing with exit code 3
    #[arg(long)]
    pub allow_arch_mismatch: bool,

    /// Where base images and layers are cached [env: HOIST_CACHE_DIR] [default: ~/.cache/hoist]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// A secret for `RUN --mount=type=secret,id=ID`, from a file (src=) or an environment variable
    /// (env=), as buildx writes it; `id=ID` alone reads the variable ID if it is set, else the file ID.
    /// Repeatable. Its value is read only when a step mounts it, and never printed or stored in the image
    #[arg(long = "secret", value_name = "id=ID[,src=FILE|,env=VAR]")]
    pub secrets: Vec<String>,

    /// Run every RUN step again instead of reusing results of earlier builds (docker's and kaniko's flag)
    #[arg(long)]
    pub no_cache: bool,

    /// Registry repository where RUN step results are stored and looked up, shared between machines,
    /// e.g. registry.example.com/team/app-cache: a repository, without tag or digest (kaniko's flag)
    #[arg(long, value_name = "REPO")]
    pub cache_repo: Option<String>,

    /// Where RUN steps execute
    #[arg(long, value_enum, value_name = "MODE", default_value = "auto")]
    pub sandbox: SandboxArg,

    /// Allow `--sandbox in-container` where hoist detects no container: RUN steps would then change
    /// this machine's own root filesystem
    #[arg(long)]
    pub force_in_container: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SandboxArg {
    /// Pick for this machine: today always `rootless`
    Auto,
    /// A user namespace of its own per step, over the stage's filesystem; needs no privileges
    Rootless,
    /// Kaniko-style: steps run directly in this container's root filesystem, which the build takes
    /// over (use a throwaway CI container)
    InContainer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    Auto,
    Plain,
    Json,
}
