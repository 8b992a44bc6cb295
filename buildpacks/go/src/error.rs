//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem};

use crate::start::GoModError;

#[derive(Debug)]
pub enum GoBuildpackError {
    /// `go.mod` is unreadable or has no module path.
    GoMod(GoModError),
    /// `go build` failed.
    Command(CommandError),
    /// The `app` layer's `bin/` could not be made.
    AppLayer(std::io::Error),
}

impl Explain for GoBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            GoBuildpackError::GoMod(error) => error.explain(),
            GoBuildpackError::Command(error) => error.explain(),
            GoBuildpackError::AppLayer(error) => Problem::new(
                format!("cannot make the `app` layer's `bin/`: {error}"),
                "the compiled binary goes there",
                "check that the layers directory is writable and has space",
            ),
        }
    }
}

impl From<GoBuildpackError> for libcnb::Error<GoBuildpackError> {
    fn from(error: GoBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
