//! The buildpacks frontend: an app without a Dockerfile, detected as a CNB lifecycle would detect it
//! (CNB platform spec 0.13, "Detector"; buildpack spec 0.10). The buildpacks themselves are the libcnb
//! crates in `buildpacks/` (one per language, plus procfile); their detection functions are called
//! here as libraries.
//!
//! - `order`: the default builder's order (groups, optional entries) and its resolution with the
//!   build plan's provides/requires.
//! - `detect`: the chosen group, its plan, the processes and warnings — what `hoist detect` prints —
//!   or the error listing what was looked for.
//! - `report`: the JSON document of `hoist detect --json`.
//! - `unsupported`: languages the default builder has no buildpack for, named.
//! - `images`: the build and run images of a language (defaults, config file, flags).
//! - `lifecycle`: the build as a plan — the static lifecycle and buildpacks run in the RUN sandbox
//!   on the build image, then the export stage onto the run image.
//! - `labels`: the `io.buildpacks.*` labels `pack inspect` reads.

pub mod detect;
pub mod images;
pub mod labels;
pub mod lifecycle;
pub mod order;
pub mod report;
pub mod unsupported;
