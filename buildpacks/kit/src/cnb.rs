//! The translation of the kit's types into libcnb's (libcnb 0.30, Buildpack API 0.10): a detection into
//! a `DetectResult` with its build plan, processes into `launch.toml` entries, and the one error handler
//! every buildpack's `Buildpack::on_error` calls.

use std::fmt::Debug;

use libcnb::data::build_plan::{BuildPlanBuilder, Require};
use libcnb::data::launch::{self, ProcessBuilder, ProcessType, ProcessTypeError};
use libcnb::detect::{DetectResult, DetectResultBuilder};

use crate::detection::Detection;
use crate::problem::{Explain, Problem};
use crate::process::Process;

/// `detect`'s result: pass with the plan, or fail; the reason goes to the detect log.
pub fn detect_result<E>(detection: &Detection) -> libcnb::Result<DetectResult, E> {
    match detection {
        Detection::Pass { found, plan } => {
            println!("detected: {found}");
            let mut builder = BuildPlanBuilder::new();
            for name in &plan.provides {
                builder = builder.provides(name);
            }
            for requirement in &plan.requires {
                let mut require = Require::new(&requirement.name);
                // A map of strings is always a TOML table.
                let _ = require.metadata(&requirement.metadata);
                builder = builder.requires(require);
            }
            DetectResultBuilder::pass()
                .build_plan(builder.build())
                .build()
        }
        Detection::Absent => DetectResultBuilder::fail().build(),
        Detection::Incomplete { missing } => {
            println!("not detected: {missing}");
            DetectResultBuilder::fail().build()
        }
    }
}

/// A `launch.toml` process: `bash -c COMMAND`, so `$PORT` and other variables expand at launch.
pub fn launch_process(process: &Process, default: bool) -> Result<launch::Process, ProcessTypeError> {
    let kind: ProcessType = process.kind.parse()?;
    Ok(ProcessBuilder::new(kind, ["bash", "-c", &process.command])
        .default(default)
        .build())
}

/// The error handler: what/why/fix on stderr, for the buildpack's own errors and libcnb's alike.
pub fn on_error<E: Explain + Debug>(error: libcnb::Error<E>) {
    let problem = match error {
        libcnb::Error::BuildpackError(error) => error.explain(),
        other => Problem::new(
            format!("the buildpack framework failed: {other}"),
            "the platform did not give the buildpack what the CNB buildpack API 0.10 promises \
             (directories, CNB_* variables, readable TOML files)",
            "run the buildpack through hoist or a CNB lifecycle; if it already is, report this as a bug",
        ),
    };
    eprintln!("error: {problem}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_processes_run_through_bash() {
        let process = launch_process(&Process::web("node server.js"), true).unwrap();
        assert_eq!(process.command, ["bash", "-c", "node server.js"]);
        assert!(process.default);
        assert_eq!(process.r#type.as_str(), "web");
    }
}
