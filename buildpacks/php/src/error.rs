//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem, ProcfileError};

#[derive(Debug)]
pub enum PhpBuildpackError {
    /// The Procfile cannot be read or parsed.
    Procfile(ProcfileError),
    /// The Procfile has no `web` process (see `start`).
    NoWebProcess(Problem),
    /// `composer install` failed.
    Command(CommandError),
}

impl Explain for PhpBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            PhpBuildpackError::Procfile(error) => error.explain(),
            PhpBuildpackError::NoWebProcess(problem) => problem.clone(),
            PhpBuildpackError::Command(error) => error.explain(),
        }
    }
}

impl From<PhpBuildpackError> for libcnb::Error<PhpBuildpackError> {
    fn from(error: PhpBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
