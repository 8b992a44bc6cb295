//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::{Explain, Problem, ProcfileError};

#[derive(Debug)]
pub enum ProcfileBuildpackError {
    /// The Procfile changed since detection, or cannot be read.
    Procfile(ProcfileError),
    /// Detection passed but the Procfile is gone.
    Missing,
}

impl Explain for ProcfileBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            ProcfileBuildpackError::Procfile(error) => error.explain(),
            ProcfileBuildpackError::Missing => Problem::new(
                "the `Procfile` disappeared between detection and build",
                "the build reads the same app directory detection looked at",
                "do not change the app while it builds",
            ),
        }
    }
}

impl From<ProcfileBuildpackError> for libcnb::Error<ProcfileBuildpackError> {
    fn from(error: ProcfileBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
