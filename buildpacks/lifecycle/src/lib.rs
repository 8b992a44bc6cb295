//! hoist's CNB lifecycle: the part of the Cloud Native Buildpacks lifecycle hoist needs, following the
//! CNB platform spec 0.13 and the buildpack spec 0.10, in one small static binary (the official
//! lifecycle is Go and cannot be fetched where hoist runs).
//!
//! # Phases
//!
//! One multi-call binary, `lifecycle`; the phase is argv[0]'s file name, or the first argument when
//! argv[0] is `lifecycle`:
//!
//! - `detector` ([`detector`]): resolves the order against the app — runs each buildpack's
//!   `bin/detect`, resolves provides/requires (with `or` alternatives), writes `group.toml` and
//!   `plan.toml`. Exit 20 when no group passes, 21 when none passes and a buildpack errored.
//! - `builder` ([`builder`]): restores cache layers, runs each buildpack's `bin/build` of
//!   `group.toml` with the build environment of the layers before it, saves cache layers, removes
//!   every layer that is not `launch = true`, and writes `<layers>/config/metadata.toml` and
//!   `<layers>/config/launch-layers.toml`. Exit 51 when a buildpack fails.
//! - `creator`: `detector` then `builder`, with the flags of both.
//! - `launcher` ([`launcher`]): the app image's process starter (exit 82 when it cannot start one).
//!
//! # Platform defaults (what hoist's build and run images provide)
//!
//! | what | flag | environment | default |
//! |---|---|---|---|
//! | the order | `-order` | `CNB_ORDER_PATH` | `/cnb/order.toml` |
//! | buildpacks, as `<id with / as _>/<version>/{buildpack.toml,bin/detect,bin/build}` | `-buildpacks` | `CNB_BUILDPACKS_DIR` | `/cnb/buildpacks` |
//! | the app | `-app` | `CNB_APP_DIR` | `/workspace` |
//! | layers | `-layers` | `CNB_LAYERS_DIR` | `/layers` |
//! | platform (`env/` files: build-time variables) | `-platform` | `CNB_PLATFORM_DIR` | `/platform` |
//! | the chosen group | `-group` | `CNB_GROUP_PATH` | `<layers>/group.toml` |
//! | the resolved plan | `-plan` | `CNB_PLAN_PATH` | `<layers>/plan.toml` |
//! | cache layers kept between builds | `-cache-dir` | `CNB_CACHE_DIR` | `/cache` |
//!
//! The binary is installed as `/cnb/lifecycle/lifecycle` with the links `detector`, `builder`,
//! `creator` and `launcher` beside it; the app image's entrypoint `/cnb/process/<type>` links to
//! `/cnb/lifecycle/launcher`. hoist runs `creator` in one RUN step on the build image as uid/gid
//! 1000 (the lifecycle itself never changes user): the app, `/layers`, `/platform` and `/cache`
//! must be writable (the platform directory readable) by that user.
//!
//! # Files the builder writes
//!
//! - `<layers>/<id with / as _>/…`: each buildpack's layers; after the build only `launch = true`
//!   layer directories are left, beside every `<layer>.toml`.
//! - `<layers>/config/metadata.toml` ([`metadata::Metadata`]): `[[buildpacks]]` (`id`, `version`,
//!   `api`), `[[processes]]` (`type`, `command` array, `args`, `direct`, `default`, `working-dir`,
//!   `buildpack-id`; a later buildpack's process of a type replaces an earlier one), `[[labels]]`,
//!   `[[slices]]`.
//! - `<layers>/config/launch-layers.toml` ([`metadata::LaunchLayers`]): `[[layers]]` `buildpack`,
//!   `name`, `path`, in group order and by name within a buildpack — one image layer each.
//! - `<cache>/<id with / as _>/<layer>.toml` + `<layer>/` (+ `store.toml`): the `cache = true`
//!   layers of the last successful build.
//!
//! Not implemented (no hoist buildpack uses them): analysis of a previous image, extensions,
//! composite (order) buildpacks, SBOMs, `exec.d`, `profile.d` and `.profile` at launch.

pub mod builder;
pub mod cache;
pub mod descriptor;
pub mod detector;
pub mod env;
pub mod error;
pub mod flags;
pub mod launcher;
pub mod layers;
pub mod metadata;
pub mod plan;
mod scratch;
pub mod target;

use std::ffi::OsString;
use std::path::Path;

use error::Error;

/// The phases this binary implements, by the names it answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Detector,
    Builder,
    Creator,
    Launcher,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Detector,
        Phase::Builder,
        Phase::Creator,
        Phase::Launcher,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Detector => "detector",
            Phase::Builder => "builder",
            Phase::Creator => "creator",
            Phase::Launcher => "launcher",
        }
    }

    fn from_name(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Runs the phase `args` asks for (`args[0]` is argv[0]); returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    match dispatch(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.code
        }
    }
}

fn dispatch(mut args: Vec<OsString>) -> Result<i32, Error> {
    if args.is_empty() {
        args.push(OsString::from("lifecycle"));
    }
    let argv0 = args.remove(0);
    let argv0 = Path::new(&argv0);
    let name = argv0
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `/cnb/process/<type>`: the launcher, for that process type.
    let in_process_dir = argv0
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "process");
    if in_process_dir && Phase::from_name(&name).is_none() && name != "lifecycle" {
        return launcher::run(Some(&name), args);
    }
    let phase = match Phase::from_name(&name) {
        Some(phase) => phase,
        None => {
            if args.is_empty() {
                return Err(usage(&name));
            }
            let first = args.remove(0).to_string_lossy().into_owned();
            Phase::from_name(&first).ok_or_else(|| usage(&first))?
        }
    };
    match phase {
        Phase::Detector => {
            let flags = flags::Flags::parse(Phase::Detector, &args)?;
            detector::run(&flags.paths()).map(|_| 0)
        }
        Phase::Builder => {
            let flags = flags::Flags::parse(Phase::Builder, &args)?;
            builder::run(&flags.paths()).map(|()| 0)
        }
        Phase::Creator => {
            let flags = flags::Flags::parse(Phase::Creator, &args)?;
            let paths = flags.paths();
            detector::run(&paths)?;
            builder::run(&paths).map(|()| 0)
        }
        Phase::Launcher => launcher::run(None, args),
    }
}

fn usage(got: &str) -> Error {
    Error::new(
        error::INVALID_ARGS,
        format!("`{got}` is not a lifecycle phase"),
        "the phase is the binary's name (a link named `detector`, `builder`, `creator` or `launcher`) \
         or the first argument of `lifecycle`",
        "run `lifecycle creator [FLAGS]`, or `/cnb/lifecycle/creator [FLAGS]`",
    )
}
