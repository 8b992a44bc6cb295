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
//!
//! The build itself (the buildpacks' binaries run in the RUN sandbox on a build image, the launcher,
//! the export onto a run image) is not here yet.

pub mod detect;
pub mod order;
pub mod report;
pub mod unsupported;
