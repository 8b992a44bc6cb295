//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem, ProcfileError};

use crate::detect::LOOKS_FOR;
use crate::start::JarError;

#[derive(Debug)]
pub enum JavaBuildpackError {
    /// The Procfile cannot be read or parsed.
    Procfile(ProcfileError),
    /// Detection passed but the build files are gone.
    NoBuildTool,
    /// Maven or Gradle failed.
    Command(CommandError),
    /// No single runnable jar, and no Procfile `web` process.
    Jar(JarError),
}

impl Explain for JavaBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            JavaBuildpackError::Procfile(error) => error.explain(),
            JavaBuildpackError::NoBuildTool => Problem::new(
                format!("none of {LOOKS_FOR} is in the app"),
                "the build reads the directory detection saw",
                "do not change the app while it builds",
            ),
            JavaBuildpackError::Command(error) => error.explain(),
            JavaBuildpackError::Jar(error) => error.explain(),
        }
    }
}

impl From<JavaBuildpackError> for libcnb::Error<JavaBuildpackError> {
    fn from(error: JavaBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
