//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem, ProcfileError};

use crate::detect::LOOKS_FOR;

#[derive(Debug)]
pub enum PythonBuildpackError {
    /// The Procfile cannot be read or parsed.
    Procfile(ProcfileError),
    /// The Procfile has no `web` process (see `start`).
    NoWebProcess(Problem),
    /// Detection passed but the file to install from is gone.
    NothingToInstall,
    /// A package-manager command failed.
    Command(CommandError),
    /// The virtualenv's launch environment could not be written.
    LayerEnv(std::io::Error),
}

impl Explain for PythonBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            PythonBuildpackError::Procfile(error) => error.explain(),
            PythonBuildpackError::NoWebProcess(problem) => problem.clone(),
            PythonBuildpackError::NothingToInstall => Problem::new(
                format!("none of {LOOKS_FOR} is in the app"),
                "the build reads the directory detection saw",
                "do not change the app while it builds",
            ),
            PythonBuildpackError::Command(error) => error.explain(),
            PythonBuildpackError::LayerEnv(error) => Problem::new(
                format!("cannot write the virtualenv's launch environment: {error}"),
                "`VIRTUAL_ENV` must point at the installed dependencies when the app runs",
                "check that the layers directory is writable and has space",
            ),
        }
    }
}

impl From<PythonBuildpackError> for libcnb::Error<PythonBuildpackError> {
    fn from(error: PythonBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
