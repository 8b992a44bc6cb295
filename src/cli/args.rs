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
--allow-arch-mismatch.\n\n\
`hoist validate IMAGE` runs the same checks on an existing image, from a registry or an OCI layout."
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
    // The three below take `about` from their args struct: a doc comment here would also replace
    // the struct's `long_about`, and `--help` would lose it.
    Parse(ParseArgs),
    Context(ContextArgs),
    Validate(ValidateArgs),
    #[command(visible_alias = "push")]
    Copy(CopyArgs),
    Inspect(InspectArgs),
    /// Log in to a registry: check the credentials, then store them as `docker login` does
    Login(LoginArgs),
    /// Log out of a registry: erase what `hoist login` or `docker login` stored
    Logout(LogoutArgs),
    /// Show which buildpacks would build an app without a Dockerfile, and its processes
    Detect(DetectArgs),
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
#[command(
    about = "Remove what the cache directory holds that builds cannot use, or what they used least recently",
    long_about = "Removes entries from hoist's cache directory (--cache-dir, else HOIST_CACHE_DIR, else \
~/.cache/hoist), as `docker builder prune` does for BuildKit's cache.\n\n\
Without flags, only what no build can use goes: scratch directories under `tmp/` and half-written files \
left by builds that were killed, RUN step results whose layer blob is gone (or that cannot be read), \
half-unpacked base images and `.lock` files of cache mounts that are gone. Every layer, step result, \
verdict, unpacked base image and cache mount a build could reuse is kept.\n\n\
--keep-storage SIZE also removes the least recently used entries — layer blobs, unpacked base images \
(`rootfs/`), RUN step results, layer verdicts and RUN --mount=type=cache directories — until the cache \
takes at most SIZE on disk. Builds mark what they use when they use it (a step result they reuse and its \
layer, a base image they pull again or mount, a layer verdict they read, a cache mount they bind, a layer they write again), so what \
the latest builds used is removed last. A step result goes with its layer. --all empties the cache.\n\n\
A prune never removes what a running build uses: builds (and validate, copy, inspect) hold the cache \
directory's lock while they run; prune waits until none does, saying so (builds that start while it waits still \
run), and builds that start while it removes wait for it. Directories holding files of the user namespace's subordinate ids are removed through it, as the \
builds that wrote them do.\n\n\
stdout: one line per entry with --dry-run (kind, size, path, why), then a summary line: what was removed \
and how much was freed. stderr: each entry as it is removed.",
    after_help = "SIZE: bytes, or a number with a unit: kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB \
or K, M, G, T (powers of 1024).\n\n\
Examples:\n  \
hoist prune                                  # what no build can use\n  \
hoist prune --keep-storage 10GB              # and the least recently used, down to 10 GB\n  \
hoist prune --keep-storage 500MiB --dry-run  # what that would remove, removing nothing\n  \
hoist prune --all --cache-dir /var/cache/hoist"
)]
pub struct PruneArgs {
    /// Also remove the least recently used entries until the cache takes at most SIZE (`10GB`,
    /// `500MiB`, bytes)
    #[arg(long, value_name = "SIZE", conflicts_with = "all")]
    pub keep_storage: Option<String>,

    /// Remove everything in the cache
    #[arg(long, short = 'a')]
    pub all: bool,

    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The cache directory to prune [env: HOIST_CACHE_DIR] [default: ~/.cache/hoist]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Checks a user name and password (or a service-account key) against a registry, then \
stores them where `docker login` does: in `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (the \
`auths` entry, base64 `user:password`, file mode 0600), or through the credential helper that file names \
for the registry (`credHelpers`, `credsStore`). Builds then push with no other credentials.\n\n\
The password is read from stdin, never from an argument. Without -u the user is `<token>`, the user a \
service-account key goes with. With wrong credentials nothing is written.",
    after_help = "Examples:\n  printf %s \"$KEY\" | hoist login myorg.registry.cpln.io --password-stdin\n  \
hoist login registry.example.com -u alice --password-stdin < password.txt"
)]
pub struct LoginArgs {
    /// The registry: HOST[:PORT] (`docker.io` for Docker Hub)
    #[arg(value_name = "HOST")]
    pub server: String,

    /// User name [default: <token>]
    #[arg(long, short = 'u', value_name = "USER")]
    pub username: Option<String>,

    /// Read the password from stdin (required: hoist never takes a password as an argument)
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub tls: RegistryTlsArgs,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Erases the login of a registry from Docker's `config.json` and from the credential \
helper that file names for it, as `docker logout` does. Credentials given by `HOIST_TOKEN`, \
`DOCKER_AUTH_CONFIG` or a containers auth file are not touched.",
    after_help = "Example:\n  hoist logout myorg.registry.cpln.io"
)]
pub struct LogoutArgs {
    /// The registry: HOST[:PORT] (`docker.io` for Docker Hub)
    #[arg(value_name = "HOST")]
    pub server: String,
}

#[derive(Debug, Args)]
#[command(
    about = "Check an existing image (registry or OCI layout) for binaries that would not run on its platform",
    long_about = "Checks an image that is already built — by hoist or anything else — the way `hoist build` \
checks its own before exporting, without running it: no daemon, no container, nothing executed.\n\n\
The image is read from a registry (REF) or from an OCI image layout (oci:DIR[:TAG]); for a multi-platform \
image, --platform picks the manifest (an image without that platform fails, listing the platforms it \
offers). Its blobs are downloaded or copied into the cache directory, digests checked.\n\n\
Checked: the structure (manifest, config and layers agree; the config names the platform); every ELF \
executable or library in the final filesystem (whiteouts applied) is built for the platform (machine, \
class, byte order) — a mislabelled image, whose config says amd64 while its binaries are arm64, fails \
here; and the entrypoint (else the command), found through the image's PATH or from its WorkingDir, \
exists, is executable, and has its interpreter: the `#!` line of a script, the dynamic loader \
(PT_INTERP) of an ELF binary.\n\n\
Output on stdout: one finding per entry (what, why, the layer that added the file, and a `fix:` line), \
then `ok: N files checked` or `N findings`. With --json: {\"image\", \"digest\", \"platform\", \
\"findings\": [{\"kind\", \"path\", \"message\", \"layer\": {\"index\", \"digest\", \"created_by\"}, \
\"hint\"}], \"files\", \"binaries\", \"layers\", \"ok\"}; kind is one of structure, foreign_binary, \
missing_interpreter, missing_loader, entrypoint_not_found, entrypoint_not_executable.\n\n\
What each layer holds is remembered in the cache directory (`verdicts/`), by layer digest: validating \
images that share base layers reads those layers once.",
    after_help = "Examples:\n  \
hoist validate registry.example.com/team/app:v1\n  \
hoist validate --platform linux/arm64 registry.example.com/team/app:v1\n  \
hoist validate oci:./out:v1 --json | jq '.findings[].path'\n  \
hoist validate --registry-mirror docker.io=mirror.example.com:5000 node:22-slim\n\n\
Exit codes:\n  \
0  the image passed every check\n  \
1  findings (listed on stdout), or the image could not be read (the reason on stderr, stdout empty)"
)]
pub struct ValidateArgs {
    /// The image: a registry reference REGISTRY/REPOSITORY[:TAG|@DIGEST] (`docker://` allowed), or an
    /// OCI image layout oci:DIR[:TAG] (TAG may be left out when the layout holds one image)
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The platform OS/ARCH[/VARIANT] the image must run on; picks the manifest of a multi-platform image
    #[arg(long, value_name = "PLATFORM", default_value = "linux/amd64")]
    pub platform: String,

    /// Print one JSON document instead of lines
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub naming: NamingArgs,

    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Where downloaded blobs and layer verdicts are cached [env: HOIST_CACHE_DIR] [default: ~/.cache/hoist]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Progress display on stderr: a bar on a terminal (auto), plain lines, or JSON lines
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
}

#[derive(Debug, Args)]
#[command(
    about = "Show a Dockerfile's instructions as BuildKit's parser reads them",
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
    about = "List the files of the build context a build would see, after .dockerignore",
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
Without a Dockerfile in DIR, the app is built with buildpacks (see `hoist detect DIR`):\n  \
buildpacks/package.sh target/release/cnb   # once, in hoist's source tree\n  \
hoist build --name registry.example.com/team/web:v1 --dir ./web --push\n\n\
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

    #[command(flatten)]
    pub naming: NamingArgs,

    #[command(flatten)]
    pub registries: RegistryArgs,

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

    /// Registry repository where RUN step results (and a buildpack build's cache layers) are stored
    /// and looked up, shared between machines, e.g. registry.example.com/team/app-cache: a repository,
    /// without tag or digest (kaniko's flag)
    #[arg(long, value_name = "REPO")]
    pub cache_repo: Option<String>,

    /// Where RUN steps execute
    #[arg(long, value_enum, value_name = "MODE", default_value = "auto")]
    pub sandbox: SandboxArg,

    /// Allow `--sandbox in-container` where hoist detects no container: RUN steps would then change
    /// this machine's own root filesystem
    #[arg(long)]
    pub force_in_container: bool,

    /// User name for the destination registry (the registry of --name and --cache-repo), with
    /// --password-stdin [default: <token>, for a service-account key]
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the destination registry's password (or service-account key) from stdin. It is sent to
    /// that registry only, ahead of HOIST_TOKEN and stored logins, and never stored
    #[arg(long)]
    pub password_stdin: bool,

    /// The build image the buildpacks run on [default: per language, e.g.
    /// node:22-bookworm, python:3.12; see `hoist detect`]
    #[arg(
        long,
        short = 'B',
        value_name = "IMAGE",
        help_heading = "Without a Dockerfile"
    )]
    pub builder: Option<String>,

    /// The image the app runs on [default: per language, e.g.
    /// node:22-bookworm-slim, python:3.12-slim]
    #[arg(long, value_name = "IMAGE", help_heading = "Without a Dockerfile")]
    pub run_image: Option<String>,

    /// Run this buildpack (hoist/nodejs or nodejs) instead of detecting; repeat
    /// for a group, in order
    #[arg(
        long = "buildpack",
        short = 'b',
        value_name = "ID",
        help_heading = "Without a Dockerfile"
    )]
    pub buildpacks: Vec<String>,

    /// An environment variable for the build (the buildpacks read it from
    /// /platform/env), never put in the image; repeatable
    #[arg(
        long = "env",
        short = 'e',
        value_name = "KEY=VALUE",
        help_heading = "Without a Dockerfile"
    )]
    pub env: Vec<String>,

    /// KEY=VALUE lines (blank lines and `#` comments skipped) read as --env
    #[arg(long, value_name = "FILE", help_heading = "Without a Dockerfile")]
    pub env_file: Vec<PathBuf>,

    /// Accepted for `pack`/`cpln image build` compatibility (hoist runs its own
    /// lifecycle in its sandbox either way)
    #[arg(long, help_heading = "Without a Dockerfile")]
    pub trust_builder: bool,

    /// The lifecycle and buildpacks, as `buildpacks/package.sh DIR` builds them
    /// [env: HOIST_CNB_DIR] [default: the `cnb` directory beside the hoist executable]
    #[arg(long, value_name = "DIR", help_heading = "Without a Dockerfile")]
    pub cnb_dir: Option<PathBuf>,
}

/// `--org`: which registry names without one, and Control Plane links, go to.
#[derive(Debug, Default, Args)]
pub struct NamingArgs {
    /// Control Plane org: `//image/NAME:TAG` links and names without a registry go to its registry
    /// (`ORG.registry.cpln.io`, or the HOIST_ORG_REGISTRY template with `{org}`). `//image/` links
    /// fall back to CPLN_ORG
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
}

/// How registries are reached when images are pulled or pushed: [`RegistryTlsArgs`] and mirrors.
#[derive(Debug, Default, Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    pub tls: RegistryTlsArgs,

    /// Pull SOURCE's images from MIRROR instead, e.g. docker.io=127.0.0.1:5000; repeatable.
    /// A bare MIRROR applies to docker.io (kaniko's form)
    #[arg(long = "registry-mirror", value_name = "SOURCE=MIRROR")]
    pub registry_mirrors: Vec<String>,
}

/// Whether registries' TLS is used and verified, and how it is answered: the flags every command
/// that talks to a registry takes, `hoist login` included.
#[derive(Debug, Default, Args)]
pub struct RegistryTlsArgs {
    /// Reach this registry over plain HTTP or TLS without verification; repeatable.
    /// Loopback addresses (127.0.0.0/8, ::1, localhost) are always insecure, as with Docker
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Trust the CA certificate(s) in PEM file CA for registry HOST[:PORT] (kaniko's
    /// --registry-certificate); repeatable. The host is then spoken to over verified HTTPS, loopback too
    #[arg(long = "registry-certificate", value_name = "HOST=CA.pem")]
    pub registry_certificates: Vec<String>,

    /// Present this client certificate and its key (PEM files) to registry HOST[:PORT], for
    /// registries that require mutual TLS (kaniko's --registry-client-cert); repeatable. The host is
    /// then spoken to over verified HTTPS, loopback too
    #[arg(long = "registry-client-cert", value_name = "HOST=CERT.pem,KEY.pem")]
    pub registry_client_certs: Vec<String>,
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

#[derive(Debug, Args)]
#[command(
    about = "Copy an image between registries and OCI layouts (`hoist push oci:DIR REF` is the same)",
    long_about = "Copies one image, exactly as published (manifest and config bytes unchanged, so its digest \
stays the same), from SOURCE to DESTINATION. Each is a registry reference REGISTRY/REPOSITORY[:TAG|@DIGEST] \
(`docker://` allowed), a Control Plane link (`//image/NAME:TAG` with --org, `/org/ORG/image/NAME:TAG`) or an \
OCI image layout `oci:DIR[:TAG]`. A multi-platform source gives the --platform image, or with \
--all-platforms the whole index (same digest). Registry to registry, blobs the destination already has are \
skipped and blobs of the same registry are mounted; failed requests are retried with backoff. Credentials \
as for `build`; a service-account key (HOIST_TOKEN) goes to the destination registry only (to the source \
when the destination is a layout).\n\nstdout: `DESTINATION@DIGEST`.",
    after_help = "Examples:\n  hoist push oci:./out:v1 registry.example.com/team/app:v1\n  \
hoist copy docker.io/library/busybox:1.36 myorg.registry.cpln.io/busybox:1.36\n  \
hoist copy --all-platforms ghcr.io/team/app:v1 //image/app:v1 --org acme\n  \
hoist copy registry.example.com/team/app:v1 oci:./backup:v1"
)]
pub struct CopyArgs {
    /// The image to copy: REGISTRY/REPOSITORY[:TAG|@DIGEST] or oci:DIR[:TAG]
    #[arg(value_name = "SOURCE")]
    pub source: String,

    /// Where to: REGISTRY/REPOSITORY[:TAG] or oci:DIR[:TAG]
    #[arg(value_name = "DESTINATION")]
    pub destination: String,

    /// The platform to pick from a multi-platform source
    #[arg(long, value_name = "PLATFORM", default_value = "linux/amd64")]
    pub platform: String,

    #[command(flatten)]
    pub naming: NamingArgs,

    /// Copy a multi-platform image whole: the index exactly as published (same digest) and every
    /// image it lists, instead of the one image for --platform
    #[arg(long, conflicts_with = "platform")]
    pub all_platforms: bool,

    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Where downloaded blobs are cached [env: HOIST_CACHE_DIR] [default: ~/.cache/hoist]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Progress display on stderr: a bar on a terminal (auto), plain lines, or JSON lines
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
}

#[derive(Debug, Args)]
#[command(
    about = "Show an image's digest, platform, config and layers as JSON",
    long_about = "Reads an image from a registry (REGISTRY/REPOSITORY[:TAG|@DIGEST]) or an OCI layout \
(`oci:DIR[:TAG]`) without running it and prints one JSON document to stdout: \
{\"image\",\"digest\",\"mediaType\",\"platform\",\"created\",\"config\",\"layers\":[{\"digest\",\"size\",\"diff_id\",\"created_by\"}]}. \
With --raw, the manifest exactly as stored.",
    after_help = "Examples:\n  hoist inspect registry.example.com/team/app:v1 | jq .config.Entrypoint\n  hoist inspect --raw oci:./out:v1"
)]
pub struct InspectArgs {
    /// The image: REGISTRY/REPOSITORY[:TAG|@DIGEST] or oci:DIR[:TAG]
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The platform to pick from a multi-platform image
    #[arg(long, value_name = "PLATFORM", default_value = "linux/amd64")]
    pub platform: String,

    /// Print the top manifest's bytes as stored (the index of a multi-platform image) instead of the
    /// summary
    #[arg(long, conflicts_with = "config")]
    pub raw: bool,

    /// Print the config's bytes as stored (of the image for --platform)
    #[arg(long)]
    pub config: bool,

    #[command(flatten)]
    pub naming: NamingArgs,

    #[command(flatten)]
    pub registries: RegistryArgs,

    /// Where downloaded blobs are cached [env: HOIST_CACHE_DIR] [default: ~/.cache/hoist]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}
