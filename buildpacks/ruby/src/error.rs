//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem, ProcfileError};

#[derive(Debug)]
pub enum RubyBuildpackError {
    /// The Procfile cannot be read or parsed.
    Procfile(ProcfileError),
    /// Neither Rails nor Rack, and no Procfile `web` process (see `start`).
    NoWebProcess(Problem),
    /// `bundle install` failed.
    Command(CommandError),
    /// The `gems` layer's environment could not be written.
    LayerEnv(std::io::Error),
}

impl Explain for RubyBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            RubyBuildpackError::Procfile(error) => error.explain(),
            RubyBuildpackError::NoWebProcess(problem) => problem.clone(),
            RubyBuildpackError::Command(error) => error.explain(),
            RubyBuildpackError::LayerEnv(error) => Problem::new(
                format!("cannot write the `gems` layer's environment: {error}"),
                "Bundler must find the installed gems when the app runs",
                "check that the layers directory is writable and has space",
            ),
        }
    }
}

impl From<RubyBuildpackError> for libcnb::Error<RubyBuildpackError> {
    fn from(error: RubyBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
