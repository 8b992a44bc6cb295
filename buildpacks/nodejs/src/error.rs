//! The buildpack's errors, each explained as what/why/fix by [`Explain`]; `main.rs`'s `on_error` renders
//! them through `buildpack_kit::cnb::on_error`.

use buildpack_kit::build_command::CommandError;
use buildpack_kit::{Explain, Problem};

use crate::detect::{LOOKS_FOR, PACKAGE_JSON};
use crate::start::PackageJsonError;

#[derive(Debug)]
pub enum NodejsBuildpackError {
    /// `package.json` is unreadable or not JSON.
    PackageJson(PackageJsonError),
    /// Detection passed but the lockfile is gone.
    NoLockfile,
    /// A package-manager command failed.
    Command(CommandError),
}

impl Explain for NodejsBuildpackError {
    fn explain(&self) -> Problem {
        match self {
            NodejsBuildpackError::PackageJson(error) => error.explain(),
            NodejsBuildpackError::NoLockfile => Problem::new(
                format!("`{PACKAGE_JSON}` has no lockfile beside it"),
                format!(
                    "the Node.js buildpack needs {LOOKS_FOR}, and the build reads the directory detection saw"
                ),
                "commit the lockfile, and do not change the app while it builds",
            ),
            NodejsBuildpackError::Command(error) => error.explain(),
        }
    }
}

impl From<NodejsBuildpackError> for libcnb::Error<NodejsBuildpackError> {
    fn from(error: NodejsBuildpackError) -> Self {
        libcnb::Error::BuildpackError(error)
    }
}
