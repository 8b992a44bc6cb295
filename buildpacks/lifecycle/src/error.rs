//! The lifecycle's errors: what happened, why, and what to do (hoist's `what`, `why:`, `hint:`
//! rendering), each with the exit code the CNB platform spec 0.13 ("Exit Codes") gives its class.

use std::fmt;
use std::path::Path;

/// Any failure not covered below.
pub const GENERIC: i32 = 1;
/// Bad flags or arguments.
pub const INVALID_ARGS: i32 = 3;
/// A buildpack declares a Buildpack API this lifecycle does not implement.
pub const INCOMPATIBLE_BUILDPACK_API: i32 = 12;
/// Every group failed detection, no buildpack errored.
pub const FAILED_DETECT: i32 = 20;
/// Every group failed detection, and some buildpack's detect errored.
pub const FAILED_DETECT_WITH_ERRORS: i32 = 21;
/// Detection could not run (unreadable order, missing buildpack...).
pub const DETECT_ERROR: i32 = 22;
/// A buildpack's build failed.
pub const FAILED_BUILD_WITH_ERRORS: i32 = 51;
/// The build phase could not run or finish (unreadable group, unwritable layers...).
pub const BUILD_ERROR: i32 = 52;
/// The launcher could not start the process.
pub const LAUNCH_ERROR: i32 = 82;

/// A failure as a user reads it, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub what: String,
    pub why: String,
    pub fix: String,
}

impl Error {
    pub fn new(
        code: i32,
        what: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            code,
            what: what.into(),
            why: why.into(),
            fix: fix.into(),
        }
    }

    /// A file or directory operation on `path` that failed.
    pub fn io(code: i32, doing: &str, path: &Path, error: std::io::Error) -> Self {
        Self::new(
            code,
            format!("cannot {doing} `{}`: {error}", path.display()),
            "the lifecycle reads and writes the platform's directories (app, layers, cache, platform)",
            "check that the path exists and that the user running the lifecycle may read and write it",
        )
    }

    /// A TOML file that cannot be read or parsed.
    pub fn toml(code: i32, path: &Path, error: impl fmt::Display) -> Self {
        Self::new(
            code,
            format!(
                "cannot parse `{}`: {}",
                path.display(),
                error.to_string().trim()
            ),
            "the file must be TOML in the format the CNB specs give it",
            "fix or remove the file; if a buildpack wrote it, that buildpack has a bug",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nwhy: {}\nhint: {}", self.what, self.why, self.fix)
    }
}

impl std::error::Error for Error {}

/// Reads and parses a TOML file; `Ok(None)` when it does not exist.
pub fn read_toml<T: serde::de::DeserializeOwned>(
    code: i32,
    path: &Path,
) -> Result<Option<T>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::toml(code, path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(code, "read", path, e)),
    }
}

/// Serializes `value` as TOML into `path`, creating its directory.
pub fn write_toml<T: serde::Serialize>(code: i32, path: &Path, value: &T) -> Result<(), Error> {
    let text = toml::to_string(value).map_err(|e| {
        Error::new(
            code,
            format!("cannot write `{}` as TOML: {e}", path.display()),
            "a value the lifecycle collected has no TOML form",
            "report this as a bug in hoist's lifecycle",
        )
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(code, "create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(code, "write", path, e))
}
