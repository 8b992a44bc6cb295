//! What every hoist buildpack is made of, shared so that the seven buildpacks (and hoist, which uses
//! their detection as libraries) say the same things the same way:
//!
//! - [`detection`]: the outcome of a buildpack's detect phase (CNB buildpack spec 0.10, "Detection") —
//!   a pass with its build plan, or a failure with the reason;
//! - [`procfile`]: the `Procfile` format (`TYPE: COMMAND` lines);
//! - [`process`]: launch processes and the default process a language gives an app;
//! - [`problem`]: errors as what happened, why, and what to do, and the one error handler every
//!   buildpack's `on_error` calls;
//! - [`build_command`]: running a package manager during the build phase;
//! - [`cnb`]: the translation of the above into libcnb's types.

pub mod build_command;
pub mod cnb;
pub mod detection;
pub mod problem;
pub mod process;
pub mod procfile;

pub use detection::{Detection, Plan, Requirement};
pub use problem::{Explain, Problem};
pub use process::{DefaultProcess, Process};
pub use procfile::{Procfile, ProcfileError};
